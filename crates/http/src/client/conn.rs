//! One client connection: a task that connects, then owns the transport and pumps the codec.
//!
//! # Theory of operation
//!
//! The task starts with the request the pool spawned it for. While connecting (through
//! the proxy's `CONNECT` tunnel if one is set, all under the connect timeout) it keeps
//! taking messages, so an abort or [`super::Client::destroy`] is answered at once. A
//! failed connect fails its first request and gives the others back to the pool.
//!
//! Connected, it keeps `flights`: the requests assigned to it, oldest first. Requests
//! are written strictly in order (a head only after the previous body ended), so the
//! flights split into written ones (awaiting their responses, in order) and at most
//! one being written, then unwritten ones. Each loop iteration:
//!
//! 1. **Messages**: new requests join the back; wakes (body, end, pause, abort) just
//!    cause this iteration; aborted requests that are unwritten leave quietly, written
//!    ones kill the connection (its framing cannot be recovered).
//! 2. **Input**: `poll_event` until `Ok(None)`, unless the oldest request is paused.
//!    Events go to the oldest flight's handler. On `End` the flight leaves and the pool
//!    is told first (so a request made from `on_end` finds the connection idle), then
//!    `on_end` runs. A response that closes the connection (or that came while its request
//!    body was still being sent) retires the connection after it.
//! 3. **Output**: the first flight not completely written gets its head, then body chunks
//!    from its queue while less than [`OUT_HIGH_WATER`] bytes wait for the socket. With
//!    `Expect: 100-continue` the body waits for `100`, a final response (then the body is
//!    never sent and the connection retires) or the continue timeout.
//! 4. **Flush** to the transport. Steps 2-4 repeat while anything moves.
//!
//! Then it waits for readable (unless paused or at EOF; an idle connection keeps
//! reading so a server's close is seen at once), writable (with output pending), a
//! message, or the earliest deadline: headers timeout of the oldest written request,
//! the continue timeout, or the idle timeout.
//!
//! Death (EOF, I/O error, parse error, timeout, abort): unwritten flights go back to the
//! pool; a written one is retried once on a fresh connection if the rule in the module
//! docs of `client` allows it, else fails. Everything given back is handed over in
//! `Pool::remove_conn` together with whatever is still in the channel.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use iocrate_net::{NetError, ReadFlow, Transport};

/// Response-body bytes in flight to the handlers at most, per connection.
const BODY_WINDOW: usize = 1 << 20;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

use super::pool::Pool;
use super::{ClientError, ClientOptions, ConnMsg, Connector, Origin, Req};
use crate::{parse_response, Client, Connection, Error, Event, Framing, Request, RequestTarget, Version};

/// Stop moving request body into the output while this many bytes wait for the socket.
const OUT_HIGH_WATER: usize = 64 * 1024;
/// Scratch read size.
const READ_SIZE: usize = 64 * 1024;

/// One request assigned to this connection.
struct Flight {
    req: Arc<Req>,
    head_written: bool,
    /// Head, body and end are written (or the body was abandoned).
    write_done: bool,
    /// The connection had completed a response when this head was written.
    reused: bool,
    /// The whole body was known when the head was written.
    replayable: bool,
    /// Waiting for `100 Continue` until then.
    continue_until: Option<Instant>,
    /// When it was completely written.
    sent_at: Option<Instant>,
    got_head: bool,
}

impl Flight {
    fn new(req: Arc<Req>) -> Self {
        Flight {
            req,
            head_written: false,
            write_done: false,
            reused: false,
            replayable: false,
            continue_until: None,
            sent_at: None,
            got_head: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exit {
    /// Shut down the write side, then close.
    Graceful,
    /// Close now.
    Destroy,
}

struct Driver {
    pool: Arc<Pool>,
    origin: Origin,
    id: u64,
    conn: Connection<Client>,
    buf: BytesMut,
    out: Vec<u8>,
    out_pos: usize,
    flights: VecDeque<Flight>,
    /// Requests to give back to the pool when this connection goes.
    requeue: Vec<Arc<Req>>,
    served: u64,
    /// Bytes of a response not yet complete have arrived.
    resp_bytes: bool,
    /// The last complete response said the connection closes after it.
    close_announced: bool,
    /// Response-body bytes handed to handlers and not yet consumed (see `BODY_WINDOW`).
    flow: Arc<ReadFlow>,
    /// When the oldest flight became the oldest.
    front_since: Instant,
    idle_since: Option<Instant>,
    eof: bool,
    /// A body was abandoned after an early final response: reuse is impossible.
    poisoned: bool,
    closing: bool,
    rx_open: bool,
    exit: Option<Exit>,
}

/// The connection task.
pub(crate) async fn run<C: Connector>(
    connector: Arc<C>,
    pool: Arc<Pool>,
    origin: Origin,
    id: u64,
    mut rx: UnboundedReceiver<ConnMsg>,
) {
    let mut d = Driver {
        conn: Connection::new(pool.opts.limits.clone()),
        pool: pool.clone(),
        origin: origin.clone(),
        id,
        buf: BytesMut::new(),
        out: Vec::new(),
        out_pos: 0,
        flights: VecDeque::new(),
        requeue: Vec::new(),
        served: 0,
        resp_bytes: false,
        close_announced: false,
        flow: ReadFlow::new(BODY_WINDOW),
        front_since: Instant::now(),
        idle_since: None,
        eof: false,
        poisoned: false,
        closing: false,
        rx_open: true,
        exit: None,
    };
    let connect = open(&*connector, &pool.opts, &origin);
    tokio::pin!(connect);
    let opened = loop {
        tokio::select! {
            r = &mut connect => break Some(r),
            msg = rx.recv(), if d.rx_open => {
                d.on_msg(msg);
                d.check_aborts();
                if d.exit.is_some() {
                    break None;
                }
            }
        }
    };
    match opened {
        None => {}
        Some(Err(e)) => {
            let mut flights = std::mem::take(&mut d.flights).into_iter();
            if let Some(first) = flights.next() {
                first.req.fail(e);
            }
            d.requeue.extend(flights.map(|f| f.req));
        }
        Some(Ok((t, leftover))) => {
            d.buf.extend_from_slice(&leftover);
            let exit = d.run(&t, &mut rx).await;
            if exit == Exit::Graceful {
                let _ = d.flush(&t);
                let _ = t.shutdown_write();
            }
            drop(t);
        }
    }
    let requeue = std::mem::take(&mut d.requeue);
    pool.remove_conn(&origin, id, requeue, &mut rx);
}

/// Connects (through the proxy if set) under the connect timeout. Returns the transport
/// and any bytes that arrived after the proxy's answer.
async fn open<C: Connector>(c: &C, opts: &ClientOptions, origin: &Origin) -> Result<(C::Stream, Vec<u8>), ClientError> {
    let fut = async {
        match &opts.proxy {
            None => Ok((c.connect(origin).await.map_err(ClientError::Net)?, Vec::new())),
            Some(proxy) => {
                let t = c.connect(proxy).await.map_err(ClientError::Net)?;
                let leftover = connect_tunnel(&t, origin, opts).await?;
                let t = c.tunnel(origin, t).await.map_err(ClientError::Net)?;
                Ok((t, leftover))
            }
        }
    };
    match tokio::time::timeout(opts.connect_timeout, fut).await {
        Ok(r) => r,
        Err(_) => {
            let target = opts.proxy.as_ref().unwrap_or(origin);
            Err(ClientError::Net(
                NetError::new("ETIMEDOUT", "connect", "connect timed out").at(target.host.clone(), target.port),
            ))
        }
    }
}

fn net(syscall: &'static str, e: &io::Error) -> ClientError {
    // A TLS failure surfacing through the transport (an alert after the handshake, say)
    // keeps its TLS code rather than becoming a generic I/O error.
    match iocrate_tls::tls_error_of(e) {
        Some(tls) => ClientError::Net(tls.clone()),
        None => ClientError::Net(NetError::io(syscall, e)),
    }
}

/// Sends `CONNECT host:port` and reads the proxy's answer head.
async fn connect_tunnel<T: Transport>(t: &T, origin: &Origin, opts: &ClientOptions) -> Result<Vec<u8>, ClientError> {
    let authority = origin.authority();
    let head = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n");
    let mut data = head.as_bytes();
    while !data.is_empty() {
        match t.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => t.writable().await.map_err(|e| net("write", &e))?,
            Err(e) => return Err(net("write", &e)),
        }
    }
    while t.has_pending_output() {
        match t.flush() {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => t.writable().await.map_err(|e| net("write", &e))?,
            Err(e) => return Err(net("write", &e)),
        }
    }
    let mut buf = Vec::new();
    loop {
        t.readable().await.map_err(|e| net("read", &e))?;
        match t.read_chunk(READ_SIZE) {
            Ok(v) if v.is_empty() => return Err(ClientError::hang_up()),
            Ok(v) => buf.extend_from_slice(&v),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(net("read", &e)),
        }
        match parse_response(&buf, &opts.limits) {
            Ok(Some((res, len))) if (200..300).contains(&res.status) => return Ok(buf.split_off(len)),
            Ok(Some((res, _))) => return Err(ClientError::Proxy(res.status)),
            Ok(None) => {}
            Err(e) => return Err(ClientError::Parse(e)),
        }
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Driver {
    async fn run<T: Transport>(&mut self, t: &T, rx: &mut UnboundedReceiver<ConnMsg>) -> Exit {
        loop {
            while let Ok(msg) = rx.try_recv() {
                self.on_msg(Some(msg));
            }
            self.check_aborts();
            loop {
                let before = (self.flights.len(), self.buf.len(), self.out.len(), self.out_pos);
                self.pump_input();
                if self.exit.is_none() {
                    self.pump_output();
                }
                if self.exit.is_none() {
                    if let Err(e) = self.flush(t) {
                        self.kill(None, net("write", &e), Exit::Destroy);
                    }
                }
                if self.exit.is_some() || (self.flights.len(), self.buf.len(), self.out.len(), self.out_pos) == before {
                    break;
                }
            }
            if let Some(exit) = self.exit {
                return exit;
            }
            if self.flights.is_empty() {
                if self.eof || self.closing || !self.rx_open {
                    return Exit::Graceful;
                }
                self.idle_since.get_or_insert_with(Instant::now);
            } else {
                self.idle_since = None;
            }
            let pending = self.out.len() - self.out_pos;
            let paused = self.flights.front().is_some_and(|f| f.req.paused.load(Ordering::Acquire));
            // Response-body bytes handed over and not yet consumed are bounded too.
            let window_full = !self.flow.may_read();
            let want_read = !self.eof && !paused && !window_full;
            let want_write = pending > 0 || t.has_pending_output();
            let deadline = self.deadline();
            tokio::select! {
                r = t.readable(), if want_read => {
                    if let Err(e) = r.and_then(|_| self.read(t)) {
                        self.kill(None, net("read", &e), Exit::Destroy);
                    }
                }
                r = t.writable(), if want_write => {
                    if let Err(e) = r {
                        self.kill(None, net("write", &e), Exit::Destroy);
                    }
                }
                msg = rx.recv(), if self.rx_open => self.on_msg(msg),
                _ = self.flow.ready(), if window_full && !self.eof => {}
                _ = sleep_until(deadline) => self.on_deadline(),
            }
            if let Some(exit) = self.exit {
                return exit;
            }
        }
    }

    fn on_msg(&mut self, msg: Option<ConnMsg>) {
        match msg {
            Some(ConnMsg::Assign(req)) => self.flights.push_back(Flight::new(req)),
            Some(ConnMsg::Wake) => {}
            Some(ConnMsg::Close) => self.closing = true,
            Some(ConnMsg::Destroy) => {
                for f in std::mem::take(&mut self.flights) {
                    f.req.fail(ClientError::Aborted);
                }
                self.exit = Some(Exit::Destroy);
            }
            None => {
                self.rx_open = false;
                if self.flights.is_empty() {
                    self.exit = Some(Exit::Graceful);
                }
            }
        }
    }

    /// Aborted flights: unwritten ones leave, a written one kills the connection.
    fn check_aborts(&mut self) {
        let mut i = 0;
        while i < self.flights.len() {
            let f = &self.flights[i];
            let aborted = f.req.lock().aborted;
            if !aborted {
                i += 1;
                continue;
            }
            if f.head_written {
                self.kill(Some((i, ClientError::Aborted)), ClientError::hang_up(), Exit::Destroy);
                return;
            }
            let f = self.flights.remove(i).expect("index in range");
            self.release();
            f.req.fail(ClientError::Aborted);
        }
    }

    /// Tells the pool an unwritten request left; if that removed this (now idle)
    /// connection from the pool, it closes.
    fn release(&mut self) {
        if self.pool.finished(&self.origin, self.id, true) && self.flights.is_empty() {
            self.exit.get_or_insert(Exit::Graceful);
        }
    }

    /// Whether a written flight may be retried on a fresh connection.
    fn retryable(&self, f: &Flight, is_front: bool) -> bool {
        let st = f.req.lock();
        let response_started = f.got_head || (is_front && self.resp_bytes);
        // A response that announced the close (RFC 9112 §9.6: the server processes nothing
        // after it) makes every later request safe to send again, whatever its method.
        let safe = self.close_announced || (f.reused && f.req.spec.idempotent());
        safe && f.replayable && !response_started && !st.retried && !st.aborted
    }

    /// Ends the connection: flight `culprit` gets its error (if written), unwritten
    /// flights go back to the pool, written ones are retried or get `rest`.
    fn kill(&mut self, culprit: Option<(usize, ClientError)>, rest: ClientError, exit: Exit) {
        self.exit = Some(exit);
        let flights = std::mem::take(&mut self.flights);
        let mut culprit = culprit;
        for (i, f) in flights.into_iter().enumerate() {
            if !f.head_written {
                self.requeue.push(f.req);
                continue;
            }
            if let Some((_, e)) = culprit.take_if(|(ci, _)| *ci == i) {
                f.req.fail(e);
                continue;
            }
            if self.retryable(&f, i == 0) {
                let mut st = f.req.lock();
                let replay = std::mem::take(&mut st.replay);
                st.queued += replay.iter().map(|b| b.len()).sum::<usize>();
                for b in replay.into_iter().rev() {
                    st.body.push_front(b);
                }
                st.retried = true;
                st.fresh_only = true;
                st.conn = None;
                drop(st);
                self.requeue.push(f.req);
            } else {
                f.req.fail(rest.clone());
            }
        }
    }

    fn read<T: Transport>(&mut self, t: &T) -> io::Result<()> {
        match t.read_chunk(READ_SIZE) {
            Ok(v) if v.is_empty() => {
                self.eof = true;
                self.conn.handle_eof();
            }
            Ok(v) => {
                self.resp_bytes = true;
                if self.buf.is_empty() {
                    self.buf = BytesMut::from(&v[..]);
                } else {
                    self.buf.extend_from_slice(&v);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    fn pump_input(&mut self) {
        loop {
            if self.flights.front().is_some_and(|f| f.req.paused.load(Ordering::Acquire)) {
                return;
            }
            let ev = match self.conn.poll_event(&mut self.buf) {
                Ok(Some(ev)) => ev,
                Ok(None) => {
                    if self.eof {
                        // Nothing more will come; whatever is not answered never will be.
                        self.kill(None, ClientError::hang_up(), Exit::Graceful);
                    }
                    return;
                }
                Err(Error::UnexpectedEof) if !self.flights.front().is_some_and(|f| f.got_head) && !self.resp_bytes => {
                    self.kill(None, ClientError::hang_up(), Exit::Destroy);
                    return;
                }
                Err(Error::UnexpectedEof) => {
                    let e = NetError::new("ECONNRESET", "read", "the connection closed before the response ended");
                    self.kill(Some((0, ClientError::Net(e))), ClientError::hang_up(), Exit::Destroy);
                    return;
                }
                Err(e) => {
                    self.kill(Some((0, ClientError::Parse(e))), ClientError::hang_up(), Exit::Destroy);
                    return;
                }
            };
            let Some(front) = self.flights.front_mut() else {
                self.kill(None, ClientError::hang_up(), Exit::Destroy);
                return;
            };
            match ev {
                Event::Head(res) if res.status == 101 => {
                    self.kill(Some((0, ClientError::UpgradeUnsupported)), ClientError::hang_up(), Exit::Destroy);
                    return;
                }
                Event::Head(res) if res.status < 200 => {
                    if res.status == 100 {
                        front.continue_until = None;
                    }
                    front.req.handler.on_informational(res.status, res.headers);
                }
                Event::Head(res) => {
                    front.got_head = true;
                    front.req.lock().replay = Vec::new();
                    if front.continue_until.take().is_some() {
                        // A final answer before 100: the body is not sent, so the
                        // connection cannot carry another request.
                        front.write_done = true;
                        self.poisoned = true;
                        self.pool.stop_accepting(&self.origin, self.id);
                    }
                    front.req.handler.on_response(res.status, res.reason, res.version, res.headers);
                }
                Event::Data(chunk) => {
                    let credit = self.flow.take(chunk.len());
                    front.req.handler.on_body_credit(chunk, credit)
                }
                // Only a server sees this event.
                Event::ExpectContinue => {}
                Event::End(trailers) => {
                    let f = self.flights.pop_front().expect("front exists");
                    self.served += 1;
                    self.front_since = Instant::now();
                    self.resp_bytes = !self.buf.is_empty();
                    let reusable = !self.conn.must_close() && f.write_done && !self.poisoned && !self.closing;
                    let retire = self.pool.finished(&self.origin, self.id, reusable);
                    f.req.finish(trailers);
                    if !reusable || retire {
                        self.close_announced = self.conn.must_close() && self.conn.error().is_none();
                        self.kill(None, ClientError::hang_up(), Exit::Graceful);
                        return;
                    }
                }
                Event::Upgrade(_) => {
                    self.kill(Some((0, ClientError::UpgradeUnsupported)), ClientError::hang_up(), Exit::Destroy);
                    return;
                }
            }
        }
    }

    fn pump_output(&mut self) {
        loop {
            if self.out.len() - self.out_pos >= OUT_HIGH_WATER {
                return;
            }
            let Some(i) = self.flights.iter().position(|f| !f.write_done) else { return };
            if !self.flights[i].head_written {
                if self.conn.must_close() || self.poisoned {
                    // No further request may go on this connection; the pool gets these
                    // back when it closes.
                    self.pool.stop_accepting(&self.origin, self.id);
                    return;
                }
                match self.write_head(i) {
                    Ok(()) => {}
                    Err(e) => {
                        let f = self.flights.remove(i).expect("index in range");
                        self.release();
                        f.req.fail(e);
                        continue;
                    }
                }
            }
            let f = &mut self.flights[i];
            if f.continue_until.is_some() {
                return;
            }
            // Body: one chunk at a time, so the output buffer stays bounded.
            let (chunk, end, drained) = {
                let mut st = f.req.lock();
                let chunk = st.body.pop_front();
                if let Some(c) = &chunk {
                    st.queued -= c.len();
                    if f.replayable {
                        st.replay.push(c.clone());
                    }
                }
                let drained = st.need_drain && st.queued < f.req.high_water / 2;
                if drained {
                    st.need_drain = false;
                }
                let end = if st.body.is_empty() && chunk.is_none() { st.trailers.clone() } else { None };
                (chunk, end, drained)
            };
            let req = f.req.clone();
            if drained {
                req.handler.on_drain();
            }
            if let Some(c) = chunk {
                if let Err(e) = self.conn.write_body(&c, &mut self.out) {
                    self.kill(Some((i, ClientError::InvalidRequest(e))), ClientError::hang_up(), Exit::Destroy);
                    return;
                }
                continue;
            }
            let Some(trailers) = end else { return };
            if let Err(e) = self.conn.write_end(&trailers, &mut self.out) {
                self.kill(Some((i, ClientError::InvalidRequest(e))), ClientError::hang_up(), Exit::Destroy);
                return;
            }
            let f = &mut self.flights[i];
            f.write_done = true;
            f.sent_at = Some(Instant::now());
        }
    }

    fn write_head(&mut self, i: usize) -> Result<(), ClientError> {
        let f = &mut self.flights[i];
        let spec = &f.req.spec;
        let target = RequestTarget::parse(&spec.method, &spec.target)
            .map_err(|_| invalid(crate::WriteError::InvalidStartLine))?;
        let mut headers = spec.headers.clone();
        if !headers.contains("host") {
            headers.push("Host", spec.origin.host_header());
        }
        let req = Request { method: spec.method.clone(), target, version: Version::Http11, headers };
        self.conn.write_request(&req, spec.framing, &mut self.out).map_err(invalid)?;
        f.head_written = true;
        f.reused = self.served > 0;
        f.replayable = spec.framing == Framing::None || f.req.lock().trailers.is_some();
        let expect = spec.framing != Framing::None
            && spec.headers.get("expect").is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
        if expect {
            f.continue_until = Some(Instant::now() + self.pool.opts.continue_timeout);
        }
        Ok(())
    }

    fn flush<T: Transport>(&mut self, t: &T) -> io::Result<()> {
        while self.out_pos < self.out.len() {
            match t.try_write(&self.out[self.out_pos..]) {
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if t.has_pending_output() {
            match t.flush() {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                _ => {}
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            if self.out.capacity() > OUT_HIGH_WATER * 2 {
                self.out = Vec::new();
            }
        }
        if self.buf.is_empty() && self.buf.capacity() > READ_SIZE {
            self.buf = BytesMut::new();
        }
        Ok(())
    }

    fn deadline(&self) -> Option<Instant> {
        let opts = &self.pool.opts;
        let mut d: Option<Instant> = None;
        let mut add = |t: Instant| d = Some(d.map_or(t, |d| d.min(t)));
        if let Some(f) = self.flights.front() {
            if let (Some(sent), false) = (f.sent_at, f.got_head) {
                add(sent.max(self.front_since) + opts.headers_timeout);
            }
        }
        if let Some(t) = self.flights.iter().find_map(|f| f.continue_until) {
            add(t);
        }
        if let Some(since) = self.idle_since {
            add(since + opts.idle_timeout);
        }
        d
    }

    fn on_deadline(&mut self) {
        let now = Instant::now();
        let opts = &self.pool.opts;
        for f in self.flights.iter_mut() {
            if f.continue_until.is_some_and(|t| t <= now) {
                f.continue_until = None;
            }
        }
        if let Some(f) = self.flights.front() {
            if let (Some(sent), false) = (f.sent_at, f.got_head) {
                if sent.max(self.front_since) + opts.headers_timeout <= now {
                    self.kill(Some((0, ClientError::HeadersTimeout)), ClientError::hang_up(), Exit::Destroy);
                    return;
                }
            }
        }
        if self.flights.is_empty()
            && self.idle_since.is_some_and(|s| s + opts.idle_timeout <= now)
            && self.pool.retire_idle(&self.origin, self.id)
        {
            self.exit = Some(Exit::Graceful);
        }
    }
}

fn invalid(e: crate::WriteError) -> ClientError {
    ClientError::InvalidRequest(e)
}
