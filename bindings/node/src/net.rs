//! `@iocrate/net`: TCP and Unix stream sockets.

use std::sync::Arc;
use std::time::Duration;

use iocrate_net::tcp::{AcceptedSocket, ServerEvents, TcpConn, TcpServer};
use iocrate_net::{ConnectOptions, ListenOptions, NetError, SocketAddress, StreamEvents, StreamOptions};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bridge::{kind, Bridge, BridgeInner, Payload, Sink};
use crate::error::ErrorInfo;
use crate::stream::{Conn, StreamHandle};

/// An address as Node's `address()` returns it.
#[napi(object)]
pub struct AddressInfo {
    /// IP address or Unix socket path.
    pub address: String,
    /// Port (0 for Unix sockets).
    pub port: u32,
    /// `IPv4`, `IPv6` or `unix`.
    pub family: String,
}

impl From<SocketAddress> for AddressInfo {
    fn from(a: SocketAddress) -> Self {
        AddressInfo { address: a.host(), port: a.port() as u32, family: a.family().as_str().to_string() }
    }
}

/// Stream settings from JS.
#[napi(object)]
#[derive(Default)]
pub struct RawStreamOptions {
    /// `TCP_NODELAY` (default true).
    pub no_delay: Option<bool>,
    /// Keep-alive initial delay in ms; 0 or absent disables.
    pub keep_alive_ms: Option<u32>,
    /// Idle timeout in ms; 0 or absent disables.
    pub timeout_ms: Option<u32>,
    /// Write high-water mark in bytes.
    pub high_water_mark: Option<u32>,
    /// Read window in bytes.
    pub read_window: Option<u32>,
}

/// Converts optional JS stream settings, filling in defaults.
pub(crate) fn stream_options(r: Option<RawStreamOptions>) -> StreamOptions {
    {
        let r = r.unwrap_or_default();
        let d = StreamOptions::default();
        StreamOptions {
            no_delay: r.no_delay.unwrap_or(d.no_delay),
            keep_alive: r.keep_alive_ms.filter(|&v| v > 0).map(|v| Duration::from_millis(v as u64)),
            idle_timeout: r.timeout_ms.filter(|&v| v > 0).map(|v| Duration::from_millis(v as u64)),
            high_water_mark: r.high_water_mark.map_or(d.high_water_mark, |v| v as usize),
            read_window: r.read_window.map_or(d.read_window, |v| v as usize),
            read_chunk: d.read_chunk,
        }
    }
}

/// Connect options from JS.
#[napi(object)]
pub struct RawConnectOptions {
    /// Host name or IP.
    pub host: Option<String>,
    /// Port.
    pub port: Option<u32>,
    /// Unix socket path.
    pub path: Option<String>,
    /// Local address to bind.
    pub local_address: Option<String>,
    /// Local port to bind.
    pub local_port: Option<u32>,
    /// Connect timeout in ms.
    pub connect_timeout_ms: Option<u32>,
    /// Stream settings.
    pub stream: Option<RawStreamOptions>,
}

impl From<RawConnectOptions> for ConnectOptions {
    fn from(r: RawConnectOptions) -> Self {
        ConnectOptions {
            host: r.host.unwrap_or_default(),
            port: r.port.unwrap_or(0) as u16,
            path: r.path,
            local_address: r.local_address,
            local_port: r.local_port.map(|p| p as u16),
            connect_timeout: r.connect_timeout_ms.filter(|&v| v > 0).map(|v| Duration::from_millis(v as u64)),
            stream: stream_options(r.stream),
        }
    }
}

/// Listen options from JS.
#[napi(object)]
pub struct RawListenOptions {
    /// Address to bind; empty or absent: all interfaces.
    pub host: Option<String>,
    /// Port; 0 picks one.
    pub port: Option<u32>,
    /// Unix socket path.
    pub path: Option<String>,
    /// Backlog.
    pub backlog: Option<u32>,
    /// IPv6 only.
    pub ipv6_only: Option<bool>,
    /// `SO_REUSEPORT`.
    pub reuse_port: Option<bool>,
    /// Max concurrent connections.
    pub max_connections: Option<u32>,
    /// Settings of accepted streams.
    pub stream: Option<RawStreamOptions>,
}

impl From<RawListenOptions> for ListenOptions {
    fn from(r: RawListenOptions) -> Self {
        ListenOptions {
            host: r.host.unwrap_or_default(),
            port: r.port.unwrap_or(0) as u16,
            path: r.path,
            backlog: r.backlog,
            ipv6_only: r.ipv6_only.unwrap_or(false),
            reuse_port: r.reuse_port.unwrap_or(false),
            max_connections: r.max_connections.map(|v| v as usize),
            stream: stream_options(r.stream),
        }
    }
}

/// Starts connecting; events: CONNECT, or ERROR then CLOSE.
#[napi]
pub fn tcp_connect(bridge: &Bridge, options: RawConnectOptions) -> StreamHandle {
    let sink = Sink::new(&bridge.inner);
    let id = sink.id;
    let conn = TcpConn::connect(options.into(), Arc::new(sink));
    bridge.inner.track(&conn);
    StreamHandle::new(Conn::Tcp(conn), id)
}

/// Reports a listening server's events. `accept` wraps an accepted socket into a stream
/// (TCP here, TLS in `tls.rs`) reporting to the sink it is given.
pub(crate) struct ServerSink<F> {
    pub(crate) sink: Sink,
    pub(crate) accept: F,
}

impl<F> ServerEvents for ServerSink<F>
where
    F: Fn(AcceptedSocket, Arc<dyn StreamEvents>) -> Conn + Send + Sync + 'static,
{
    fn on_connection(&self, a: AcceptedSocket) {
        let s = Sink::new(&self.sink.bridge);
        let id = s.id;
        let conn = (self.accept)(a, Arc::new(s));
        conn.track(&self.sink.bridge);
        let c = conn.clone();
        // The handle object is built on the JS thread, in order with the stream's events.
        self.sink.push(
            kind::CONNECTION,
            Payload::Lazy(Box::new(move |env| unsafe {
                StreamHandle::to_napi_value(env.raw(), StreamHandle::new(c, id))
            })),
        );
        conn.start();
    }
    fn on_drop(&self, remote: Option<SocketAddress>) {
        self.sink.push(kind::DROP, Payload::Str(remote.map(|r| r.to_string()).unwrap_or_default()));
    }
    fn on_error(&self, err: NetError) {
        self.sink.push(kind::ERROR, Payload::Error(err.into()));
    }
    fn on_close(&self) {
        self.sink.push(kind::SERVER_CLOSE, Payload::None);
    }
}

/// A listening server (TCP, Unix or TLS). Events: CONNECTION (payload: a
/// `StreamHandle`; for TLS the handshake is still running), DROP, ERROR, SERVER_CLOSE.
#[napi]
pub struct ServerHandle {
    pub(crate) server: Arc<TcpServer>,
    pub(crate) id: u32,
}

#[napi]
impl ServerHandle {
    /// The id events for this server carry.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The bound address.
    #[napi]
    pub fn address(&self) -> AddressInfo {
        self.server.local_addr().clone().into()
    }

    /// Starts accepting.
    #[napi]
    pub fn start(&self) {
        self.server.start();
    }

    /// Stops accepting; SERVER_CLOSE follows once every connection has closed.
    #[napi]
    pub fn close(&self) {
        self.server.close();
    }

    /// Open connections.
    #[napi]
    pub fn connections(&self) -> u32 {
        self.server.connections() as u32
    }

    /// Sets the connection limit (negative: none).
    #[napi]
    pub fn set_max_connections(&self, max: i64) {
        self.server.set_max_connections((max >= 0).then_some(max as usize));
    }
}

pub(crate) fn listen_with(
    bridge: &Arc<BridgeInner>,
    options: ListenOptions,
    make: impl FnOnce(Sink, StreamOptions) -> Arc<dyn ServerEvents>,
) -> std::result::Result<(Arc<TcpServer>, u32), NetError> {
    let sink = Sink::new(bridge);
    let id = sink.id;
    let events = make(sink, options.stream.clone());
    let server = TcpServer::bind(&options, events)?;
    bridge.track(&server);
    Ok((server, id))
}

/// Binds and listens (synchronously, so `EADDRINUSE` is known at once). Call `start()`
/// to accept.
#[napi]
pub fn tcp_listen(bridge: &Bridge, options: RawListenOptions) -> Either<ServerHandle, ErrorInfo> {
    let make = |sink, stream: StreamOptions| -> Arc<dyn ServerEvents> {
        let accept =
            move |a: AcceptedSocket, events| Conn::Tcp(TcpConn::accepted(a.sock, Some(a.guard), &stream, events));
        Arc::new(ServerSink { sink, accept })
    };
    match listen_with(&bridge.inner, options.into(), make) {
        Ok((server, id)) => Either::A(ServerHandle { server, id }),
        Err(e) => Either::B(e.into()),
    }
}
