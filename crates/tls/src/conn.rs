//! One TLS stream and the task that drives it.
//!
//! Theory of operation. A `TlsConn` is a `TcpConn` with a rustls [`Connection`] between
//! the socket and the owner. All TLS state (the rustls connection, the ciphertext that
//! the kernel has not taken yet, and the write-side flags) lives under one mutex.
//!
//! Writes: the owner's thread (the JS thread) locks, hands the plaintext to rustls
//! (which encrypts it into records right there) and drains the records through
//! [`Out`], which writes straight to the socket while nothing is queued and appends to
//! the ciphertext queue otherwise. A write therefore costs one encryption and one
//! syscall and wakes no task, like `TcpConn::write`. Plaintext written during the
//! handshake is buffered by rustls and sent once the handshake completes.
//!
//! Reads and everything else belong to the task. It waits, in one `select!`, for: a
//! wake-up (end, destroy, timeout change, write error), writability while ciphertext is
//! queued, readability while the read flow allows, the handshake deadline and the idle
//! deadline. A read takes up to `read_chunk` (64 KiB) of ciphertext, runs
//! [`record::process_incoming`] under the lock (decrypting every whole record into one
//! plaintext buffer), writes whatever rustls wants to answer (handshake messages,
//! alerts, session tickets) and then reports, outside the lock: the completed handshake
//! (`on_connect`, for both sides), the plaintext as one chunk, and `close_notify`
//! (`on_end`).
//!
//! `end()` sends `close_notify` once the handshake is done and the plaintext queued
//! before it is flushed, then shuts the socket's write side. A transport EOF without
//! `close_notify` is reported as a plain end, as Node does.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use iocrate_net::tcp::{connect_sock, ConnGuard, Sock};
use iocrate_net::StreamSettings;
use iocrate_net::{ConnectOptions, NetError, ReadFlow, SocketAddress, StreamEvents, StreamOptions, StreamStats};
use rustls::{Connection, HandshakeKind, ProtocolVersion};
use tokio::sync::Notify;

use crate::config::ClientSetup;
use crate::error::{codes, map_tls_error};
use crate::out::Out;
use crate::record;

/// What the handshake settled, available once it has completed.
#[derive(Debug, Clone, Default)]
pub struct TlsInfo {
    /// The ALPN protocol agreed on.
    pub alpn: Option<Vec<u8>>,
    /// `TLSv1.2` or `TLSv1.3`.
    pub protocol: Option<&'static str>,
    /// The cipher suite's IANA name (`TLS_AES_128_GCM_SHA256`, `TLS_ECDHE_RSA_WITH_…`).
    pub cipher: Option<String>,
    /// The peer's certificate chain (DER), end-entity first.
    pub peer_certs: Vec<Vec<u8>>,
    /// Whether the session was resumed.
    pub session_reused: bool,
    /// Server side: the SNI name the client sent. Client side: the name connected to.
    pub servername: Option<String>,
    /// Whether the peer's certificate was verified against the trusted CAs.
    pub authorized: bool,
    /// Why `authorized` is false (a code and message), if it is.
    pub authorization_error: Option<NetError>,
}

struct State {
    tls: Connection,
    /// Ciphertext the kernel has not taken yet; `out[out_off..]` is pending.
    out: Vec<u8>,
    out_off: usize,
    /// Plaintext handed to rustls while handshaking (it sends it afterwards).
    early_plain: usize,
    handshake_done: bool,
    need_drain: bool,
    ending: bool,
    close_notify_sent: bool,
    shut: bool,
    destroyed: bool,
    closed: bool,
    error: Option<NetError>,
}

impl State {
    fn queued(&self) -> usize {
        self.out.len() - self.out_off + self.early_plain
    }
}

/// A TLS stream over TCP (or a Unix socket), client or server side.
pub struct TlsConn {
    sock: OnceLock<Sock>,
    events: Arc<dyn StreamEvents>,
    flow: Arc<ReadFlow>,
    st: Mutex<State>,
    wake: Notify,
    high_water_mark: usize,
    read_chunk: usize,
    handshake_timeout: Option<Duration>,
    settings: StreamSettings,
    bytes_read: AtomicU64,
    bytes_written: AtomicU64,
    started: AtomicBool,
    guard: Mutex<Option<ConnGuard>>,
    info: OnceLock<TlsInfo>,
    client: Option<(ClientSetup, String)>,
}

impl std::fmt::Debug for TlsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConn").field("sock", &self.sock.get()).finish_non_exhaustive()
    }
}

impl TlsConn {
    fn new(
        tls: Connection,
        opts: &StreamOptions,
        handshake_timeout: Option<Duration>,
        client: Option<(ClientSetup, String)>,
        events: Arc<dyn StreamEvents>,
    ) -> Arc<Self> {
        Arc::new(TlsConn {
            sock: OnceLock::new(),
            events,
            flow: ReadFlow::new(opts.read_window),
            st: Mutex::new(State {
                tls,
                out: Vec::new(),
                out_off: 0,
                early_plain: 0,
                handshake_done: false,
                need_drain: false,
                ending: false,
                close_notify_sent: false,
                shut: false,
                destroyed: false,
                closed: false,
                error: None,
            }),
            wake: Notify::new(),
            high_water_mark: opts.high_water_mark.max(1),
            read_chunk: opts.read_chunk.clamp(16 * 1024 + 512, 16 * 1024 * 1024),
            handshake_timeout,
            settings: StreamSettings::new(opts),
            bytes_read: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            started: AtomicBool::new(false),
            guard: Mutex::new(None),
            info: OnceLock::new(),
            client,
        })
    }

    /// Connects and runs the client handshake against `server_name` (a DNS name or an
    /// IP address; verified against the certificate unless verification is disabled).
    /// Events: `on_connect` once the handshake is done, or `on_error` then `on_close`.
    /// A bad server name is reported as an error event too, so this never fails.
    pub fn connect(
        opts: ConnectOptions,
        setup: ClientSetup,
        server_name: &str,
        handshake_timeout: Option<Duration>,
        events: Arc<dyn StreamEvents>,
    ) -> Arc<Self> {
        let (tls, early_err) = match record::new_client(&setup, server_name) {
            Ok(c) => (c, None),
            // Keep a connection object around so the handle works; report the error.
            Err(e) => (
                Connection::Client(
                    rustls::ClientConnection::new(
                        setup.config.clone(),
                        "invalid.invalid".try_into().expect("valid name"),
                    )
                    .expect("client"),
                ),
                Some(e),
            ),
        };
        let conn = Self::new(tls, &opts.stream, handshake_timeout, Some((setup, server_name.to_string())), events);
        conn.started.store(true, Ordering::Release);
        let c = conn.clone();
        iocrate_runtime::spawn(async move {
            if let Some(e) = early_err {
                return c.finish(Some(e));
            }
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
                Err(e) => c.finish(Some(e)),
                Ok(sock) => {
                    if c.st.lock().unwrap().destroyed {
                        return c.finish(None);
                    }
                    c.install(sock);
                    c.run().await;
                }
            }
        });
        conn
    }

    /// Wraps an accepted socket for the server side of the handshake; call
    /// [`TlsConn::start`] once the owner is ready for events. `on_connect` reports the
    /// completed handshake.
    pub fn accept(
        sock: Sock,
        guard: Option<ConnGuard>,
        config: &Arc<rustls::ServerConfig>,
        opts: &StreamOptions,
        handshake_timeout: Option<Duration>,
        events: Arc<dyn StreamEvents>,
    ) -> Arc<Self> {
        let (tls, err) = match record::new_server(config) {
            Ok(c) => (c, None),
            Err(e) => (Connection::Server(rustls::ServerConnection::new(config.clone()).expect("server")), Some(e)),
        };
        let conn = Self::new(tls, opts, handshake_timeout, None, events);
        *conn.guard.lock().unwrap() = guard;
        conn.install(sock);
        if let Some(e) = err {
            conn.st.lock().unwrap().error = Some(e);
        }
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
        let _ = self.sock.set(sock);
        self.touch();
    }

    fn touch(&self) {
        if self.settings.touch() {
            // The idle timer was re-armed: the task waits without a deadline until woken.
            self.wake.notify_one();
        }
    }

    /// Encrypts and writes `data` (directly to the socket when nothing is queued).
    /// Returns the bytes still queued afterwards (ciphertext, plus plaintext waiting for
    /// the handshake); at or above the high-water mark a drain event is owed.
    pub fn write(&self, data: &[u8]) -> Result<usize, NetError> {
        let mut st = self.st.lock().unwrap();
        if data.is_empty() {
            return Ok(st.queued());
        }
        if st.closed || st.destroyed {
            return Err(NetError::new("ERR_SOCKET_CLOSED", "write", "the socket is closed"));
        }
        if st.ending {
            return Err(NetError::new("ERR_STREAM_WRITE_AFTER_END", "write", "write after end"));
        }
        self.bytes_written.fetch_add(data.len() as u64, Ordering::Relaxed);
        if st.tls.is_handshaking() {
            st.early_plain += data.len();
        }
        if let Err(e) = st.tls.writer().write_all(data) {
            st.error = Some(NetError::new(codes::HANDSHAKE, "write", format!("TLS write: {e}")));
            drop(st);
            self.wake.notify_one();
            return Ok(0);
        }
        let pending_before = st.out.len() - st.out_off;
        let mut woke = false;
        if let Some(sock) = self.sock.get() {
            if st.handshake_done {
                if let Err(e) = self.pump(&mut st, sock) {
                    st.error = Some(e);
                    woke = true;
                }
            }
        }
        let q = st.queued();
        if q >= self.high_water_mark {
            st.need_drain = true;
        }
        // The task needs waking only when it was not already waiting for writability.
        let pending_after = st.out.len() - st.out_off;
        drop(st);
        if woke || (pending_before == 0 && pending_after > 0) {
            self.wake.notify_one();
        }
        Ok(q)
    }

    /// Moves everything rustls wants to send to the socket or the queue.
    fn pump(&self, st: &mut State, sock: &Sock) -> Result<(), NetError> {
        let mut err = None;
        let State { tls, out, out_off, .. } = st;
        while tls.wants_write() {
            let mut o = Out { sock, out, out_off, err: &mut err };
            match tls.write_tls(&mut o) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(NetError::io("write", &e)),
            }
        }
        if let Some(e) = err {
            return Err(NetError::io("write", &e));
        }
        self.touch();
        Ok(())
    }

    /// Sends `close_notify` and ends the write side once everything queued is flushed.
    pub fn end(&self) {
        let mut st = self.st.lock().unwrap();
        if !st.ending {
            st.ending = true;
            drop(st);
            self.wake.notify_one();
        }
    }

    /// Closes now, dropping queued bytes.
    pub fn destroy(&self) {
        let mut st = self.st.lock().unwrap();
        if !st.destroyed {
            st.destroyed = true;
            drop(st);
            self.wake.notify_one();
        }
    }

    /// Stops reading until [`TlsConn::resume`].
    pub fn pause(&self) {
        self.flow.pause();
    }

    /// Resumes reading.
    pub fn resume(&self) {
        self.flow.resume();
    }

    /// Sets or clears `TCP_NODELAY`.
    pub fn set_no_delay(&self, on: bool) -> Result<(), NetError> {
        self.settings.set_no_delay(self.sock.get(), on)
    }

    /// Enables TCP keep-alive with an initial delay, or disables it.
    pub fn set_keep_alive(&self, delay: Option<Duration>) -> Result<(), NetError> {
        self.settings.set_keep_alive(self.sock.get(), delay)
    }

    /// Sets the idle timeout (`None` disables it).
    pub fn set_timeout(&self, t: Option<Duration>) {
        self.settings.set_timeout(t);
        self.wake.notify_one();
    }

    /// Bytes queued in Rust (ciphertext not taken by the kernel, plus plaintext waiting
    /// for the handshake).
    pub fn buffered(&self) -> usize {
        self.st.lock().unwrap().queued()
    }

    /// Plaintext byte counters.
    pub fn stats(&self) -> StreamStats {
        StreamStats {
            bytes_read: self.bytes_read.load(Ordering::Relaxed),
            bytes_written: self.bytes_written.load(Ordering::Relaxed),
        }
    }

    /// The local address, once connected.
    pub fn local_addr(&self) -> Option<SocketAddress> {
        self.sock.get().and_then(|s| s.local_addr().ok())
    }

    /// The remote address, once connected.
    pub fn peer_addr(&self) -> Option<SocketAddress> {
        self.sock.get().and_then(|s| s.peer_addr().ok())
    }

    /// What the handshake settled; `None` until it completes.
    pub fn info(&self) -> Option<&TlsInfo> {
        self.info.get()
    }

    /// Whether this is the client side.
    pub fn is_client(&self) -> bool {
        self.client.is_some()
    }

    fn finish(&self, err: Option<NetError>) {
        {
            let mut st = self.st.lock().unwrap();
            if st.closed {
                return;
            }
            st.closed = true;
            st.out = Vec::new();
            st.out_off = 0;
            st.early_plain = 0;
        }
        // The socket lives as long as the handle (which JS may hold until GC): shut it
        // down now so the peer sees the close at once.
        if let Some(sock) = self.sock.get() {
            let _ = sock.sock_ref().shutdown(std::net::Shutdown::Both);
        }
        let had_error = err.is_some();
        if let Some(e) = err {
            self.events.on_error(e);
        }
        self.guard.lock().unwrap().take();
        self.events.on_close(had_error);
    }

    /// Finishes after `err`. A write that failed because the peer closed or reset the
    /// connection (EPIPE, ECONNRESET) often has its reason waiting unread: the peer's
    /// last records, typically an alert ("certificate required"), which the kernel keeps
    /// queued even after a reset. Those are read first (without waiting), their plaintext
    /// is delivered, and an alert among them is the error reported.
    fn finish_io(&self, sock: &Sock, err: NetError, plain: &mut Vec<u8>) {
        if !err.is_write_to_closed_peer() {
            return self.finish(Some(err));
        }
        let mut err = err;
        // Bounded: what a peer sent before closing, not a stream.
        for _ in 0..64 {
            let buf = match iocrate_net::read_with_scratch(self.read_chunk, |b| sock.try_read_buf(b)) {
                Ok(buf) if !buf.is_empty() => buf,
                _ => break,
            };
            let mut st = self.st.lock().unwrap();
            if let Err(e) = record::process_incoming(&mut st.tls, &buf, plain) {
                err = map_tls_error(&e);
                break;
            }
        }
        if !plain.is_empty() {
            let n = plain.len();
            self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            let credit = self.flow.take(n);
            self.events.on_data(std::mem::take(plain), credit);
        }
        self.finish(Some(err))
    }

    /// Writes queued ciphertext. `Ok(true)` when the queue is empty.
    fn flush(&self, sock: &Sock) -> Result<bool, NetError> {
        let mut st = self.st.lock().unwrap();
        while st.out_off < st.out.len() {
            match sock.try_write(&st.out[st.out_off..]) {
                Ok(n) => st.out_off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) => return Err(NetError::io("write", &e)),
            }
        }
        st.out.clear();
        st.out_off = 0;
        self.touch();
        if st.need_drain && st.queued() == 0 {
            st.need_drain = false;
            drop(st);
            self.events.on_drain();
        }
        Ok(true)
    }

    fn handshake_info(&self, tls: &Connection) -> TlsInfo {
        tls_info(tls, self.client.as_ref().map(|(setup, name)| (setup, name.as_str())))
    }

    /// Runs after every read: writes rustls' replies and notes a completed handshake.
    /// Returns whether the handshake completed just now.
    fn after_read(&self, st: &mut State, sock: &Sock) -> Result<bool, NetError> {
        self.pump(st, sock)?;
        if !st.handshake_done && !st.tls.is_handshaking() {
            st.handshake_done = true;
            st.early_plain = 0;
            let _ = self.info.set(self.handshake_info(&st.tls));
            // Plaintext written during the handshake is now encrypted: send it.
            self.pump(st, sock)?;
            return Ok(true);
        }
        Ok(false)
    }

    async fn run(self: Arc<Self>) {
        let sock = match self.sock.get() {
            Some(s) => s,
            None => return self.finish(None),
        };
        // The client's ClientHello is queued already; send it.
        {
            let mut st = self.st.lock().unwrap();
            if let Err(e) = self.pump(&mut st, sock) {
                drop(st);
                return self.finish(Some(e));
            }
        }
        let hs_deadline = self.handshake_timeout.map(|t| tokio::time::Instant::now() + t);
        let mut read_done = false;
        let mut plain: Vec<u8> = Vec::new();
        loop {
            let (want_write, hs_done) = {
                let mut st = self.st.lock().unwrap();
                if let Some(e) = st.error.take() {
                    drop(st);
                    return self.finish_io(sock, e, &mut plain);
                }
                if st.destroyed {
                    drop(st);
                    return self.finish(None);
                }
                if st.ending && st.handshake_done && !st.close_notify_sent {
                    st.close_notify_sent = true;
                    st.tls.send_close_notify();
                    if let Err(e) = self.pump(&mut st, sock) {
                        drop(st);
                        return self.finish_io(sock, e, &mut plain);
                    }
                }
                if st.close_notify_sent && !st.shut && st.out_off >= st.out.len() {
                    st.shut = true;
                    if let Err(e) = sock.shutdown_write() {
                        if e.kind() != io::ErrorKind::NotConnected {
                            drop(st);
                            return self.finish(Some(NetError::io("shutdown", &e)));
                        }
                    }
                    self.events.on_shutdown();
                }
                if (st.shut || (st.ending && !st.handshake_done)) && read_done {
                    drop(st);
                    return self.finish(None);
                }
                (st.out_off < st.out.len(), st.handshake_done)
            };
            let idle_deadline = self.settings.idle_deadline();
            let hs_deadline = if hs_done { None } else { hs_deadline };
            tokio::select! {
                biased;
                _ = self.wake.notified() => {}
                r = sock.writable(), if want_write => {
                    if let Err(e) = r.map_err(|e| NetError::io("write", &e)).and_then(|_| self.flush(sock)) {
                        return self.finish_io(sock, e, &mut plain);
                    }
                }
                r = async { if hs_done { self.flow.ready().await; } sock.readable().await }, if !read_done => {
                    if let Err(e) = r {
                        return self.finish(Some(NetError::io("read", &e)));
                    }
                    // Ciphertext goes through the worker's scratch buffer: an idle
                    // connection holds no read buffer.
                    match iocrate_net::read_with_scratch(self.read_chunk, |b| sock.try_read_buf(b)) {
                        Ok(buf) => {
                            let n = buf.len();
                            self.touch();
                            let mut st = self.st.lock().unwrap();
                            let res = if n == 0 {
                                read_done = true;
                                record::process_eof(&mut st.tls, &mut plain)
                            } else {
                                record::process_incoming(&mut st.tls, &buf[..n], &mut plain)
                            };
                            let inc = match res {
                                Ok(inc) => inc,
                                Err(e) => {
                                    // Send the alert rustls queued, best effort.
                                    let _ = self.pump(&mut st, sock);
                                    drop(st);
                                    return self.finish(Some(map_tls_error(&e)));
                                }
                            };
                            let just_done = match self.after_read(&mut st, sock) {
                                Ok(d) => d,
                                Err(e) => {
                                    drop(st);
                                    return self.finish_io(sock, e, &mut plain);
                                }
                            };
                            let hs_done = st.handshake_done;
                            let need_drain = st.need_drain && st.queued() == 0;
                            if need_drain {
                                st.need_drain = false;
                            }
                            drop(st);
                            if read_done && !hs_done {
                                return self.finish(Some(NetError::new(
                                    "ECONNRESET",
                                    "handshake",
                                    "the peer closed the connection before the TLS handshake completed",
                                )));
                            }
                            if just_done {
                                self.events.on_connect();
                            }
                            if need_drain {
                                self.events.on_drain();
                            }
                            if !plain.is_empty() {
                                let n = plain.len();
                                self.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
                                let chunk = std::mem::take(&mut plain);
                                let credit = self.flow.take(n);
                                self.events.on_data(chunk, credit);
                            }
                            if inc.peer_closed || read_done {
                                read_done = true;
                                self.events.on_end();
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(e) => return self.finish(Some(NetError::io("read", &e))),
                    }
                }
                _ = async { match hs_deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                    let ms = self.handshake_timeout.map_or(0, |t| t.as_millis());
                    return self.finish(Some(NetError::new(codes::HANDSHAKE, "handshake", format!("the TLS handshake timed out after {ms} ms"))));
                }
                _ = async { match idle_deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                    if self.settings.idle_expired() {
                        self.events.on_timeout();
                    }
                }
            }
        }
    }
}

/// What the handshake of `tls` settled. `client` is the client side's setup and the name
/// connected to (`None` on the server side).
pub(crate) fn tls_info(tls: &Connection, client: Option<(&ClientSetup, &str)>) -> TlsInfo {
    let peer_certs: Vec<Vec<u8>> =
        tls.peer_certificates().map(|c| c.iter().map(|d| d.to_vec()).collect()).unwrap_or_default();
    let protocol = match tls.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => Some("TLSv1.3"),
        Some(ProtocolVersion::TLSv1_2) => Some("TLSv1.2"),
        _ => None,
    };
    let cipher = tls.negotiated_cipher_suite().map(|s| {
        let name = s.suite().as_str().map(str::to_string).unwrap_or_else(|| format!("{:?}", s.suite()));
        name.replacen("TLS13_", "TLS_", 1)
    });
    let (servername, authorized, authorization_error) = match (tls, client) {
        (Connection::Client(_), Some((setup, name))) => match &setup.report_verifier {
            None => (Some(name.to_string()), true, None),
            Some(v) => {
                let res = match (peer_certs.first(), crate::config::server_name(name)) {
                    (Some(ee), Ok(sn)) => {
                        use rustls::client::danger::ServerCertVerifier;
                        let inter: Vec<_> = peer_certs[1..]
                            .iter()
                            .map(|d| rustls::pki_types::CertificateDer::from(d.as_slice()))
                            .collect();
                        v.verify_server_cert(
                            &ee.as_slice().into(),
                            &inter,
                            &sn,
                            &[],
                            rustls::pki_types::UnixTime::now(),
                        )
                        .map(|_| ())
                        .map_err(|e| map_tls_error(&e))
                    }
                    (None, _) => {
                        Err(NetError::new(codes::CERT_UNTRUSTED, "handshake", "the server sent no certificate"))
                    }
                    (_, Err(e)) => Err(e),
                };
                (Some(name.to_string()), res.is_ok(), res.err())
            }
        },
        (Connection::Server(s), _) => {
            let presented = !peer_certs.is_empty();
            let err = (!presented)
                .then(|| NetError::new(codes::CERT_UNTRUSTED, "handshake", "the client presented no certificate"));
            (s.server_name().map(str::to_string), presented, err)
        }
        _ => (None, false, None),
    };
    TlsInfo {
        alpn: tls.alpn_protocol().map(<[u8]>::to_vec),
        protocol,
        cipher,
        peer_certs,
        session_reused: matches!(tls.handshake_kind(), Some(HandshakeKind::Resumed)),
        servername,
        authorized,
        authorization_error,
    }
}

iocrate_net::delegate_stream_ops!(TlsConn);
