//! One connected stream and the task that drives it.
//!
//! Theory of operation. The owner (the JS thread, through the binding) calls `write`,
//! `end`, `destroy`, `pause`/`resume` at any time from any thread. `write` tries the
//! socket directly when nothing is queued, so a small write costs one syscall and no
//! cross-thread wake-up; only the rest is queued and the task is woken to flush it when
//! the socket becomes writable. The task waits, in one `select!`, for: a wake-up (new
//! queued bytes, end, destroy, timeout change), writability while bytes are queued,
//! readability while the read flow allows, and the idle deadline. All state changes of
//! the write side happen under one mutex; the read side belongs to the task alone.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::server::ConnGuard;
use super::sock::{connect_sock, Sock};
use crate::addr::SocketAddress;
use crate::error::NetError;
use crate::flow::ReadFlow;
use crate::settings::StreamSettings;
use crate::stream::{ConnectOptions, StreamEvents, StreamOptions, StreamStats};

const MAX_IOV: usize = 64;

#[derive(Default)]
struct WriteState {
    /// The socket, once connected. Taken out when the connection finishes, so the
    /// descriptor is closed as soon as the task ends, not when the owner's handle is
    /// garbage-collected.
    sock: Option<Arc<Sock>>,
    queue: VecDeque<Vec<u8>>,
    /// Bytes of `queue[0]` already written.
    front_off: usize,
    queued: usize,
    need_drain: bool,
    ending: bool,
    shut: bool,
    destroyed: bool,
    /// Set once the task has stopped: writes fail from then on.
    closed: bool,
    /// A write error seen on the JS thread, reported by the task.
    error: Option<NetError>,
}

/// A connected (or connecting) TCP or Unix stream.
pub struct TcpConn {
    events: Arc<dyn StreamEvents>,
    flow: Arc<ReadFlow>,
    w: Mutex<WriteState>,
    wake: Notify,
    high_water_mark: usize,
    read_chunk: usize,
    settings: StreamSettings,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    started: AtomicBool,
    guard: Mutex<Option<ConnGuard>>,
    /// Where read bytes go when forwarded natively instead of to the owner.
    forward: Mutex<Option<Arc<TcpConn>>>,
    /// A forward target waiting for the owner to pass on what it already received.
    pending_forward: Mutex<Option<Arc<TcpConn>>>,
    /// `on_forward_ready` is owed for the pending forward.
    announce_forward: AtomicBool,
    /// Read flows of connections forwarding here, blocked until this queue drains.
    drain_watchers: Mutex<Vec<Arc<ReadFlow>>>,
}

impl std::fmt::Debug for TcpConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpConn").field("sock", &self.sock()).finish_non_exhaustive()
    }
}

impl TcpConn {
    fn new(opts: &StreamOptions, events: Arc<dyn StreamEvents>) -> Arc<Self> {
        Arc::new(TcpConn {
            events,
            flow: ReadFlow::new(opts.read_window),
            w: Mutex::new(WriteState::default()),
            wake: Notify::new(),
            high_water_mark: opts.high_water_mark.max(1),
            read_chunk: opts.read_chunk.clamp(1024, 16 * 1024 * 1024),
            settings: StreamSettings::new(opts),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            started: AtomicBool::new(false),
            guard: Mutex::new(None),
            forward: Mutex::new(None),
            pending_forward: Mutex::new(None),
            announce_forward: AtomicBool::new(false),
            drain_watchers: Mutex::new(Vec::new()),
        })
    }

    /// Starts connecting; returns at once. Events: `on_connect`, or `on_error` then
    /// `on_close`. Bytes written before the connection is up are queued.
    pub fn connect(opts: ConnectOptions, events: Arc<dyn StreamEvents>) -> Arc<Self> {
        let conn = Self::new(&opts.stream, events);
        conn.started.store(true, Ordering::Release);
        let c = conn.clone();
        iocrate_runtime::spawn(async move {
            let fut = connect_sock(&opts);
            let res = match opts.connect_timeout {
                Some(t) => match tokio::time::timeout(t, fut).await {
                    Ok(r) => r,
                    Err(_) => Err(NetError::new(
                        "ETIMEDOUT",
                        "connect",
                        format!("connection timed out after {} ms", t.as_millis()),
                    )
                    .at(opts.path.clone().unwrap_or(opts.host.clone()), opts.port)),
                },
                None => fut.await,
            };
            match res {
                Err(e) => {
                    c.finish(Some(e));
                }
                Ok(sock) => {
                    if c.w.lock().unwrap().destroyed {
                        c.finish(None);
                        return;
                    }
                    c.install(sock);
                    c.events.on_connect();
                    c.run().await;
                }
            }
        });
        conn
    }

    /// Wraps an accepted socket; call [`TcpConn::start`] once the owner is ready for events.
    pub fn accepted(
        sock: Sock,
        guard: Option<ConnGuard>,
        opts: &StreamOptions,
        events: Arc<dyn StreamEvents>,
    ) -> Arc<Self> {
        let conn = Self::new(opts, events);
        *conn.guard.lock().unwrap() = guard;
        conn.install(sock);
        conn
    }

    /// Starts the task of an accepted connection. Later calls do nothing.
    pub fn start(self: &Arc<Self>) {
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let c = self.clone();
        iocrate_runtime::spawn(async move { c.run().await });
    }

    fn install(&self, sock: Sock) {
        self.settings.apply(&sock);
        self.w.lock().unwrap().sock = Some(Arc::new(sock));
        self.touch();
    }

    fn sock(&self) -> Option<Arc<Sock>> {
        self.w.lock().unwrap().sock.clone()
    }

    fn touch(&self) {
        if self.settings.touch() {
            // The idle timer was re-armed: the task waits without a deadline until woken.
            self.wake.notify_one();
        }
    }

    /// Queues `data` for writing, writing directly when nothing is queued. Returns the
    /// bytes still queued afterwards; at or above the high-water mark a drain event is
    /// owed.
    pub fn write(&self, data: &[u8]) -> Result<usize, NetError> {
        self.write_with(data, |d| d.to_vec())
    }

    fn write_with(&self, data: &[u8], own: impl FnOnce(&[u8]) -> Vec<u8>) -> Result<usize, NetError> {
        if data.is_empty() {
            return Ok(self.w.lock().unwrap().queued);
        }
        let mut w = self.w.lock().unwrap();
        if w.closed || w.destroyed {
            return Err(NetError::new("ERR_SOCKET_CLOSED", "write", "the socket is closed"));
        }
        if w.ending {
            return Err(NetError::new("ERR_STREAM_WRITE_AFTER_END", "write", "write after end"));
        }
        self.bytes_written.fetch_add(data.len() as u64, Ordering::Relaxed);
        let mut rest = data;
        if w.queue.is_empty() && w.error.is_none() {
            if let Some(sock) = w.sock.as_ref() {
                match sock.try_write(rest) {
                    Ok(n) => {
                        rest = &rest[n..];
                        self.touch();
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => {
                        w.error = Some(NetError::io("write", &e));
                        drop(w);
                        self.wake.notify_one();
                        return Ok(0);
                    }
                }
            }
        }
        if rest.is_empty() {
            return Ok(w.queued);
        }
        w.queued += rest.len();
        w.queue.push_back(own(rest));
        if w.queued >= self.high_water_mark {
            w.need_drain = true;
        }
        let q = w.queued;
        drop(w);
        self.wake.notify_one();
        Ok(q)
    }

    /// Ends the write side once the queue is flushed (sends FIN). Reading goes on until
    /// the peer ends too.
    pub fn end(&self) {
        let mut w = self.w.lock().unwrap();
        if !w.ending {
            w.ending = true;
            drop(w);
            self.wake.notify_one();
        }
    }

    /// Closes now, dropping queued bytes.
    pub fn destroy(&self) {
        let mut w = self.w.lock().unwrap();
        if !w.destroyed {
            w.destroyed = true;
            drop(w);
            self.wake.notify_one();
        }
    }

    /// Stops reading until [`TcpConn::resume`].
    pub fn pause(&self) {
        self.flow.pause();
    }

    /// Resumes reading.
    pub fn resume(&self) {
        self.flow.resume();
    }

    /// Sets or clears `TCP_NODELAY`.
    pub fn set_no_delay(&self, on: bool) -> Result<(), NetError> {
        self.settings.set_no_delay(self.sock().as_deref(), on)
    }

    /// Enables TCP keep-alive with an initial delay, or disables it.
    pub fn set_keep_alive(&self, delay: Option<Duration>) -> Result<(), NetError> {
        self.settings.set_keep_alive(self.sock().as_deref(), delay)
    }

    /// Sets the idle timeout (`None` disables it).
    pub fn set_timeout(&self, t: Option<Duration>) {
        self.settings.set_timeout(t);
        self.wake.notify_one();
    }

    /// Bytes queued in Rust, not yet taken by the kernel.
    pub fn buffered(&self) -> usize {
        self.w.lock().unwrap().queued
    }

    /// Byte counters.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }

    /// The local address, once connected.
    pub fn local_addr(&self) -> Option<SocketAddress> {
        self.sock().and_then(|s| s.local_addr().ok())
    }

    /// The remote address, once connected.
    pub fn peer_addr(&self) -> Option<SocketAddress> {
        self.sock().and_then(|s| s.peer_addr().ok())
    }

    /// Asks to forward everything read from now on to `dest` (which may be this
    /// connection: an echo) inside Rust, with no `on_data` events; `None` stops forwarding.
    ///
    /// Ordering is kept with a handshake: reading stops, `on_forward_ready` is reported
    /// after every chunk already read, the owner passes those chunks on to `dest` itself,
    /// then calls [`TcpConn::start_forward`]. While forwarding, a full `dest` queue pauses
    /// reading until it drains. End of stream is still reported through `on_end`.
    pub fn forward_to(&self, dest: Option<Arc<TcpConn>>) {
        match dest {
            Some(d) => {
                *self.pending_forward.lock().unwrap() = Some(d);
                self.flow.block();
                self.announce_forward.store(true, Ordering::Release);
            }
            None => {
                self.pending_forward.lock().unwrap().take();
                self.announce_forward.store(false, Ordering::Release);
                let old = self.forward.lock().unwrap().take();
                if let Some(old) = old {
                    old.drain_watchers.lock().unwrap().retain(|f| !Arc::ptr_eq(f, &self.flow));
                }
                self.flow.unblock();
            }
        }
        self.wake.notify_one();
    }

    /// Completes [`TcpConn::forward_to`]: forwarding starts and reading resumes.
    pub fn start_forward(&self) {
        if let Some(d) = self.pending_forward.lock().unwrap().take() {
            *self.forward.lock().unwrap() = Some(d);
            self.flow.unblock();
            self.wake.notify_one();
        }
    }

    /// Hands a read chunk to the forward target, if any. Returns the chunk back when it
    /// must go to the owner instead.
    fn forward_chunk(&self, chunk: Vec<u8>) -> Option<Vec<u8>> {
        let Some(dest) = self.forward.lock().unwrap().clone() else { return Some(chunk) };
        match dest.write(&chunk) {
            Ok(queued) => {
                if queued >= dest.high_water_mark {
                    // Block first, then register: a drain between the two unblocks us.
                    self.flow.block();
                    dest.drain_watchers.lock().unwrap().push(self.flow.clone());
                    if dest.buffered() < dest.high_water_mark {
                        self.flow.unblock();
                    }
                }
                None
            }
            Err(_) => {
                // The target is gone: stop forwarding and let the owner have the bytes.
                *self.forward.lock().unwrap() = None;
                Some(chunk)
            }
        }
    }

    fn release_watchers(&self) {
        let watchers = std::mem::take(&mut *self.drain_watchers.lock().unwrap());
        for f in watchers {
            f.unblock();
        }
    }

    /// Reports the error (if any) and close, exactly once.
    fn finish(&self, err: Option<NetError>) {
        {
            let mut w = self.w.lock().unwrap();
            if w.closed {
                return;
            }
            w.closed = true;
            // The task holds its own reference; the descriptor closes when it returns.
            w.sock = None;
            w.queue.clear();
            w.queued = 0;
        }
        self.release_watchers();
        self.forward.lock().unwrap().take();
        let had_error = err.is_some();
        if let Some(e) = err {
            self.events.on_error(e);
        }
        // Release the server's slot before reporting close, so a graceful server close
        // can complete right after the last connection's close event.
        self.guard.lock().unwrap().take();
        self.events.on_close(had_error);
    }

    /// Finishes after `err`. When a write failed because the peer closed or reset the
    /// connection (EPIPE, ECONNRESET), what the peer sent before that may still wait
    /// unread (the kernel keeps it even after a reset): it is read first, without
    /// waiting, and delivered, so no byte the peer sent is lost to the write error.
    fn finish_io(&self, sock: &Sock, err: NetError) {
        if err.is_write_to_closed_peer() {
            // Bounded: what a peer sent before closing, not a stream.
            for _ in 0..64 {
                match crate::scratch::read_with_scratch(self.read_chunk, |b| sock.try_read_buf(b)) {
                    Ok(chunk) if !chunk.is_empty() => {
                        let n = chunk.len();
                        self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
                        if let Some(chunk) = self.forward_chunk(chunk) {
                            let credit = self.flow.take(n);
                            self.events.on_data(chunk, credit);
                        }
                    }
                    _ => break,
                }
            }
        }
        self.finish(Some(err))
    }

    /// Writes as much of the queue as the kernel takes. `Ok(true)` when the queue is empty.
    fn flush(&self, sock: &Sock) -> Result<bool, NetError> {
        let mut w = self.w.lock().unwrap();
        while !w.queue.is_empty() {
            let mut iov: [IoSlice<'_>; MAX_IOV] = [IoSlice::new(&[]); MAX_IOV];
            let mut n_iov = 0;
            for (i, b) in w.queue.iter().take(MAX_IOV).enumerate() {
                iov[i] = IoSlice::new(if i == 0 { &b[w.front_off..] } else { &b[..] });
                n_iov += 1;
            }
            match sock.try_write_vectored(&iov[..n_iov]) {
                Ok(mut n) => {
                    w.queued -= n;
                    while n > 0 {
                        let front_left = w.queue[0].len() - w.front_off;
                        if n >= front_left {
                            n -= front_left;
                            w.queue.pop_front();
                            w.front_off = 0;
                        } else {
                            w.front_off += n;
                            n = 0;
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(NetError::io("write", &e)),
            }
        }
        self.touch();
        let need_drain = std::mem::take(&mut w.need_drain);
        drop(w);
        self.release_watchers();
        if need_drain {
            self.events.on_drain();
        }
        Ok(true)
    }

    async fn run(self: Arc<Self>) {
        let Some(sock) = self.sock() else { return self.finish(None) };
        let sock = &*sock;
        let mut read_done = false;
        let mut timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>> = None;
        loop {
            if self.announce_forward.swap(false, Ordering::AcqRel) {
                self.events.on_forward_ready();
            }
            let (want_write, destroyed) = {
                let mut w = self.w.lock().unwrap();
                if let Some(e) = w.error.take() {
                    drop(w);
                    return self.finish_io(sock, e);
                }
                if w.destroyed {
                    drop(w);
                    return self.finish(None);
                }
                if w.ending && !w.shut && w.queue.is_empty() {
                    w.shut = true;
                    if let Err(e) = sock.shutdown_write() {
                        if e.kind() != io::ErrorKind::NotConnected {
                            drop(w);
                            return self.finish(Some(NetError::io("shutdown", &e)));
                        }
                    }
                    self.events.on_shutdown();
                }
                if w.shut && read_done {
                    drop(w);
                    return self.finish(None);
                }
                (!w.queue.is_empty(), w.destroyed)
            };
            debug_assert!(!destroyed);
            let deadline = self.settings.idle_deadline();
            tokio::select! {
                biased;
                _ = self.wake.notified() => {}
                r = sock.writable(), if want_write => {
                    if let Err(e) = r.map_err(|e| NetError::io("write", &e)).and_then(|_| self.flush(sock)) {
                        return self.finish_io(sock, e);
                    }
                }
                r = async { self.flow.ready().await; sock.readable().await }, if !read_done => {
                    if let Err(e) = r {
                        return self.finish(Some(NetError::io("read", &e)));
                    }
                    match crate::scratch::read_with_scratch(self.read_chunk, |b| sock.try_read_buf(b)) {
                        Ok(chunk) if chunk.is_empty() => {
                            read_done = true;
                            self.events.on_end();
                        }
                        Ok(chunk) => {
                            let n = chunk.len();
                            self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
                            self.touch();
                            if let Some(chunk) = self.forward_chunk(chunk) {
                                let credit = self.flow.take(n);
                                self.events.on_data(chunk, credit);
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return self.finish(Some(NetError::io("read", &e))),
                    }
                }
                _ = async {
                    match deadline {
                        // Boxed: the timer is only paid for by connections with a timeout.
                        Some(d) => {
                            let t = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(d)));
                            t.as_mut().reset(d);
                            t.as_mut().await
                        }
                        None => std::future::pending().await,
                    }
                } => {
                    if self.settings.idle_expired() {
                        self.events.on_timeout();
                    }
                }
            }
        }
    }
}

crate::delegate_stream_ops!(TcpConn);

#[cfg(test)]
mod size_probe {
    /// Idle connections cost what this task and struct cost: keep them small.
    #[test]
    fn per_connection_state_stays_small() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let s = tokio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            struct N;
            impl crate::StreamEvents for N {
                fn on_connect(&self) {}
                fn on_data(&self, _: Vec<u8>, _: crate::Credit) {}
                fn on_end(&self) {}
                fn on_drain(&self) {}
                fn on_timeout(&self) {}
                fn on_error(&self, _: crate::NetError) {}
                fn on_close(&self, _: bool) {}
            }
            let c = super::TcpConn::accepted(super::Sock::Tcp(s), None, &Default::default(), std::sync::Arc::new(N));
            let f = c.clone().run();
            assert!(std::mem::size_of_val(&f) <= 640, "run future is {} bytes", std::mem::size_of_val(&f));
            assert!(
                std::mem::size_of::<super::TcpConn>() <= 512,
                "TcpConn is {} bytes",
                std::mem::size_of::<super::TcpConn>()
            );
        });
    }
}
