//! The event bridge: Rust→JS events in batches through one long-lived threadsafe function.
//!
//! Theory of operation. Drivers on the runtime's workers call [`BridgeInner::push`]. The
//! event goes onto a mutex-guarded queue; only the push that flips the atomic
//! `scheduled` flag from false to true calls the threadsafe function. On the JS thread
//! the call's converter clears the flag, takes the whole queue and hands JS
//! `[meta, payloads]` (meta: one Buffer of u32 `id, kind` pairs; payloads: one array
//! element per event), so one libuv wake-up and one JS call carry every event that
//! arrived meanwhile. An unbatched mode (one call per event)
//! exists only so the bench can show the difference.
//!
//! The threadsafe function is weak: it does not keep Node alive. The TS layer counts
//! handles that should (Node's `ref()`), and calls [`Bridge::ref_`]/[`Bridge::unref`]
//! when that count leaves or reaches zero. JS→Rust commands are plain synchronous calls
//! on handle objects: no round trip, no promise.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};

use iocrate_net::Credit;
use iocrate_runtime::batch::Push;
use iocrate_runtime::OnPark;
use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

use crate::error::ErrorInfo;

/// Event kinds; the TS core reads them through [`event_kinds`].
pub(crate) mod kind {
    pub(crate) const CONNECT: u32 = 1;
    pub(crate) const DATA: u32 = 2;
    pub(crate) const END: u32 = 3;
    pub(crate) const DRAIN: u32 = 4;
    pub(crate) const TIMEOUT: u32 = 5;
    pub(crate) const ERROR: u32 = 6;
    pub(crate) const CLOSE: u32 = 7;
    pub(crate) const CONNECTION: u32 = 8;
    pub(crate) const DROP: u32 = 9;
    pub(crate) const SERVER_CLOSE: u32 = 10;
    pub(crate) const MESSAGE: u32 = 11;
    pub(crate) const WARNING: u32 = 14;
    pub(crate) const BENCH: u32 = 15;
    pub(crate) const FORWARD_READY: u32 = 16;
    pub(crate) const HTTP_REQUEST: u32 = 17;
    pub(crate) const HTTP_BODY: u32 = 18;
    pub(crate) const HTTP_BODY_END: u32 = 19;
    pub(crate) const HTTP_ABORT: u32 = 20;
    pub(crate) const HTTP_DRAIN: u32 = 21;
    pub(crate) const HTTP_RESPONSE: u32 = 22;
    pub(crate) const HTTP_CLIENT_ERROR: u32 = 23;
    pub(crate) const HTTP_UPGRADE: u32 = 24;
    pub(crate) const WS_OPEN: u32 = 25;
    pub(crate) const WS_TEXT: u32 = 26;
    pub(crate) const WS_BINARY: u32 = 27;
    pub(crate) const WS_PING: u32 = 28;
    pub(crate) const WS_PONG: u32 = 29;
    pub(crate) const WS_CLOSE: u32 = 30;
    pub(crate) const WS_UPGRADE: u32 = 31;
    pub(crate) const SHUTDOWN: u32 = 32;
    pub(crate) const REDIS_REPLY: u32 = 33;
}

/// Names and numbers of the event kinds.
#[napi]
pub fn event_kinds() -> std::collections::HashMap<String, u32> {
    use kind::*;
    [
        ("CONNECT", CONNECT),
        ("DATA", DATA),
        ("END", END),
        ("DRAIN", DRAIN),
        ("TIMEOUT", TIMEOUT),
        ("ERROR", ERROR),
        ("CLOSE", CLOSE),
        ("CONNECTION", CONNECTION),
        ("DROP", DROP),
        ("SERVER_CLOSE", SERVER_CLOSE),
        ("MESSAGE", MESSAGE),
        ("WARNING", WARNING),
        ("BENCH", BENCH),
        ("FORWARD_READY", FORWARD_READY),
        ("HTTP_REQUEST", HTTP_REQUEST),
        ("HTTP_BODY", HTTP_BODY),
        ("HTTP_BODY_END", HTTP_BODY_END),
        ("HTTP_ABORT", HTTP_ABORT),
        ("HTTP_DRAIN", HTTP_DRAIN),
        ("HTTP_RESPONSE", HTTP_RESPONSE),
        ("HTTP_CLIENT_ERROR", HTTP_CLIENT_ERROR),
        ("HTTP_UPGRADE", HTTP_UPGRADE),
        ("WS_OPEN", WS_OPEN),
        ("WS_TEXT", WS_TEXT),
        ("WS_BINARY", WS_BINARY),
        ("WS_PING", WS_PING),
        ("WS_PONG", WS_PONG),
        ("WS_CLOSE", WS_CLOSE),
        ("WS_UPGRADE", WS_UPGRADE),
        ("SHUTDOWN", SHUTDOWN),
        ("REDIS_REPLY", REDIS_REPLY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Builds a JS value on the JS thread.
pub(crate) type LazyValue = Box<dyn FnOnce(&Env) -> Result<sys::napi_value> + Send>;

/// What an event carries.
pub enum Payload {
    None,
    Bool(bool),
    Num(f64),
    Str(String),
    /// Bytes, with the read credit that is returned once JS has them.
    Bytes(Vec<u8>, Credit),
    Error(ErrorInfo),
    /// A string of latin1 bytes (one JS string, no UTF-8 decoding).
    Latin1(Vec<u8>),
    /// `[number, Buffer]`: a chunk belonging to a sub-id (an HTTP request, say), with the
    /// read credit returned once JS has it.
    IdBytes(f64, bytes::Bytes, Option<Credit>),
    /// Valid UTF-8 bytes, delivered as a JS string (a text message), with its credit.
    Utf8(bytes::Bytes, Option<Credit>),
    /// Bytes delivered as a Buffer, with its credit.
    Buf(bytes::Bytes, Option<Credit>),
    Lazy(LazyValue),
}

pub struct Event {
    id: u32,
    kind: u32,
    payload: Payload,
}

type Queue = iocrate_runtime::BatchQueue<Event>;

/// Chunks up to this size are copied into JS memory rather than wrapped.
const COPY_MAX: usize = 16 * 1024;

/// The argument of one JS call: the flattened batch.
pub struct Batch(Vec<Event>);

impl ToNapiValue for Batch {
    unsafe fn to_napi_value(raw_env: sys::napi_env, val: Self) -> Result<sys::napi_value> {
        let env = Env::from_raw(raw_env);
        // `[meta, payloads]`: meta is one Buffer of little-endian u32 pairs (id, kind), so
        // an event costs one element store (its payload) instead of three.
        let n = val.0.len();
        let mut meta = Vec::with_capacity(n * 8);
        let mut pools = Pools::default();
        let mut arr = env.create_array(n as u32)?;
        for (i, ev) in val.0.into_iter().enumerate() {
            let i = i as u32;
            // Small chunks go into the batch's shared pool: the payload is its end offset
            // there, and the kind says so.
            let small = match &ev.payload {
                Payload::Bytes(b, _) if b.len() <= POOL_CHUNK_MAX => Some(&b[..]),
                Payload::Buf(b, _) if b.len() <= POOL_CHUNK_MAX => Some(&b[..]),
                _ => None,
            };
            let kind = match small {
                Some(b) => {
                    let (flags, end) = pools.add(b);
                    arr.set(i, end)?;
                    ev.kind | flags
                }
                None => ev.kind,
            };
            meta.extend_from_slice(&ev.id.to_le_bytes());
            meta.extend_from_slice(&kind.to_le_bytes());
            if kind & POOLED != 0 {
                continue;
            }
            match ev.payload {
                Payload::None => {}
                Payload::Bool(b) => arr.set(i, b)?,
                Payload::Num(n) => arr.set(i, n)?,
                Payload::Str(s) => arr.set(i, s)?,
                Payload::Bytes(b, credit) => {
                    // Small chunks are copied into a V8-owned buffer: cheaper than an
                    // external buffer, whose finalizer runs later on this thread. Large
                    // ones are handed over without a copy.
                    if b.len() <= COPY_MAX {
                        arr.set(i, BufferSlice::copy_from(&env, &b)?)?;
                    } else {
                        arr.set(i, Buffer::from(b))?;
                    }
                    drop(credit);
                }
                Payload::Error(e) => arr.set(i, e)?,
                Payload::Latin1(b) => arr.set(i, env.create_string_latin1(&b)?)?,
                Payload::IdBytes(n, b, credit) => {
                    let mut pair = env.create_array(2)?;
                    pair.set(0, n)?;
                    if b.len() <= COPY_MAX {
                        pair.set(1, BufferSlice::copy_from(&env, &b)?)?;
                    } else {
                        pair.set(1, Buffer::from(Vec::from(b)))?;
                    }
                    arr.set(i, pair)?;
                    drop(credit);
                }
                Payload::Utf8(b, credit) => {
                    // The codec validated the UTF-8; a lossy view never allocates for valid input.
                    arr.set(i, String::from_utf8_lossy(&b).as_ref())?;
                    drop(credit);
                }
                Payload::Buf(b, credit) => {
                    if b.len() <= COPY_MAX {
                        arr.set(i, BufferSlice::copy_from(&env, &b)?)?;
                    } else {
                        // Handed over without a copy: the Buffer is a view of the Bytes,
                        // which its finalizer drops.
                        let ptr = b.as_ptr().cast_mut();
                        let len = b.len();
                        arr.set(i, unsafe { BufferSlice::from_external(&env, ptr, len, b, |_, b| drop(b)) }?)?;
                    }
                    drop(credit);
                }
                Payload::Lazy(f) => {
                    let v = f(&env)?;
                    arr.set(i, unsafe { Unknown::from_raw_unchecked(raw_env, v) })?;
                }
            }
        }
        let pools = pools.finish();
        let mut out = env.create_array(if pools.is_empty() { 2 } else { 3 })?;
        out.set(0, BufferSlice::copy_from(&env, &meta)?)?;
        out.set(1, arr)?;
        if !pools.is_empty() {
            let mut list = env.create_array(pools.len() as u32)?;
            for (k, p) in pools.iter().enumerate() {
                list.set(k as u32, BufferSlice::copy_from(&env, p)?)?;
            }
            out.set(2, list)?;
        }
        unsafe { Array::to_napi_value(raw_env, out) }
    }
}

/// Chunks up to this size share the batch's pool instead of getting a Buffer each.
const POOL_CHUNK_MAX: usize = 1024;
/// The size of one pool: a Buffer a small message keeps alive holds at most this much.
const POOL_SIZE: usize = 16 * 1024;
/// Kind flag: the payload is in the batch's pools; the payload slot holds its end offset.
pub const POOLED: u32 = 1 << 30;
/// Kind flag (with [`POOLED`]): this chunk starts the next pool.
pub const NEW_POOL: u32 = 1 << 29;

/// The pools of one batch: small chunks copied back to back, so JS slices one Buffer
/// (`subarray`) per chunk instead of the addon creating one per chunk (an allocation and
/// a backing store each). A Buffer from a pool keeps that pool alive, as Node's own
/// `Buffer.allocUnsafe` slices keep theirs.
#[derive(Default)]
struct Pools {
    done: Vec<Vec<u8>>,
    cur: Option<Vec<u8>>,
}

impl Pools {
    /// Appends a chunk; returns the kind flags and its end offset in its pool.
    fn add(&mut self, b: &[u8]) -> (u32, u32) {
        let mut flags = POOLED;
        match &mut self.cur {
            Some(p) if p.len() + b.len() <= POOL_SIZE => {}
            cur => {
                if let Some(full) = cur.take() {
                    self.done.push(full);
                }
                *cur = Some(Vec::with_capacity(POOL_SIZE));
                flags |= NEW_POOL;
            }
        }
        let p = self.cur.as_mut().expect("set above");
        p.extend_from_slice(b);
        (flags, p.len() as u32)
    }

    fn finish(mut self) -> Vec<Vec<u8>> {
        if let Some(p) = self.cur.take() {
            self.done.push(p);
        }
        self.done
    }
}

type Tsfn = ThreadsafeFunction<Option<Event>, (), Batch, Status, false, true, 0>;

/// Something a Node environment opened, closed when that environment goes away.
pub(crate) trait Closeable: Send + Sync {
    /// Closes at once (sockets) or stops accepting (servers).
    fn close_now(&self);
}

impl Closeable for iocrate_net::tcp::TcpConn {
    fn close_now(&self) {
        self.destroy();
    }
}
impl Closeable for iocrate_net::tcp::TcpServer {
    fn close_now(&self) {
        self.close();
    }
}
impl Closeable for iocrate_net::udp::UdpEndpoint {
    fn close_now(&self) {
        self.close();
    }
}
impl Closeable for iocrate_tls::TlsConn {
    fn close_now(&self) {
        self.destroy();
    }
}

/// The Rust side of a bridge, shared by every driver that reports through it.
pub(crate) struct BridgeInner {
    tsfn: RwLock<Tsfn>,
    queue: Arc<Queue>,
    batched: bool,
    next_id: AtomicU32,
    /// A JS call is owed and not yet made (deferred to the worker's park).
    wake_deferred: AtomicBool,
    /// This bridge, for handing to the park hook.
    this: Weak<BridgeInner>,
    /// Handles opened through this bridge, closed when its environment is torn down
    /// (a worker thread ending, or the process exiting): nothing outlives its owner.
    handles: Mutex<HandleSet>,
}

#[derive(Default)]
struct HandleSet {
    live: Vec<Weak<dyn Closeable>>,
    prune_at: usize,
}

impl BridgeInner {
    /// Remembers a handle so that environment teardown closes it.
    pub(crate) fn track<T: Closeable + 'static>(&self, h: &Arc<T>) {
        let weak: Weak<dyn Closeable> = Arc::downgrade(h) as Weak<dyn Closeable>;
        let mut set = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        set.live.push(weak);
        if set.live.len() >= set.prune_at.max(64) {
            set.live.retain(|w| w.strong_count() > 0);
            set.prune_at = set.live.len() * 2;
        }
    }

    fn close_all(&self) {
        let live = std::mem::take(&mut self.handles.lock().unwrap_or_else(|e| e.into_inner()).live);
        for h in live.iter().filter_map(Weak::upgrade) {
            h.close_now();
        }
    }

    /// A fresh handle id.
    pub(crate) fn alloc_id(&self) -> u32 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues an event for JS, scheduling a JS call if none is pending.
    pub(crate) fn push(&self, id: u32, kind: u32, payload: Payload) {
        let ev = Event { id, kind, payload };
        if !self.batched {
            let tsfn = self.tsfn.read().unwrap_or_else(|e| e.into_inner());
            tsfn.call(Some(ev), ThreadsafeFunctionCallMode::NonBlocking);
            return;
        }
        match self.queue.push(ev) {
            // First event since the last drain: wake JS once this worker has finished its
            // turn (it may have more reads to report), or now off the runtime.
            Push::Scheduled => {
                self.wake_deferred.store(true, Ordering::Release);
                let me: Arc<dyn OnPark> = self.me();
                if !iocrate_runtime::defer_to_park(me) {
                    self.wake_now();
                }
            }
            // A long turn: do not let JS wait for the park any longer.
            Push::Queued(n) if n >= WAKE_EARLY_AT => self.wake_now(),
            Push::Queued(_) => {}
        }
    }

    fn me(&self) -> Arc<dyn OnPark> {
        self.this.upgrade().map(|a| a as Arc<dyn OnPark>).expect("bridge alive while pushing")
    }

    /// Calls JS unless the deferred wake-up already went out.
    fn wake_now(&self) {
        if self.wake_deferred.swap(false, Ordering::AcqRel) {
            let tsfn = self.tsfn.read().unwrap_or_else(|e| e.into_inner());
            tsfn.call(None, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}

impl OnPark for BridgeInner {
    fn on_park(&self) {
        self.wake_now();
    }
}

/// Queued events at which a worker wakes JS without waiting to go idle.
const WAKE_EARLY_AT: usize = 256;

/// An event bridge: the JS callback receives batches `[meta, payloads]`: meta is a Buffer
/// of little-endian u32 pairs `(id, kind)`, payloads has one element per event.
#[napi]
pub struct Bridge {
    pub(crate) inner: Arc<BridgeInner>,
}

#[napi]
impl Bridge {
    /// Creates a bridge delivering to `callback`. `batched: false` makes one JS call per
    /// event (for comparison only).
    #[napi(
        constructor,
        ts_args_type = "callback: (batch: [Buffer, unknown[]]) => void, batched?: boolean | undefined | null"
    )]
    pub fn new(env: Env, callback: Function<Batch, ()>, batched: Option<bool>) -> Result<Self> {
        let queue = Arc::new(Queue::new());
        let q = queue.clone();
        let tsfn: Tsfn = callback
            .build_threadsafe_function::<Option<Event>>()
            .callee_handled::<false>()
            .weak::<true>()
            .build_callback(move |ctx| {
                Ok(match ctx.value {
                    Some(ev) => Batch(vec![ev]),
                    None => Batch(q.drain()),
                })
            })?;
        let inner = Arc::new_cyclic(|this| BridgeInner {
            wake_deferred: AtomicBool::new(false),
            this: this.clone(),
            tsfn: RwLock::new(tsfn),
            queue,
            batched: batched.unwrap_or(true),
            next_id: AtomicU32::new(1),
            handles: Mutex::new(HandleSet::default()),
        });
        // When this environment is torn down, close what it opened (the runtime itself is
        // shared by every environment of the process and stays).
        let weak = Arc::downgrade(&inner);
        env.add_env_cleanup_hook(weak, |w| {
            if let Some(inner) = w.upgrade() {
                inner.close_all();
            }
        })?;
        Ok(Bridge { inner })
    }

    /// Keeps the Node process alive while events may come (some handle is ref'd).
    #[napi(js_name = "ref")]
    #[allow(deprecated)]
    pub fn ref_(&self, env: Env) -> Result<()> {
        self.inner.tsfn.write().unwrap_or_else(|e| e.into_inner()).refer(&env)
    }

    /// Lets the Node process exit even though events may come.
    #[napi]
    #[allow(deprecated)]
    pub fn unref(&self, env: Env) -> Result<()> {
        self.inner.tsfn.write().unwrap_or_else(|e| e.into_inner()).unref(&env)
    }

    /// Allocates a handle id (for handles created in JS).
    #[napi]
    pub fn alloc_id(&self) -> u32 {
        self.inner.alloc_id()
    }

    /// Bench: pushes `count` events from a runtime thread, each carrying its index.
    /// Returns the id they are delivered under.
    #[napi]
    pub fn bench_emit(&self, count: u32) -> u32 {
        let inner = self.inner.clone();
        let id = inner.alloc_id();
        iocrate_runtime::spawn(async move {
            for i in 0..count {
                inner.push(id, kind::BENCH, Payload::Num(i as f64));
            }
        });
        id
    }
}

/// Pushes the events of one handle onto a bridge.
#[derive(Clone)]
pub(crate) struct Sink {
    pub(crate) bridge: Arc<BridgeInner>,
    pub(crate) id: u32,
}

impl Sink {
    pub(crate) fn new(bridge: &Arc<BridgeInner>) -> Self {
        Sink { bridge: bridge.clone(), id: bridge.alloc_id() }
    }

    pub(crate) fn push(&self, kind: u32, payload: Payload) {
        self.bridge.push(self.id, kind, payload);
    }
}

impl iocrate_net::StreamEvents for Sink {
    fn on_connect(&self) {
        self.push(kind::CONNECT, Payload::None);
    }
    fn on_data(&self, data: Vec<u8>, credit: Credit) {
        self.push(kind::DATA, Payload::Bytes(data, credit));
    }
    fn on_end(&self) {
        self.push(kind::END, Payload::None);
    }
    fn on_drain(&self) {
        self.push(kind::DRAIN, Payload::None);
    }
    fn on_timeout(&self) {
        self.push(kind::TIMEOUT, Payload::None);
    }
    fn on_error(&self, err: iocrate_net::NetError) {
        self.push(kind::ERROR, Payload::Error(err.into()));
    }
    fn on_close(&self, had_error: bool) {
        self.push(kind::CLOSE, Payload::Bool(had_error));
    }
    fn on_forward_ready(&self) {
        self.push(kind::FORWARD_READY, Payload::None);
    }
    fn on_shutdown(&self) {
        self.push(kind::SHUTDOWN, Payload::None);
    }
}
