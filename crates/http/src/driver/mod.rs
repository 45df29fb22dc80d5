//! The tokio server driver: accepts connections with [`iocrate_net::tcp::TcpServer`] and
//! pumps one [`crate::Connection<Server>`] per connection in its own task.
//!
//! Requests that match the [`Routes`] table are answered in Rust. Every other request
//! goes to the [`Handler`]: [`Handler::on_request`] with the head and an [`Exchange`] to
//! answer through, then [`Handler::on_body`] for each body chunk and
//! [`Handler::on_body_end`] when the body is complete (always called, also for requests
//! without a body). These callbacks run on the connection's runtime thread and must not
//! block; the [`Exchange`] may be used from any thread.

mod conn;
mod exchange;
mod routes;

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use iocrate_net::tcp::{AcceptedSocket, ConnGuard, ServerEvents, TcpServer};
use iocrate_net::{Credit, ListenOptions, NetError, SocketAddress};
use iocrate_tls::TlsTransport;

use crate::client::MaybeTls;

pub use exchange::{ConnectionClosed, Exchange, DRAIN_HIGH_WATER};
pub use routes::{Routes, StaticResponse};

use crate::compress::Coding;
use crate::{Headers, Limits, Request};

/// A request the handler is asked to answer.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    /// Unique (per server) exchange id; the same as [`Exchange::id`].
    pub id: u64,
    /// The parsed head.
    pub request: Request,
    /// The peer's address.
    pub remote: Option<SocketAddress>,
    /// Whether body bytes follow ([`Handler::on_body`]); false when the request has no
    /// content, in which case [`Handler::on_body_end`] follows at once with no trailers.
    pub has_body: bool,
}

/// The application side of an [`HttpServer`]. All methods run on a runtime thread and
/// must return quickly.
pub trait Handler: Send + Sync + 'static {
    /// A request head arrived. Answer through `exchange` now or later, from any thread.
    fn on_request(&self, req: RequestInfo, exchange: Exchange);
    /// A chunk of the body of request `id`.
    fn on_body(&self, id: u64, chunk: Bytes) {
        let _ = (id, chunk);
    }
    /// A body chunk with its flow-control credit: the driver stops reading request bodies
    /// while more than a window's worth of credits are held. The default drops the credit
    /// at once (no flow control beyond the handler's own) and calls [`Handler::on_body`];
    /// an implementation that queues the chunk elsewhere (another thread, JS) keeps the
    /// credit until the chunk is consumed.
    fn on_body_credit(&self, id: u64, chunk: Bytes, credit: Credit) {
        drop(credit);
        self.on_body(id, chunk);
    }
    /// The body of request `id` is complete, with its trailers (usually empty).
    fn on_body_end(&self, id: u64, trailers: Headers) {
        let _ = (id, trailers);
    }
    /// The connection carrying request `id` closed before its response was complete
    /// (its body may or may not have been read). The exchange is dead.
    fn on_aborted(&self, id: u64) {
        let _ = id;
    }
    /// The response bytes queued on the connection of exchange `id` fell below half of
    /// [`DRAIN_HIGH_WATER`] after a [`Exchange::write_body`] had reached it.
    fn on_drain(&self, id: u64) {
        let _ = id;
    }
    /// An `Upgrade` or `CONNECT` request took its connection over (see
    /// [`HttpServerOptions::upgrade`]). Dropping `up` closes the connection.
    fn on_upgrade(&self, req: RequestInfo, up: Upgraded) {
        let _ = (req, up);
    }
    /// Whether this `Upgrade` request (HTTP/1.1, `Connection: upgrade`, no body) should be
    /// handed to [`Handler::on_upgrade`] even though [`HttpServerOptions::upgrade`] is off
    /// or the connection is TLS (a WebSocket server attached to this HTTP server, say).
    fn claims_upgrade(&self, req: &Request, tls: bool) -> bool {
        let _ = (req, tls);
        false
    }
    /// The server stopped accepting and every connection closed.
    fn on_close(&self) {}
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct HttpServerOptions {
    /// Parser limits.
    pub limits: Limits,
    /// Static responses answered without the handler.
    pub routes: Routes,
    /// Time allowed from the first byte of a request (or from accept) until its head is
    /// complete; the connection is closed when it runs out (slowloris). Node's `headersTimeout`.
    pub headers_timeout: Duration,
    /// How long an idle keep-alive connection stays open. Node's `keepAliveTimeout`.
    pub keep_alive_timeout: Duration,
    /// Close a connection with a request in flight after this long without a byte read or
    /// written (a stalled client, or a handler that never answers). Node's `server.timeout`.
    pub idle_timeout: Option<Duration>,
    /// `TCP_NODELAY` on accepted sockets.
    pub no_delay: bool,
    /// Serve HTTPS: every accepted connection completes a TLS handshake first.
    pub tls: Option<TlsAccept>,
    /// Compress responses for clients that accept it.
    pub compression: Option<Compression>,
    /// Response bytes queued per connection at which a write arms a drain notice.
    pub high_water_mark: usize,
    /// Hand `Upgrade` requests (HTTP/1.1, `Connection: upgrade`, no body) to
    /// [`Handler::on_upgrade`] with the raw connection, instead of to `on_request`.
    /// Plain TCP only: over TLS they stay ordinary requests unless the handler claims
    /// them ([`Handler::claims_upgrade`]).
    pub upgrade: bool,
    /// Hand `CONNECT` requests to [`Handler::on_upgrade`] (else they are ordinary requests).
    pub connect: bool,
}

/// A connection handed over by an `Upgrade` or `CONNECT` request: the application
/// answers on the socket itself (`101 Switching Protocols`, `200 Connection
/// Established`, or a refusal) and speaks the new protocol.
#[derive(Debug)]
pub struct Upgraded {
    /// The connection: plain TCP, or TLS (only for upgrades the handler claimed).
    pub io: MaybeTls,
    /// Bytes the client sent after the request head (already the new protocol).
    pub head: Bytes,
    /// Frees the server's connection slot when dropped.
    pub guard: ConnGuard,
}

/// Response compression, done on the connection's runtime thread.
///
/// A response is compressed when the request's `Accept-Encoding` accepts one of
/// `codings`, its `Content-Type` is compressible ([`crate::compress::compressible`]), it
/// has no `Content-Encoding` yet, no `Cache-Control: no-transform`, a status with a body
/// (not 1xx/204/206/304), the request is not `HEAD`, and its length is unknown or at
/// least `threshold`. A body whose bytes are all queued when the head is written is
/// compressed in one piece and sent with `Content-Length`; a streamed one is compressed
/// chunk by chunk (flushed after each, so the client can decode as it arrives) and sent
/// chunked. `Vary: Accept-Encoding` is added either way.
#[derive(Debug, Clone)]
pub struct Compression {
    /// Codings offered, preferred first.
    pub codings: Vec<Coding>,
    /// Smallest known body length worth compressing.
    pub threshold: u64,
    /// gzip/deflate level (0–9; default 6).
    pub level: Option<u32>,
    /// Brotli quality (0–11; default 4).
    pub brotli_quality: Option<u32>,
}

impl Default for Compression {
    fn default() -> Self {
        Compression { codings: vec![Coding::Br, Coding::Gzip], threshold: 1024, level: None, brotli_quality: None }
    }
}

/// TLS settings of an HTTPS server.
#[derive(Debug, Clone)]
pub struct TlsAccept {
    /// The rustls configuration (certificates, SNI, ALPN `http/1.1`).
    pub config: Arc<iocrate_tls::rustls::ServerConfig>,
    /// Handshakes that take longer are dropped.
    pub handshake_timeout: Option<Duration>,
}

impl Default for HttpServerOptions {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            routes: Routes::new(),
            headers_timeout: Duration::from_secs(60),
            keep_alive_timeout: Duration::from_secs(5),
            idle_timeout: None,
            no_delay: true,
            tls: None,
            compression: None,
            high_water_mark: DRAIN_HIGH_WATER,
            upgrade: false,
            connect: false,
        }
    }
}

/// [`Inner::closing`]: the server is closing gracefully.
pub(crate) const CLOSING: u8 = 1;
/// [`Inner::closing`]: every connection closes now.
pub(crate) const DESTROYING: u8 = 2;

/// Shared by the accept callbacks and every connection task.
pub(crate) struct Inner {
    pub(crate) opts: HttpServerOptions,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) next_id: AtomicU64,
    /// Turns true when the server closes: idle connections close at once, busy ones
    /// after their current responses.
    /// 0 open; [`CLOSING`]: idle connections close at once, busy ones after their current
    /// responses; [`DESTROYING`]: every connection closes now.
    pub(crate) closing: tokio::sync::watch::Sender<u8>,
}

struct Events(Arc<Inner>);

impl ServerEvents for Events {
    fn on_connection(&self, sock: AcceptedSocket) {
        let inner = self.0.clone();
        let AcceptedSocket { sock, remote, guard } = sock;
        let _ = sock.set_no_delay(inner.opts.no_delay);
        iocrate_runtime::spawn(async move {
            match inner.opts.tls.clone() {
                None => {
                    if let Some(h) = conn::serve(sock, remote, inner.clone(), false).await {
                        let up = Upgraded { io: MaybeTls::Plain(h.io), head: h.head, guard };
                        inner.handler.on_upgrade(h.info, up);
                        return;
                    }
                }
                Some(tls) => {
                    // A failed handshake just closes (as Node's `tlsClientError` without a listener).
                    if let Ok(t) = TlsTransport::accept(sock, tls.config, tls.handshake_timeout).await {
                        if let Some(h) = conn::serve(t, remote, inner.clone(), true).await {
                            let up = Upgraded { io: MaybeTls::Tls(Box::new(h.io)), head: h.head, guard };
                            inner.handler.on_upgrade(h.info, up);
                            return;
                        }
                    }
                }
            }
            drop(guard);
        });
    }
    fn on_drop(&self, _remote: Option<SocketAddress>) {}
    fn on_error(&self, _err: NetError) {}
    fn on_close(&self) {
        self.0.handler.on_close();
    }
}

/// A listening HTTP/1.1 server.
pub struct HttpServer {
    tcp: Arc<TcpServer>,
    inner: Arc<Inner>,
}

impl std::fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpServer").field("local", self.tcp.local_addr()).finish()
    }
}

impl HttpServer {
    /// Binds, listens and starts accepting.
    pub fn bind(
        listen: ListenOptions,
        opts: HttpServerOptions,
        handler: Arc<dyn Handler>,
    ) -> Result<Arc<HttpServer>, NetError> {
        let inner =
            Arc::new(Inner { opts, handler, next_id: AtomicU64::new(0), closing: tokio::sync::watch::Sender::new(0) });
        let tcp = TcpServer::bind(&listen, Arc::new(Events(inner.clone())))?;
        tcp.start();
        Ok(Arc::new(HttpServer { tcp, inner }))
    }

    /// The bound address.
    pub fn local_addr(&self) -> &SocketAddress {
        self.tcp.local_addr()
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.tcp.connections()
    }

    /// Stops accepting and closes idle keep-alive connections; busy ones close once
    /// their in-flight responses are done (each says `Connection: close`).
    /// [`Handler::on_close`] follows once every connection has closed.
    pub fn close(&self) {
        self.inner.closing.send_if_modified(|s| {
            let changed = *s < CLOSING;
            *s = (*s).max(CLOSING);
            changed
        });
        self.tcp.close();
    }

    /// Closes every open connection now, cutting off requests in flight (after
    /// [`HttpServer::close`], for a fast shutdown).
    pub fn close_all_connections(&self) {
        self.inner.closing.send_replace(DESTROYING);
    }

    /// Sets the connection limit (`None`: no limit).
    pub fn set_max_connections(&self, max: Option<usize>) {
        self.tcp.set_max_connections(max);
    }
}
