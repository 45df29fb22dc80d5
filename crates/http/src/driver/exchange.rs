//! The handle a [`super::Handler`] answers a request through.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc::UnboundedSender;

use crate::{Framing, Headers};

/// A command from an [`Exchange`] to its connection task.
#[derive(Debug)]
pub(crate) enum Cmd {
    Respond {
        status: u16,
        headers: Headers,
        framing: Framing,
    },
    Body(Bytes),
    End(Headers),
    /// A whole response at once (head, body, end), so the connection sees it complete.
    Full {
        status: u16,
        headers: Headers,
        body: Bytes,
    },
    /// Stop (true) or resume (false) reading the request body of this exchange.
    PauseBody(bool),
    /// Close the connection now, dropping anything unsent.
    Destroy,
}

/// The default of [`super::HttpServerOptions::high_water_mark`]: response bytes queued on
/// one connection past which [`Exchange::write_body`] arms a drain notice
/// ([`super::Handler::on_drain`]), like a Node stream's high-water mark.
pub const DRAIN_HIGH_WATER: usize = 64 * 1024;

/// Shared between a connection task and every [`Exchange`] of it.
#[derive(Debug)]
pub(crate) struct ConnShared {
    /// Response bytes handed to the connection and not yet written to the socket (approximate:
    /// framing overhead is not counted).
    pub(crate) queued: AtomicUsize,
    /// The exchange to notify once `queued` falls below half of [`DRAIN_HIGH_WATER`]
    /// (`u64::MAX`: none).
    pub(crate) want_drain: AtomicU64,
    /// Queued bytes at which a write arms the drain notice.
    pub(crate) high_water: usize,
}

impl ConnShared {
    pub(crate) fn new(high_water: usize) -> Self {
        Self { queued: AtomicUsize::new(0), want_drain: AtomicU64::new(u64::MAX), high_water: high_water.max(1) }
    }
}

impl ConnShared {
    /// Counts `n` bytes written; returns the exchange owed a drain notice, if the queue
    /// just fell below the low-water mark.
    pub(crate) fn written(&self, n: usize) -> Option<u64> {
        let before = self.queued.fetch_update(Ordering::AcqRel, Ordering::Acquire, |q| Some(q.saturating_sub(n)));
        let now = before.unwrap_or(0).saturating_sub(n);
        if now < self.high_water.div_ceil(2) && self.want_drain.load(Ordering::Acquire) != u64::MAX {
            let id = self.want_drain.swap(u64::MAX, Ordering::AcqRel);
            return (id != u64::MAX).then_some(id);
        }
        None
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
    /// (including these), for backpressure. At the high-water mark or more, a drain
    /// notice ([`super::Handler::on_drain`]) is armed for this exchange.
    pub fn write_body(&self, chunk: impl Into<Bytes>) -> Result<usize, ConnectionClosed> {
        let chunk = chunk.into();
        let n = chunk.len();
        let queued = self.shared.queued.fetch_add(n, Ordering::AcqRel) + n;
        if queued >= self.shared.high_water {
            self.shared.want_drain.store(self.id, Ordering::Release);
        }
        if let Err(e) = self.send(Cmd::Body(chunk)) {
            self.shared.queued.fetch_sub(n, Ordering::AcqRel);
            return Err(e);
        }
        Ok(queued)
    }

    /// Sends a whole response in one command: `Content-Length` framing, the body, the end.
    /// Cheaper than three calls, and lets the connection compress the body in one piece.
    /// Returns the bytes queued on the connection.
    pub fn respond_full(&self, status: u16, headers: Headers, body: Bytes) -> Result<usize, ConnectionClosed> {
        let n = body.len();
        let queued = self.shared.queued.fetch_add(n, Ordering::AcqRel) + n;
        if let Err(e) = self.send(Cmd::Full { status, headers, body }) {
            self.shared.queued.fetch_sub(n, Ordering::AcqRel);
            return Err(e);
        }
        Ok(queued)
    }

    /// Stops reading this request's body (request-body backpressure): the socket is not
    /// read until [`Exchange::resume_body`]. No effect once the body is complete.
    pub fn pause_body(&self) -> Result<(), ConnectionClosed> {
        self.send(Cmd::PauseBody(true))
    }

    /// Resumes reading this request's body.
    pub fn resume_body(&self) -> Result<(), ConnectionClosed> {
        self.send(Cmd::PauseBody(false))
    }

    /// Closes the connection at once, dropping queued output (for a request the
    /// application refuses to read, say, after answering 413 it may also just `end` with
    /// `Connection: close`).
    pub fn destroy(&self) -> Result<(), ConnectionClosed> {
        self.send(Cmd::Destroy)
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
