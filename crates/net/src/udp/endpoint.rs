//! One bound UDP socket and the task that drives it.
//!
//! Theory of operation. The owner (the JS thread, through the binding) calls `send`,
//! `connect`, option setters, `pause`/`resume` and `close` from any thread. `send` tries
//! `sendto` directly when nothing is queued, so a datagram costs one syscall and no
//! cross-thread wake-up. When the kernel buffer is full (`EAGAIN`) the datagram is queued
//! with a token and the task is woken; the task sends the queue when the socket is
//! writable and reports each token's outcome through `on_sent`. The task also waits for
//! readability (while the read flow allows) and then reads up to `batch_size` datagrams
//! in one go, one `on_messages` call per wake-up. `close` takes the socket out of the
//! endpoint and wakes the task, which fails what is still queued, reports `on_close` and
//! drops the last reference, closing the descriptor.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use socket2::{MaybeUninitSlice, SockRef};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::Notify;

use super::sockopt::{self, Membership};
use super::{DatagramEvents, RecvBatch, RecvMeta, UdpOptions, TRUNCATED_CODE};
use crate::addr::SocketAddress;
use crate::error::NetError;
use crate::flow::ReadFlow;

/// Linux reports a datagram's real length when `MSG_TRUNC` is passed to `recvmsg`.
#[cfg(any(target_os = "linux", target_os = "android"))]
const RECV_FLAGS: std::ffi::c_int = 0x20;
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const RECV_FLAGS: std::ffi::c_int = 0;

/// What became of a datagram handed to [`UdpEndpoint::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendOutcome {
    /// The kernel took it: this many bytes were sent.
    Sent(usize),
    /// The kernel buffer was full; it is queued under this token and its outcome comes
    /// through [`DatagramEvents::on_sent`].
    Queued(u64),
}

struct Pending {
    token: u64,
    data: Vec<u8>,
    to: Option<SocketAddr>,
}

#[derive(Default)]
struct SendQueue {
    items: VecDeque<Pending>,
    bytes: usize,
    next_token: u64,
}

/// A bound UDP socket.
pub struct UdpEndpoint {
    sock: RwLock<Option<Arc<UdpSocket>>>,
    ipv6: bool,
    local: SocketAddr,
    events: Arc<dyn DatagramEvents>,
    flow: Arc<ReadFlow>,
    q: Mutex<SendQueue>,
    wake: Notify,
    closed: AtomicBool,
    max_message_size: usize,
    batch_size: usize,
}

impl std::fmt::Debug for UdpEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UdpEndpoint").field("local", &self.local).finish_non_exhaustive()
    }
}

fn closed_err(syscall: &'static str) -> NetError {
    NetError::new("ERR_SOCKET_CLOSED", syscall, "the socket is closed")
}

impl UdpEndpoint {
    /// Creates, configures and binds the socket, and starts its task. Errors such as
    /// `EADDRINUSE` are returned at once.
    pub fn bind(opts: &UdpOptions, events: Arc<dyn DatagramEvents>) -> Result<Arc<Self>, NetError> {
        let (sock, local) = sockopt::bind_socket(opts)?;
        let sock = {
            let _g = iocrate_runtime::handle().enter();
            UdpSocket::from_std(sock.into()).map_err(|e| NetError::io("bind", &e))?
        };
        let sock = Arc::new(sock);
        let ep = Arc::new(UdpEndpoint {
            sock: RwLock::new(Some(sock.clone())),
            ipv6: opts.ipv6,
            local,
            events,
            flow: ReadFlow::new(opts.read_window),
            q: Mutex::new(SendQueue::default()),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
            max_message_size: opts.max_message_size.clamp(1, 16 * 1024 * 1024),
            batch_size: opts.batch_size.clamp(1, 1024),
        });
        let e = ep.clone();
        iocrate_runtime::spawn(async move { e.run(sock).await });
        Ok(ep)
    }

    fn with_sock<R>(
        &self,
        syscall: &'static str,
        f: impl FnOnce(&UdpSocket) -> Result<R, NetError>,
    ) -> Result<R, NetError> {
        let g = self.sock.read().unwrap_or_else(|e| e.into_inner());
        match g.as_deref() {
            Some(s) => f(s),
            None => Err(closed_err(syscall)),
        }
    }

    /// Sends one datagram to `to`, or to the connected peer when `to` is `None`. Tries
    /// the socket directly; queues only when the kernel buffer is full.
    pub fn send(&self, data: &[u8], to: Option<SocketAddr>) -> Result<SendOutcome, NetError> {
        self.with_sock("send", |s| {
            let mut q = self.q.lock().unwrap_or_else(|e| e.into_inner());
            if q.items.is_empty() {
                // A plain syscall, not tokio's `try_send_to`: tokio's cached readiness may
                // not yet say "writable" right after bind, and we want the kernel's answer.
                let r = SockRef::from(s);
                let res = match to {
                    Some(a) => r.send_to(data, &a.into()),
                    None => r.send(data),
                };
                match res {
                    Ok(n) => return Ok(SendOutcome::Sent(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(send_err(&e, to)),
                }
            }
            let token = q.next_token;
            q.next_token += 1;
            q.bytes += data.len();
            q.items.push_back(Pending { token, data: data.to_vec(), to });
            drop(q);
            self.wake.notify_one();
            Ok(SendOutcome::Queued(token))
        })
    }

    /// Datagrams and bytes queued in Rust, waiting for the kernel buffer.
    pub fn queued(&self) -> (usize, usize) {
        let q = self.q.lock().unwrap_or_else(|e| e.into_inner());
        (q.items.len(), q.bytes)
    }

    /// Associates the socket with one peer: sends without an address go there and only
    /// its datagrams are received.
    pub fn connect(&self, to: SocketAddr) -> Result<(), NetError> {
        self.with_sock("connect", |s| {
            SockRef::from(s)
                .connect(&to.into())
                .map_err(|e| NetError::io("connect", &e).at(to.ip().to_string(), to.port()))
        })
    }

    /// Dissolves the association made by [`UdpEndpoint::connect`].
    pub fn disconnect(&self) -> Result<(), NetError> {
        self.with_sock("disconnect", |s| {
            let r = SockRef::from(s);
            sockopt::disconnect(SockRef::from(s)).map_err(|e| NetError::io("disconnect", &e))?;
            // Linux unbinds a port the kernel picked (bind to port 0) on disconnect; bind
            // it again so the socket keeps its address, as the owner expects.
            if s.local_addr().map(|a| a.port() == 0).unwrap_or(false) {
                r.bind(&self.local.into())
                    .map_err(|e| NetError::io("bind", &e).at(self.local.ip().to_string(), self.local.port()))?;
            }
            Ok(())
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddress {
        let live = self.with_sock("getsockname", |s| s.local_addr().map_err(|e| NetError::io("getsockname", &e)));
        SocketAddress::Inet(live.unwrap_or(self.local))
    }

    /// The connected peer, if any.
    pub fn peer_addr(&self) -> Option<SocketAddress> {
        self.with_sock("getpeername", |s| Ok(s.peer_addr().ok())).ok().flatten().map(SocketAddress::Inet)
    }

    /// Whether the socket is IPv6 (`udp6`).
    pub fn is_ipv6(&self) -> bool {
        self.ipv6
    }

    fn opt(&self, f: impl FnOnce(SockRef<'_>) -> io::Result<()>) -> Result<(), NetError> {
        self.with_sock("setsockopt", |s| f(SockRef::from(s)).map_err(|e| NetError::io("setsockopt", &e)))
    }

    /// Sets `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> Result<(), NetError> {
        self.opt(|s| s.set_broadcast(on))
    }

    /// Sets the unicast TTL (IPv4) or hop limit (IPv6).
    pub fn set_ttl(&self, ttl: u32) -> Result<(), NetError> {
        let v6 = self.ipv6;
        self.opt(|s| if v6 { s.set_unicast_hops_v6(ttl) } else { s.set_ttl_v4(ttl) })
    }

    /// Sets the multicast TTL (IPv4) or hop limit (IPv6).
    pub fn set_multicast_ttl(&self, ttl: u32) -> Result<(), NetError> {
        let v6 = self.ipv6;
        self.opt(|s| if v6 { s.set_multicast_hops_v6(ttl) } else { s.set_multicast_ttl_v4(ttl) })
    }

    /// Whether multicast datagrams sent are looped back to local listeners.
    pub fn set_multicast_loopback(&self, on: bool) -> Result<(), NetError> {
        let v6 = self.ipv6;
        self.opt(|s| if v6 { s.set_multicast_loop_v6(on) } else { s.set_multicast_loop_v4(on) })
    }

    /// Sets the outgoing multicast interface: an IPv4 address, or for IPv6 a scope
    /// (`::%eth0`, `::%2`, or an interface name or index).
    pub fn set_multicast_interface(&self, iface: &str) -> Result<(), NetError> {
        self.with_sock("setsockopt", |s| sockopt::multicast_interface(SockRef::from(s), iface, self.ipv6))
    }

    /// Joins a multicast group (source-specific when `m.source` is set).
    pub fn add_membership(&self, m: &Membership) -> Result<(), NetError> {
        self.with_sock("setsockopt", |s| sockopt::membership(SockRef::from(s), m, true, self.ipv6))
    }

    /// Leaves a multicast group.
    pub fn drop_membership(&self, m: &Membership) -> Result<(), NetError> {
        self.with_sock("setsockopt", |s| sockopt::membership(SockRef::from(s), m, false, self.ipv6))
    }

    /// Sets `SO_RCVBUF`.
    pub fn set_recv_buffer_size(&self, n: usize) -> Result<(), NetError> {
        self.opt(|s| s.set_recv_buffer_size(n))
    }

    /// `SO_RCVBUF` as the kernel reports it (Linux doubles the value set).
    pub fn recv_buffer_size(&self) -> Result<usize, NetError> {
        self.with_sock("getsockopt", |s| {
            SockRef::from(s).recv_buffer_size().map_err(|e| NetError::io("getsockopt", &e))
        })
    }

    /// Sets `SO_SNDBUF`.
    pub fn set_send_buffer_size(&self, n: usize) -> Result<(), NetError> {
        self.opt(|s| s.set_send_buffer_size(n))
    }

    /// `SO_SNDBUF` as the kernel reports it.
    pub fn send_buffer_size(&self) -> Result<usize, NetError> {
        self.with_sock("getsockopt", |s| {
            SockRef::from(s).send_buffer_size().map_err(|e| NetError::io("getsockopt", &e))
        })
    }

    /// Stops reading until [`UdpEndpoint::resume`]; the kernel buffer fills and then drops.
    pub fn pause(&self) {
        self.flow.pause();
    }

    /// Resumes reading.
    pub fn resume(&self) {
        self.flow.resume();
    }

    /// Whether the endpoint has been closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes: sends fail from now on, queued datagrams fail with `ERR_SOCKET_CLOSED`,
    /// then `on_close` is reported and the descriptor released. Later calls do nothing.
    pub fn close(&self) {
        if self.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.sock.write().unwrap_or_else(|e| e.into_inner()).take();
        self.wake.notify_one();
        // Wake a reader parked on the flow, too.
        self.flow.resume();
    }

    /// Sends what is queued. `true` when the queue is empty.
    fn flush(&self, s: &UdpSocket) -> bool {
        let mut done = Vec::new();
        let empty = {
            let mut q = self.q.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                let Some(p) = q.items.front() else { break true };
                let r = match p.to {
                    Some(a) => s.try_send_to(&p.data, a),
                    None => s.try_send(&p.data),
                };
                match r {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break false,
                    r => {
                        let p = q.items.pop_front().expect("front exists");
                        q.bytes -= p.data.len();
                        done.push((p.token, r.map_err(|e| send_err(&e, p.to))));
                    }
                }
            }
        };
        if !done.is_empty() {
            self.events.on_sent(done);
        }
        empty
    }

    fn finish(&self) {
        let failed: Vec<_> = {
            let mut q = self.q.lock().unwrap_or_else(|e| e.into_inner());
            q.bytes = 0;
            q.items.drain(..).map(|p| (p.token, Err(closed_err("send")))).collect()
        };
        if !failed.is_empty() {
            self.events.on_sent(failed);
        }
        self.events.on_close();
    }

    /// Reads up to `batch_size` datagrams; delivers them and any truncation warnings.
    fn read_batch(&self, s: &UdpSocket, scratch: &mut [MaybeUninit<u8>]) {
        let mut batch = RecvBatch { data: Vec::with_capacity(4096), meta: Vec::with_capacity(16) };
        let mut warnings = Vec::new();
        let max = scratch.len();
        for _ in 0..self.batch_size {
            let r = s.try_io(Interest::READABLE, || {
                let mut bufs = [MaybeUninitSlice::new(&mut scratch[..])];
                SockRef::from(s).recv_from_vectored_with_flags(&mut bufs, RECV_FLAGS)
            });
            match r {
                Ok((n, flags, from)) => {
                    let len = n.min(max);
                    // SAFETY: the kernel initialised the first `len` bytes of `scratch`.
                    let bytes = unsafe { std::slice::from_raw_parts(scratch.as_ptr().cast::<u8>(), len) };
                    batch.data.extend_from_slice(bytes);
                    let from = from.as_socket().unwrap_or(self.local);
                    let truncated = flags.is_truncated() || n > max;
                    if truncated {
                        let size = if n > max { format!("{n} bytes") } else { "more than maxMessageSize".to_string() };
                        warnings.push(
                            NetError::new(
                                TRUNCATED_CODE,
                                "recvmsg",
                                format!("a datagram of {size} from {from} was truncated to {len} bytes (maxMessageSize {max})"),
                            )
                            .at(from.ip().to_string(), from.port()),
                        );
                    }
                    batch.meta.push(RecvMeta { len, size: n.max(len), from, truncated });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    // ICMP errors (ECONNREFUSED on a connected socket) and the like: report
                    // and keep the socket, as Node does.
                    self.events.on_error(NetError::io("recvmsg", &e));
                    break;
                }
            }
        }
        if !batch.is_empty() {
            let credit = self.flow.take(batch.data.len() + 32 * batch.len());
            self.events.on_messages(batch, credit);
        }
        for w in warnings {
            self.events.on_warning(w);
        }
    }

    async fn run(self: Arc<Self>, s: Arc<UdpSocket>) {
        let mut scratch: Vec<MaybeUninit<u8>> = vec![MaybeUninit::uninit(); self.max_message_size];
        loop {
            if self.is_closed() {
                return self.finish();
            }
            let want_write = !self.q.lock().unwrap_or_else(|e| e.into_inner()).items.is_empty();
            tokio::select! {
                biased;
                _ = self.wake.notified() => {}
                r = s.writable(), if want_write => {
                    if r.is_ok() {
                        self.flush(&s);
                    }
                }
                r = async { self.flow.ready().await; s.readable().await } => {
                    if r.is_ok() && !self.is_closed() {
                        self.read_batch(&s, &mut scratch);
                    }
                }
            }
        }
    }
}

fn send_err(e: &io::Error, to: Option<SocketAddr>) -> NetError {
    let ne = NetError::io("send", e);
    match to {
        Some(a) => ne.at(a.ip().to_string(), a.port()),
        None => ne,
    }
}
