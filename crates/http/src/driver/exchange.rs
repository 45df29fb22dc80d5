//! The handle a [`super::Handler`] answers a request through.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use crate::{Framing, Headers};

/// A command from an [`Exchange`] to its connection task.
#[derive(Debug)]
pub(crate) enum Cmd {
    Respond { status: u16, headers: Headers, framing: Framing },
    Body(Bytes),
    End(Headers),
}

/// Shared between a connection task and every [`Exchange`] of it.
#[derive(Debug, Default)]
pub(crate) struct ConnShared {
    /// Response bytes handed to the connection and not yet written to the socket (approximate:
    /// framing overhead is not counted).
    pub(crate) queued: AtomicUsize,
}

impl ConnShared {
    pub(crate) fn written(&self, n: usize) {
        let _ = self.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| Some(q.saturating_sub(n)));
    }
}

/// The connection this exchange belongs to has closed; nothing more can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the connection is closed")]
pub struct ConnectionClosed;

/// One request/response pair, as seen by the handler. Cheap to clone and usable from any
/// thread. Calls are queued to the connection's task in order; responses to pipelined
/// requests go out in request order whatever order the handler answers them in.
///
/// Call [`Exchange::respond`] once, then [`Exchange::write_body`] any number of times,
/// then [`Exchange::end`]. A call out of order, an invalid header or a body that does
/// not match its [`Framing`] closes the connection. Dropping every clone without
/// calling `end` leaves the connection waiting (until the peer closes it).
#[derive(Debug, Clone)]
pub struct Exchange {
    pub(crate) id: u64,
    pub(crate) tx: UnboundedSender<(u64, Cmd)>,
    pub(crate) shared: Arc<ConnShared>,
}

impl Exchange {
    /// The exchange id, as passed to [`super::Handler::on_body`] and in [`super::RequestInfo`].
    pub fn id(&self) -> u64 {
        self.id
    }

    fn send(&self, cmd: Cmd) -> Result<(), ConnectionClosed> {
        self.tx.send((self.id, cmd)).map_err(|_| ConnectionClosed)
    }

    /// Sends the response head. The driver adds `Date` (unless present) and the framing
    /// header for `framing`.
    pub fn respond(&self, status: u16, headers: Headers, framing: Framing) -> Result<(), ConnectionClosed> {
        self.send(Cmd::Respond { status, headers, framing })
    }

    /// Queues body bytes; returns the response bytes of this connection still queued
    /// (including these), for backpressure.
    pub fn write_body(&self, chunk: impl Into<Bytes>) -> Result<usize, ConnectionClosed> {
        let chunk = chunk.into();
        let n = chunk.len();
        self.send(Cmd::Body(chunk))?;
        Ok(self.shared.queued.fetch_add(n, Ordering::AcqRel) + n)
    }

    /// Ends the response (trailers only with [`Framing::Chunked`]).
    pub fn end(&self, trailers: Headers) -> Result<(), ConnectionClosed> {
        self.send(Cmd::End(trailers))
    }

    /// Response bytes of this connection still queued (approximate).
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Acquire)
    }
}
