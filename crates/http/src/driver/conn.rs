//! One accepted connection: a task that owns the socket and pumps the codec.
//!
//! # Theory of operation
//!
//! The task loops over four steps, and only then waits:
//!
//! 1. **Input**: `poll_event` on the read buffer until `Ok(None)`. Each request head
//!    gets a [`Slot`] at the back of `slots`, in request order. A head that matches the
//!    route table is answered from the table once its body has been read (the body is
//!    discarded); any other goes to [`Handler::on_request`], and its body to `on_body` /
//!    `on_body_end`. `100 Continue` is sent automatically when the request is the only
//!    one outstanding (otherwise it would overtake an earlier response; the client then
//!    sends its body after its own wait). A head that asks to close (`Connection: close`,
//!    HTTP/1.0) is only parsed once every earlier request is answered, because the codec
//!    would otherwise mark those earlier responses `close` too. A parse error queues one more slot holding the
//!    error status with `Connection: close`; the codec reads nothing after it.
//! 2. **Output**: commands from [`Exchange`]s arrive over one channel, tagged with their
//!    exchange id, and are stored in that exchange's slot. Only the front slot's commands
//!    are handed to the codec, so pipelined responses leave in request order however the
//!    handler orders them; a slot is popped when its response ends.
//! 3. **Flush**: `try_write` from the output buffer until it is empty or the kernel says
//!    `WouldBlock`.
//! 4. **Close check**: once the codec says `must_close()` (or the peer sent EOF) and no
//!    slot is left, the output is flushed, the write side is shut down and the input is
//!    drained for a moment, so the peer reads our last response instead of a reset.
//!
//! Then it waits for whichever comes first: the socket readable (only while the codec
//! can use more input and less than [`OUT_HIGH_WATER`] bytes wait to be written), the
//! socket writable (only with output pending), a command, or the deadline. The deadline
//! is the headers timeout while a head is incomplete (from its first byte, or from
//! accept for the first request, so trickling bytes does not extend it) and the
//! keep-alive timeout while the connection is idle; none while a body is being read or a
//! response is pending. The read buffer only holds unparsed bytes, and reads go through
//! the thread's scratch buffer, so an idle connection keeps no buffer of its own.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use iocrate_net::{ReadFlow, SocketAddress, Transport};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use super::exchange::{Cmd, ConnShared, Exchange};
use super::routes::{http_date, StaticResponse};
use super::{Compression, Inner, RequestInfo, CLOSING, DESTROYING};
use crate::compress::{compress, compressible, negotiate, Coding, Encoder};
use crate::{Connection, Event, Framing, Headers, Response, Server, WriteError};

/// Stop reading while this many response bytes wait for the socket.
const OUT_HIGH_WATER: usize = 1 << 20;
/// Request-body bytes in flight to the handler at most (see `Driver::flow`).
const BODY_WINDOW: usize = 256 * 1024;
/// Scratch read size.
const READ_SIZE: usize = 64 * 1024;
/// How long a closing connection keeps draining input after shutting down its write side.
const LINGER: Duration = Duration::from_secs(2);

/// One request's place in the response order.
struct Slot {
    id: u64,
    cmds: VecDeque<Cmd>,
    route: Option<Arc<StaticResponse>>,
    /// The response head has been handed to the codec.
    started: bool,
    /// The codec's own error answer (its write errors are expected and ignored).
    error: bool,
    /// The coding the client accepts, when compression is on.
    accept: Coding,
    /// Compressing this (streamed) response.
    encoder: Option<Encoder>,
}

impl Slot {
    fn new(id: u64, route: Option<Arc<StaticResponse>>) -> Self {
        Self { id, cmds: VecDeque::new(), route, started: false, error: false, accept: Coding::Identity, encoder: None }
    }
}

enum Exit {
    /// An Upgrade/CONNECT request takes the connection over.
    Handoff,
    /// Flush, shut down the write side, drain input briefly.
    Graceful,
    /// Drop the socket now.
    Destroy,
    /// Reset the connection (an idle timeout: the peer may not be reading at all).
    Reset,
}

struct Driver {
    inner: Arc<Inner>,
    remote: Option<SocketAddress>,
    conn: Connection<Server>,
    buf: BytesMut,
    out: Vec<u8>,
    out_pos: usize,
    slots: VecDeque<Slot>,
    /// The request whose body is being read.
    reading: Option<u64>,
    head_start: Instant,
    /// Last time bytes moved on the socket (kept only with an idle timeout).
    last_io: Instant,
    /// The current deadline is the idle timeout (destroy) rather than a headers or
    /// keep-alive one (close gracefully).
    deadline_destroys: bool,
    idle_since: Option<Instant>,
    served: u64,
    eof: bool,
    failed: bool,
    upgraded: bool,
    destroyed: bool,
    /// The server is closing: answer what is in flight with `Connection: close`, then go.
    closing: bool,
    /// Reading is paused for the body of this exchange (request-body backpressure).
    body_paused: Option<u64>,
    tx: UnboundedSender<(u64, Cmd)>,
    shared: Arc<ConnShared>,
    /// Request-body bytes handed to the handler and not yet consumed: reading stops at
    /// [`BODY_WINDOW`], so a slow consumer holds the sender back.
    flow: Arc<ReadFlow>,
    /// The connection runs over TLS: only upgrades the handler claims
    /// ([`super::Handler::claims_upgrade`]) are handed off.
    tls: bool,
    /// The Upgrade/CONNECT request taking the connection over, once earlier responses are out.
    handoff: Option<RequestInfo>,
}

/// A connection leaving the HTTP driver for another protocol: the transport, the bytes
/// read after the request head, and the request.
pub(crate) struct Handoff<T> {
    pub(crate) io: T,
    pub(crate) head: bytes::Bytes,
    pub(crate) info: RequestInfo,
}

/// Serves one connection (already accepted, and for TLS already handshaken) until it
/// closes.
/// An Upgrade or CONNECT request the server hands off (see
/// [`super::HttpServerOptions::upgrade`] and [`super::Handler::claims_upgrade`]) ends the HTTP session and comes back as a
/// [`Handoff`] once every earlier response has been written.
pub(crate) async fn serve<T: Transport>(
    sock: T,
    remote: Option<SocketAddress>,
    inner: Arc<Inner>,
    tls: bool,
) -> Option<Handoff<T>> {
    let (tx, mut rx) = unbounded_channel();
    let mut closing = inner.closing.subscribe();
    let shared = Arc::new(ConnShared::new(inner.opts.high_water_mark));
    let mut d = Driver {
        conn: Connection::new(inner.opts.limits.clone()),
        inner,
        remote,
        buf: BytesMut::new(),
        out: Vec::new(),
        out_pos: 0,
        slots: VecDeque::new(),
        reading: None,
        head_start: Instant::now(),
        last_io: Instant::now(),
        deadline_destroys: false,
        idle_since: None,
        served: 0,
        eof: false,
        failed: false,
        upgraded: false,
        destroyed: false,
        closing: false,
        body_paused: None,
        tx,
        shared,
        tls,
        handoff: None,
        flow: ReadFlow::new(BODY_WINDOW),
    };
    let exit = d.run(&sock, &mut rx, &mut closing).await;
    // Every exchange the application still holds is dead now: the ones awaiting their
    // response, and one already answered whose body was still being read.
    if let Some(id) = d.reading.take() {
        if !d.slots.iter().any(|s| s.id == id) {
            d.inner.handler.on_aborted(id);
        }
    }
    for slot in d.slots.drain(..) {
        if slot.route.is_none() && !slot.error {
            d.inner.handler.on_aborted(slot.id);
        }
    }
    drop(rx);
    match exit {
        Exit::Handoff => {
            let info = d.handoff.take().expect("handoff request");
            let head = d.buf.split().freeze();
            return Some(Handoff { io: sock, head, info });
        }
        Exit::Graceful => iocrate_net::linger(&sock, LINGER).await,
        Exit::Destroy => {}
        Exit::Reset => sock.abort(),
    }
    drop(sock);
    None
}

impl Driver {
    async fn run<T: Transport>(
        &mut self,
        sock: &T,
        rx: &mut UnboundedReceiver<(u64, Cmd)>,
        closing: &mut tokio::sync::watch::Receiver<u8>,
    ) -> Exit {
        loop {
            let state = *closing.borrow_and_update();
            if state >= DESTROYING {
                return Exit::Destroy;
            }
            self.closing = state >= CLOSING;
            loop {
                let before = (self.slots.len(), self.buf.len());
                self.pump_input();
                self.pump_output();
                if self.failed || (self.slots.len(), self.buf.len()) == before {
                    break;
                }
            }
            if self.failed || self.destroyed || self.flush(sock).is_err() {
                return Exit::Destroy;
            }
            let pending = self.out.len() - self.out_pos + usize::from(sock.has_pending_output());
            if self.handoff.is_some() && self.slots.is_empty() && pending == 0 {
                return Exit::Handoff;
            }
            // A closing server lets the request being read (and every parsed one) finish.
            let stop = self.closing && self.reading.is_none() && self.buf.is_empty();
            let done = (self.conn.must_close() || self.eof || self.upgraded || stop) && self.slots.is_empty();
            if done && pending == 0 {
                return Exit::Graceful;
            }
            // Once the codec parses nothing more (after a closing request, say, whose
            // earlier pipelined requests are still being answered), stop reading too, so
            // unparsed input cannot pile up in the buffer.
            let read_closed = self.conn.must_close() || self.conn.is_read_closed();
            let paused = self.body_paused.is_some() && self.body_paused == self.reading;
            // Bytes after a handed-off request belong to the new protocol: leave them unread.
            let window_full = !self.flow.may_read();
            let want_read = !done
                && !self.eof
                && !paused
                && !window_full
                && self.handoff.is_none()
                && pending < OUT_HIGH_WATER
                && (!read_closed || self.reading.is_some());
            let deadline = self.deadline(pending);
            tokio::select! {
                r = sock.readable(), if want_read => {
                    if r.is_err() || self.read(sock).is_err() {
                        return Exit::Destroy;
                    }
                }
                r = sock.writable(), if pending > 0 => {
                    if r.is_err() {
                        return Exit::Destroy;
                    }
                }
                Some((id, cmd)) = rx.recv() => {
                    self.route_cmd(id, cmd);
                    while let Ok((id, cmd)) = rx.try_recv() {
                        self.route_cmd(id, cmd);
                    }
                }
                _ = self.flow.ready(), if window_full && !done => {}
                // An idle timeout with a request in flight cuts the connection (as a
                // Node socket timeout does); the headers and keep-alive timeouts close it.
                _ = sleep_until(deadline) => {
                    return if self.deadline_destroys { Exit::Reset } else { Exit::Graceful };
                }
                r = closing.changed() => {
                    if r.is_err() {
                        return Exit::Graceful;
                    }
                }
            }
        }
    }

    fn deadline(&mut self, pending: usize) -> Option<Instant> {
        let opts = &self.inner.opts;
        // Busy (a request being read or answered): only the socket idle timeout applies.
        let busy_deadline = opts.idle_timeout.map(|t| self.last_io + t);
        if self.reading.is_some() || !self.slots.is_empty() {
            self.idle_since = None;
            self.deadline_destroys = true;
            return busy_deadline;
        }
        self.deadline_destroys = false;
        if !self.buf.is_empty() || self.served == 0 {
            self.idle_since = None;
            return Some(self.head_start + opts.headers_timeout);
        }
        if pending == 0 {
            let since = *self.idle_since.get_or_insert_with(Instant::now);
            return Some(since + opts.keep_alive_timeout);
        }
        self.idle_since = None;
        self.deadline_destroys = true;
        busy_deadline
    }

    fn read<T: Transport>(&mut self, sock: &T) -> io::Result<()> {
        match sock.read_chunk(READ_SIZE) {
            Ok(v) if v.is_empty() => {
                self.eof = true;
                self.conn.handle_eof();
            }
            Ok(v) => {
                if self.inner.opts.idle_timeout.is_some() {
                    self.last_io = Instant::now();
                }
                if self.buf.is_empty() && self.reading.is_none() && self.served > 0 {
                    self.head_start = Instant::now();
                }
                self.buf.extend_from_slice(&v);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn pump_input(&mut self) {
        if self.handoff.is_some() {
            return;
        }
        loop {
            let ev = match self.conn.poll_event(&mut self.buf) {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                Err(e) => {
                    self.parse_error(e.status());
                    break;
                }
            };
            match ev {
                Event::Head(req) => {
                    let id = self.inner.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if !self.conn.body_pending() && self.wants_handoff(&req) {
                        // The codec now waits for the response that would switch protocols; it
                        // never comes through it: the application answers on the raw socket.
                        self.served += 1;
                        let remote = self.remote.clone();
                        self.handoff = Some(RequestInfo { id, request: req, remote, has_body: false });
                        break;
                    }
                    let route = self.inner.opts.routes.get(&req.method, req.target.as_str()).cloned();
                    let handled = route.is_none();
                    let has_body = self.conn.body_pending();
                    let mut slot = Slot::new(id, route);
                    if let Some(c) = &self.inner.opts.compression {
                        if req.method != "HEAD" {
                            slot.accept = negotiate(req.headers.get("accept-encoding"), &c.codings);
                        }
                    }
                    self.slots.push_back(slot);
                    self.reading = Some(id);
                    self.served += 1;
                    if handled {
                        let ex = Exchange { id, tx: self.tx.clone(), shared: self.shared.clone() };
                        self.inner
                            .handler
                            .on_request(RequestInfo { id, request: req, remote: self.remote.clone(), has_body }, ex);
                    }
                }
                Event::ExpectContinue => {
                    if self.slots.len() == 1 {
                        let _ = self.conn.write_continue(&mut self.out);
                    }
                }
                Event::Data(chunk) => {
                    if let Some(id) = self.reading {
                        if self.slot(id).is_some_and(|s| s.route.is_none()) {
                            let credit = self.flow.take(chunk.len());
                            self.inner.handler.on_body_credit(id, chunk, credit);
                        }
                    }
                }
                Event::End(trailers) => {
                    let Some(id) = self.reading.take() else { continue };
                    if !self.buf.is_empty() {
                        self.head_start = Instant::now();
                    }
                    let Some(slot) = self.slots.iter_mut().find(|s| s.id == id) else { continue };
                    match slot.route.clone() {
                        Some(r) => {
                            let mut headers = r.headers.clone();
                            let framing = Framing::Length(r.body.len() as u64);
                            headers.push("Date", http_date().to_vec());
                            slot.cmds.push_back(Cmd::Respond { status: r.status, headers, framing });
                            slot.cmds.push_back(Cmd::Body(r.body.clone()));
                            slot.cmds.push_back(Cmd::End(Headers::new()));
                        }
                        None => self.inner.handler.on_body_end(id, trailers),
                    }
                }
                Event::Upgrade(_) => {
                    // Protocol switches are not supported by this driver yet: close.
                    self.upgraded = true;
                    break;
                }
            }
        }
    }

    /// Queues the error answer. A request whose body failed to parse and whose response
    /// has not started gets the error answer in its place.
    fn parse_error(&mut self, status: u16) {
        if let Some(id) = self.reading.take() {
            if let Some(pos) = self.slots.iter().position(|s| s.id == id && !s.started) {
                let slot = self.slots.remove(pos).expect("position is in range");
                if slot.route.is_none() {
                    self.inner.handler.on_aborted(id);
                }
            }
        }
        let mut slot = Slot::new(u64::MAX, None);
        slot.error = true;
        let mut headers = Headers::new();
        headers.push("Connection", "close").push("Date", http_date().to_vec());
        slot.cmds.push_back(Cmd::Respond { status, headers, framing: Framing::None });
        slot.cmds.push_back(Cmd::End(Headers::new()));
        self.slots.push_back(slot);
    }

    /// Whether `req` is an Upgrade (RFC 9110 §7.8) or CONNECT request the server hands off.
    fn wants_handoff(&self, req: &crate::Request) -> bool {
        let opts = &self.inner.opts;
        if req.method == "CONNECT" {
            return opts.connect && !self.tls;
        }
        req.version == crate::Version::Http11
            && req.headers.contains("upgrade")
            && req.headers.has_token("connection", "upgrade")
            && ((opts.upgrade && !self.tls) || self.inner.handler.claims_upgrade(req, self.tls))
    }

    fn slot(&self, id: u64) -> Option<&Slot> {
        self.slots.iter().find(|s| s.id == id)
    }

    fn route_cmd(&mut self, id: u64, cmd: Cmd) {
        match cmd {
            Cmd::PauseBody(true) => {
                self.body_paused = Some(id);
                return;
            }
            Cmd::PauseBody(false) => {
                if self.body_paused == Some(id) {
                    self.body_paused = None;
                }
                return;
            }
            Cmd::Destroy => {
                if self.slots.iter().any(|s| s.id == id) {
                    self.destroyed = true;
                }
                return;
            }
            _ => {}
        }
        // Unknown ids belong to exchanges already answered by an error; drop them.
        if let Some(slot) = self.slots.iter_mut().find(|s| s.id == id && !s.error) {
            match cmd {
                Cmd::Full { status, headers, body } => {
                    let framing = Framing::Length(body.len() as u64);
                    slot.cmds.push_back(Cmd::Respond { status, headers, framing });
                    if !body.is_empty() {
                        slot.cmds.push_back(Cmd::Body(body));
                    }
                    slot.cmds.push_back(Cmd::End(Headers::new()));
                }
                cmd => slot.cmds.push_back(cmd),
            }
        }
    }

    fn pump_output(&mut self) {
        let mut saved_bytes = 0;
        self.pump_slots(&mut saved_bytes);
        if saved_bytes > 0 {
            // Compression shrank what was queued: count the difference as written.
            if let Some(id) = self.shared.written(saved_bytes) {
                self.inner.handler.on_drain(id);
            }
        }
    }

    fn pump_slots(&mut self, saved_bytes: &mut usize) {
        if self.out_pos > 0 && self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        while let Some(slot) = self.slots.front_mut() {
            let Some(cmd) = slot.cmds.pop_front() else { break };
            let is_error = slot.error;
            let r = match cmd {
                Cmd::Respond { status, mut headers, mut framing } => {
                    slot.started = true;
                    if let Some(c) = &self.inner.opts.compression {
                        if slot.accept != Coding::Identity && should_compress(c, status, &headers, framing) {
                            let (f, saved) = start_compression(slot, c, &mut headers, framing);
                            framing = f;
                            *saved_bytes += saved;
                        }
                    }
                    if !headers.contains("date") {
                        headers.push("Date", http_date().to_vec());
                    }
                    if self.closing && !headers.has_token("connection", "close") {
                        headers.push("Connection", "close");
                    }
                    let mut res = Response::new(status);
                    res.headers = headers;
                    self.conn.write_response(&res, framing, &mut self.out)
                }
                Cmd::Body(b) => match slot.encoder.as_mut() {
                    Some(enc) => {
                        let mut z = Vec::new();
                        let _ = enc.write(&b, &mut z);
                        *saved_bytes += b.len().saturating_sub(z.len());
                        if z.is_empty() {
                            Ok(())
                        } else {
                            self.conn.write_body(&z, &mut self.out)
                        }
                    }
                    None => self.conn.write_body(&b, &mut self.out),
                },
                Cmd::End(t) => {
                    if let Some(enc) = slot.encoder.take() {
                        let mut z = Vec::new();
                        let _ = enc.finish(&mut z);
                        if !z.is_empty() && self.conn.write_body(&z, &mut self.out).is_err() {
                            self.failed = true;
                            return;
                        }
                    }
                    let r = self.conn.write_end(&t, &mut self.out);
                    self.slots.pop_front();
                    r
                }
                Cmd::PauseBody(_) | Cmd::Destroy | Cmd::Full { .. } => Ok(()),
            };
            match r {
                Ok(()) => {}
                // An earlier response closed the connection (`Connection: close` from the
                // application, an HTTP/1.0 client): the later pipelined requests go
                // unanswered, as RFC 9112 §9.6 says, and the client retries them. What is
                // already in the output still goes out.
                Err(WriteError::Closed) if self.conn.must_close() && !is_error => {
                    for slot in self.slots.drain(..) {
                        if slot.route.is_none() && !slot.error {
                            self.inner.handler.on_aborted(slot.id);
                        }
                    }
                    self.reading = None;
                    return;
                }
                Err(_) if is_error => {}
                Err(_) => {
                    self.failed = true;
                    return;
                }
            }
        }
    }

    fn flush<T: Transport>(&mut self, sock: &T) -> io::Result<()> {
        match sock.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        while self.out_pos < self.out.len() {
            match sock.try_write(&self.out[self.out_pos..]) {
                Ok(n) => {
                    self.out_pos += n;
                    if n > 0 && self.inner.opts.idle_timeout.is_some() {
                        self.last_io = Instant::now();
                    }
                    if let Some(id) = self.shared.written(n) {
                        self.inner.handler.on_drain(id);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            if self.out.capacity() > READ_SIZE {
                self.out = Vec::new();
            }
        }
        if self.buf.is_empty() && self.buf.capacity() > READ_SIZE {
            self.buf = BytesMut::new();
        }
        Ok(())
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Whether a response may be compressed (see [`Compression`]).
fn should_compress(c: &Compression, status: u16, headers: &Headers, framing: Framing) -> bool {
    let body_status = status >= 200 && !matches!(status, 204 | 206 | 304);
    let size_ok = match framing {
        Framing::None => false,
        Framing::Length(n) => n >= c.threshold,
        Framing::Chunked => true,
    };
    body_status
        && size_ok
        && !headers.contains("content-encoding")
        && !headers.has_token("cache-control", "no-transform")
        && compressible(headers.get("content-type"))
}

/// Sets the coding headers and either compresses the whole queued body now (returning
/// its new length) or starts a streaming encoder (returning chunked framing).
/// The second value is how many fewer bytes the compressed body takes (for the
/// connection's queued-bytes count).
fn start_compression(slot: &mut Slot, c: &Compression, headers: &mut Headers, framing: Framing) -> (Framing, usize) {
    let coding = slot.accept;
    let level = if coding == Coding::Br { c.brotli_quality } else { c.level };
    headers.push("Content-Encoding", coding.as_str());
    if !headers.has_token("vary", "accept-encoding") {
        headers.push("Vary", "Accept-Encoding");
    }
    // Is the whole body already queued (body chunks, then the end)?
    let end = slot.cmds.iter().position(|c| matches!(c, Cmd::End(_)));
    let whole = end.is_some_and(|e| slot.cmds.iter().take(e).all(|c| matches!(c, Cmd::Body(_))));
    if let (true, Framing::Length(_), Some(e)) = (whole, framing, end) {
        let mut body = Vec::new();
        for cmd in slot.cmds.drain(..e) {
            if let Cmd::Body(b) = cmd {
                body.extend_from_slice(&b);
            }
        }
        let z = compress(coding, level, &body);
        let n = z.len() as u64;
        slot.cmds.push_front(Cmd::Body(z.into()));
        return (Framing::Length(n), body.len().saturating_sub(n as usize));
    }
    slot.encoder = Some(Encoder::new(coding, level));
    (Framing::Chunked, 0)
}
