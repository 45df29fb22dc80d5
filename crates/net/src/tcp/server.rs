//! A listening socket: accept loop, connection counting and graceful close.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio::sync::Notify;

use super::sock::Sock;
use crate::addr::SocketAddress;
use crate::error::NetError;
use crate::stream::ListenOptions;

/// What a listening server reports to its owner.
pub trait ServerEvents: Send + Sync + 'static {
    /// A connection was accepted. The owner wraps it (for example with
    /// [`super::TcpConn::accepted`]) and keeps the [`ConnGuard`] alive until the
    /// connection is closed.
    fn on_connection(&self, sock: AcceptedSocket);
    /// A connection was refused because `max_connections` was reached.
    fn on_drop(&self, remote: Option<SocketAddress>);
    /// Accepting failed in a way that stops the server.
    fn on_error(&self, err: NetError);
    /// The server stopped accepting and every connection it accepted has closed.
    fn on_close(&self);
}

/// An accepted socket, with the slot it takes in its server's connection count.
#[derive(Debug)]
pub struct AcceptedSocket {
    /// The socket.
    pub sock: Sock,
    /// The remote address.
    pub remote: Option<SocketAddress>,
    /// Frees the server slot when dropped.
    pub guard: ConnGuard,
}

struct Shared {
    live: AtomicUsize,
    closing: AtomicBool,
    close_reported: AtomicBool,
    max: AtomicUsize,
    events: Arc<dyn ServerEvents>,
    stop: Notify,
    /// Set (and signalled) once the accept loop has closed the listening socket.
    stopped: (Mutex<bool>, Condvar),
}

impl Shared {
    fn maybe_report_close(&self) {
        if self.closing.load(Ordering::Acquire)
            && self.live.load(Ordering::Acquire) == 0
            && !self.close_reported.swap(true, Ordering::AcqRel)
        {
            self.events.on_close();
        }
    }
}

/// Holds one slot of a server's connection count.
pub struct ConnGuard(Arc<Shared>);

impl std::fmt::Debug for ConnGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnGuard")
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
        self.0.maybe_report_close();
    }
}

enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener, String),
}

/// A listening TCP or Unix domain socket.
pub struct TcpServer {
    shared: Arc<Shared>,
    local: SocketAddress,
    listener: Mutex<Option<Listener>>,
}

impl std::fmt::Debug for TcpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpServer").field("local", &self.local).finish_non_exhaustive()
    }
}

impl TcpServer {
    /// Binds and listens at once (errors such as `EADDRINUSE` come back here); call
    /// [`TcpServer::start`] to begin accepting.
    pub fn bind(opts: &ListenOptions, events: Arc<dyn ServerEvents>) -> Result<Arc<Self>, NetError> {
        let rt = iocrate_runtime::handle();
        let _enter = rt.enter();
        let backlog = opts.backlog.unwrap_or(511) as i32;
        let (listener, local) = if let Some(path) = &opts.path {
            #[cfg(unix)]
            {
                let std_l = std::os::unix::net::UnixListener::bind(path)
                    .map_err(|e| NetError::io("listen", &e).at(path.clone(), 0))?;
                std_l.set_nonblocking(true).map_err(|e| NetError::io("listen", &e))?;
                let l = UnixListener::from_std(std_l).map_err(|e| NetError::io("listen", &e))?;
                (Listener::Unix(l, path.clone()), SocketAddress::Unix(path.clone()))
            }
            #[cfg(not(unix))]
            {
                return Err(NetError::new("ENOTSUP", "listen", "Unix domain sockets are not supported here")
                    .at(path.clone(), 0));
            }
        } else {
            let addr = resolve_listen_addr(&opts.host, opts.port)?;
            let domain = if addr.is_ipv4() { socket2::Domain::IPV4 } else { socket2::Domain::IPV6 };
            let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))
                .map_err(|e| NetError::io("listen", &e))?;
            let at = |e: std::io::Error| NetError::io("listen", &e).at(addr.ip().to_string(), addr.port());
            #[cfg(unix)]
            s.set_reuse_address(true).map_err(at)?;
            if opts.reuse_port {
                #[cfg(all(unix, not(target_os = "solaris"), not(target_os = "illumos")))]
                s.set_reuse_port(true).map_err(at)?;
            }
            if addr.is_ipv6() {
                s.set_only_v6(opts.ipv6_only).map_err(at)?;
            }
            s.bind(&addr.into()).map_err(at)?;
            s.listen(backlog).map_err(at)?;
            s.set_nonblocking(true).map_err(at)?;
            let l = TcpListener::from_std(s.into()).map_err(at)?;
            let local = l.local_addr().map_err(at)?;
            (Listener::Tcp(l), SocketAddress::Inet(local))
        };
        Ok(Arc::new(TcpServer {
            shared: Arc::new(Shared {
                live: AtomicUsize::new(0),
                closing: AtomicBool::new(false),
                close_reported: AtomicBool::new(false),
                max: AtomicUsize::new(opts.max_connections.unwrap_or(usize::MAX)),
                events,
                stop: Notify::new(),
                stopped: (Mutex::new(false), Condvar::new()),
            }),
            local,
            listener: Mutex::new(Some(listener)),
        }))
    }

    /// The bound address (with the port the OS picked).
    pub fn local_addr(&self) -> &SocketAddress {
        &self.local
    }

    /// Connections accepted and not yet closed.
    pub fn connections(&self) -> usize {
        self.shared.live.load(Ordering::Acquire)
    }

    /// Changes `max_connections` (`None`: unlimited).
    pub fn set_max_connections(&self, max: Option<usize>) {
        self.shared.max.store(max.unwrap_or(usize::MAX), Ordering::Release);
    }

    /// Starts the accept loop. Later calls do nothing.
    pub fn start(self: &Arc<Self>) {
        let Some(listener) = self.listener.lock().unwrap().take() else { return };
        let shared = self.shared.clone();
        iocrate_runtime::spawn(async move {
            accept_loop(listener, shared).await;
        });
    }

    /// Stops accepting: when this returns the listening socket is closed, so new
    /// connections are refused (as Node's `server.close()`). `on_close` is reported once
    /// every accepted connection has closed. Do not call it from a runtime thread.
    pub fn close(&self) {
        if self.shared.closing.swap(true, Ordering::AcqRel) {
            return;
        }
        // Never started: drop the listener here.
        let unstarted = self.listener.lock().unwrap().take();
        let started = unstarted.is_none();
        if let Some(l) = unstarted {
            drop_listener(l);
        }
        self.shared.stop.notify_one();
        if started {
            // The accept loop owns the socket; wait (briefly) until it has closed it, so a
            // connect right after `close()` is refused rather than reset from the backlog.
            let (lock, cv) = &self.shared.stopped;
            let done = lock.lock().unwrap();
            let _ = cv.wait_timeout_while(done, Duration::from_secs(1), |d| !*d);
        }
        self.shared.maybe_report_close();
    }
}

fn drop_listener(l: Listener) {
    match l {
        Listener::Tcp(_) => {}
        #[cfg(unix)]
        Listener::Unix(_, path) => {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn resolve_listen_addr(host: &str, port: u16) -> Result<SocketAddr, NetError> {
    if host.is_empty() {
        // Node listens on `::` (dual stack) when IPv6 is available, else `0.0.0.0`.
        let v6 = SocketAddr::new(std::net::Ipv6Addr::UNSPECIFIED.into(), port);
        if std::net::TcpListener::bind(SocketAddr::new(std::net::Ipv6Addr::LOCALHOST.into(), 0)).is_ok() {
            return Ok(v6);
        }
        return Ok(SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port));
    }
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = h.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    use std::net::ToSocketAddrs;
    (h, port)
        .to_socket_addrs()
        .map_err(|e| {
            let mut ne = NetError::io("getaddrinfo", &e).at(h, port);
            ne.code = "ENOTFOUND";
            ne
        })?
        .next()
        .ok_or_else(|| NetError::new("ENOTFOUND", "getaddrinfo", "no address found").at(h, port))
}

async fn accept_loop(listener: Listener, shared: Arc<Shared>) {
    loop {
        if shared.closing.load(Ordering::Acquire) {
            break;
        }
        let accepted = tokio::select! {
            biased;
            _ = shared.stop.notified() => break,
            r = accept(&listener) => r,
        };
        match accepted {
            Ok((sock, remote)) => {
                if shared.live.load(Ordering::Acquire) >= shared.max.load(Ordering::Acquire) {
                    drop(sock);
                    shared.events.on_drop(remote);
                    continue;
                }
                shared.live.fetch_add(1, Ordering::AcqRel);
                let guard = ConnGuard(shared.clone());
                shared.events.on_connection(AcceptedSocket { sock, remote, guard });
            }
            Err(e) => {
                // Out of descriptors or a connection aborted before accept: keep serving,
                // backing off a little when the process is out of descriptors.
                match e.raw_os_error() {
                    Some(23) | Some(24) | Some(105) | Some(12) => tokio::time::sleep(Duration::from_millis(50)).await,
                    _ if is_transient(&e) => {}
                    _ => {
                        shared.events.on_error(NetError::io("accept", &e));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
        }
    }
    drop_listener(listener);
    {
        let (lock, cv) = &shared.stopped;
        *lock.lock().unwrap() = true;
        cv.notify_all();
    }
    shared.maybe_report_close();
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted | WouldBlock)
}

async fn accept(l: &Listener) -> std::io::Result<(Sock, Option<SocketAddress>)> {
    match l {
        Listener::Tcp(l) => {
            let (s, a) = l.accept().await?;
            Ok((Sock::Tcp(s), Some(SocketAddress::Inet(a))))
        }
        #[cfg(unix)]
        Listener::Unix(l, _) => {
            let (s, a) = l.accept().await?;
            Ok((Sock::Unix(s), Some(SocketAddress::from_unix(&a))))
        }
    }
}
