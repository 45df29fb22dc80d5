//! HTTPS for the client: a [`Connector`] that speaks TLS (rustls, via
//! [`iocrate_tls::TlsTransport`]) to `https` origins, plain TCP to `http` ones, and TLS
//! through `CONNECT` tunnels.

use std::future::Future;
use std::io;
use std::time::Duration;

use iocrate_net::tcp::{connect_sock, Sock};
use iocrate_net::{ConnectOptions, NetError, SocketAddress, Transport};
use iocrate_tls::{ClientSetup, TlsTransport};

use super::{Connector, Origin, Scheme};

/// A plain or TLS connection.
#[derive(Debug)]
pub enum MaybeTls {
    /// Plain TCP.
    Plain(Sock),
    /// TLS over TCP.
    Tls(Box<TlsTransport>),
}

impl Transport for MaybeTls {
    async fn readable(&self) -> io::Result<()> {
        match self {
            MaybeTls::Plain(s) => s.readable().await,
            MaybeTls::Tls(t) => t.readable().await,
        }
    }
    async fn writable(&self) -> io::Result<()> {
        match self {
            MaybeTls::Plain(s) => s.writable().await,
            MaybeTls::Tls(t) => t.writable().await,
        }
    }
    fn poll_read_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        match self {
            MaybeTls::Plain(s) => s.poll_read_ready(cx),
            MaybeTls::Tls(t) => t.poll_read_ready(cx),
        }
    }
    fn poll_write_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        match self {
            MaybeTls::Plain(s) => s.poll_write_ready(cx),
            MaybeTls::Tls(t) => t.poll_write_ready(cx),
        }
    }
    fn try_read(&self, dst: &mut Vec<u8>) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => Transport::try_read(s, dst),
            MaybeTls::Tls(t) => t.try_read(dst),
        }
    }
    fn read_chunk(&self, size: usize) -> io::Result<Vec<u8>> {
        match self {
            MaybeTls::Plain(s) => s.read_chunk(size),
            MaybeTls::Tls(t) => t.read_chunk(size),
        }
    }
    fn try_read_bytes(&self, dst: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => s.try_read_bytes(dst, max),
            MaybeTls::Tls(t) => t.try_read_bytes(dst, max),
        }
    }
    fn try_write(&self, src: &[u8]) -> io::Result<usize> {
        match self {
            MaybeTls::Plain(s) => Transport::try_write(s, src),
            MaybeTls::Tls(t) => t.try_write(src),
        }
    }
    fn has_pending_output(&self) -> bool {
        match self {
            MaybeTls::Plain(_) => false,
            MaybeTls::Tls(t) => t.has_pending_output(),
        }
    }
    fn flush(&self) -> io::Result<()> {
        match self {
            MaybeTls::Plain(_) => Ok(()),
            MaybeTls::Tls(t) => t.flush(),
        }
    }
    fn shutdown_write(&self) -> io::Result<()> {
        match self {
            MaybeTls::Plain(s) => Transport::shutdown_write(s),
            MaybeTls::Tls(t) => t.shutdown_write(),
        }
    }
    fn peer_addr(&self) -> Option<SocketAddress> {
        match self {
            MaybeTls::Plain(s) => Transport::peer_addr(s),
            MaybeTls::Tls(t) => t.peer_addr(),
        }
    }
    fn abort(&self) {
        match self {
            MaybeTls::Plain(s) => Transport::abort(s),
            MaybeTls::Tls(t) => t.abort(),
        }
    }
}

/// Connects `http` origins over TCP and `https` origins over TLS, verifying the server
/// certificate against the setup's roots and the origin's host name (SNI too).
#[derive(Debug, Clone)]
pub struct HttpsConnector {
    /// The TLS client configuration (offer ALPN `http/1.1`).
    pub tls: ClientSetup,
    /// Overrides the name verified and sent as SNI (default: the origin's host).
    pub servername: Option<String>,
    /// `TCP_NODELAY` (default on).
    pub no_delay: bool,
    /// Handshakes taking longer fail.
    pub handshake_timeout: Option<Duration>,
}

impl HttpsConnector {
    /// A connector with this TLS setup.
    pub fn new(tls: ClientSetup) -> Self {
        HttpsConnector { tls, servername: None, no_delay: true, handshake_timeout: Some(Duration::from_secs(30)) }
    }

    async fn handshake(&self, sock: Sock, origin: &Origin) -> Result<MaybeTls, NetError> {
        let name = self.servername.clone().unwrap_or_else(|| origin.host.clone());
        let t = TlsTransport::connect(sock, &self.tls, &name, self.handshake_timeout).await?;
        Ok(MaybeTls::Tls(Box::new(t)))
    }
}

impl Connector for HttpsConnector {
    type Stream = MaybeTls;

    fn connect(&self, origin: &Origin) -> impl Future<Output = Result<MaybeTls, NetError>> + Send {
        let opts = ConnectOptions { host: origin.host.clone(), port: origin.port, ..Default::default() };
        let origin = origin.clone();
        async move {
            let sock = connect_sock(&opts).await?;
            if self.no_delay {
                let _ = sock.set_no_delay(true);
            }
            match origin.scheme {
                Scheme::Http => Ok(MaybeTls::Plain(sock)),
                Scheme::Https => self.handshake(sock, &origin).await,
            }
        }
    }

    fn tunnel(&self, origin: &Origin, tunnel: MaybeTls) -> impl Future<Output = Result<MaybeTls, NetError>> + Send {
        let origin = origin.clone();
        async move {
            match (origin.scheme, tunnel) {
                (Scheme::Http, t) => Ok(t),
                (Scheme::Https, MaybeTls::Plain(sock)) => self.handshake(sock, &origin).await,
                (Scheme::Https, MaybeTls::Tls(_)) => Err(NetError::new(
                    "ERR_IOCRATE_HTTP_PROXY_TLS_UNSUPPORTED",
                    "connect",
                    "TLS inside a TLS proxy tunnel is not supported",
                )),
            }
        }
    }
}
