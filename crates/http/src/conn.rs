//! The per-connection state machine, with the role as a type.
//!
//! # Theory of operation
//!
//! A [`Connection<Server>`] parses requests and writes responses; a
//! [`Connection<Client>`] writes requests and parses responses. Every transition lives
//! in this file, in two enums: [`Reading`] (the peer's messages) and [`Writing`] (ours),
//! plus a queue of open exchanges (request/response pairs) that links them.
//!
//! Methods, in the order a driver uses them:
//!
//! 1. `handle_eof()` when the socket reports end of stream (input).
//! 2. `poll_event(&mut buf)` after every read, until it returns `Ok(None)`. It consumes
//!    from the caller's `BytesMut` only what it has parsed; `Ok(None)` means "need more
//!    bytes" (or "nothing more will be parsed": see `must_close`). Events per message:
//!    `Head`, then `ExpectContinue` (server, if asked), `Data`*, `End`; or `Head` then
//!    `Upgrade(leftover)` for an accepted upgrade/CONNECT. A client also gets `Head` for
//!    each interim 1xx response, with no `End`.
//! 3. `write_*` (server: `write_continue`, `write_response`, `write_body`, `write_end`;
//!    client: `write_request`, `write_body`, `write_end`), appending to a caller-owned
//!    `Vec<u8>`. Responses go out in request order.
//! 4. `must_close()` after `write_end`: the driver flushes and closes.
//!
//! Pipelining: a server keeps parsing request after request from one buffer while
//! responses are pending; the queue remembers each request's method, version and
//! keep-alive so each response is framed correctly. Reading stops for good after a
//! request that says `close` (HTTP/1.1 `Connection: close`, HTTP/1.0 without
//! `keep-alive`) and after any error: the bytes that follow are never parsed, which is
//! what keeps a smuggled second request from ever appearing. Writing is not affected by
//! a closing request until its own turn: the responses to the requests before it keep
//! the connection alive, its response says `Connection: close`, and `must_close()`
//! turns true once that response is written. (After a parse error, every response
//! says `close`.) Reading pauses after an Upgrade or CONNECT request until the
//! response says whether the protocol switches.
//!
//! Head parsing is incremental: while a head is incomplete, [`HeadScan`] remembers how
//! far the buffer has been checked, so a head that arrives a byte at a time is scanned
//! once in total. This relies on the caller only appending to the buffer between
//! calls (and not touching the bytes `poll_event` has not consumed).

use std::collections::VecDeque;
use std::marker::PhantomData;

use bytes::{Buf, Bytes, BytesMut};

use crate::body::{framing, BodyDecoder, BodyEncoder, BodyKind, Decoded};
use crate::error::{Error, WriteError};
use crate::head::{keep_alive, parse_request_resume, parse_response_resume, HeadScan, Request, Response, Version};
use crate::headers::{write_field, Headers};
use crate::limits::Limits;

mod sealed {
    pub trait Sealed {
        const IS_CLIENT: bool;
    }
}

/// The role of a [`Connection`]: [`Server`] or [`Client`]. Sealed.
pub trait Role: sealed::Sealed {}

impl sealed::Sealed for Server {
    const IS_CLIENT: bool = false;
}
impl sealed::Sealed for Client {
    const IS_CLIENT: bool = true;
}
impl Role for Server {}
impl Role for Client {}

/// Server role: parses requests, writes responses.
#[derive(Debug)]
pub enum Server {}

/// Client role: writes requests, parses responses.
#[derive(Debug)]
pub enum Client {}

/// Something parsed from the peer. `H` is [`Request`] for a server, [`Response`] for a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<H> {
    /// A message head.
    Head(H),
    /// The request carries `Expect: 100-continue` and a body: answer with
    /// [`Connection::write_continue`] to receive it, or with a final response.
    ExpectContinue,
    /// Body bytes.
    Data(Bytes),
    /// The message is complete, with its trailer fields (usually empty).
    End(Headers),
    /// The connection switched protocols (101, or 2xx to CONNECT). Holds the bytes
    /// already received after the head; everything after belongs to the new protocol.
    Upgrade(Bytes),
}

/// How the body of an outgoing message is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body. Requests get no framing header; responses get `Content-Length: 0`.
    None,
    /// Exactly this many bytes: adds `Content-Length`.
    Length(u64),
    /// Adds `Transfer-Encoding: chunked` (read-until-close towards an HTTP/1.0 peer).
    Chunked,
}

#[derive(Debug)]
enum Reading {
    Head,
    Continue(BodyDecoder),
    Body(BodyDecoder),
    /// After an Upgrade/CONNECT request, until its response decides.
    Paused,
    /// Protocol switched; the next poll hands off the leftover bytes.
    Upgrade,
    /// Nothing more will be parsed: close requested, handed off, or failed.
    Closed,
}

#[derive(Debug)]
enum Writing {
    Head,
    Body(BodyEncoder),
    Closed,
}

/// One request/response pair still open.
#[derive(Debug, Clone, Copy)]
struct Exchange {
    id: u64,
    head: bool,
    connect: bool,
    upgrade: bool,
    keep_alive: bool,
    version: Version,
    /// The request has been read completely (server side).
    read_done: bool,
}

/// One HTTP/1.x connection. See the module docs for the call order.
#[derive(Debug)]
pub struct Connection<R> {
    limits: Limits,
    reading: Reading,
    writing: Writing,
    exchanges: VecDeque<Exchange>,
    next_id: u64,
    reading_id: u64,
    /// Whether the connection stays open after the message being written (server) or
    /// read (client). A server clears it when it answers a closing request, not when
    /// it parses one: see `read_close`.
    keep_alive: bool,
    /// Server: a request that closes the connection has been parsed; nothing after it
    /// is read.
    read_close: bool,
    /// Progress through the incomplete head at the front of the buffer.
    head_scan: HeadScan,
    upgraded: bool,
    eof: bool,
    error: Option<Error>,
    _role: PhantomData<R>,
}

impl<R: Role> Connection<R> {
    /// A fresh connection with these limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            reading: Reading::Head,
            writing: Writing::Head,
            exchanges: VecDeque::new(),
            next_id: 0,
            reading_id: 0,
            keep_alive: true,
            read_close: false,
            head_scan: HeadScan::default(),
            upgraded: false,
            eof: false,
            error: None,
            _role: PhantomData,
        }
    }

    /// The peer closed its side; `buf` now holds all it will ever send.
    pub fn handle_eof(&mut self) {
        self.eof = true;
    }

    /// Whether the connection must be closed once the current response (server) or
    /// response being read (client) is done: after any parse error, a `close` (a server:
    /// once the response to the request that said it has been started), an
    /// HTTP/1.0 peer without keep-alive, a read-until-close body, or a protocol switch.
    pub fn must_close(&self) -> bool {
        self.error.is_some() || !self.keep_alive || self.upgraded
    }

    /// Whether nothing more will be parsed from the buffer (after a closing request and
    /// its body, a closing response, an error, or a protocol hand-off). A server can be
    /// here before [`Connection::must_close`] turns true: responses to requests parsed
    /// before the closing one are still due. A driver should stop reading input then.
    pub fn is_read_closed(&self) -> bool {
        matches!(self.reading, Reading::Closed)
    }

    /// The parse error that stopped this connection, if any.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Appends body bytes of the message being written.
    pub fn write_body(&mut self, data: &[u8], dst: &mut Vec<u8>) -> Result<(), WriteError> {
        match &mut self.writing {
            Writing::Body(enc) => enc.encode(data, dst),
            Writing::Head => Err(WriteError::InvalidState),
            Writing::Closed => Err(WriteError::Closed),
        }
    }

    /// Ends the message being written, with trailers if it is chunked.
    pub fn write_end(&mut self, trailers: &Headers, dst: &mut Vec<u8>) -> Result<(), WriteError> {
        match &mut self.writing {
            Writing::Body(enc) => enc.finish(trailers, dst)?,
            Writing::Head => return Err(WriteError::InvalidState),
            Writing::Closed => return Err(WriteError::Closed),
        }
        self.writing = if self.keep_alive { Writing::Head } else { Writing::Closed };
        Ok(())
    }

    fn fail<T>(&mut self, e: Error) -> Result<T, Error> {
        self.error = Some(e.clone());
        self.keep_alive = false;
        self.reading = Reading::Closed;
        Err(e)
    }

    /// Steps that do not depend on the role. `None` means the role must parse a head.
    fn poll_common<H>(&mut self, buf: &mut BytesMut) -> Option<Result<Option<Event<H>>, Error>> {
        if let Some(e) = &self.error {
            return Some(Err(e.clone()));
        }
        let dec = match &mut self.reading {
            Reading::Head => return None,
            Reading::Closed | Reading::Paused => return Some(Ok(None)),
            Reading::Upgrade => {
                self.reading = Reading::Closed;
                return Some(Ok(Some(Event::Upgrade(buf.split().freeze()))));
            }
            Reading::Continue(dec) => {
                self.reading = Reading::Body(dec.clone());
                return Some(Ok(Some(Event::ExpectContinue)));
            }
            Reading::Body(dec) => dec,
        };
        match dec.decode(buf, self.eof, &self.limits) {
            Ok(None) => Some(Ok(None)),
            Ok(Some(Decoded::Data(d))) => Some(Ok(Some(Event::Data(d)))),
            Ok(Some(Decoded::End(t))) => {
                self.message_end();
                Some(Ok(Some(Event::End(t))))
            }
            Err(e) => Some(self.fail(e)),
        }
    }

    /// Begins writing a head: common checks and the framing header.
    fn start_head(&self, headers: &Headers) -> Result<(), WriteError> {
        if self.upgraded {
            return Err(WriteError::Closed);
        }
        match self.writing {
            Writing::Head => {}
            Writing::Body(_) => return Err(WriteError::InvalidState),
            Writing::Closed => return Err(WriteError::Closed),
        }
        if headers.contains("content-length") || headers.contains("transfer-encoding") {
            return Err(WriteError::FramingHeader);
        }
        Ok(())
    }

    fn message_end(&mut self) {
        let current = self.exchanges.iter_mut().find(|e| e.id == self.reading_id).map(|e| {
            e.read_done = true;
            *e
        });
        if R::IS_CLIENT {
            self.exchanges.pop_front();
        }
        self.reading = if self.upgraded {
            Reading::Upgrade
        } else if !self.keep_alive || self.read_close {
            Reading::Closed
        } else if !R::IS_CLIENT && current.is_some_and(|e| e.connect || e.upgrade) {
            // Bytes after an Upgrade/CONNECT request may already be the new protocol.
            Reading::Paused
        } else {
            Reading::Head
        };
    }

    fn push_exchange(&mut self, mut ex: Exchange) -> u64 {
        ex.id = self.next_id;
        self.next_id += 1;
        self.exchanges.push_back(ex);
        ex.id
    }
}

impl Connection<Server> {
    /// Parses the next event from the front of `buf`. `Ok(None)`: need more bytes, or
    /// reading has stopped (see [`Connection::is_read_closed`]). After an error every call
    /// returns the same error.
    pub fn poll_event(&mut self, buf: &mut BytesMut) -> Result<Option<Event<Request>>, Error> {
        if let Some(r) = self.poll_common(buf) {
            return r;
        }
        let (req, len) = match parse_request_resume(buf, &self.limits, &mut self.head_scan) {
            Ok(Some(x)) => x,
            Ok(None) if self.eof && !buf.is_empty() => return self.fail(Error::UnexpectedEof),
            Ok(None) => return Ok(None),
            Err(e) => return self.fail(e),
        };
        let kind = match framing(&req.headers, req.version, true) {
            Ok(k) => k,
            Err(e) => return self.fail(e),
        };
        if let (BodyKind::Length(n), Some(max)) = (kind, self.limits.max_body_bytes) {
            if n > max {
                return self.fail(Error::BodyTooLarge);
            }
        }
        buf.advance(len);
        self.head_scan = HeadScan::default();
        let dec = BodyDecoder::from_kind(kind);
        let ka = keep_alive(req.version, &req.headers);
        // Only reading stops here; the responses to earlier requests keep the connection
        // alive, and this request's own response closes it (see write_response).
        self.read_close |= !ka;
        let v11 = req.version == Version::Http11;
        self.reading_id = self.push_exchange(Exchange {
            id: 0,
            head: req.method == "HEAD",
            connect: req.method == "CONNECT",
            // RFC 9110 §7.8: Upgrade only counts when listed in Connection, and not in 1.0.
            upgrade: v11 && req.headers.contains("upgrade") && req.headers.has_token("connection", "upgrade"),
            keep_alive: ka,
            version: req.version,
            read_done: dec.is_empty(),
        });
        // RFC 9110 §10.1.1: ignore 100-continue from HTTP/1.0 and when there is no content.
        let expect = v11
            && !dec.is_empty()
            && req.headers.get("expect").is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
        self.reading = if expect { Reading::Continue(dec) } else { Reading::Body(dec) };
        Ok(Some(Event::Head(req)))
    }

    /// Whether the request whose head was just returned has body bytes to come (`Data`
    /// events before its `End`). False for requests without content, so a driver can
    /// tell its application up front that the body is empty.
    pub fn body_pending(&self) -> bool {
        match &self.reading {
            Reading::Body(d) | Reading::Continue(d) => !d.is_empty(),
            _ => false,
        }
    }

    /// Appends `HTTP/1.1 100 Continue`, inviting the client to send the body.
    pub fn write_continue(&mut self, dst: &mut Vec<u8>) -> Result<(), WriteError> {
        self.write_response(&Response::new(100), Framing::None, dst)
    }

    /// Appends the head of the response to the oldest unanswered request, adding the
    /// framing header for `framing` and `Connection: close`/`keep-alive` as needed. Then
    /// call [`Connection::write_body`] and [`Connection::write_end`] (except after 1xx
    /// or an accepted upgrade/CONNECT). A response says `Connection: close` when its own
    /// request asked to close (not when a later pipelined one did), when the server
    /// sets it, or when the connection cannot be reused. After a parse error it answers that error once the
    /// requests parsed before it are answered; since each of those responses then says
    /// `Connection: close`, in practice only the first one goes out and the client retries
    /// the rest (RFC 9112 §9.3.2).
    pub fn write_response(&mut self, res: &Response, framing: Framing, dst: &mut Vec<u8>) -> Result<(), WriteError> {
        self.start_head(&res.headers)?;
        let ex = match self.exchanges.front() {
            Some(ex) => *ex,
            None if self.error.is_some() => Exchange {
                id: u64::MAX,
                head: false,
                connect: false,
                upgrade: false,
                keep_alive: false,
                version: Version::Http11,
                read_done: false,
            },
            None => return Err(WriteError::NoRequest),
        };
        let status = res.status;
        let switched = (status == 101 && ex.upgrade) || (ex.connect && (200..300).contains(&status));
        if status == 101 && !ex.upgrade {
            return Err(WriteError::UnexpectedUpgrade);
        }
        let interim = (100..200).contains(&status) && !switched;
        if interim {
            if ex.version == Version::Http10 {
                // RFC 9110 §15.2: no 1xx to an HTTP/1.0 client; nothing to write.
                return Ok(());
            }
            let mut out = Vec::new();
            res.encode_head(&mut out)?;
            out.extend_from_slice(b"\r\n");
            dst.extend_from_slice(&out);
            return Ok(());
        }
        let mut keep = self.keep_alive && ex.keep_alive && !res.headers.has_token("connection", "close");
        // Answering before the request body is read: we cannot know where the next request starts.
        if !ex.read_done && !switched {
            keep = false;
        }
        let no_body = ex.head || status == 204 || status == 304 || switched;
        let mut out = Vec::new();
        res.encode_head(&mut out)?;
        let mut enc = match framing {
            _ if status == 204 || status == 304 || switched => BodyEncoder::discard(),
            Framing::None => {
                write_field(&mut out, "Content-Length", b"0");
                BodyEncoder::length(0)
            }
            Framing::Length(n) => {
                write_field(&mut out, "Content-Length", n.to_string().as_bytes());
                BodyEncoder::length(n)
            }
            Framing::Chunked if ex.version == Version::Http11 => {
                write_field(&mut out, "Transfer-Encoding", b"chunked");
                BodyEncoder::chunked()
            }
            Framing::Chunked => {
                keep = false;
                BodyEncoder::until_close()
            }
        };
        if no_body {
            enc = BodyEncoder::discard();
        }
        if !keep && !switched && !res.headers.has_token("connection", "close") {
            write_field(&mut out, "Connection", b"close");
        } else if keep && ex.version == Version::Http10 && !res.headers.has_token("connection", "keep-alive") {
            write_field(&mut out, "Connection", b"keep-alive");
        }
        out.extend_from_slice(b"\r\n");
        dst.extend_from_slice(&out);
        self.exchanges.pop_front();
        self.keep_alive = keep;
        if switched {
            self.upgraded = true;
            self.writing = Writing::Closed;
            if matches!(self.reading, Reading::Paused) {
                self.reading = Reading::Upgrade;
            }
        } else {
            if matches!(self.reading, Reading::Paused) && ex.id == self.reading_id {
                self.reading = Reading::Head;
            }
            // Closing: parse nothing more. A body still being read finishes first
            // (message_end sees keep_alive == false and stops there).
            if !keep && matches!(self.reading, Reading::Head | Reading::Paused) {
                self.reading = Reading::Closed;
            }
            self.writing = Writing::Body(enc);
        }
        Ok(())
    }
}

impl Connection<Client> {
    /// Parses the next response event from the front of `buf`; see the server's
    /// [`Connection::poll_event`].
    pub fn poll_event(&mut self, buf: &mut BytesMut) -> Result<Option<Event<Response>>, Error> {
        if let Some(r) = self.poll_common(buf) {
            return r;
        }
        let Some(ex) = self.exchanges.front().copied() else {
            return if buf.is_empty() { Ok(None) } else { self.fail(Error::UnexpectedResponse) };
        };
        let (res, len) = match parse_response_resume(buf, &self.limits, &mut self.head_scan) {
            Ok(Some(x)) => x,
            Ok(None) if self.eof => return self.fail(Error::UnexpectedEof),
            Ok(None) => return Ok(None),
            Err(e) => return self.fail(e),
        };
        let status = res.status;
        let switched = (status == 101 && ex.upgrade) || (ex.connect && (200..300).contains(&status));
        if status == 101 && !ex.upgrade {
            return self.fail(Error::UnexpectedResponse);
        }
        if (100..200).contains(&status) && !switched {
            buf.advance(len);
            self.head_scan = HeadScan::default();
            return Ok(Some(Event::Head(res)));
        }
        let kind = if ex.head || status == 204 || status == 304 || switched {
            BodyKind::Length(0)
        } else {
            match framing(&res.headers, res.version, false) {
                Ok(k) => k,
                Err(e) => return self.fail(e),
            }
        };
        buf.advance(len);
        self.head_scan = HeadScan::default();
        self.reading_id = ex.id;
        self.keep_alive &= ex.keep_alive && keep_alive(res.version, &res.headers) && kind != BodyKind::UntilClose;
        if switched {
            self.upgraded = true;
            self.exchanges.pop_front();
            self.reading = Reading::Upgrade;
        } else {
            self.reading = Reading::Body(BodyDecoder::from_kind(kind));
        }
        Ok(Some(Event::Head(res)))
    }

    /// Appends a request head with the framing header for `framing`. Then call
    /// [`Connection::write_body`] and [`Connection::write_end`].
    pub fn write_request(&mut self, req: &Request, framing: Framing, dst: &mut Vec<u8>) -> Result<(), WriteError> {
        self.start_head(&req.headers)?;
        if !self.keep_alive {
            return Err(WriteError::Closed);
        }
        let mut out = Vec::new();
        req.encode_head(&mut out)?;
        let enc = match framing {
            Framing::None => BodyEncoder::length(0),
            Framing::Length(n) => {
                write_field(&mut out, "Content-Length", n.to_string().as_bytes());
                BodyEncoder::length(n)
            }
            Framing::Chunked if req.version == Version::Http11 => {
                write_field(&mut out, "Transfer-Encoding", b"chunked");
                BodyEncoder::chunked()
            }
            // A request body cannot be delimited by closing: the response still has to come back.
            Framing::Chunked => return Err(WriteError::InvalidState),
        };
        out.extend_from_slice(b"\r\n");
        dst.extend_from_slice(&out);
        let ka = keep_alive(req.version, &req.headers);
        self.keep_alive &= ka;
        self.push_exchange(Exchange {
            id: 0,
            head: req.method == "HEAD",
            connect: req.method == "CONNECT",
            upgrade: req.headers.contains("upgrade"),
            keep_alive: ka,
            version: req.version,
            read_done: false,
        });
        self.writing = Writing::Body(enc);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(input: &[u8]) -> (Connection<Server>, BytesMut, Vec<Event<Request>>) {
        let mut c = Connection::<Server>::new(Limits::default());
        let mut buf = BytesMut::from(input);
        let mut evs = Vec::new();
        while let Ok(Some(ev)) = c.poll_event(&mut buf) {
            evs.push(ev);
        }
        (c, buf, evs)
    }

    #[test]
    fn writes_in_order_only() {
        let (mut c, _, evs) = server(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n");
        assert_eq!(evs.len(), 2);
        let mut out = Vec::new();
        assert_eq!(c.write_body(b"x", &mut out), Err(WriteError::InvalidState));
        assert_eq!(c.write_response(&Response::new(101), Framing::None, &mut out), Err(WriteError::UnexpectedUpgrade));
        assert!(out.is_empty());
        c.write_response(&Response::new(200), Framing::Length(1), &mut out).unwrap();
        assert_eq!(c.write_response(&Response::new(200), Framing::None, &mut out), Err(WriteError::InvalidState));
        assert_eq!(c.write_end(&Headers::new(), &mut out), Err(WriteError::BodyTooShort(1)));
        c.write_body(b"x", &mut out).unwrap();
        c.write_end(&Headers::new(), &mut out).unwrap();
        assert_eq!(c.write_response(&Response::new(200), Framing::None, &mut out), Err(WriteError::NoRequest));
    }

    #[test]
    fn head_scan_resumes_where_it_stopped() {
        let mut c = Connection::<Server>::new(Limits::default());
        let head = [b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: ".as_slice(), &[b'v'; 4000], b"\r\n\r\n"].concat();
        let mut buf = BytesMut::new();
        for (i, &b) in head[..head.len() - 1].iter().enumerate() {
            buf.extend_from_slice(&[b]);
            assert_eq!(c.poll_event(&mut buf), Ok(None));
            // Everything but a possible trailing CR has been checked once and is not rescanned.
            let once = parse_once_state(&head[..=i]);
            assert_eq!((c.head_scan.len, c.head_scan.fields), (once.len, once.fields), "at byte {i}");
            if once.fields == Default::default() {
                assert_eq!(c.head_scan.seen, once.seen, "at byte {i}");
            }
        }
        buf.extend_from_slice(&head[head.len() - 1..]);
        assert!(matches!(c.poll_event(&mut buf), Ok(Some(Event::Head(_)))));
        assert!(buf.is_empty());
        assert_eq!(c.head_scan, HeadScan::default());
    }

    /// The scan state after parsing `prefix` in one go: resuming must land on the same.
    fn parse_once_state(prefix: &[u8]) -> HeadScan {
        let mut st = HeadScan::default();
        assert_eq!(parse_request_resume(prefix, &Limits::default(), &mut st), Ok(None));
        assert_eq!(st.len, prefix.len());
        assert!(st.seen.max(st.fields.seen()) + 1 >= prefix.len(), "{st:?}");
        st
    }

    #[test]
    fn upgrade_pauses_reading() {
        let (mut c, mut buf, _) =
            server(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\nGET / HTTP/1.1\r\n");
        assert!(matches!(c.reading, Reading::Paused));
        assert_eq!(c.poll_event(&mut buf), Ok(None));
        c.write_response(&Response::new(101), Framing::None, &mut Vec::new()).unwrap();
        assert!(matches!(c.reading, Reading::Upgrade));
        assert_eq!(c.write_body(b"", &mut Vec::new()), Err(WriteError::Closed));
        assert_eq!(c.poll_event(&mut buf), Ok(Some(Event::Upgrade("GET / HTTP/1.1\r\n".into()))));
    }

    #[test]
    fn http10_gets_no_interim_and_no_chunked_request() {
        let (mut s, _, _) = server(b"PUT / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n");
        let mut out = Vec::new();
        s.write_continue(&mut out).unwrap();
        assert!(out.is_empty());
        let mut c = Connection::<Client>::new(Limits::default());
        let mut req = Request::new("POST", "/");
        req.version = Version::Http10;
        assert_eq!(c.write_request(&req, Framing::Chunked, &mut out), Err(WriteError::InvalidState));
        c.write_request(&req, Framing::Length(0), &mut out).unwrap();
        assert_eq!(out, b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
        assert!(c.must_close());
    }
}
