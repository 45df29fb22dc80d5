//! The one native stream handle the TS `Socket` drives, for TCP, Unix and TLS streams.

use std::sync::Arc;
use std::time::Duration;

use iocrate_net::tcp::TcpConn;
use iocrate_net::{NetError, StreamOps};
use iocrate_tls::TlsConn;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bridge::BridgeInner;
use crate::error::ErrorInfo;
use crate::net::AddressInfo;

/// What a [`StreamHandle`] drives.
#[derive(Clone)]
pub(crate) enum Conn {
    Tcp(Arc<TcpConn>),
    Tls(Arc<TlsConn>),
}

/// A connected or connecting stream: TCP, Unix or TLS. Events arrive through the bridge
/// under `id`. TLS-only methods are in `tls.rs`; on a TCP stream they report nothing.
#[napi]
pub struct StreamHandle {
    ops: Arc<dyn StreamOps>,
    pub(crate) conn: Conn,
    id: u32,
}

impl Conn {
    /// Starts the driver task of an accepted stream.
    pub(crate) fn start(&self) {
        match self {
            Conn::Tcp(c) => c.start(),
            Conn::Tls(c) => c.start(),
        }
    }

    /// Has the bridge's environment close this stream on teardown.
    pub(crate) fn track(&self, bridge: &BridgeInner) {
        match self {
            Conn::Tcp(c) => bridge.track(c),
            Conn::Tls(c) => bridge.track(c),
        }
    }
}

impl StreamHandle {
    pub(crate) fn new(conn: Conn, id: u32) -> Self {
        let ops: Arc<dyn StreamOps> = match &conn {
            Conn::Tcp(c) => c.clone(),
            Conn::Tls(c) => c.clone(),
        };
        StreamHandle { ops, conn, id }
    }
}

fn to_js_err(e: NetError) -> ErrorInfo {
    e.into()
}

#[napi]
impl StreamHandle {
    /// The id events for this stream carry.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Writes (directly when possible). Returns the bytes still queued in Rust, or an
    /// error description (closed, ended).
    #[napi]
    pub fn write(&self, data: BufferSlice) -> Either<f64, ErrorInfo> {
        match self.ops.write(&data) {
            Ok(q) => Either::A(q as f64),
            Err(e) => Either::B(to_js_err(e)),
        }
    }

    /// Writes several chunks in order. Returns the bytes still queued.
    #[napi]
    pub fn writev(&self, chunks: Vec<BufferSlice>) -> Either<f64, ErrorInfo> {
        let mut q = 0;
        for c in chunks {
            match self.ops.write(&c) {
                Ok(n) => q = n,
                Err(e) => return Either::B(to_js_err(e)),
            }
        }
        Either::A(q as f64)
    }

    /// Asks to forward everything read to `dest` (possibly this same stream) inside Rust.
    /// Reading stops; FORWARD_READY follows every DATA event already queued; then call
    /// `startForward()`. While forwarding there are no DATA events; END still arrives.
    /// Only between two TCP/Unix streams: returns false (and does nothing) otherwise.
    #[napi]
    pub fn forward_to(&self, dest: &StreamHandle) -> bool {
        match (&self.conn, &dest.conn) {
            (Conn::Tcp(src), Conn::Tcp(dst)) => {
                src.forward_to(Some(dst.clone()));
                true
            }
            _ => false,
        }
    }

    /// Starts the forwarding asked for by `forwardTo` (after FORWARD_READY).
    #[napi]
    pub fn start_forward(&self) {
        if let Conn::Tcp(c) = &self.conn {
            c.start_forward();
        }
    }

    /// Stops native forwarding; DATA events resume.
    #[napi]
    pub fn stop_forward(&self) {
        if let Conn::Tcp(c) = &self.conn {
            c.forward_to(None);
        }
    }

    /// Ends the write side after flushing.
    #[napi]
    pub fn end(&self) {
        self.ops.end();
    }

    /// Closes now.
    #[napi]
    pub fn destroy(&self) {
        self.ops.destroy();
    }

    /// Stops reading.
    #[napi]
    pub fn pause(&self) {
        self.ops.pause();
    }

    /// Resumes reading.
    #[napi]
    pub fn resume(&self) {
        self.ops.resume();
    }

    /// Sets `TCP_NODELAY`.
    #[napi]
    pub fn set_no_delay(&self, on: bool) -> Option<ErrorInfo> {
        self.ops.set_no_delay(on).err().map(to_js_err)
    }

    /// Enables keep-alive with an initial delay in ms (0 = OS default of 1 s minimum), or disables.
    #[napi]
    pub fn set_keep_alive(&self, enable: bool, initial_delay_ms: Option<u32>) -> Option<ErrorInfo> {
        let d = enable.then(|| Duration::from_millis(initial_delay_ms.unwrap_or(0).max(1000) as u64));
        self.ops.set_keep_alive(d).err().map(to_js_err)
    }

    /// Sets the idle timeout in ms (0 disables).
    #[napi]
    pub fn set_timeout(&self, ms: u32) {
        self.ops.set_timeout((ms > 0).then(|| Duration::from_millis(ms as u64)));
    }

    /// Bytes queued in Rust.
    #[napi]
    pub fn buffered(&self) -> f64 {
        self.ops.buffered() as f64
    }

    /// `[bytesRead, bytesWritten]`.
    #[napi]
    pub fn stats(&self) -> Vec<f64> {
        let s = self.ops.stats();
        vec![s.bytes_read as f64, s.bytes_written as f64]
    }

    /// The local address once connected.
    #[napi]
    pub fn local_address(&self) -> Option<AddressInfo> {
        self.ops.local_addr().map(Into::into)
    }

    /// The remote address once connected.
    #[napi]
    pub fn remote_address(&self) -> Option<AddressInfo> {
        self.ops.peer_addr().map(Into::into)
    }
}
