use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::time::Duration;

use socket2::SockRef;
use tokio::io::Interest;
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use crate::addr::SocketAddress;
use crate::error::NetError;
use crate::stream::ConnectOptions;

/// A connected stream socket: TCP or Unix domain.
#[derive(Debug)]
pub enum Sock {
    /// TCP over IPv4 or IPv6.
    Tcp(TcpStream),
    /// A Unix domain stream socket.
    #[cfg(unix)]
    Unix(UnixStream),
}

macro_rules! each {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Sock::Tcp($s) => $e,
            #[cfg(unix)]
            Sock::Unix($s) => $e,
        }
    };
}

impl Sock {
    /// Writes without waiting; `WouldBlock` when the kernel buffer is full.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        each!(self, s => s.try_write(buf))
    }

    /// Writes several buffers in one call without waiting.
    pub fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each!(self, s => s.try_write_vectored(bufs))
    }

    /// Like [`Sock::try_write_vectored`], as one `sendmsg` straight on the socket: no
    /// readiness bookkeeping, and none of `writev`'s file-layer work, which matters to a
    /// thread writing to many sockets in a row (a broadcast). A `WouldBlock` here leaves
    /// the reactor's write readiness set, so a task waiting for it wakes once for nothing
    /// (its own write then clears it): for writers on another thread than the socket's
    /// task.
    pub fn send_vectored_now(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        each!(self, s => SockRef::from(s).send_vectored(bufs))
    }

    /// Reads into the spare capacity of `buf` without waiting.
    ///
    /// A read that returns less than the spare capacity also clears the socket's read
    /// readiness (as tokio's own `poll_read` does), so the caller's next
    /// [`Sock::readable`] waits for new data instead of costing a `recv` that can only say
    /// `EAGAIN`. Tokio clears readiness only if no new readiness event arrived meanwhile,
    /// so no wake-up is lost.
    pub fn try_read_buf(&self, buf: &mut Vec<u8>) -> io::Result<usize> {
        let n = self.try_read_uninit(buf.spare_capacity_mut())?;
        // SAFETY: recv initialised the first n bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// [`Sock::try_read_buf`] into a `BytesMut`, at most `max` bytes (at least 1; room is
    /// reserved for them, so `Ok(0)` always means end of stream).
    pub fn try_read_bytes(&self, buf: &mut bytes::BytesMut, max: usize) -> io::Result<usize> {
        let max = max.max(1);
        buf.reserve(max);
        let n = self.try_read_uninit(&mut buf.spare_capacity_mut()[..max])?;
        // SAFETY: recv initialised the first n bytes of the spare capacity.
        unsafe { buf.set_len(buf.len() + n) };
        Ok(n)
    }

    /// Receives into `spare`; returns how many bytes it initialised.
    fn try_read_uninit(&self, spare: &mut [std::mem::MaybeUninit<u8>]) -> io::Result<usize> {
        let mut short = 0;
        let r = each!(self, s => s.try_io(Interest::READABLE, || {
            let cap = spare.len();
            let n = SockRef::from(s).recv(spare)?;
            if n > 0 && n < cap {
                short = n;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            Ok(n)
        }));
        match r {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && short > 0 => Ok(short),
            r => r,
        }
    }

    /// Waits until the socket may be readable.
    pub async fn readable(&self) -> io::Result<()> {
        each!(self, s => s.readable().await)
    }

    /// Waits until the socket may be writable.
    pub async fn writable(&self) -> io::Result<()> {
        each!(self, s => s.writable().await)
    }

    /// [`Sock::readable`] as a poll: no future to store (only the last caller's waker is
    /// woken).
    pub fn poll_read_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        each!(self, s => s.poll_read_ready(cx))
    }

    /// [`Sock::writable`] as a poll (only the last caller's waker is woken).
    pub fn poll_write_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        each!(self, s => s.poll_write_ready(cx))
    }

    /// Shuts down the write half (sends FIN).
    pub fn shutdown_write(&self) -> io::Result<()> {
        self.sock_ref().shutdown(std::net::Shutdown::Write)
    }

    /// The socket as a `socket2` reference, for options.
    pub fn sock_ref(&self) -> SockRef<'_> {
        each!(self, s => SockRef::from(s))
    }

    /// Sets `TCP_NODELAY` (no-op on Unix sockets).
    pub fn set_no_delay(&self, on: bool) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => s.set_nodelay(on),
            #[cfg(unix)]
            Sock::Unix(_) => Ok(()),
        }
    }

    /// Enables TCP keep-alive with the given initial delay, or disables it.
    pub fn set_keep_alive(&self, delay: Option<Duration>) -> io::Result<()> {
        match self {
            Sock::Tcp(s) => {
                let r = SockRef::from(s);
                match delay {
                    Some(d) => {
                        let ka = socket2::TcpKeepalive::new().with_time(d.max(Duration::from_secs(1)));
                        r.set_tcp_keepalive(&ka)
                    }
                    None => r.set_keepalive(false),
                }
            }
            #[cfg(unix)]
            Sock::Unix(_) => Ok(()),
        }
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddress> {
        match self {
            Sock::Tcp(s) => s.local_addr().map(SocketAddress::Inet),
            #[cfg(unix)]
            Sock::Unix(s) => s.local_addr().map(|a| SocketAddress::from_unix(&a)),
        }
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddress> {
        match self {
            Sock::Tcp(s) => s.peer_addr().map(SocketAddress::Inet),
            #[cfg(unix)]
            Sock::Unix(s) => s.peer_addr().map(|a| SocketAddress::from_unix(&a)),
        }
    }
}

/// Resolves and connects, trying each resolved address in turn (IPv4 and IPv6 as the
/// resolver orders them). Must run inside the runtime.
pub async fn connect_sock(opts: &ConnectOptions) -> Result<Sock, NetError> {
    #[cfg(unix)]
    if let Some(path) = &opts.path {
        return UnixStream::connect(path)
            .await
            .map(Sock::Unix)
            .map_err(|e| NetError::io("connect", &e).at(path.clone(), 0));
    }
    #[cfg(not(unix))]
    if let Some(path) = &opts.path {
        return Err(
            NetError::new("ENOTSUP", "connect", "Unix domain sockets are not supported here").at(path.clone(), 0)
        );
    }
    let host = if opts.host.is_empty() { "localhost" } else { opts.host.as_str() };
    let addrs: Vec<SocketAddr> = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, opts.port)],
        Err(_) => tokio::net::lookup_host((host, opts.port))
            .await
            .map_err(|e| {
                let mut ne = NetError::io("getaddrinfo", &e).at(host, opts.port);
                ne.code = "ENOTFOUND";
                ne
            })?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(NetError::new("ENOTFOUND", "getaddrinfo", "no address found").at(host, opts.port));
    }
    let mut last = None;
    for addr in addrs {
        match connect_one(addr, opts).await {
            Ok(s) => return Ok(Sock::Tcp(s)),
            Err(e) => last = Some(NetError::io("connect", &e).at(addr.ip().to_string(), addr.port())),
        }
    }
    Err(last.expect("at least one address"))
}

async fn connect_one(addr: SocketAddr, opts: &ConnectOptions) -> io::Result<TcpStream> {
    let sock = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    if opts.local_address.is_some() || opts.local_port.is_some() {
        let ip = match &opts.local_address {
            Some(a) => a
                .parse()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("invalid localAddress {a:?}")))?,
            None if addr.is_ipv4() => std::net::Ipv4Addr::UNSPECIFIED.into(),
            None => std::net::Ipv6Addr::UNSPECIFIED.into(),
        };
        sock.bind(SocketAddr::new(ip, opts.local_port.unwrap_or(0)))?;
    }
    sock.connect(addr).await
}
