//! The tokio HTTP/1.1 client driver: a per-origin connection pool over any
//! [`iocrate_net::Transport`], pumping one [`crate::Connection<crate::Client>`] per
//! connection in its own task.
//!
//! # Theory of operation
//!
//! A [`Client`] owns a pool (see `pool.rs`) keyed by [`Origin`]. [`Client::request`]
//! wraps the [`RequestSpec`] and its [`ResponseHandler`] into one shared request record
//! and puts it at the back of its origin's queue; the caller gets a [`RequestHandle`]
//! onto the same record. Dispatching, always under the pool lock, hands queued requests
//! to connections in FIFO order: an idle connection first; else a new connection while
//! the origin has fewer than `max_sockets_per_origin`; else, with `pipelining > 1`, the
//! least loaded open connection with fewer than `pipelining` requests. The pool counts
//! the requests assigned to each connection (`in_flight`), including those still in the
//! connection's channel, so a connection with a count of zero is idle and may be
//! removed under the lock without losing a request.
//!
//! Each connection is a task (see `conn.rs`) that first connects through the
//! [`Connector`] (to the proxy, then `CONNECT host:port` and [`Connector::tunnel`], if a
//! proxy is set), then loops: handle channel messages, feed the codec what was read and
//! turn its events into [`ResponseHandler`] calls for the oldest request, write request
//! heads and bodies in order (one request's head only after the previous one's body
//! ended), flush, and wait for readable / writable / a message / a deadline. Reads go
//! through the thread's scratch buffer ([`iocrate_net::read_with_scratch`]); an idle
//! connection holds no read or write buffer.
//!
//! Body bytes given to a [`RequestHandle`] are queued in the request record and the
//! connection is woken; it moves them into the codec only while less than 64 KiB wait for
//! the socket, and calls [`ResponseHandler::on_drain`] once the queue falls below half the
//! high-water mark after [`RequestHandle::write_body`] reported it at or above it.
//! [`RequestHandle::pause`] stops the connection reading while that request is the one
//! being answered.
//!
//! When a connection dies, its requests that were never written go back to the front of
//! the queue. A written request is retried once, on a fresh connection, only if the
//! connection had completed a response before that request was written (a reused
//! keep-alive connection), no byte of its response had arrived, its method is
//! idempotent and its whole body was known when it was written (no body, or
//! [`RequestSpec::body`]); every other one gets [`ResponseHandler::on_error`]. Exactly
//! one of `on_end` / `on_error` is called per request.

mod conn;
mod pool;
mod tls;

pub use tls::{HttpsConnector, MaybeTls};

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use iocrate_net::tcp::{connect_sock, Sock};
use iocrate_net::{ConnectOptions, NetError, Transport};

use crate::{Framing, Headers, Limits, Version, WriteError};

use self::pool::Pool;

/// URL scheme of an [`Origin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `http`
    Http,
    /// `https`
    Https,
}

/// Where requests go: scheme, host and port. Connections are pooled per origin.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The scheme.
    pub scheme: Scheme,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Origin {
    /// An `http` origin.
    pub fn http(host: impl Into<String>, port: u16) -> Self {
        Origin { scheme: Scheme::Http, host: host.into(), port }
    }

    /// An `https` origin.
    pub fn https(host: impl Into<String>, port: u16) -> Self {
        Origin { scheme: Scheme::Https, host: host.into(), port }
    }

    /// `host:port` (IPv6 in brackets), as used in `CONNECT`.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The `Host` header value: the authority without the scheme's default port.
    pub fn host_header(&self) -> String {
        let default = match self.scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        if self.port == default {
            if self.host.contains(':') {
                format!("[{}]", self.host)
            } else {
                self.host.clone()
            }
        } else {
            self.authority()
        }
    }
}

/// Opens transports for the client. The TCP implementation is [`TcpConnector`]; a TLS
/// implementation handles [`Scheme::Https`].
pub trait Connector: Send + Sync + 'static {
    /// The transport it produces.
    type Stream: Transport;

    /// Connects to `origin` (the proxy's origin when a proxy is used). The client applies
    /// its connect timeout around this call.
    fn connect(&self, origin: &Origin) -> impl Future<Output = Result<Self::Stream, NetError>> + Send;

    /// Turns an established `CONNECT` tunnel to `origin` into the transport requests run
    /// over. The default passes the tunnel through for `http` and refuses `https`
    /// (`ERR_IOCRATE_HTTP_PROXY_TLS_UNSUPPORTED`); a TLS connector overrides it.
    fn tunnel(
        &self,
        origin: &Origin,
        tunnel: Self::Stream,
    ) -> impl Future<Output = Result<Self::Stream, NetError>> + Send {
        let https = origin.scheme == Scheme::Https;
        async move {
            if https {
                Err(NetError::new(
                    "ERR_IOCRATE_HTTP_PROXY_TLS_UNSUPPORTED",
                    "connect",
                    "this connector cannot run TLS over a proxy tunnel",
                ))
            } else {
                Ok(tunnel)
            }
        }
    }
}

/// Plain TCP connections with [`iocrate_net::tcp::connect_sock`]. Refuses `https`
/// origins (`ERR_IOCRATE_HTTP_TLS_UNSUPPORTED`).
#[derive(Debug, Clone)]
pub struct TcpConnector {
    /// `TCP_NODELAY` on connected sockets (default on, as in Node).
    pub no_delay: bool,
}

impl Default for TcpConnector {
    fn default() -> Self {
        TcpConnector { no_delay: true }
    }
}

impl Connector for TcpConnector {
    type Stream = Sock;

    fn connect(&self, origin: &Origin) -> impl Future<Output = Result<Sock, NetError>> + Send {
        let opts = ConnectOptions { host: origin.host.clone(), port: origin.port, ..Default::default() };
        let https = origin.scheme == Scheme::Https;
        let no_delay = self.no_delay;
        async move {
            if https {
                return Err(NetError::new("ERR_IOCRATE_HTTP_TLS_UNSUPPORTED", "connect", "TcpConnector has no TLS")
                    .at(opts.host.clone(), opts.port));
            }
            let sock = connect_sock(&opts).await?;
            if no_delay {
                let _ = sock.set_no_delay(true);
            }
            Ok(sock)
        }
    }
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Most connections (open or connecting) per origin.
    pub max_sockets_per_origin: usize,
    /// Most idle keep-alive connections kept per origin; more are closed.
    pub max_idle_per_origin: usize,
    /// An idle pooled connection is closed after this long.
    pub idle_timeout: Duration,
    /// Requests in flight per connection; 1 (the default) means no pipelining.
    pub pipelining: usize,
    /// Parser limits for responses.
    pub limits: Limits,
    /// Time allowed to connect (including the proxy's `CONNECT` answer): `ETIMEDOUT`.
    pub connect_timeout: Duration,
    /// Time allowed from a request being sent (or, pipelined, from becoming the oldest
    /// unanswered one) until its response head is complete:
    /// `ERR_IOCRATE_HTTP_HEADERS_TIMEOUT`.
    pub headers_timeout: Duration,
    /// How long a request with `Expect: 100-continue` waits for `100` before sending its body.
    pub continue_timeout: Duration,
    /// Queued request-body bytes at which [`RequestHandle::write_body`] asks the caller to
    /// wait for [`ResponseHandler::on_drain`].
    pub body_high_water_mark: usize,
    /// Tunnel every connection through this HTTP proxy with `CONNECT host:port`.
    pub proxy: Option<Origin>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            max_sockets_per_origin: 64,
            max_idle_per_origin: 64,
            idle_timeout: Duration::from_secs(4),
            pipelining: 1,
            limits: Limits::default(),
            connect_timeout: Duration::from_secs(10),
            headers_timeout: Duration::from_secs(300),
            continue_timeout: Duration::from_secs(1),
            body_high_water_mark: 64 * 1024,
            proxy: None,
        }
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// The method (`GET`, `POST`, …).
    pub method: String,
    /// Where to send it.
    pub origin: Origin,
    /// Origin-form target: path and query (`/a?b=c`).
    pub target: String,
    /// Header fields. `Host` is added from the origin unless present; framing headers
    /// (`Content-Length`, `Transfer-Encoding`) must not be set: see `framing`.
    pub headers: Headers,
    /// How the body is framed.
    pub framing: Framing,
    /// The whole body, if known up front: the request is then complete without
    /// [`RequestHandle::end`] and may be retried (see the module docs).
    pub body: Option<Bytes>,
}

impl RequestSpec {
    /// A request without a body.
    pub fn new(method: &str, origin: Origin, target: &str) -> Self {
        RequestSpec {
            method: method.to_owned(),
            origin,
            target: target.to_owned(),
            headers: Headers::new(),
            framing: Framing::None,
            body: None,
        }
    }

    /// Adds a header and returns `self`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Sets the whole body (framed by `Content-Length`) and returns `self`.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        let body = body.into();
        self.framing = Framing::Length(body.len() as u64);
        self.body = Some(body);
        self
    }

    /// Sets the framing of a body streamed through the [`RequestHandle`] and returns `self`.
    pub fn streaming(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    fn idempotent(&self) -> bool {
        matches!(self.method.as_str(), "GET" | "HEAD" | "OPTIONS" | "PUT" | "DELETE" | "TRACE")
    }
}

/// Why a request failed. [`ClientError::code`] gives the Node-style code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// A socket error (`ECONNREFUSED`, `ETIMEDOUT`, `ECONNRESET`, …): its own code.
    #[error("{0}")]
    Net(NetError),
    /// The response could not be parsed: `ERR_IOCRATE_HTTP_PARSE`.
    #[error("malformed response: {0}")]
    Parse(crate::Error),
    /// No response head within the headers timeout: `ERR_IOCRATE_HTTP_HEADERS_TIMEOUT`.
    #[error("timed out waiting for the response head")]
    HeadersTimeout,
    /// [`RequestHandle::abort`] or [`Client::destroy`]: `ABORT_ERR`.
    #[error("the request was aborted")]
    Aborted,
    /// The server switched protocols (101): `ERR_IOCRATE_HTTP_UPGRADE_UNSUPPORTED`.
    #[error("protocol upgrades are not supported by this client")]
    UpgradeUnsupported,
    /// The proxy refused the tunnel with this status: `ERR_IOCRATE_HTTP_PROXY`.
    #[error("proxy answered CONNECT with status {0}")]
    Proxy(u16),
    /// The request head or body could not be written (bad header, body longer than its
    /// `Content-Length`, …): `ERR_IOCRATE_HTTP_INVALID_REQUEST`.
    #[error("invalid request: {0}")]
    InvalidRequest(WriteError),
    /// [`Client::close`] was called before this request: `ERR_IOCRATE_HTTP_CLIENT_CLOSED`.
    #[error("the client is closed")]
    ClientClosed,
}

impl ClientError {
    /// The Node-style error code.
    pub fn code(&self) -> &'static str {
        match self {
            ClientError::Net(e) => e.code,
            ClientError::Parse(_) => "ERR_IOCRATE_HTTP_PARSE",
            ClientError::HeadersTimeout => "ERR_IOCRATE_HTTP_HEADERS_TIMEOUT",
            ClientError::Aborted => "ABORT_ERR",
            ClientError::UpgradeUnsupported => "ERR_IOCRATE_HTTP_UPGRADE_UNSUPPORTED",
            ClientError::Proxy(_) => "ERR_IOCRATE_HTTP_PROXY",
            ClientError::InvalidRequest(_) => "ERR_IOCRATE_HTTP_INVALID_REQUEST",
            ClientError::ClientClosed => "ERR_IOCRATE_HTTP_CLIENT_CLOSED",
        }
    }

    pub(crate) fn hang_up() -> Self {
        ClientError::Net(NetError::new("ECONNRESET", "read", "socket hang up"))
    }
}

/// Receives one response. Calls run on runtime threads, in order, and must not block.
/// Exactly one of [`ResponseHandler::on_end`] and [`ResponseHandler::on_error`] is
/// called, last.
pub trait ResponseHandler: Send + Sync + 'static {
    /// The final response head arrived.
    fn on_response(&self, status: u16, reason: String, version: Version, headers: Headers);
    /// An interim 1xx response other than 101 arrived (`100 Continue` included).
    fn on_informational(&self, status: u16, headers: Headers) {
        let _ = (status, headers);
    }
    /// A chunk of the response body.
    fn on_body(&self, chunk: Bytes);
    /// A body chunk with its flow-control credit: the connection stops reading while more
    /// than a window's worth of credits are held. The default drops it at once and calls
    /// [`ResponseHandler::on_body`]; a handler that queues chunks elsewhere keeps the
    /// credit until they are consumed.
    fn on_body_credit(&self, chunk: Bytes, credit: iocrate_net::Credit) {
        drop(credit);
        self.on_body(chunk);
    }
    /// The response is complete, with its trailers (usually empty).
    fn on_end(&self, trailers: Headers);
    /// The request failed.
    fn on_error(&self, err: ClientError);
    /// Queued request-body bytes fell below the low-water mark after
    /// [`RequestHandle::write_body`] reported the high-water mark.
    fn on_drain(&self) {}
}

/// The request is finished or its body already ended: nothing more can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request is closed")]
pub struct Closed;

/// Messages from the pool and request handles to a connection task.
#[derive(Debug)]
pub(crate) enum ConnMsg {
    /// A request for this connection (counted in the pool's `in_flight`).
    Assign(Arc<Req>),
    /// Something changed in a request record: body, end, pause, abort.
    Wake,
    /// Finish what is assigned, then close ([`Client::close`]).
    Close,
    /// Fail everything and close now ([`Client::destroy`]).
    Destroy,
}

/// The mutable part of a request record.
#[derive(Debug, Default)]
pub(crate) struct ReqState {
    /// Body chunks not yet handed to the codec.
    pub(crate) body: std::collections::VecDeque<Bytes>,
    /// Bytes in `body`.
    pub(crate) queued: usize,
    /// `end` was called (or the body was given whole); the trailers to send.
    pub(crate) trailers: Option<Headers>,
    /// Chunks handed to the codec while the request could still be replayed.
    pub(crate) replay: Vec<Bytes>,
    pub(crate) aborted: bool,
    pub(crate) need_drain: bool,
    pub(crate) retried: bool,
    /// Must go to a fresh connection (a retry).
    pub(crate) fresh_only: bool,
    /// The connection it is assigned to.
    pub(crate) conn: Option<tokio::sync::mpsc::UnboundedSender<ConnMsg>>,
}

/// One request: what to send, who to tell, and the state shared with its handle.
pub(crate) struct Req {
    pub(crate) spec: RequestSpec,
    pub(crate) handler: Arc<dyn ResponseHandler>,
    pub(crate) pool: Weak<Pool>,
    pub(crate) state: Mutex<ReqState>,
    pub(crate) paused: AtomicBool,
    pub(crate) done: AtomicBool,
    pub(crate) high_water: usize,
}

impl fmt::Debug for Req {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Req").field("method", &self.spec.method).field("target", &self.spec.target).finish()
    }
}

impl Req {
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, ReqState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Delivers the terminal error, once.
    pub(crate) fn fail(&self, err: ClientError) {
        if !self.done.swap(true, Ordering::AcqRel) {
            self.handler.on_error(err);
        }
    }

    /// Delivers the terminal end, once.
    pub(crate) fn finish(&self, trailers: Headers) {
        if !self.done.swap(true, Ordering::AcqRel) {
            self.handler.on_end(trailers);
        }
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    fn wake(&self, st: &ReqState) {
        if let Some(tx) = &st.conn {
            let _ = tx.send(ConnMsg::Wake);
        }
    }
}

/// The caller's side of one request: stream the body, pause the response, abort.
/// Cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct RequestHandle {
    req: Arc<Req>,
}

impl fmt::Debug for RequestHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHandle").field("req", &self.req).finish()
    }
}

impl RequestHandle {
    /// Queues body bytes; returns the bytes of this request still queued (including
    /// these). At or above the high-water mark, wait for [`ResponseHandler::on_drain`].
    pub fn write_body(&self, chunk: impl Into<Bytes>) -> Result<usize, Closed> {
        let chunk = chunk.into();
        let mut st = self.req.lock();
        if st.trailers.is_some() || st.aborted || self.req.is_done() {
            return Err(Closed);
        }
        st.queued += chunk.len();
        if !chunk.is_empty() {
            st.body.push_back(chunk);
        }
        let queued = st.queued;
        if queued >= self.req.high_water {
            st.need_drain = true;
        }
        self.req.wake(&st);
        Ok(queued)
    }

    /// Ends the body (trailers are sent only with [`Framing::Chunked`]). Calling it again,
    /// or for a request whose body was given whole, does nothing.
    pub fn end(&self, trailers: Headers) -> Result<(), Closed> {
        let mut st = self.req.lock();
        if st.aborted || self.req.is_done() {
            return Err(Closed);
        }
        if st.trailers.is_none() {
            st.trailers = Some(trailers);
            self.req.wake(&st);
        }
        Ok(())
    }

    /// Aborts the request: [`ResponseHandler::on_error`] with [`ClientError::Aborted`]
    /// unless it already finished. A request already on the wire closes its connection.
    pub fn abort(&self) {
        let assigned = {
            let mut st = self.req.lock();
            if st.aborted || self.req.is_done() {
                return;
            }
            st.aborted = true;
            self.req.wake(&st);
            st.conn.is_some()
        };
        if !assigned {
            if let Some(pool) = self.req.pool.upgrade() {
                if pool.cancel(&self.req) {
                    self.req.fail(ClientError::Aborted);
                }
            } else {
                self.req.fail(ClientError::Aborted);
            }
        }
    }

    /// Stops reading the connection while this request's response is being read
    /// (response-body backpressure).
    pub fn pause(&self) {
        self.req.paused.store(true, Ordering::Release);
    }

    /// Resumes reading after [`RequestHandle::pause`].
    pub fn resume(&self) {
        self.req.paused.store(false, Ordering::Release);
        let st = self.req.lock();
        self.req.wake(&st);
    }
}

/// An HTTP/1.1 client with a per-origin connection pool. Cheap to clone (clones share
/// the pool); usable from any thread. Connection tasks run on the iocrate runtime.
#[derive(Clone)]
pub struct Client {
    pool: Arc<Pool>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}

impl Client {
    /// A client over plain TCP ([`TcpConnector`]).
    pub fn new(opts: ClientOptions) -> Self {
        Self::with_connector(opts, TcpConnector::default())
    }

    /// A client whose connections come from `connector` (TLS, Unix sockets, …).
    pub fn with_connector<C: Connector>(opts: ClientOptions, connector: C) -> Self {
        Client { pool: Pool::new(opts, connector) }
    }

    /// Starts a request. The handler gets the response; the handle streams the body
    /// (unless [`RequestSpec::body`] gave it whole or the framing is [`Framing::None`]).
    pub fn request(&self, spec: RequestSpec, handler: Arc<dyn ResponseHandler>) -> RequestHandle {
        let mut st = ReqState::default();
        if let Some(body) = &spec.body {
            st.queued = body.len();
            if !body.is_empty() {
                st.body.push_back(body.clone());
            }
            st.trailers = Some(Headers::new());
        } else if spec.framing == Framing::None {
            st.trailers = Some(Headers::new());
        }
        let req = Arc::new(Req {
            spec,
            handler,
            pool: Arc::downgrade(&self.pool),
            state: Mutex::new(st),
            paused: AtomicBool::new(false),
            done: AtomicBool::new(false),
            high_water: self.pool.opts.body_high_water_mark.max(1),
        });
        self.pool.submit(req.clone());
        RequestHandle { req }
    }

    /// Open connections (connecting, busy or idle) to `origin`.
    pub fn connections(&self, origin: &Origin) -> usize {
        self.pool.connections(origin)
    }

    /// Idle pooled connections to `origin`.
    pub fn idle_connections(&self, origin: &Origin) -> usize {
        self.pool.idle_connections(origin)
    }

    /// Closes idle connections and refuses new requests
    /// ([`ClientError::ClientClosed`]); requests already made still finish, and each
    /// connection closes once it has nothing left to do.
    pub fn close(&self) {
        self.pool.close();
    }

    /// Fails every request not yet finished with [`ClientError::Aborted`] and closes
    /// every connection now.
    pub fn destroy(&self) {
        self.pool.destroy();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_authority_and_host_header() {
        assert_eq!(Origin::http("a.example", 80).host_header(), "a.example");
        assert_eq!(Origin::http("a.example", 8080).host_header(), "a.example:8080");
        assert_eq!(Origin::https("::1", 443).host_header(), "[::1]");
        assert_eq!(Origin::https("::1", 8443).authority(), "[::1]:8443");
    }

    #[test]
    fn error_codes() {
        assert_eq!(ClientError::hang_up().code(), "ECONNRESET");
        assert_eq!(ClientError::Parse(crate::Error::UnexpectedEof).code(), "ERR_IOCRATE_HTTP_PARSE");
        assert_eq!(ClientError::HeadersTimeout.code(), "ERR_IOCRATE_HTTP_HEADERS_TIMEOUT");
        assert_eq!(ClientError::Aborted.code(), "ABORT_ERR");
        assert_eq!(ClientError::UpgradeUnsupported.code(), "ERR_IOCRATE_HTTP_UPGRADE_UNSUPPORTED");
    }

    #[test]
    fn idempotent_methods() {
        let o = Origin::http("h", 1);
        for m in ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"] {
            assert!(RequestSpec::new(m, o.clone(), "/").idempotent(), "{m}");
        }
        assert!(!RequestSpec::new("POST", o.clone(), "/").idempotent());
        assert!(!RequestSpec::new("PATCH", o, "/").idempotent());
    }
}
