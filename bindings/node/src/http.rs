//! `@iocrate/http`: the HTTP/1.1 server.
//!
//! The driver (`iocrate_http::driver`) parses and frames; this file moves requests to JS
//! and responses back with as few crossings as possible:
//!
//! - a request head travels as **one** latin1 string, `id\0flags\0method\0target\0
//!   remoteHost\0remotePort\0name\0value…`, which JS splits (one string creation instead
//!   of one per field);
//! - a request without a body needs no further event (`flags` says so);
//! - a whole response (status, headers as one `name\0value…` string, body, end) is one
//!   synchronous call.
//!
//! Events (id = the server's): HTTP_REQUEST (that string), HTTP_BODY (`[reqId, Buffer]`),
//! HTTP_BODY_END (`reqId`, or `[reqId, trailers]`), HTTP_ABORT (`reqId`), HTTP_DRAIN
//! (`reqId`), HTTP_UPGRADE (`[head, StreamHandle, Buffer]`: an Upgrade/CONNECT request that
//! took its connection over), SERVER_CLOSE.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::stream::{Conn, StreamHandle};
use bytes::Bytes;
use iocrate_http::client::MaybeTls;
use iocrate_http::compress::Coding;
use iocrate_http::driver::Compression;
use iocrate_http::driver::{
    Exchange, Handler, HttpServer, HttpServerOptions, RequestInfo, Routes, StaticResponse, TlsAccept, Upgraded,
    DRAIN_HIGH_WATER,
};
use iocrate_http::{Framing, Headers, Limits, Version};
use iocrate_net::tcp::TcpConn;
use iocrate_net::{Credit, StreamOptions};
use iocrate_tls::config::server_config;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bridge::{kind, Bridge, Payload, Sink};
use crate::error::ErrorInfo;
use crate::net::{AddressInfo, RawListenOptions};
use crate::tls::{server_options, RawTlsServerOptions};
use crate::websocket::{find, Attached, WsServerHandle};

/// Request flag: body bytes follow (HTTP_BODY events, then HTTP_BODY_END).
const FLAG_BODY: u32 = 1;
/// Request flag: the request is HTTP/1.0.
const FLAG_HTTP10: u32 = 2;

/// An exchange JS may still answer, and whether its body end is still to be reported.
struct Open {
    exchange: Exchange,
    has_body: bool,
}

type OpenMap = Mutex<HashMap<u64, Open>>;

struct JsHandler {
    sink: Sink,
    open: Arc<OpenMap>,
    /// WebSocket servers attached to this server: their upgrades stay in Rust.
    ws: Attached,
}

fn lock(m: &OpenMap) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `name\0value\0…` for a header list.
/// Appends `\0name\0value` per field. With `skip_coding`, leaves out `Content-Encoding`
/// and `Content-Length` (they described a body the client has decoded).
pub(crate) fn encode_fields(out: &mut Vec<u8>, headers: &Headers, skip_coding: bool) {
    for (n, v) in headers.iter() {
        if skip_coding && (n.eq_ignore_ascii_case("content-encoding") || n.eq_ignore_ascii_case("content-length")) {
            continue;
        }
        out.push(0);
        out.extend_from_slice(n.as_bytes());
        out.push(0);
        out.extend_from_slice(v);
    }
}

/// The request head as one latin1 string: `id\0flags\0method\0target\0remoteHost\0
/// remotePort\0name\0value…`.
pub(crate) fn encode_head(info: &RequestInfo, flags: u32) -> Vec<u8> {
    let req = &info.request;
    let mut s = Vec::with_capacity(64 + req.headers.len() * 32);
    let _ = write!(s, "{}\0{}\0{}\0", info.id, flags, req.method);
    s.extend_from_slice(req.target.as_str().as_bytes());
    match &info.remote {
        Some(a) => {
            let _ = write!(s, "\0{}\0{}", a.host(), a.port());
        }
        None => s.extend_from_slice(b"\x00\x000"),
    }
    encode_fields(&mut s, &req.headers, false);
    s
}

impl Handler for JsHandler {
    fn on_request(&self, info: RequestInfo, exchange: Exchange) {
        let req = &info.request;
        let mut flags = 0;
        if info.has_body {
            flags |= FLAG_BODY;
        }
        if req.version == Version::Http10 {
            flags |= FLAG_HTTP10;
        }
        let s = encode_head(&info, flags);
        lock(&self.open).insert(info.id, Open { exchange, has_body: info.has_body });
        self.sink.push(kind::HTTP_REQUEST, Payload::Latin1(s));
    }

    fn on_body_credit(&self, id: u64, chunk: Bytes, credit: Credit) {
        // The credit travels with the chunk and returns when JS has it, so the events
        // queued for JS stay within the driver's window.
        self.sink.push(kind::HTTP_BODY, Payload::IdBytes(id as f64, chunk, Some(credit)));
    }

    fn on_body_end(&self, id: u64, trailers: Headers) {
        let report = lock(&self.open).get(&id).is_some_and(|o| o.has_body);
        if !report {
            return;
        }
        if trailers.is_empty() {
            self.sink.push(kind::HTTP_BODY_END, Payload::Num(id as f64));
        } else {
            let mut s = id.to_string().into_bytes();
            encode_fields(&mut s, &trailers, false);
            self.sink.push(kind::HTTP_BODY_END, Payload::Latin1(s));
        }
    }

    fn on_aborted(&self, id: u64) {
        // Also for an exchange JS has answered: its request body may still be unread.
        lock(&self.open).remove(&id);
        self.sink.push(kind::HTTP_ABORT, Payload::Num(id as f64));
    }

    fn on_drain(&self, id: u64) {
        self.sink.push(kind::HTTP_DRAIN, Payload::Num(id as f64));
    }

    fn claims_upgrade(&self, req: &iocrate_http::Request, _tls: bool) -> bool {
        find(&self.ws, req).is_some()
    }

    fn on_upgrade(&self, info: RequestInfo, up: Upgraded) {
        if let Some(ws) = find(&self.ws, &info.request) {
            ws.handle_upgrade(info, up);
            return;
        }
        // The connection becomes a plain stream handle with its own id, reporting through
        // the same bridge; JS gets the request head, the handle and the bytes read ahead.
        let sock = match up.io {
            MaybeTls::Plain(sock) => sock,
            // Only claimed upgrades come over TLS, and those went to their WebSocket server.
            MaybeTls::Tls(_) => return,
        };
        let s = Sink::new(&self.sink.bridge);
        let sid = s.id;
        let _ = sock.set_no_delay(true);
        let conn = TcpConn::accepted(sock, Some(up.guard), &StreamOptions::default(), Arc::new(s));
        self.sink.bridge.track(&conn);
        let head_str = encode_head(&info, 0);
        let c = conn.clone();
        let head = up.head;
        self.sink.push(
            kind::HTTP_UPGRADE,
            Payload::Lazy(Box::new(move |env| {
                let mut arr = env.create_array(3)?;
                arr.set(0, env.create_string_latin1(&head_str)?)?;
                let handle = unsafe { StreamHandle::to_napi_value(env.raw(), StreamHandle::new(Conn::Tcp(c), sid))? };
                arr.set(1, unsafe { Unknown::from_raw_unchecked(env.raw(), handle) })?;
                arr.set(2, BufferSlice::copy_from(env, &head)?)?;
                unsafe { Array::to_napi_value(env.raw(), arr) }
            })),
        );
        conn.start();
    }

    fn on_close(&self) {
        self.sink.push(kind::SERVER_CLOSE, Payload::None);
    }
}

/// A static response answered in Rust, without entering JS.
#[napi(object)]
pub struct RawRoute {
    /// Method to match exactly (`GET`).
    pub method: String,
    /// Request target to match exactly (`/hello`; a query string does not match).
    pub path: String,
    /// Status code.
    pub status: u32,
    /// Header fields as `name\0value\0…` (no framing headers).
    pub headers: String,
    /// The body.
    pub body: Buffer,
}

/// HTTP server settings from JS.
#[napi(object)]
pub struct RawHttpServerOptions {
    /// Where to listen, and the connection limit.
    pub listen: RawListenOptions,
    /// Longest request line in bytes.
    pub max_request_line: Option<u32>,
    /// Most header fields.
    pub max_headers_count: Option<u32>,
    /// Largest head in bytes.
    pub max_header_size: Option<u32>,
    /// Largest request body in bytes (413 past it); absent: unlimited.
    pub max_body_size: Option<f64>,
    /// Headers timeout in ms (0: none).
    pub headers_timeout_ms: Option<u32>,
    /// Keep-alive timeout in ms.
    pub keep_alive_timeout_ms: Option<u32>,
    /// Socket idle timeout while a request is in flight, in ms (0 or absent: none).
    pub timeout_ms: Option<u32>,
    /// `TCP_NODELAY` (default true).
    pub no_delay: Option<bool>,
    /// Static responses.
    pub routes: Option<Vec<RawRoute>>,
    /// Compress responses (done in Rust).
    pub compression: Option<RawCompression>,
    /// Response bytes queued per connection at which `write` should wait for HTTP_DRAIN.
    pub high_water_mark: Option<u32>,
    /// Hand Upgrade requests to JS with the raw connection (HTTP_UPGRADE).
    pub upgrade: Option<bool>,
    /// Hand CONNECT requests to JS with the raw connection (HTTP_UPGRADE).
    pub connect: Option<bool>,
}

/// Response compression settings from JS.
#[napi(object)]
pub struct RawCompression {
    /// Codings offered, preferred first: `br`, `gzip`, `deflate` (default `br`, `gzip`).
    pub codings: Option<Vec<String>>,
    /// Smallest known body length worth compressing (default 1024).
    pub threshold: Option<f64>,
    /// gzip/deflate level 0–9.
    pub level: Option<u32>,
    /// Brotli quality 0–11.
    pub brotli_quality: Option<u32>,
}

fn compression(r: RawCompression) -> std::result::Result<Compression, ErrorInfo> {
    let d = Compression::default();
    let codings = match r.codings {
        None => d.codings,
        Some(list) => list
            .iter()
            .map(|c| match Coding::parse(c.as_bytes()) {
                Some(Coding::Identity) | None => Err(ErrorInfo::new(
                    "ERR_INVALID_ARG_VALUE",
                    format!("compression.codings: unsupported coding \"{c}\" (use br, gzip or deflate)"),
                )),
                Some(c) => Ok(c),
            })
            .collect::<std::result::Result<Vec<_>, _>>()?,
    };
    Ok(Compression {
        codings,
        threshold: r.threshold.map_or(d.threshold, |t| t.max(0.0) as u64),
        level: r.level,
        brotli_quality: r.brotli_quality,
    })
}

/// Converts a JS string holding only latin1 characters to its bytes (Node's header
/// encoding). `None` if a character is above U+00FF.
fn latin1(s: &str) -> Option<Vec<u8>> {
    if s.is_ascii() {
        return Some(s.as_bytes().to_vec());
    }
    s.chars().map(|c| u8::try_from(c as u32).ok()).collect()
}

fn invalid_char(name: &str) -> ErrorInfo {
    ErrorInfo::new("ERR_INVALID_CHAR", format!("Invalid character in header content [\"{name}\"]"))
}

/// Decodes header fields passed from JS as `name\0value\0…` (values latin1).
pub(crate) fn header_fields(s: &str) -> std::result::Result<Headers, ErrorInfo> {
    let mut h = Headers::new();
    if s.is_empty() {
        return Ok(h);
    }
    let mut it = s.split('\0');
    while let (Some(n), Some(v)) = (it.next(), it.next()) {
        h.push(n, latin1(v).ok_or_else(|| invalid_char(n))?);
    }
    Ok(h)
}

/// What a response's header string says about framing.
struct ParsedHead {
    headers: Headers,
    content_length: Option<u64>,
    chunked: bool,
}

fn parse_fields(fields: &str) -> std::result::Result<ParsedHead, ErrorInfo> {
    let mut out = ParsedHead { headers: Headers::new(), content_length: None, chunked: false };
    if fields.is_empty() {
        return Ok(out);
    }
    let mut it = fields.split('\0');
    while let (Some(n), Some(v)) = (it.next(), it.next()) {
        if n.eq_ignore_ascii_case("content-length") {
            let len = v.trim().parse::<u64>().map_err(|_| {
                ErrorInfo::new("ERR_HTTP_INVALID_HEADER_VALUE", format!("Invalid value \"{v}\" for header \"{n}\""))
            })?;
            out.content_length = Some(len);
            continue;
        }
        if n.eq_ignore_ascii_case("transfer-encoding") {
            if v.trim().eq_ignore_ascii_case("chunked") {
                out.chunked = true;
                continue;
            }
            return Err(ErrorInfo::new(
                "ERR_HTTP_INVALID_HEADER_VALUE",
                format!("Transfer-Encoding \"{v}\" is not supported: the server frames the body itself"),
            ));
        }
        let value = latin1(v).ok_or_else(|| invalid_char(n))?;
        out.headers.push(n, value);
    }
    Ok(out)
}

fn body_bytes(body: Option<Either<BufferSlice, String>>) -> Bytes {
    match body {
        None => Bytes::new(),
        Some(Either::A(b)) => Bytes::copy_from_slice(&b),
        Some(Either::B(s)) => Bytes::from(s.into_bytes()),
    }
}

fn closed() -> ErrorInfo {
    ErrorInfo::new("ERR_IOCRATE_HTTP_CONNECTION_CLOSED", "the connection of this request is closed")
}

/// A listening HTTP server. Answers go through the `respond`/`write`/`end` methods,
/// keyed by the request id of the HTTP_REQUEST event.
#[napi]
pub struct HttpServerHandle {
    server: Arc<HttpServer>,
    open: Arc<OpenMap>,
    id: u32,
    /// Whole responses waiting for [`HttpServerHandle::flush`] (JS-thread only).
    deferred: std::cell::RefCell<Vec<Deferred>>,
    /// WebSocket servers attached to this server.
    ws: Attached,
}

/// A whole response handed over by `respond` and sent at the next `flush`.
struct Deferred {
    exchange: Exchange,
    status: u16,
    headers: Headers,
    body: Bytes,
}

impl crate::bridge::Closeable for HttpServer {
    fn close_now(&self) {
        self.close();
    }
}

/// Binds and listens; events flow at once. With `tls` the server speaks HTTPS (ALPN
/// `http/1.1` unless `tls.alpnProtocols` says otherwise; `tls.listen` is ignored).
#[napi]
pub fn http_listen(
    bridge: &Bridge,
    options: RawHttpServerOptions,
    tls: Option<RawTlsServerOptions>,
) -> Either<HttpServerHandle, ErrorInfo> {
    let tls = match tls {
        None => None,
        Some(mut t) => {
            if t.alpn_protocols.is_none() {
                t.alpn_protocols = Some(vec!["http/1.1".to_string()]);
            }
            let timeout = t.handshake_timeout_ms.filter(|&v| v > 0).map(|v| Duration::from_millis(v as u64));
            match server_options(&mut t).and_then(|o| server_config(&o)) {
                Ok(config) => Some(TlsAccept { config, handshake_timeout: timeout }),
                Err(e) => return Either::B(e.into()),
            }
        }
    };
    let sink = Sink::new(&bridge.inner);
    let id = sink.id;
    let open: Arc<OpenMap> = Arc::default();
    let mut routes = Routes::new();
    for r in options.routes.unwrap_or_default() {
        let parsed = match parse_fields(&r.headers) {
            Ok(p) => p,
            Err(e) => return Either::B(e),
        };
        let mut res = StaticResponse::new(r.status as u16, Bytes::copy_from_slice(&r.body));
        res.headers = parsed.headers;
        routes.insert(&r.method, &r.path, res);
    }
    let d = HttpServerOptions::default();
    let ms = |v: Option<u32>, def: Duration| v.map_or(def, |v| Duration::from_millis(v as u64));
    let dl = Limits::default();
    let opts = HttpServerOptions {
        limits: Limits {
            max_request_line: options.max_request_line.map_or(dl.max_request_line, |v| v as usize),
            max_header_count: options.max_headers_count.map_or(dl.max_header_count, |v| v as usize),
            max_header_bytes: options.max_header_size.map_or(dl.max_header_bytes, |v| v as usize),
            max_body_bytes: options.max_body_size.filter(|v| *v >= 0.0).map(|v| v as u64),
            ..dl
        },
        routes,
        headers_timeout: match options.headers_timeout_ms {
            Some(0) => Duration::from_secs(365 * 24 * 3600),
            v => ms(v, d.headers_timeout),
        },
        keep_alive_timeout: match options.keep_alive_timeout_ms {
            // As Node: 0 turns the keep-alive timeout off.
            Some(0) => Duration::from_secs(365 * 24 * 3600),
            v => ms(v, d.keep_alive_timeout),
        },
        idle_timeout: options.timeout_ms.filter(|&v| v > 0).map(|v| Duration::from_millis(v as u64)),
        high_water_mark: options.high_water_mark.map_or(DRAIN_HIGH_WATER, |v| v.max(1) as usize),
        upgrade: options.upgrade.unwrap_or(false),
        connect: options.connect.unwrap_or(false),
        no_delay: options.no_delay.unwrap_or(true),
        tls,
        compression: match options.compression.map(compression).transpose() {
            Ok(c) => c,
            Err(e) => return Either::B(e),
        },
    };
    let ws: Attached = Attached::default();
    let handler = Arc::new(JsHandler { sink, open: open.clone(), ws: ws.clone() });
    match HttpServer::bind(options.listen.into(), opts, handler) {
        Ok(server) => {
            bridge.inner.track(&server);
            Either::A(HttpServerHandle { server, open, id, deferred: Default::default(), ws })
        }
        Err(e) => Either::B(e.into()),
    }
}

impl HttpServerHandle {
    fn exchange(&self, req: f64) -> Option<Exchange> {
        lock(&self.open).get(&(req as u64)).map(|o| o.exchange.clone())
    }

    fn finish(&self, req: f64) {
        lock(&self.open).remove(&(req as u64));
    }
}

#[napi]
impl HttpServerHandle {
    /// The id events for this server carry.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The bound address.
    #[napi]
    pub fn address(&self) -> AddressInfo {
        self.server.local_addr().clone().into()
    }

    /// Open connections.
    #[napi]
    pub fn connections(&self) -> u32 {
        self.server.connections() as u32
    }

    /// Sets the connection limit (negative: none).
    #[napi]
    pub fn set_max_connections(&self, max: i64) {
        self.server.set_max_connections((max >= 0).then_some(max as usize));
    }

    /// Stops accepting, closes idle connections, lets in-flight requests finish;
    /// SERVER_CLOSE follows once every connection has closed.
    #[napi]
    pub fn close(&self) {
        self.flush();
        self.server.close();
    }

    /// Hands this server's WebSocket upgrades (on the WebSocket server's path) to `ws`,
    /// over plain TCP and TLS alike.
    #[napi]
    pub fn attach_web_socket(&self, ws: &WsServerHandle) {
        let mut list = self.ws.write().unwrap_or_else(|e| e.into_inner());
        if !list.iter().any(|s| Arc::ptr_eq(s, &ws.core)) {
            list.push(ws.core.clone());
        }
    }

    /// Stops handing upgrades to `ws`.
    #[napi]
    pub fn detach_web_socket(&self, ws: &WsServerHandle) {
        self.ws.write().unwrap_or_else(|e| e.into_inner()).retain(|s| !Arc::ptr_eq(s, &ws.core));
    }

    /// Closes every connection now, cutting off requests in flight.
    #[napi]
    pub fn close_all_connections(&self) {
        self.flush();
        self.server.close_all_connections();
    }

    /// Sends the response head, and with `end` the whole response. `fields` is
    /// `name\0value\0…`; a `Content-Length` there fixes the length, `Transfer-Encoding:
    /// chunked` asks for chunks; otherwise an ended response gets the body's length and
    /// an open one is chunked. Returns the bytes queued on the connection.
    #[napi]
    pub fn respond(
        &self,
        req: f64,
        status: u32,
        fields: String,
        body: Option<Either<BufferSlice, String>>,
        end: bool,
    ) -> Either<f64, ErrorInfo> {
        let Some(ex) = self.exchange(req) else { return Either::B(closed()) };
        let head = match parse_fields(&fields) {
            Ok(h) => h,
            Err(e) => return Either::B(e),
        };
        let body = body_bytes(body);
        let framing = match (head.content_length, head.chunked, end) {
            (Some(n), _, _) => Framing::Length(n),
            (None, true, _) => Framing::Chunked,
            (None, false, true) => Framing::Length(body.len() as u64),
            (None, false, false) => Framing::Chunked,
        };
        if !(100..=999).contains(&status) {
            return Either::B(ErrorInfo::new("ERR_HTTP_INVALID_STATUS_CODE", format!("Invalid status code: {status}")));
        }
        if end && framing == Framing::Length(body.len() as u64) {
            // The common case: the whole response in one command, and not even sent yet:
            // it waits for `flush()` (JS calls it once the current batch of requests is
            // handled), so the I/O thread is woken once per batch rather than per response.
            self.finish(req);
            let queued = ex.queued() + body.len();
            self.deferred.borrow_mut().push(Deferred {
                exchange: ex,
                status: status as u16,
                headers: head.headers,
                body,
            });
            return Either::A(queued as f64);
        }
        // Anything else for this connection goes after what is already waiting.
        self.flush();
        if ex.respond(status as u16, head.headers, framing).is_err() {
            self.finish(req);
            return Either::B(closed());
        }
        let mut queued = ex.queued();
        if !body.is_empty() {
            match ex.write_body(body) {
                Ok(q) => queued = q,
                Err(_) => {
                    self.finish(req);
                    return Either::B(closed());
                }
            }
        }
        if end {
            self.finish(req);
            if ex.end(Headers::new()).is_err() {
                return Either::B(closed());
            }
        }
        Either::A(queued as f64)
    }

    /// Sends the whole responses `respond` deferred. Returns how many there were.
    #[napi]
    pub fn flush(&self) -> u32 {
        let batch = std::mem::take(&mut *self.deferred.borrow_mut());
        let n = batch.len() as u32;
        for d in batch {
            // A connection that closed meanwhile already told JS (HTTP_ABORT).
            let _ = d.exchange.respond_full(d.status, d.headers, d.body);
        }
        n
    }

    /// Writes body bytes; returns the bytes queued on the connection (at
    /// `drainHighWater` or more an HTTP_DRAIN event follows once they drain).
    #[napi]
    pub fn write(&self, req: f64, chunk: Either<BufferSlice, String>) -> Either<f64, ErrorInfo> {
        self.flush();
        let Some(ex) = self.exchange(req) else { return Either::B(closed()) };
        match ex.write_body(body_bytes(Some(chunk))) {
            Ok(q) => Either::A(q as f64),
            Err(_) => {
                self.finish(req);
                Either::B(closed())
            }
        }
    }

    /// Ends the response, with an optional last chunk and trailers (`name\0value\0…`).
    #[napi]
    pub fn end(
        &self,
        req: f64,
        chunk: Option<Either<BufferSlice, String>>,
        trailers: Option<String>,
    ) -> Either<f64, ErrorInfo> {
        let Some(ex) = self.exchange(req) else { return Either::B(closed()) };
        self.finish(req);
        let trailers = match trailers.as_deref().map(parse_fields) {
            None => Headers::new(),
            Some(Ok(t)) => t.headers,
            Some(Err(e)) => return Either::B(e),
        };
        let body = body_bytes(chunk);
        let mut queued = ex.queued();
        if !body.is_empty() {
            match ex.write_body(body) {
                Ok(q) => queued = q,
                Err(_) => return Either::B(closed()),
            }
        }
        match ex.end(trailers) {
            Ok(()) => Either::A(queued as f64),
            Err(_) => Either::B(closed()),
        }
    }

    /// Stops (`true`) or resumes reading the request's body.
    #[napi]
    pub fn pause_body(&self, req: f64, paused: bool) {
        if let Some(ex) = self.exchange(req) {
            let _ = if paused { ex.pause_body() } else { ex.resume_body() };
        }
    }

    /// Closes the request's connection at once.
    #[napi]
    pub fn destroy(&self, req: f64) {
        self.flush();
        if let Some(ex) = self.exchange(req) {
            self.finish(req);
            let _ = ex.destroy();
        }
    }

    /// Queued response bytes at which a drain notice is armed.
    #[napi(getter)]
    pub fn drain_high_water(&self) -> u32 {
        DRAIN_HIGH_WATER as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_headers_are_lifted_out() {
        let p = parse_fields("Content-Type\0text/plain\0content-length\x005").unwrap();
        assert_eq!(p.content_length, Some(5));
        assert_eq!(p.headers.len(), 1);
        assert!(parse_fields("Transfer-Encoding\0gzip").is_err());
        assert!(parse_fields("Transfer-Encoding\0chunked").unwrap().chunked);
        assert!(parse_fields("X\0\u{100}").is_err());
        assert_eq!(parse_fields("X\0caf\u{e9}").unwrap().headers.get("x").unwrap(), b"caf\xe9");
        assert!(parse_fields("").unwrap().headers.is_empty());
    }
}
