//! `@iocrate/websocket`: WebSocket servers (attached to an HTTP server) and clients.
//!
//! A server is a [`WsServerHandle`] attached to one or more HTTP servers
//! (`HttpServerHandle.attachWebSocket`): the HTTP driver hands every matching upgrade
//! over in Rust, the handshake is checked and answered here, and JS hears about a
//! connection once, when it is open (WS_OPEN, carrying a [`WsConnHandle`]). Only when JS
//! wants to decide (origin check, subprotocol choice) does the upgrade go to JS first
//! (WS_UPGRADE), answered synchronously by `accept`/`reject`.
//!
//! Each connection reports under its own id: WS_TEXT (string), WS_BINARY (Buffer),
//! WS_PING, WS_PONG, DRAIN, ERROR, WS_CLOSE (`[code, reason]`), and for a client WS_OPEN
//! (`[protocol, extensions, headers]`). Messages carry their read credit, so a busy JS
//! thread holds the peer back. Sends are one synchronous call each; a publish is one call
//! whatever the number of subscribers (fan-out in `iocrate_websocket::driver::Topics`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use bytes::Bytes;
use iocrate_http::client::{HttpsConnector, MaybeTls, Origin};
use iocrate_http::driver::{RequestInfo, Upgraded};
use iocrate_http::Request;
use iocrate_net::tcp::ConnGuard;
use iocrate_net::Credit;
use iocrate_tls::config::client_config;
use iocrate_tls::ClientOptions as TlsClientOptions;
use iocrate_websocket::codec::deflate::DeflateConfig;
use iocrate_websocket::codec::Limits;
use iocrate_websocket::driver::{
    self as ws, check, is_websocket, refusal, write_and_close, ClientRequest, ConnectError, ServerConfig, Settings,
    Topics, Upgrade, WsConn, WsError, WsEvents,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bridge::{kind, Bridge, Closeable, Payload, Sink};
use crate::error::ErrorInfo;
use crate::http::{encode_fields, encode_head};

/// How long an upgrade may wait for JS to accept or reject it.
const PENDING_TIMEOUT: Duration = Duration::from_secs(30);

/// permessage-deflate settings from JS.
#[napi(object)]
#[derive(Default, Clone)]
pub struct RawDeflateOptions {
    /// Messages shorter than this are sent uncompressed (default 1024).
    pub threshold: Option<u32>,
    /// zlib level 0-9 (default 6).
    pub level: Option<u32>,
    /// Largest window for what the server compresses (8-15).
    pub server_max_window_bits: Option<u32>,
    /// Largest window for what the client compresses (8-15).
    pub client_max_window_bits: Option<u32>,
}

/// Connection settings shared by servers and clients.
#[napi(object)]
#[derive(Default, Clone)]
pub struct RawWsSettings {
    /// Largest message (bytes, after decompression); beyond it the connection closes 1009.
    pub max_payload: Option<f64>,
    /// Keep-alive ping after this many ms without input (0: off).
    pub ping_interval_ms: Option<u32>,
    /// Terminate when nothing answers a keep-alive ping within this many ms.
    pub ping_timeout_ms: Option<u32>,
    /// After a close frame, how long to wait for the peer's (ms).
    pub close_timeout_ms: Option<u32>,
    /// `bufferedAmount` at which `drain` is armed.
    pub high_water_mark: Option<u32>,
    /// `bufferedAmount` beyond which the connection is cut (close code 1008 reported).
    pub max_buffered: Option<f64>,
    /// Publishes skip a subscriber with more than this many bytes waiting.
    pub max_backpressure: Option<f64>,
}

/// Server settings from JS.
#[napi(object)]
#[derive(Default)]
pub struct RawWsServerOptions {
    /// Upgrade only this path (query ignored).
    pub path: Option<String>,
    /// JS decides each upgrade (WS_UPGRADE, then `accept`/`reject`).
    pub verify: Option<bool>,
    /// Offer permessage-deflate.
    pub deflate: Option<RawDeflateOptions>,
    /// Connection settings.
    pub settings: Option<RawWsSettings>,
}

fn deflate_config(o: &RawDeflateOptions) -> DeflateConfig {
    let d = DeflateConfig::default();
    DeflateConfig {
        level: o.level.map_or(d.level, |v| v.min(9)),
        threshold: o.threshold.map_or(d.threshold, |v| v as usize),
        server_max_window_bits: o.server_max_window_bits.map_or(d.server_max_window_bits, |v| v.clamp(8, 15) as u8),
        client_max_window_bits: o.client_max_window_bits.map_or(d.client_max_window_bits, |v| v.clamp(8, 15) as u8),
    }
}

fn settings(o: &RawWsSettings) -> (Settings, Limits, usize) {
    let d = Settings::default();
    let ms = |v: Option<u32>, def: Duration| v.map_or(def, |v| Duration::from_millis(v as u64));
    let s = Settings {
        ping_interval: o.ping_interval_ms.filter(|&v| v > 0).map(|v| Duration::from_millis(v as u64)),
        ping_timeout: ms(o.ping_timeout_ms, d.ping_timeout),
        close_timeout: ms(o.close_timeout_ms, d.close_timeout),
        high_water_mark: o.high_water_mark.map_or(d.high_water_mark, |v| v.max(1) as usize),
        max_buffered: o.max_buffered.filter(|v| *v > 0.0).map_or(d.max_buffered, |v| v as usize),
        read_window: d.read_window,
    };
    let dl = Limits::default();
    let limits = match o.max_payload.filter(|v| *v > 0.0) {
        Some(v) => Limits { max_frame: v as usize, max_message: v as usize },
        None => dl,
    };
    let backpressure = o.max_backpressure.filter(|v| *v > 0.0).map_or(1024 * 1024, |v| v as usize);
    (s, limits, backpressure)
}

/// Reports one connection's events under its own id.
struct ConnEvents {
    sink: Sink,
    conn: Weak<WsConn>,
    topics: Option<Arc<Topics>>,
    server: Option<Weak<ServerCore>>,
}

impl WsEvents for ConnEvents {
    fn on_message(&self, text: bool, data: Bytes, credit: Credit) {
        if text {
            self.sink.push(kind::WS_TEXT, Payload::Utf8(data, Some(credit)));
        } else {
            self.sink.push(kind::WS_BINARY, Payload::Buf(data, Some(credit)));
        }
    }
    fn on_ping(&self, data: Bytes) {
        self.sink.push(kind::WS_PING, Payload::Buf(data, None));
    }
    fn on_pong(&self, data: Bytes) {
        self.sink.push(kind::WS_PONG, Payload::Buf(data, None));
    }
    fn on_drain(&self) {
        self.sink.push(kind::DRAIN, Payload::None);
    }
    fn on_error(&self, err: WsError) {
        self.sink.push(kind::ERROR, Payload::Error(ws_error(&err)));
    }
    fn on_close(&self, code: u16, reason: Bytes, clean: bool) {
        if let Some(c) = self.conn.upgrade() {
            if let Some(t) = &self.topics {
                t.remove(&c);
            }
            if let Some(s) = self.server.as_ref().and_then(Weak::upgrade) {
                s.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&c.id());
            }
        }
        let reason = String::from_utf8_lossy(&reason).into_owned();
        self.sink.push(
            kind::WS_CLOSE,
            Payload::Lazy(Box::new(move |env| {
                let mut arr = env.create_array(3)?;
                arr.set(0, code)?;
                arr.set(1, reason)?;
                arr.set(2, clean)?;
                unsafe { Array::to_napi_value(env.raw(), arr) }
            })),
        );
    }
}

fn ws_error(e: &WsError) -> ErrorInfo {
    let mut info = ErrorInfo::new(e.code, e.message.clone());
    // The close code travels in `errno` (JS renames it `closeCode`).
    info.errno = e.close_code.map(i32::from);
    info
}

/// An upgrade waiting for JS.
struct Pending {
    io: MaybeTls,
    head: Bytes,
    guard: ConnGuard,
    up: Upgrade,
}

/// The Rust side of a WebSocket server.
pub(crate) struct ServerCore {
    sink: Sink,
    cfg: ServerConfig,
    settings: Arc<Settings>,
    topics: Arc<Topics>,
    verify: bool,
    pending: Mutex<HashMap<u32, Pending>>,
    next_pending: AtomicU32,
    closed: AtomicBool,
    conns: Mutex<HashMap<u64, Arc<WsConn>>>,
    this: Weak<ServerCore>,
}

impl ServerCore {
    /// Whether this server takes an upgrade request (a WebSocket one, on its path).
    pub(crate) fn matches(&self, req: &Request) -> bool {
        is_websocket(req)
            && !self.closed.load(Ordering::Acquire)
            && self.cfg.path.as_deref().is_none_or(|p| ws::path_of(req) == p)
    }

    /// Takes over a connection the HTTP server handed off.
    pub(crate) fn handle_upgrade(&self, info: RequestInfo, up: Upgraded) {
        let upgrade = match check(&info.request, &self.cfg) {
            Ok(u) => u,
            Err(r) => {
                let bytes = refusal(r.status, r.reason);
                let Upgraded { io, guard, .. } = up;
                iocrate_runtime::spawn(async move {
                    write_and_close(io, &bytes).await;
                    drop(guard);
                });
                return;
            }
        };
        if self.verify {
            let pid = self.next_pending.fetch_add(1, Ordering::Relaxed);
            let head_str = encode_head(&info, 0);
            let protocols = upgrade.protocols.join(",");
            let secure = matches!(up.io, MaybeTls::Tls(_));
            lock(&self.pending).insert(pid, Pending { io: up.io, head: up.head, guard: up.guard, up: upgrade });
            self.sink.push(
                kind::WS_UPGRADE,
                Payload::Lazy(Box::new(move |env| {
                    let mut arr = env.create_array(4)?;
                    arr.set(0, pid)?;
                    arr.set(1, env.create_string_latin1(&head_str)?)?;
                    arr.set(2, protocols)?;
                    arr.set(3, secure)?;
                    unsafe { Array::to_napi_value(env.raw(), arr) }
                })),
            );
            // An upgrade JS never answers is refused.
            let me = self.this.clone();
            iocrate_runtime::spawn(async move {
                tokio::time::sleep(PENDING_TIMEOUT).await;
                if let Some(s) = me.upgrade() {
                    let p = lock(&s.pending).remove(&pid);
                    if let Some(p) = p {
                        write_and_close(p.io, &refusal(503, "the upgrade was not answered in time")).await;
                        drop(p.guard);
                    }
                }
            });
            return;
        }
        // ws's default: the first subprotocol the client offered.
        let protocol = upgrade.protocols.first().cloned();
        let secure = matches!(up.io, MaybeTls::Tls(_));
        let head_str = encode_head(&info, u32::from(secure));
        let p = Pending { io: up.io, head: up.head, guard: up.guard, up: upgrade };
        let (handle, protocol, extensions) = self.start(p, protocol.as_deref(), &[]);
        self.sink.push(
            kind::WS_OPEN,
            Payload::Lazy(Box::new(move |env| {
                let mut arr = env.create_array(4)?;
                let h = unsafe { External::to_napi_value(env.raw(), External::new(handle))? };
                arr.set(0, unsafe { Unknown::from_raw_unchecked(env.raw(), h) })?;
                arr.set(1, env.create_string_latin1(&head_str)?)?;
                arr.set(2, protocol)?;
                arr.set(3, extensions)?;
                unsafe { Array::to_napi_value(env.raw(), arr) }
            })),
        );
    }

    /// Answers `101`, starts the connection task, returns the JS handle.
    fn start(
        &self,
        p: Pending,
        protocol: Option<&str>,
        extra: &[(String, String)],
    ) -> (WsConnHandle, Option<String>, Option<String>) {
        let sink = Sink::new(&self.sink.bridge);
        let id = sink.id;
        let conn = WsConn::new(u64::from(id), p.up.deflate_window(), &self.settings);
        let response = p.up.response(protocol, extra);
        let config = p.up.config(&self.cfg);
        let extensions = p.up.deflate.as_ref().map(|(_, e)| e.clone());
        let events = Arc::new(ConnEvents {
            sink,
            conn: Arc::downgrade(&conn),
            topics: Some(self.topics.clone()),
            server: Some(self.this.clone()),
        });
        lock_conns(&self.conns).insert(conn.id(), conn.clone());
        // The events close the connection when the environment is torn down.
        self.sink.bridge.track(&events);
        let settings = self.settings.clone();
        let c = conn.clone();
        let Pending { io, head, guard, .. } = p;
        // Over plain TCP, sends write from the JS thread while the task has nothing pending.
        let compress_from = if config.deflate.is_some() { config.deflate_threshold } else { usize::MAX };
        // `ws::run`'s future is spawned as it is: wrapped in an `async` block, the block's
        // captures would stay in the task beside it (~180 bytes per idle connection).
        match io {
            MaybeTls::Plain(sock) => {
                let sock = Arc::new(sock);
                c.enable_direct(sock.clone(), compress_from);
                iocrate_runtime::spawn(ws::run(sock, head, response, config, settings, c, events, Some(guard)));
            }
            MaybeTls::Tls(t) => {
                iocrate_runtime::spawn(ws::run(Arc::new(*t), head, response, config, settings, c, events, Some(guard)));
            }
        }
        let handle = WsConnHandle {
            conn,
            topics: Some(self.topics.clone()),
            id,
            names: names(protocol.map(str::to_string), extensions.clone()),
        };
        (handle, protocol.map(str::to_string), extensions)
    }
}

fn lock(m: &Mutex<HashMap<u32, Pending>>) -> std::sync::MutexGuard<'_, HashMap<u32, Pending>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn lock_conns(m: &Mutex<HashMap<u64, Arc<WsConn>>>) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<WsConn>>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A connection is closed when its environment is torn down.
impl Closeable for ConnEvents {
    fn close_now(&self) {
        if let Some(c) = self.conn.upgrade() {
            c.terminate();
        }
    }
}

/// The list of WebSocket servers attached to one HTTP server.
pub(crate) type Attached = Arc<RwLock<Vec<Arc<ServerCore>>>>;

/// Finds the attached server taking this request.
pub(crate) fn find(attached: &Attached, req: &Request) -> Option<Arc<ServerCore>> {
    if !is_websocket(req) {
        return None;
    }
    attached.read().unwrap_or_else(|e| e.into_inner()).iter().find(|s| s.matches(req)).cloned()
}

/// A WebSocket server: attach it to HTTP servers; connections arrive as WS_OPEN.
#[napi]
pub struct WsServerHandle {
    pub(crate) core: Arc<ServerCore>,
}

/// Creates a WebSocket server (not listening by itself: attach it to an HTTP server).
#[napi]
pub fn ws_server(bridge: &Bridge, options: RawWsServerOptions) -> WsServerHandle {
    let (settings, limits, backpressure) = settings(&options.settings.unwrap_or_default());
    let deflate = options.deflate.as_ref().map(deflate_config);
    let shared = deflate.as_ref().map(|d| (d.level, d.threshold));
    let cfg = ServerConfig { path: options.path, deflate, limits };
    let core = Arc::new_cyclic(|this| ServerCore {
        sink: Sink::new(&bridge.inner),
        cfg,
        settings: Arc::new(settings),
        topics: Arc::new(Topics::new(backpressure, shared)),
        verify: options.verify.unwrap_or(false),
        pending: Mutex::new(HashMap::new()),
        next_pending: AtomicU32::new(1),
        closed: AtomicBool::new(false),
        conns: Mutex::new(HashMap::new()),
        this: this.clone(),
    });
    WsServerHandle { core }
}

fn data_bytes(data: &Either<String, BufferSlice>) -> (bool, Bytes) {
    match data {
        Either::A(s) => (true, Bytes::copy_from_slice(s.as_bytes())),
        Either::B(b) => (false, Bytes::copy_from_slice(b)),
    }
}

#[napi]
impl WsServerHandle {
    /// The id server events (WS_OPEN, WS_UPGRADE) carry.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.core.sink.id
    }

    /// Accepts a pending upgrade (WS_UPGRADE) with `protocol` (one the client offered)
    /// and extra response header lines (`[name, value, …]`). Returns the connection, or
    /// nothing when the upgrade is gone (timed out, client left).
    #[napi]
    pub fn accept(
        &self,
        pending: u32,
        protocol: Option<String>,
        headers: Option<Vec<String>>,
    ) -> Option<External<WsConnHandle>> {
        let p = lock(&self.core.pending).remove(&pending)?;
        let extra: Vec<(String, String)> =
            headers.unwrap_or_default().chunks_exact(2).map(|c| (c[0].clone(), c[1].clone())).collect();
        let protocol = protocol.filter(|p| p.is_empty() || p.chars().all(|c| c.is_ascii_graphic()));
        let protocol = protocol.filter(|p| p.is_empty() || p.split(',').count() == 1);
        let (h, _, _) = self.core.start(p, protocol.as_deref().filter(|s| !s.is_empty()), &extra);
        Some(External::new(h))
    }

    /// Refuses a pending upgrade with an HTTP status and a plain-text body.
    #[napi]
    pub fn reject(&self, pending: u32, status: u32, body: Option<String>) {
        if let Some(p) = lock(&self.core.pending).remove(&pending) {
            let status = if (400..600).contains(&status) { status as u16 } else { 400 };
            let bytes = refusal(status, body.as_deref().unwrap_or(iocrate_http::reason_phrase(status)));
            iocrate_runtime::spawn(async move {
                write_and_close(p.io, &bytes).await;
                drop(p.guard);
            });
        }
    }

    /// Sends a message to every subscriber of `topic` (framed once, in Rust). Strings go
    /// as text, Buffers as binary unless `binary` is false. Returns the subscribers it was
    /// queued for.
    #[napi]
    pub fn publish(&self, topic: String, data: Either<String, BufferSlice>, binary: Option<bool>) -> u32 {
        let (text, bytes) = data_bytes(&data);
        let text = text || binary == Some(false);
        self.core.topics.publish(&topic, text, &bytes, None).delivered as u32
    }

    /// Subscribers of `topic`.
    #[napi]
    pub fn subscribers(&self, topic: String) -> u32 {
        self.core.topics.subscribers(&topic) as u32
    }

    /// Open connections.
    #[napi]
    pub fn connections(&self) -> u32 {
        lock_conns(&self.core.conns).len() as u32
    }

    /// Stops taking upgrades (pending ones are refused with 503); open connections stay.
    #[napi]
    pub fn close(&self) {
        self.core.closed.store(true, Ordering::Release);
        let pending: Vec<Pending> = lock(&self.core.pending).drain().map(|(_, p)| p).collect();
        for p in pending {
            iocrate_runtime::spawn(async move {
                write_and_close(p.io, &refusal(503, "the server is closing")).await;
                drop(p.guard);
            });
        }
    }

    /// Starts the close handshake on every open connection.
    #[napi]
    pub fn close_all(&self, code: Option<u32>, reason: Option<String>) {
        let conns: Vec<Arc<WsConn>> = lock_conns(&self.core.conns).values().cloned().collect();
        for c in conns {
            let _ = c.close(code.map(|c| c as u16), reason.clone().unwrap_or_default());
        }
    }
}

/// Writes the frames JS sent since the last call (server connections over plain TCP):
/// one `writev` per connection on this thread. The TS layer calls it once per tick, after
/// a batch of events has been handled, so sends to one connection coalesce.
#[napi]
pub fn ws_flush() {
    ws::flush_staged();
}

/// One WebSocket connection (server or client side), handed to JS as an `External`:
/// a plain object with no properties, which costs an idle connection less JS memory than
/// a class instance (whose wrapper and type tag are properties). Its functions are the
/// `wsConn*` ones below. (`#[napi]` only declares the type for `ExternalObject<…>` in the
/// generated typings; no instance of the class is ever made.)
#[napi]
pub struct WsConnHandle {
    conn: Arc<WsConn>,
    topics: Option<Arc<Topics>>,
    id: u32,
    /// The subprotocol and extensions (server side), boxed: usually there are none.
    names: Option<Box<(Option<String>, Option<String>)>>,
}

fn names(protocol: Option<String>, extensions: Option<String>) -> Option<Box<(Option<String>, Option<String>)>> {
    (protocol.is_some() || extensions.is_some()).then(|| Box::new((protocol, extensions)))
}

fn closed_err() -> ErrorInfo {
    ErrorInfo::new("ERR_WEBSOCKET_CLOSED", "the WebSocket is closing or closed")
}

/// The id this connection's events carry.
#[napi]
pub fn ws_conn_id(h: &External<WsConnHandle>) -> u32 {
    h.id
}

/// The subprotocol chosen (server side; a client learns it from WS_OPEN).
#[napi]
pub fn ws_conn_protocol(h: &External<WsConnHandle>) -> Option<String> {
    h.names.as_ref().and_then(|n| n.0.clone())
}

/// The extensions in effect (server side; a client learns them from WS_OPEN).
#[napi]
pub fn ws_conn_extensions(h: &External<WsConnHandle>) -> Option<String> {
    h.names.as_ref().and_then(|n| n.1.clone())
}

/// Queues a message: a string as text; a Buffer as binary, or as text when `binary`
/// is false (it must then be valid UTF-8). Returns `bufferedAmount`.
#[napi]
pub fn ws_conn_send(
    h: &External<WsConnHandle>,
    data: Either<String, BufferSlice>,
    binary: Option<bool>,
) -> Either<f64, ErrorInfo> {
    let r = match &data {
        Either::A(s) => h.conn.send_slice(true, s.as_bytes()),
        Either::B(b) => {
            let text = binary == Some(false);
            if text && std::str::from_utf8(b).is_err() {
                return Either::B(ErrorInfo::new("ERR_WEBSOCKET_INVALID_UTF8", "a text message must be valid UTF-8"));
            }
            h.conn.send_slice(text, b)
        }
    };
    match r {
        Ok(n) => Either::A(n as f64),
        Err(_) => Either::B(closed_err()),
    }
}

/// A ping or pong payload (at most 125 bytes).
fn control_payload(data: Option<BufferSlice>, what: &str) -> std::result::Result<Bytes, ErrorInfo> {
    let b = data.map(|d| Bytes::copy_from_slice(&d)).unwrap_or_default();
    if b.len() > 125 {
        return Err(ErrorInfo::new("ERR_WEBSOCKET_CONTROL_TOO_BIG", format!("a {what} payload is at most 125 bytes")));
    }
    Ok(b)
}

/// Queues a ping (payload at most 125 bytes).
#[napi]
pub fn ws_conn_ping(h: &External<WsConnHandle>, data: Option<BufferSlice>) -> Option<ErrorInfo> {
    match control_payload(data, "ping") {
        Ok(b) => h.conn.ping(b).err().map(|_| closed_err()),
        Err(e) => Some(e),
    }
}

/// Queues a pong (payload at most 125 bytes).
#[napi]
pub fn ws_conn_pong(h: &External<WsConnHandle>, data: Option<BufferSlice>) -> Option<ErrorInfo> {
    match control_payload(data, "pong") {
        Ok(b) => h.conn.pong(b).err().map(|_| closed_err()),
        Err(e) => Some(e),
    }
}

/// Starts the close handshake (after queued messages). False if already closing.
#[napi]
pub fn ws_conn_close(h: &External<WsConnHandle>, code: Option<u32>, reason: Option<String>) -> bool {
    h.conn.close(code.map(|c| c as u16), reason.unwrap_or_default()).is_ok()
}

/// Drops the connection now.
#[napi]
pub fn ws_conn_terminate(h: &External<WsConnHandle>) {
    h.conn.terminate();
}

/// Stops reading from the peer until `resume` (messages already delivered still come).
#[napi]
pub fn ws_conn_pause(h: &External<WsConnHandle>) {
    h.conn.pause();
}

/// Resumes reading.
#[napi]
pub fn ws_conn_resume(h: &External<WsConnHandle>) {
    h.conn.resume();
}

/// Bytes queued and not yet written (`bufferedAmount`).
#[napi]
pub fn ws_conn_buffered(h: &External<WsConnHandle>) -> f64 {
    h.conn.buffered() as f64
}

/// Subscribes to a topic (server side). False if already subscribed or closed.
#[napi]
pub fn ws_conn_subscribe(h: &External<WsConnHandle>, topic: String) -> bool {
    h.topics.as_ref().is_some_and(|t| t.subscribe(&h.conn, &topic))
}

/// Unsubscribes from a topic. False if not subscribed.
#[napi]
pub fn ws_conn_unsubscribe(h: &External<WsConnHandle>, topic: String) -> bool {
    h.topics.as_ref().is_some_and(|t| t.unsubscribe(&h.conn, &topic))
}

/// Whether subscribed to `topic`.
#[napi]
pub fn ws_conn_is_subscribed(h: &External<WsConnHandle>, topic: String) -> bool {
    h.topics.as_ref().is_some_and(|t| t.is_subscribed(&h.conn, &topic))
}

/// Topics this connection is subscribed to.
#[napi]
pub fn ws_conn_topics(h: &External<WsConnHandle>) -> Vec<String> {
    h.conn.topic_names()
}

/// Publishes to every subscriber of `topic` except this connection. Returns how many
/// it was queued for.
#[napi]
pub fn ws_conn_publish(
    h: &External<WsConnHandle>,
    topic: String,
    data: Either<String, BufferSlice>,
    binary: Option<bool>,
) -> u32 {
    let Some(t) = &h.topics else { return 0 };
    let (text, bytes) = data_bytes(&data);
    let text = text || binary == Some(false);
    t.publish(&topic, text, &bytes, Some(h.conn.id())).delivered as u32
}

/// Client connection settings from JS.
#[napi(object)]
#[derive(Default)]
pub struct RawWsConnectOptions {
    /// `wss:` (TLS).
    pub secure: bool,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u32,
    /// Path and query.
    pub target: String,
    /// Subprotocols to offer.
    pub protocols: Option<Vec<String>>,
    /// Extra request headers, `[name, value, …]`.
    pub headers: Option<Vec<String>>,
    /// Offer permessage-deflate with these settings.
    pub deflate: Option<RawDeflateOptions>,
    /// Connection settings.
    pub settings: Option<RawWsSettings>,
    /// Whole-handshake timeout in ms (default 30000).
    pub handshake_timeout_ms: Option<u32>,
    /// Trusted CAs (PEM); absent: the system roots.
    pub ca: Option<Vec<Buffer>>,
    /// Client certificate (PEM).
    pub cert: Option<Buffer>,
    /// Client key (PEM).
    pub key: Option<Buffer>,
    /// Name to verify and send as SNI instead of the host.
    pub servername: Option<String>,
    /// Accept any server certificate.
    pub dangerously_disable_certificate_verification: Option<bool>,
}

/// Opens a client connection. Events arrive under the handle's id: WS_OPEN once the
/// handshake is done, or ERROR then WS_CLOSE (1006) if it fails.
#[napi]
pub fn ws_connect(bridge: &Bridge, options: RawWsConnectOptions) -> Either<External<WsConnHandle>, ErrorInfo> {
    let identity = match (options.cert, options.key) {
        (Some(c), Some(k)) => Some(iocrate_tls::KeyPair { cert: c.to_vec(), key: k.to_vec() }),
        (None, None) => None,
        _ => return Either::B(ErrorInfo::new("ERR_IOCRATE_TLS_BAD_CONFIG", "cert and key must be given together")),
    };
    let tls = TlsClientOptions {
        ca: options.ca.map(|v| v.into_iter().map(|b| b.to_vec()).collect()),
        identity,
        alpn: vec![b"http/1.1".to_vec()],
        dangerously_disable_certificate_verification: options
            .dangerously_disable_certificate_verification
            .unwrap_or(false),
        ..Default::default()
    };
    let setup = match client_config(&tls) {
        Ok(s) => s,
        Err(e) => return Either::B(e.into()),
    };
    let mut connector = HttpsConnector::new(setup);
    connector.servername = options.servername;
    connector.handshake_timeout = None;
    let (settings, limits, _) = settings(&options.settings.unwrap_or_default());
    let port = options.port as u16;
    let origin = if options.secure { Origin::https(&options.host, port) } else { Origin::http(&options.host, port) };
    let req = ClientRequest {
        origin,
        target: options.target,
        protocols: options.protocols.unwrap_or_default(),
        headers: options.headers.unwrap_or_default().chunks_exact(2).map(|c| (c[0].clone(), c[1].clone())).collect(),
        deflate: options.deflate.as_ref().map(deflate_config),
        limits,
        handshake_timeout: Duration::from_millis(options.handshake_timeout_ms.unwrap_or(30_000).max(1) as u64),
    };
    let sink = Sink::new(&bridge.inner);
    let id = sink.id;
    let conn = WsConn::new(u64::from(id), None, &settings);
    let events = Arc::new(ConnEvents { sink: sink.clone(), conn: Arc::downgrade(&conn), topics: None, server: None });
    bridge.inner.track(&events);
    let c = conn.clone();
    iocrate_runtime::spawn(async move {
        let attempt = tokio::select! {
            r = ws::connect(&connector, &req) => Some(r),
            _ = c.closed_while_connecting() => None,
        };
        let (io, rest, hs) = match attempt {
            Some(Ok(ok)) => ok,
            Some(Err(e)) => {
                let info = match e {
                    ConnectError::Net(n) => n.into(),
                    ConnectError::Handshake(w) => ws_error(&w),
                };
                fail(&sink, info);
                return;
            }
            None => {
                fail(
                    &sink,
                    ErrorInfo::new(
                        "ERR_WEBSOCKET_ABORTED",
                        "the WebSocket was closed before the connection was established",
                    ),
                );
                return;
            }
        };
        let mut fields = Vec::new();
        encode_fields(&mut fields, &hs.headers, false);
        let protocol = hs.protocol.clone();
        let extensions = hs.extensions.clone();
        sink.push(
            kind::WS_OPEN,
            Payload::Lazy(Box::new(move |env| {
                let mut arr = env.create_array(3)?;
                arr.set(0, protocol)?;
                arr.set(1, extensions)?;
                arr.set(2, env.create_string_latin1(&fields)?)?;
                unsafe { Array::to_napi_value(env.raw(), arr) }
            })),
        );
        ws::run(Arc::new(io), rest, Vec::new(), hs.config, Arc::new(settings), c, events, None).await;
    });
    Either::A(External::new(WsConnHandle { conn, topics: None, id, names: None }))
}

fn fail(sink: &Sink, info: ErrorInfo) {
    sink.push(kind::ERROR, Payload::Error(info));
    sink.push(
        kind::WS_CLOSE,
        Payload::Lazy(Box::new(move |env| {
            let mut arr = env.create_array(3)?;
            arr.set(0, 1006)?;
            arr.set(1, "")?;
            arr.set(2, false)?;
            unsafe { Array::to_napi_value(env.raw(), arr) }
        })),
    );
}
