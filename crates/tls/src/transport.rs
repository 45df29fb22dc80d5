//! [`TlsTransport`]: TLS as an [`iocrate_net::Transport`], so a protocol driver written
//! against that trait (the HTTP server and client drivers) runs over TLS unchanged.
//!
//! Theory of operation. [`TlsTransport::accept`] and [`TlsTransport::connect`] run the
//! whole handshake (bounded by the handshake timeout) and flush every handshake record
//! before they return; from then on the driver owns the transport and calls the
//! `Transport` methods from its one task. All TLS state lives under a mutex that is
//! therefore never contended.
//!
//! Reads: [`Transport::try_read`] reads ciphertext through the worker's scratch buffer
//! ([`iocrate_net::read_with_scratch`], so an idle connection holds no read buffer),
//! decrypts every whole record straight into the caller's buffer and queues whatever
//! rustls wants to answer (session tickets, key updates, alerts). Plaintext that arrived
//! with the last handshake flight, and an end of stream (`close_notify` or TCP EOF) or a
//! TLS error seen after plaintext was already returned, are kept and reported first;
//! [`Transport::readable`] resolves at once while such a report is owed.
//!
//! Writes: [`Transport::try_write`] encrypts and writes the records straight to the
//! socket; what the kernel does not take is queued (at most about [`MAX_PENDING`]
//! bytes, above which `try_write` says `WouldBlock`) and [`Transport::flush`] moves it on.
//! [`Transport::shutdown_write`] sends `close_notify` and shuts the socket's write side
//! once everything before it is flushed (by itself, or by a later `flush`).

use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use iocrate_net::tcp::Sock;
use iocrate_net::{NetError, SocketAddress, Transport};
use rustls::Connection;

use crate::config::ClientSetup;
use crate::conn::{tls_info, TlsInfo};
use crate::error::{codes, map_tls_error};
use crate::out::Out;
use crate::record;

/// Ciphertext read from the socket at once (through the thread's scratch buffer).
const READ_CHUNK: usize = 64 * 1024;

/// Unflushed ciphertext above which [`Transport::try_write`] takes no more plaintext.
pub const MAX_PENDING: usize = 256 * 1024;

struct State {
    tls: Connection,
    /// Ciphertext the kernel has not taken yet; `out[out_off..]` is pending.
    out: Vec<u8>,
    out_off: usize,
    /// Decrypted plaintext not yet handed out (only what arrived with the handshake).
    plain: Vec<u8>,
    /// The peer ended the stream (`close_notify` or TCP EOF); reported once `plain` is out.
    eof: bool,
    /// A fatal TLS error, reported by every later read and write.
    tls_err: Option<NetError>,
    /// A socket write error (also from writes made while reading), reported by writes.
    write_err: Option<io::Error>,
    close_notify_sent: bool,
    /// `shutdown_write` was called: shut the socket down once `out` is flushed.
    shut_pending: bool,
    shut: bool,
}

impl State {
    fn pending(&self) -> usize {
        self.out.len() - self.out_off
    }

    fn read_report_owed(&self) -> bool {
        !self.plain.is_empty() || self.eof || self.tls_err.is_some()
    }

    fn check_write(&self) -> io::Result<()> {
        if let Some(e) = &self.tls_err {
            return Err(tls_io_error(e.clone()));
        }
        if let Some(e) = &self.write_err {
            return Err(clone_io(e));
        }
        Ok(())
    }

    /// The error for a failed socket write: the TLS error that explains it, if one is
    /// known (see [`salvage`]), else the socket error.
    fn write_error(&self, e: &io::Error) -> io::Error {
        match &self.tls_err {
            Some(t) => tls_io_error(t.clone()),
            None => clone_io(e),
        }
    }
}

/// After a socket write failed because the peer closed or reset the connection (EPIPE,
/// ECONNRESET), reads what the peer sent before, without waiting: the kernel keeps it
/// queued even after a reset. Its plaintext stays for `try_read`, and an alert among it
/// (TLS 1.3 servers refuse a client certificate after the client's handshake is done:
/// `certificate_required`) becomes the error that writes report.
fn salvage(sock: &Sock, st: &mut State) {
    let peer_gone = st
        .write_err
        .as_ref()
        .is_some_and(|e| matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset));
    if !peer_gone || st.tls_err.is_some() || st.eof {
        return;
    }
    // Bounded: what a peer sent before closing, not a stream.
    for _ in 0..64 {
        let buf = match iocrate_net::read_with_scratch(READ_CHUNK, |b| sock.try_read_buf(b)) {
            Ok(buf) if !buf.is_empty() => buf,
            _ => return,
        };
        match record::process_incoming(&mut st.tls, &buf, &mut st.plain) {
            Ok(inc) if inc.peer_closed => {
                st.eof = true;
                return;
            }
            Ok(_) => {}
            Err(e) => {
                st.tls_err = Some(map_tls_error(&e));
                return;
            }
        }
    }
}

/// Moves everything rustls wants to send to the socket or the queue. Socket errors are
/// recorded in `write_err`.
fn pump(sock: &Sock, st: &mut State) {
    let State { tls, out, out_off, write_err, .. } = st;
    let failed_before = write_err.is_some();
    while tls.wants_write() && write_err.is_none() {
        let mut o = Out { sock, out, out_off, err: write_err };
        match tls.write_tls(&mut o) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => *write_err = Some(e),
        }
    }
    if !failed_before && st.write_err.is_some() {
        salvage(sock, st);
    }
}

/// Writes queued ciphertext (also after a TLS error: the alert is queued there).
/// `Ok(true)` when the queue is empty (its memory is then released); a socket error is
/// recorded and returned.
fn flush_out(sock: &Sock, st: &mut State) -> io::Result<bool> {
    if let Some(e) = &st.write_err {
        return Err(st.write_error(e));
    }
    while st.out_off < st.out.len() {
        match sock.try_write(&st.out[st.out_off..]) {
            Ok(n) => st.out_off += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) => {
                st.write_err = Some(clone_io(&e));
                salvage(sock, st);
                return Err(st.write_error(&e));
            }
        }
    }
    st.out = Vec::new();
    st.out_off = 0;
    Ok(true)
}

fn clone_io(e: &io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(n) => io::Error::from_raw_os_error(n),
        None => io::Error::new(e.kind(), e.to_string()),
    }
}

/// Wraps a TLS failure in an `io::Error` (kind `InvalidData`) that carries the
/// [`NetError`] (with one of the [`codes`]); [`tls_error_of`] gets it back.
pub fn tls_io_error(e: NetError) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// The TLS error (with its `ERR_IOCRATE_TLS_*` code) inside an `io::Error` returned by a
/// [`TlsTransport`], if it is one.
pub fn tls_error_of(e: &io::Error) -> Option<&NetError> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<NetError>())
}

/// A TLS stream (client or server side) over a connected socket, as an
/// [`iocrate_net::Transport`]. Made by [`TlsTransport::accept`] or
/// [`TlsTransport::connect`], which complete the handshake first.
pub struct TlsTransport {
    sock: Sock,
    st: Mutex<State>,
    info: TlsInfo,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport").field("sock", &self.sock).field("info", &self.info).finish_non_exhaustive()
    }
}

impl TlsTransport {
    /// Runs the server side of the handshake on an accepted socket. Fails with a
    /// [`NetError`] coded like [`crate::TlsConn`]'s errors: `ERR_IOCRATE_TLS_*` for TLS
    /// failures and a handshake timeout, `ECONNRESET` when the peer closes first, and the
    /// socket's own code for I/O errors.
    pub async fn accept(
        sock: Sock,
        config: Arc<rustls::ServerConfig>,
        handshake_timeout: Option<Duration>,
    ) -> Result<TlsTransport, NetError> {
        let tls = record::new_server(&config)?;
        Self::handshake(sock, tls, None, handshake_timeout).await
    }

    /// Runs the client side of the handshake on a connected socket, against
    /// `server_name` (a DNS name or an IP address; sent as SNI when it is a name, and
    /// verified against the certificate unless `setup` disables verification). Errors
    /// as for [`TlsTransport::accept`]; a bad name is `ERR_IOCRATE_TLS_BAD_CONFIG`.
    pub async fn connect(
        sock: Sock,
        setup: &ClientSetup,
        server_name: &str,
        handshake_timeout: Option<Duration>,
    ) -> Result<TlsTransport, NetError> {
        let tls = record::new_client(setup, server_name)?;
        Self::handshake(sock, tls, Some((setup, server_name)), handshake_timeout).await
    }

    async fn handshake(
        sock: Sock,
        tls: Connection,
        client: Option<(&ClientSetup, &str)>,
        handshake_timeout: Option<Duration>,
    ) -> Result<TlsTransport, NetError> {
        let mut t = TlsTransport {
            sock,
            st: Mutex::new(State {
                tls,
                out: Vec::new(),
                out_off: 0,
                plain: Vec::new(),
                eof: false,
                tls_err: None,
                write_err: None,
                close_notify_sent: false,
                shut_pending: false,
                shut: false,
            }),
            info: TlsInfo::default(),
        };
        match handshake_timeout {
            Some(limit) => match tokio::time::timeout(limit, t.drive_handshake()).await {
                Ok(r) => r?,
                Err(_) => {
                    let ms = limit.as_millis();
                    return Err(NetError::new(
                        codes::HANDSHAKE,
                        "handshake",
                        format!("the TLS handshake timed out after {ms} ms"),
                    ));
                }
            },
            None => t.drive_handshake().await?,
        }
        let info = tls_info(&t.lock().tls, client);
        t.info = info;
        Ok(t)
    }

    /// Reads and writes until the handshake is done and all of its records are flushed.
    async fn drive_handshake(&self) -> Result<(), NetError> {
        loop {
            let (want_read, want_write) = {
                let mut st = self.lock();
                pump(&self.sock, &mut st);
                let flushed = flush_out(&self.sock, &mut st).map_err(|e| match tls_error_of(&e) {
                    Some(t) => t.clone(),
                    None => NetError::io("write", &e),
                })?;
                let handshaking = st.tls.is_handshaking();
                if !handshaking && flushed {
                    return Ok(());
                }
                (handshaking, !flushed)
            };
            tokio::select! {
                r = self.sock.readable(), if want_read => {
                    r.map_err(|e| NetError::io("read", &e))?;
                    self.handshake_read()?;
                }
                r = self.sock.writable(), if want_write => {
                    r.map_err(|e| NetError::io("write", &e))?;
                }
            }
        }
    }

    /// One read during the handshake; plaintext that came along is kept for `try_read`.
    fn handshake_read(&self) -> Result<(), NetError> {
        let buf = match iocrate_net::read_with_scratch(READ_CHUNK, |b| self.sock.try_read_buf(b)) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(NetError::io("read", &e)),
        };
        if buf.is_empty() {
            return Err(NetError::new(
                "ECONNRESET",
                "handshake",
                "the peer closed the connection before the TLS handshake completed",
            ));
        }
        let mut st = self.lock();
        let st = &mut *st;
        match record::process_incoming(&mut st.tls, &buf, &mut st.plain) {
            Ok(inc) => {
                st.eof |= inc.peer_closed;
                Ok(())
            }
            Err(e) => {
                // Send the alert rustls queued, best effort.
                pump(&self.sock, st);
                Err(map_tls_error(&e))
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.st.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the handshake settled: ALPN, protocol, cipher, peer certificates, the server
    /// name (server side: the client's SNI; client side: the name connected to), whether
    /// the session was resumed and whether the peer was verified.
    pub fn info(&self) -> TlsInfo {
        self.info.clone()
    }

    /// The socket underneath (for socket options and addresses).
    pub fn sock(&self) -> &Sock {
        &self.sock
    }

    /// Whether this is the client side.
    pub fn is_client(&self) -> bool {
        matches!(self.lock().tls, Connection::Client(_))
    }

    fn read_report_owed(&self) -> bool {
        self.lock().read_report_owed()
    }
}

impl Transport for TlsTransport {
    // The ciphertext is read through the scratch buffer already; the plaintext goes to a
    // buffer of its own, sized to what was decrypted.
    fn read_chunk(&self, _size: usize) -> io::Result<Vec<u8>> {
        let mut plain = Vec::new();
        self.try_read(&mut plain)?;
        Ok(plain)
    }

    async fn readable(&self) -> io::Result<()> {
        // Plaintext, an end or an error already owed: no need to wait for the socket.
        if self.read_report_owed() {
            return Ok(());
        }
        self.sock.readable().await
    }

    fn writable(&self) -> impl std::future::Future<Output = io::Result<()>> + Send + '_ {
        self.sock.writable()
    }

    fn poll_read_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        if self.read_report_owed() {
            return std::task::Poll::Ready(Ok(()));
        }
        self.sock.poll_read_ready(cx)
    }

    fn poll_write_ready(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<io::Result<()>> {
        self.sock.poll_write_ready(cx)
    }

    fn try_read(&self, dst: &mut Vec<u8>) -> io::Result<usize> {
        let mut guard = self.lock();
        let st = &mut *guard;
        if !st.plain.is_empty() {
            let plain = std::mem::take(&mut st.plain);
            dst.extend_from_slice(&plain);
            return Ok(plain.len());
        }
        if let Some(e) = &st.tls_err {
            return Err(tls_io_error(e.clone()));
        }
        if st.eof {
            return Ok(0);
        }
        let before = dst.len();
        loop {
            let buf = iocrate_net::read_with_scratch(READ_CHUNK, |b| self.sock.try_read_buf(b))?;
            let res = if buf.is_empty() {
                // TCP EOF, with or without close_notify: end of stream either way (as Node).
                st.eof = true;
                record::process_eof(&mut st.tls, dst)
            } else {
                record::process_incoming(&mut st.tls, &buf, dst)
            };
            // Answers (tickets, key updates) or the alert for an error: queue and send.
            pump(&self.sock, st);
            let n = dst.len() - before;
            match res {
                Ok(inc) => st.eof |= inc.peer_closed,
                Err(e) => {
                    let ne = map_tls_error(&e);
                    st.tls_err = Some(ne.clone());
                    // Plaintext decrypted before the bad record goes out first.
                    return if n > 0 { Ok(n) } else { Err(tls_io_error(ne)) };
                }
            }
            if n > 0 {
                return Ok(n);
            }
            if st.eof {
                return Ok(0);
            }
        }
    }

    fn try_write(&self, src: &[u8]) -> io::Result<usize> {
        if src.is_empty() {
            return Ok(0);
        }
        let mut guard = self.lock();
        let st = &mut *guard;
        st.check_write()?;
        if st.close_notify_sent {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "write after shutdown_write"));
        }
        flush_out(&self.sock, st)?;
        let pending = st.pending();
        if pending >= MAX_PENDING {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let take = src.len().min(MAX_PENDING - pending);
        let n = st.tls.writer().write(&src[..take])?;
        pump(&self.sock, st);
        st.check_write()?;
        if n == 0 {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn has_pending_output(&self) -> bool {
        let st = self.lock();
        st.pending() > 0 || st.tls.wants_write() || (st.shut_pending && !st.shut) || st.write_err.is_some()
    }

    fn flush(&self) -> io::Result<()> {
        let mut guard = self.lock();
        let st = &mut *guard;
        pump(&self.sock, st);
        if !flush_out(&self.sock, st)? {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if st.shut_pending && !st.shut {
            st.shut = true;
            match self.sock.shutdown_write() {
                Err(e) if e.kind() != io::ErrorKind::NotConnected => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    fn shutdown_write(&self) -> io::Result<()> {
        {
            let mut st = self.lock();
            if st.shut_pending {
                return Ok(());
            }
            st.shut_pending = true;
            if !st.close_notify_sent && st.tls_err.is_none() {
                st.close_notify_sent = true;
                st.tls.send_close_notify();
            }
        }
        match Transport::flush(self) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            r => r,
        }
    }

    fn peer_addr(&self) -> Option<SocketAddress> {
        self.sock.peer_addr().ok()
    }
    fn abort(&self) {
        Transport::abort(&self.sock);
    }
}
