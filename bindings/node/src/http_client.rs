//! `@iocrate/http` client: one pooled [`Client`] per JS `Agent`.
//!
//! A request is one synchronous call (`request`) carrying the whole head, and the body
//! when it is known; streamed bodies follow through `write`/`end`. Responses come back
//! on the agent's bridge id, keyed by the request id the call returned:
//! HTTP_RESPONSE (one latin1 string `reqId\0status\0version\0reason\0name\0value…`),
//! HTTP_BODY (`[reqId, Buffer]`), HTTP_BODY_END (`reqId`, or `reqId\0name\0value…` with
//! trailers), HTTP_CLIENT_ERROR (`[reqId, ErrorInfo]`), HTTP_DRAIN (`reqId`).

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use iocrate_http::client::{
    Client, ClientError, ClientOptions, HttpsConnector, Origin, RequestHandle, RequestSpec, ResponseHandler, Scheme,
};
use iocrate_http::compress::{parse_content_encoding, Coding, Decoder};
use iocrate_http::{Framing, Headers, Limits, Version};
use iocrate_tls::config::client_config;
use iocrate_tls::ClientOptions as TlsClientOptions;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bridge::{kind, Bridge, Payload, Sink};
use crate::error::ErrorInfo;
use crate::http::{encode_fields, header_fields};
use iocrate_net::Credit;

type ReqMap = Mutex<HashMap<u64, RequestHandle>>;

fn lock(m: &ReqMap) -> std::sync::MutexGuard<'_, HashMap<u64, RequestHandle>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Largest decompressed response body by default (a decompression bomb stops here).
const MAX_DECODED: u64 = 1 << 30;

struct JsResponse {
    sink: Sink,
    id: u64,
    reqs: Arc<ReqMap>,
    decompress: bool,
    /// Set when the response is compressed and decoding was asked for.
    decoder: Mutex<Option<Vec<Decoder>>>,
    /// The request ended (response complete or failed).
    finished: AtomicBool,
}

impl JsResponse {
    fn done(&self) {
        let mut reqs = lock(&self.reqs);
        self.finished.store(true, Ordering::Release);
        reqs.remove(&self.id);
    }

    fn error(&self, info: ErrorInfo) {
        self.done();
        let id = self.id as f64;
        self.sink.push(
            kind::HTTP_CLIENT_ERROR,
            Payload::Lazy(Box::new(move |env| {
                let mut arr = env.create_array(2)?;
                arr.set(0, id)?;
                arr.set(1, info)?;
                unsafe { Array::to_napi_value(env.raw(), arr) }
            })),
        );
    }

    fn body(&self, chunk: Bytes, credit: Option<Credit>) {
        if self.decoder.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
            self.sink.push(kind::HTTP_BODY, Payload::IdBytes(self.id as f64, chunk, credit));
            return;
        }
        match self.decode(&chunk, false) {
            Ok(d) if d.is_empty() => {}
            Ok(d) => self.sink.push(kind::HTTP_BODY, Payload::IdBytes(self.id as f64, Bytes::from(d), credit)),
            Err(e) => {
                let handle = lock(&self.reqs).get(&self.id).cloned();
                if let Some(h) = handle {
                    h.abort();
                }
                self.error(e);
            }
        }
    }

    /// Undoes the response's content codings (listed in the order they were applied, so
    /// the last is undone first). With `last`, finishes every decoder, feeding each one's
    /// tail through the decoders inside it.
    fn decode(&self, chunk: &[u8], last: bool) -> std::result::Result<Vec<u8>, ErrorInfo> {
        let mut guard = self.decoder.lock().unwrap_or_else(|e| e.into_inner());
        let Some(stack) = guard.as_mut() else { return Ok(chunk.to_vec()) };
        let mut data = run_decoders(stack, chunk)?;
        if last {
            let mut stack = guard.take().unwrap_or_default();
            while let Some(outer) = stack.pop() {
                let mut tail = Vec::new();
                outer.finish(&mut tail).map_err(decompress_error)?;
                data.extend_from_slice(&run_decoders(&mut stack, &tail)?);
            }
        }
        Ok(data)
    }
}

fn decompress_error(e: impl std::fmt::Display) -> ErrorInfo {
    ErrorInfo::new("ERR_IOCRATE_HTTP_DECOMPRESS", format!("cannot decode the response body: {e}"))
}

fn run_decoders(stack: &mut [Decoder], input: &[u8]) -> std::result::Result<Vec<u8>, ErrorInfo> {
    let mut data = input.to_vec();
    for dec in stack.iter_mut().rev() {
        if data.is_empty() {
            break;
        }
        let mut out = Vec::new();
        dec.write(&data, &mut out).map_err(decompress_error)?;
        data = out;
    }
    Ok(data)
}

impl ResponseHandler for JsResponse {
    fn on_response(&self, status: u16, reason: String, version: Version, headers: Headers) {
        let mut decoding = false;
        if self.decompress {
            if let Some(ce) = headers.get("content-encoding") {
                match parse_content_encoding(ce) {
                    Ok(list) if !list.is_empty() && list.iter().all(|c| *c != Coding::Identity) => {
                        let stack = list.into_iter().map(|c| Decoder::with_max_output(c, MAX_DECODED)).collect();
                        *self.decoder.lock().unwrap_or_else(|e| e.into_inner()) = Some(stack);
                        decoding = true;
                    }
                    _ => {}
                }
            }
        }
        let mut s = Vec::with_capacity(64 + headers.len() * 32);
        let v = if version == Version::Http10 { "1.0" } else { "1.1" };
        let _ = write!(s, "{}\0{}\0{}\0{}", self.id, status, v, reason);
        encode_fields(&mut s, &headers, decoding);
        self.sink.push(kind::HTTP_RESPONSE, Payload::Latin1(s));
    }

    fn on_body(&self, chunk: Bytes) {
        self.body(chunk, None);
    }

    fn on_body_credit(&self, chunk: Bytes, credit: Credit) {
        // The credit goes to JS with the chunk: the connection reads no further ahead
        // than its window while JS has not taken the chunks.
        self.body(chunk, Some(credit));
    }

    fn on_end(&self, trailers: Headers) {
        match self.decode(&[], true) {
            Ok(d) if !d.is_empty() => {
                self.sink.push(kind::HTTP_BODY, Payload::IdBytes(self.id as f64, Bytes::from(d), None))
            }
            Ok(_) => {}
            Err(e) => return self.error(e),
        }
        self.done();
        if trailers.is_empty() {
            self.sink.push(kind::HTTP_BODY_END, Payload::Num(self.id as f64));
        } else {
            let mut s = self.id.to_string().into_bytes();
            encode_fields(&mut s, &trailers, false);
            self.sink.push(kind::HTTP_BODY_END, Payload::Latin1(s));
        }
    }

    fn on_error(&self, err: ClientError) {
        let info = match err {
            ClientError::Net(e) => ErrorInfo::from(e),
            other => ErrorInfo::new(other.code(), other.to_string()),
        };
        self.error(info);
    }

    fn on_drain(&self) {
        self.sink.push(kind::HTTP_DRAIN, Payload::Num(self.id as f64));
    }
}

/// Agent (pool) settings from JS.
#[napi(object)]
#[derive(Default)]
pub struct RawHttpClientOptions {
    /// Most connections per origin (default 64).
    pub max_sockets: Option<u32>,
    /// Most idle connections kept per origin.
    pub max_free_sockets: Option<u32>,
    /// Idle pooled connections close after this many ms (default 4000).
    pub idle_timeout_ms: Option<u32>,
    /// Requests in flight per connection (1: no pipelining).
    pub pipelining: Option<u32>,
    /// Connect timeout in ms (default 10000).
    pub connect_timeout_ms: Option<u32>,
    /// Time to the response head in ms (default 300000).
    pub headers_timeout_ms: Option<u32>,
    /// Largest response head in bytes.
    pub max_header_size: Option<u32>,
    /// HTTP proxy to tunnel through (`CONNECT`): host.
    pub proxy_host: Option<String>,
    /// HTTP proxy port.
    pub proxy_port: Option<u32>,
    /// Trusted CAs (PEM) for https; absent: the system roots.
    pub ca: Option<Vec<Buffer>>,
    /// Client certificate (PEM).
    pub cert: Option<Buffer>,
    /// Client key (PEM).
    pub key: Option<Buffer>,
    /// Name to verify and send as SNI instead of the host.
    pub servername: Option<String>,
    /// Accept any server certificate (only with an explicit opt-out in JS).
    pub dangerously_disable_certificate_verification: Option<bool>,
}

/// `request` flag: an `https` origin.
const FLAG_HTTPS: u32 = 1;
/// `request` flag: the body follows through `write`/`end`.
const FLAG_STREAMING: u32 = 2;
/// `request` flag: decode `Content-Encoding: gzip/deflate/br` responses.
const FLAG_DECOMPRESS: u32 = 4;

/// A connection pool (an `Agent`): requests to any origin, pooled per origin.
#[napi]
pub struct HttpClientHandle {
    client: Client,
    reqs: Arc<ReqMap>,
    sink: Sink,
    next: AtomicU64,
}

fn ms(v: Option<u32>, def: Duration) -> Duration {
    v.map_or(def, |v| Duration::from_millis(v as u64))
}

/// Creates a pool.
#[napi]
pub fn http_client(bridge: &Bridge, options: Option<RawHttpClientOptions>) -> Either<HttpClientHandle, ErrorInfo> {
    let o = options.unwrap_or_default();
    let d = ClientOptions::default();
    let dl = Limits::default();
    let opts = ClientOptions {
        max_sockets_per_origin: o.max_sockets.map_or(d.max_sockets_per_origin, |v| v.max(1) as usize),
        max_idle_per_origin: o.max_free_sockets.map_or(d.max_idle_per_origin, |v| v as usize),
        idle_timeout: ms(o.idle_timeout_ms, d.idle_timeout),
        pipelining: o.pipelining.map_or(d.pipelining, |v| v.max(1) as usize),
        limits: Limits { max_header_bytes: o.max_header_size.map_or(dl.max_header_bytes, |v| v as usize), ..dl },
        connect_timeout: ms(o.connect_timeout_ms, d.connect_timeout),
        headers_timeout: ms(o.headers_timeout_ms, d.headers_timeout),
        proxy: o.proxy_host.map(|h| Origin::http(&h, o.proxy_port.unwrap_or(80) as u16)),
        ..d
    };
    let identity = match (o.cert, o.key) {
        (Some(c), Some(k)) => Some(iocrate_tls::KeyPair { cert: c.to_vec(), key: k.to_vec() }),
        (None, None) => None,
        _ => return Either::B(ErrorInfo::new("ERR_IOCRATE_TLS_BAD_CONFIG", "cert and key must be given together")),
    };
    let tls = TlsClientOptions {
        ca: o.ca.map(|v| v.into_iter().map(|b| b.to_vec()).collect()),
        identity,
        alpn: vec![b"http/1.1".to_vec()],
        dangerously_disable_certificate_verification: o.dangerously_disable_certificate_verification.unwrap_or(false),
        ..Default::default()
    };
    let setup = match client_config(&tls) {
        Ok(s) => s,
        Err(e) => return Either::B(e.into()),
    };
    let mut connector = HttpsConnector::new(setup);
    connector.servername = o.servername;
    let client = Client::with_connector(opts, connector);
    Either::A(HttpClientHandle {
        client,
        reqs: Arc::default(),
        sink: Sink::new(&bridge.inner),
        next: AtomicU64::new(1),
    })
}

fn closed() -> ErrorInfo {
    ErrorInfo::new("ERR_IOCRATE_HTTP_REQUEST_CLOSED", "the request is finished or aborted")
}

#[napi]
impl HttpClientHandle {
    /// The id events for this pool carry.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.sink.id
    }

    /// Starts a request; returns its id (events carry it). Positional arguments (cheaper
    /// to pass than an object): `flags` (1 https, 2 streamed body, 4 decompress), the
    /// origin's host and port, method, target (path and query), header fields as
    /// `name\0value\0…` (no framing headers), the whole body when known, and the declared
    /// length of a streamed body (absent: chunked).
    #[napi]
    #[allow(clippy::too_many_arguments)]
    pub fn request(
        &self,
        flags: u32,
        host: String,
        port: u32,
        method: String,
        target: String,
        fields_str: String,
        body: Option<BufferSlice>,
        length: Option<f64>,
    ) -> Either<f64, ErrorInfo> {
        let headers = match header_fields(&fields_str) {
            Ok(h) => h,
            Err(e) => return Either::B(e),
        };
        if port == 0 || port > 65535 {
            return Either::B(ErrorInfo::new("ERR_INVALID_ARG_VALUE", format!("invalid port {port}")));
        }
        let origin = Origin {
            scheme: if flags & FLAG_HTTPS != 0 { Scheme::Https } else { Scheme::Http },
            host,
            port: port as u16,
        };
        let mut spec = RequestSpec::new(&method, origin, if target.is_empty() { "/" } else { &target });
        spec.headers = headers;
        if flags & FLAG_STREAMING != 0 {
            spec.framing = match length {
                Some(n) if n >= 0.0 => Framing::Length(n as u64),
                _ => Framing::Chunked,
            };
        } else if let Some(b) = body {
            spec.framing = Framing::Length(b.len() as u64);
            spec.body = Some(Bytes::copy_from_slice(&b));
        }
        let decompress = flags & FLAG_DECOMPRESS != 0;
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let handler = Arc::new(JsResponse {
            sink: self.sink.clone(),
            id,
            reqs: self.reqs.clone(),
            decompress,
            decoder: Mutex::new(None),
            finished: AtomicBool::new(false),
        });
        // The request may finish before it is registered (a synchronous failure): `done`
        // marks it finished, and then it is not registered at all.
        let handle = self.client.request(spec, handler.clone());
        let mut reqs = lock(&self.reqs);
        if !handler.finished.load(Ordering::Acquire) {
            reqs.insert(id, handle);
        }
        Either::A(id as f64)
    }

    /// Writes body bytes of a streamed request; returns the bytes queued (wait for
    /// HTTP_DRAIN past 64 KiB).
    #[napi]
    pub fn write(&self, req: f64, chunk: Buffer) -> Either<f64, ErrorInfo> {
        let Some(h) = lock(&self.reqs).get(&(req as u64)).cloned() else { return Either::B(closed()) };
        match h.write_body(Bytes::copy_from_slice(&chunk)) {
            Ok(q) => Either::A(q as f64),
            Err(_) => Either::B(closed()),
        }
    }

    /// Ends a streamed request body, with optional trailers (`name\0value\0…`).
    #[napi]
    pub fn end(&self, req: f64, trailers: Option<String>) -> Option<ErrorInfo> {
        let h = lock(&self.reqs).get(&(req as u64)).cloned()?;
        let t = match trailers.as_deref().map(header_fields) {
            None => Headers::new(),
            Some(Ok(t)) => t,
            Some(Err(e)) => return Some(e),
        };
        h.end(t).err().map(|_| closed())
    }

    /// Aborts a request (its connection is closed unless the request had not started).
    #[napi]
    pub fn abort(&self, req: f64) {
        // Take the handle out before aborting: the abort reports through `on_error`,
        // which locks the map again.
        let handle = lock(&self.reqs).remove(&(req as u64));
        if let Some(h) = handle {
            h.abort();
        }
    }

    /// Stops (`true`) or resumes reading a response body.
    #[napi]
    pub fn pause(&self, req: f64, paused: bool) {
        let handle = lock(&self.reqs).get(&(req as u64)).cloned();
        if let Some(h) = handle {
            if paused {
                h.pause()
            } else {
                h.resume()
            }
        }
    }

    /// Closes idle connections; requests in flight finish.
    #[napi]
    pub fn close(&self) {
        self.client.close();
    }

    /// Aborts everything.
    #[napi]
    pub fn destroy(&self) {
        self.client.destroy();
    }
}
