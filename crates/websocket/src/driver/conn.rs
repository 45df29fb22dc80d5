//! One WebSocket connection: a task that owns the transport and pumps the codec.
//!
//! # Theory of operation
//!
//! The application talks to the task through a [`WsConn`]: sends, pings, closes and
//! shared (pre-framed) messages go onto a small mutex-guarded queue, and the first item
//! queued since the task last looked wakes it (so a burst of sends costs one wake-up).
//! `buffered` counts what is queued or framed and not yet taken by the kernel; it is what
//! JS reads as `bufferedAmount`.
//!
//! Each turn of the task:
//!
//! 1. **Commands**: the queue is taken whole and framed into the write buffer (the
//!    encoder owns the deflate context and, for a client, the masking keys).
//! 2. **Input**: the decoder turns the read buffer into messages until it needs more
//!    bytes. Text and binary messages go to [`WsEvents::on_message`] with a [`Credit`]:
//!    reading stops while more than `read_window` bytes are delivered and not yet taken
//!    by the consumer, so a blocked JS thread holds the peer back instead of buffering.
//!    Pings are answered here, without the application.
//! 3. **Output**: `try_write` until the buffer is empty or the kernel is full.
//! 4. **Close check**: the close handshake (RFC 6455 §7): after both close frames, the
//!    server closes the TCP connection first; a client waits for that, up to
//!    `close_timeout`. A protocol error sends its close code and closes without waiting.
//!
//! Then it waits for the socket, a command, the read window, or a deadline (keep-alive
//! ping, pong timeout, close timeout). An idle connection holds no buffers: both are
//! released when empty, and reads go through the worker's scratch buffer.
//!
//! The wait is one `poll_fn` over poll-style sources (socket readiness, the command
//! [`Signal`]); the timer and the read-window wait are boxed and exist only while needed.
//! A `select!` over futures would store every branch's future in the task for its whole
//! life: ~600 bytes per idle connection, a third of what it costs.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use iocrate_net::tcp::ConnGuard;
use iocrate_net::{Credit, ReadFlow, Transport};
use tokio::time::{Instant, Sleep};

use crate::codec::{Config, Decoder, Encoder, Message, Role};

/// Scratch read size.
const READ_SIZE: usize = 64 * 1024;
/// The rest of a frame of at least this size is read in place (see `Task::read`).
const BIG_FRAME: usize = 16 * 1024;
/// Messages from this size on are written by the sending thread at once (see
/// [`WsConn::stage`]) instead of being staged until the end of its batch.
const WRITE_NOW_MIN: usize = 16 * 1024;
/// How long a closing server keeps draining input after shutting down its write side.
const LINGER: Duration = Duration::from_secs(2);

/// Status codes reported to [`WsEvents::on_close`] for closes without a close frame.
pub mod status {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// Going away (server shutting down, page navigated away).
    pub const GOING_AWAY: u16 = 1001;
    /// The peer's close frame had no status code.
    pub const NO_STATUS: u16 = 1005;
    /// The connection closed without a close frame.
    pub const ABNORMAL: u16 = 1006;
    /// A message violated policy (here: the send buffer limit).
    pub const POLICY: u16 = 1008;
}

/// Per-connection settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Send a ping after this long without input (keep-alive); `None` disables.
    pub ping_interval: Option<Duration>,
    /// Terminate when nothing arrives this long after a keep-alive ping.
    pub ping_timeout: Duration,
    /// After sending a close frame, how long to wait for the peer's, and a client for
    /// the server to close the TCP connection.
    pub close_timeout: Duration,
    /// `buffered` at which a send arms a drain notice ([`WsEvents::on_drain`] fires once
    /// it falls to half).
    pub high_water_mark: usize,
    /// `buffered` beyond which the connection is cut (the peer stopped reading): the
    /// hard bound on what one connection may hold.
    pub max_buffered: usize,
    /// Message bytes delivered to the consumer and not yet taken: reading pauses beyond.
    pub read_window: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            ping_interval: None,
            ping_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(10),
            high_water_mark: 64 * 1024,
            max_buffered: 64 * 1024 * 1024,
            read_window: 1024 * 1024,
        }
    }
}

/// Why a connection failed (reported once, before [`WsEvents::on_close`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsError {
    /// Stable error code (`ERR_WEBSOCKET_*`).
    pub code: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// The close status code sent to the peer, if one was.
    pub close_code: Option<u16>,
}

impl WsError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
        WsError { code, message: message.into(), close_code: None }
    }
}

impl std::fmt::Display for WsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for WsError {}

/// What a connection reports. Called on the runtime thread that drives it.
pub trait WsEvents: Send + Sync + 'static {
    /// A complete text (valid UTF-8) or binary message; `credit` returns its bytes to
    /// the read window when dropped.
    fn on_message(&self, text: bool, data: Bytes, credit: Credit);
    /// The peer pinged (the pong has already been queued).
    fn on_ping(&self, data: Bytes) {
        let _ = data;
    }
    /// The peer ponged.
    fn on_pong(&self, data: Bytes) {
        let _ = data;
    }
    /// `buffered` fell to half the high-water mark after a send had reached it.
    fn on_drain(&self) {}
    /// The connection failed (protocol error, I/O error, timeout); `on_close` follows.
    fn on_error(&self, err: WsError) {
        let _ = err;
    }
    /// The connection is closed: the peer's status code and reason after a close
    /// handshake, the code we failed it with, or [`status::ABNORMAL`] without one.
    fn on_close(&self, code: u16, reason: Bytes, clean: bool);
}

/// A wake-up for the connection's task: one flag and the waiting task's waker (a
/// `Notify` would need a `Notified` future stored in the task). A notification while the
/// task is not waiting is kept until it next looks.
#[derive(Default)]
struct Signal {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    fn notify(&self) {
        self.set.store(true, Ordering::Release);
        let w = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Ready (and cleared) once notified since the last ready poll.
    fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.set.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        {
            let mut w = self.waker.lock().unwrap_or_else(|e| e.into_inner());
            match &*w {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        // A notify between the swap and the registration found no waker: look again.
        if self.set.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

/// An outgoing item.
enum Out {
    Message {
        text: bool,
        data: Bytes,
    },
    /// A complete frame shared by many connections (publish).
    Frame(Bytes),
    Ping(Bytes),
    Pong(Bytes),
    Close(Option<u16>, String),
    Terminate,
}

#[derive(Default)]
struct Queue {
    items: Vec<Out>,
    /// No more sends: a close is queued, or the connection is gone.
    closed: bool,
    /// The task has output it has not written yet: no direct write may go first.
    busy: bool,
    /// Frames staged by the caller's thread for a direct write at the end of its batch
    /// ([`flush_staged`]), or the unwritten rest of one: they go out before anything else.
    staged: BytesMut,
    /// Direct writes from the caller's thread (server over plain TCP), and the size from
    /// which messages must go through the task instead (to be compressed). Removed when
    /// the task ends, so the socket closes with it.
    direct: Option<(Arc<dyn DirectWrite>, usize)>,
    /// Topics this connection is subscribed to (see [`crate::driver::Topics`]); boxed, as
    /// most connections have none: a thin pointer instead of an empty `Vec` in each.
    #[allow(clippy::box_collection)]
    topics: Option<Box<Vec<Arc<str>>>>,
}

/// A socket the JS thread may write to directly (plain TCP): a send on an idle connection
/// then costs one `writev` on the calling thread, with no wake-up of the connection's task.
pub trait DirectWrite: Send + Sync + 'static {
    /// Writes what the kernel takes without waiting.
    fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize>;
}

impl DirectWrite for iocrate_net::tcp::Sock {
    fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored_now(bufs)
    }
}

thread_local! {
    /// Connections with frames staged on this thread since the last [`flush_staged`].
    static DIRTY: std::cell::RefCell<Vec<Arc<WsConn>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes every frame staged on this thread (one `writev` per connection). A thread that
/// sends on connections with direct writes enabled ([`WsConn::enable_direct`]) calls this
/// at the end of each batch of work: sends in between coalesce.
pub fn flush_staged() {
    let dirty = DIRTY.with(|d| std::mem::take(&mut *d.borrow_mut()));
    for c in &dirty {
        c.write_staged();
    }
    // Keep the list's allocation for the next batch.
    DIRTY.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_empty() {
            let mut v = dirty;
            v.clear();
            *d = v;
        }
    });
}

/// An unmasked frame header for a whole (FIN) text or binary message.
fn plain_header(text: bool, len: usize) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    h[0] = 0x80 | if text { 0x1 } else { 0x2 };
    if len < 126 {
        h[1] = len as u8;
        (h, 2)
    } else if len <= 0xffff {
        h[1] = 126;
        h[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        (h, 4)
    } else {
        h[1] = 127;
        h[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        (h, 10)
    }
}

/// The application's handle on a connection (shared with the task).
pub struct WsConn {
    id: u64,
    queue: Mutex<Queue>,
    wake: Signal,
    buffered: AtomicUsize,
    drain_armed: AtomicBool,
    high_water: usize,
    /// The window bits our compressed frames may use, when the peer negotiated
    /// permessage-deflate.
    deflate: Option<u8>,
    /// Read-side flow control: the window of delivered messages, and pause/resume.
    flow: Arc<ReadFlow>,
}

/// Sending failed: the connection is closing or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl WsConn {
    /// A handle for a connection that has not started yet.
    pub fn new(id: u64, deflate: Option<u8>, settings: &Settings) -> Arc<Self> {
        Arc::new(WsConn {
            id,
            queue: Mutex::new(Queue::default()),
            wake: Signal::default(),
            buffered: AtomicUsize::new(0),
            drain_armed: AtomicBool::new(false),
            high_water: settings.high_water_mark,
            deflate,
            flow: ReadFlow::new(settings.read_window),
        })
    }

    /// Lets sends write to `sock` from the calling thread while the connection's task has
    /// nothing pending. For a server over plain TCP only (a client masks, TLS encrypts);
    /// messages of `compress_from` bytes or more still go through the task when deflate
    /// was negotiated (pass `usize::MAX` otherwise).
    pub fn enable_direct(&self, sock: Arc<dyn DirectWrite>, compress_from: usize) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.direct = Some((sock, compress_from));
        // Until the task has written its preface (the 101 answer), nothing may go first.
        q.busy = true;
    }

    /// Stages one whole frame (`head` then `body`) for a direct write at the end of the
    /// caller's batch. Returns `buffered`, or `None` when the task must take the message
    /// (it has output pending, or the message is to be compressed).
    fn stage(self: &Arc<Self>, head: &[u8], body: &[u8], payload: usize) -> Option<Result<usize, Closed>> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let (_, compress_from) = q.direct.as_ref()?;
        if payload >= *compress_from {
            return None;
        }
        if q.closed {
            return Some(Err(Closed));
        }
        if q.busy || !q.items.is_empty() {
            return None;
        }
        let first = q.staged.is_empty();
        let n = head.len() + body.len();
        // A large message is written now, behind what is staged, straight from the
        // caller's memory: there is nothing to coalesce, and staging would copy it. Only
        // what the kernel does not take is staged.
        let written = if body.len() >= WRITE_NOW_MIN {
            let Queue { direct, staged, .. } = &mut *q;
            let sock = &direct.as_ref().expect("checked above").0;
            let bufs = [io::IoSlice::new(staged), io::IoSlice::new(head), io::IoSlice::new(body)];
            let w = sock.try_write_vectored(&bufs).unwrap_or_default();
            let from_staged = w.min(staged.len());
            bytes::Buf::advance(staged, from_staged);
            let mut rest = w - from_staged;
            for part in [head, body] {
                let skip = rest.min(part.len());
                staged.extend_from_slice(&part[skip..]);
                rest -= skip;
            }
            w
        } else {
            q.staged.extend_from_slice(head);
            q.staged.extend_from_slice(body);
            0
        };
        let now = if n >= written {
            self.buffered.fetch_add(n - written, Ordering::AcqRel) + (n - written)
        } else {
            self.buffered.fetch_sub(written - n, Ordering::AcqRel) - (written - n)
        };
        if now >= self.high_water {
            self.drain_armed.store(true, Ordering::Release);
        }
        let dirty = first && !q.staged.is_empty();
        drop(q);
        if dirty {
            DIRTY.with(|d| d.borrow_mut().push(self.clone()));
        }
        Some(Ok(now))
    }

    /// Writes what was staged with one `writev` on this thread; a rest (the kernel is
    /// full) goes to the task.
    fn write_staged(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.staged.is_empty() {
            return;
        }
        if q.direct.is_none() {
            return;
        }
        if q.busy || !q.items.is_empty() {
            // The task writes them, first, when it takes its queue.
            drop(q);
            self.wake.notify();
            return;
        }
        let n = {
            let Queue { direct, staged, .. } = &mut *q;
            match direct {
                Some((sock, _)) => sock.try_write_vectored(&[io::IoSlice::new(staged)]).unwrap_or_default(),
                None => 0,
            }
        };
        bytes::Buf::advance(&mut q.staged, n);
        self.buffered.fetch_sub(n, Ordering::AcqRel);
        if q.staged.is_empty() {
            // Released: an idle connection holds no buffer. (An emptied `BytesMut` may
            // report no capacity and still hold its allocation, so always replace it.)
            q.staged = BytesMut::new();
            drop(q);
            // A send reached the high-water mark: the task reports the drain.
            if self.drain_armed.load(Ordering::Acquire) {
                self.wake.notify();
            }
            return;
        }
        // The kernel is full (or the socket failed): the task takes over, and meets any
        // error on its own write.
        q.busy = true;
        drop(q);
        self.wake.notify();
    }

    /// The id given at creation.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The window bits for frames sent compressed, if the peer negotiated
    /// permessage-deflate.
    pub fn deflate_window(&self) -> Option<u8> {
        self.deflate
    }

    fn push(&self, item: Out, bytes: usize) -> Result<usize, Closed> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.closed {
            return Err(Closed);
        }
        if matches!(item, Out::Close(..) | Out::Terminate) {
            q.closed = true;
        }
        // Counted (and the drain armed) before the task can see the item and write it.
        let now = self.buffered.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if now >= self.high_water {
            self.drain_armed.store(true, Ordering::Release);
        }
        let first = q.items.is_empty();
        q.items.push(item);
        drop(q);
        if first {
            self.wake.notify();
        }
        Ok(now)
    }

    /// Queues a text (`data` must be valid UTF-8) or binary message. Returns `buffered`.
    pub fn send(self: &Arc<Self>, text: bool, data: Bytes) -> Result<usize, Closed> {
        let (h, hl) = plain_header(text, data.len());
        if let Some(r) = self.stage(&h[..hl], &data, data.len()) {
            return r;
        }
        let n = data.len();
        self.push(Out::Message { text, data }, n)
    }

    /// Like [`WsConn::send`] for a payload the caller still owns: copied only if it has to
    /// wait for the task.
    pub fn send_slice(self: &Arc<Self>, text: bool, data: &[u8]) -> Result<usize, Closed> {
        let (h, hl) = plain_header(text, data.len());
        if let Some(r) = self.stage(&h[..hl], data, data.len()) {
            return r;
        }
        self.push(Out::Message { text, data: Bytes::copy_from_slice(data) }, data.len())
    }

    /// Queues a complete, already framed message (shared by a publish): copied into the
    /// staged batch when it can be, else queued as a reference to `frame`.
    pub fn send_frame(self: &Arc<Self>, frame: &Bytes) -> Result<usize, Closed> {
        // A shared frame is already compressed (or not) for this connection.
        if let Some(r) = self.stage(frame, &[], 0) {
            return r;
        }
        self.push(Out::Frame(frame.clone()), frame.len())
    }

    /// Queues a ping (at most 125 bytes).
    pub fn ping(&self, data: Bytes) -> Result<usize, Closed> {
        self.push(Out::Ping(data), 0)
    }

    /// Queues an unsolicited pong (at most 125 bytes).
    pub fn pong(&self, data: Bytes) -> Result<usize, Closed> {
        self.push(Out::Pong(data), 0)
    }

    /// Starts the close handshake: queued messages go out first, then the close frame.
    pub fn close(&self, code: Option<u16>, reason: String) -> Result<(), Closed> {
        self.push(Out::Close(code, reason), 0).map(|_| ())
    }

    /// Drops the connection now, without a close frame.
    pub fn terminate(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        q.items.push(Out::Terminate);
        drop(q);
        self.wake.notify();
    }

    /// Stops reading messages until [`WsConn::resume`] (control frames wait too).
    pub fn pause(&self) {
        self.flow.pause();
    }

    /// Resumes reading after [`WsConn::pause`].
    pub fn resume(&self) {
        self.flow.resume();
    }

    /// The topics this connection is subscribed to.
    pub fn topic_names(&self) -> Vec<String> {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.topics.iter().flat_map(|t| t.iter()).map(|t| t.to_string()).collect()
    }

    /// Records a subscription (the registry's lock is held: it is always taken first).
    pub(crate) fn add_topic(&self, topic: Arc<str>) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).topics.get_or_insert_with(Box::default).push(topic);
    }

    /// Forgets a subscription.
    pub(crate) fn remove_topic(&self, topic: &str) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = &mut q.topics {
            t.retain(|t| &**t != topic);
            if t.is_empty() {
                q.topics = None;
            }
        }
    }

    /// Takes every subscription (the connection closed).
    pub(crate) fn take_topics(&self) -> Vec<Arc<str>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).topics.take().map(|b| *b).unwrap_or_default()
    }

    /// Bytes queued or framed and not yet written to the socket.
    pub fn buffered(&self) -> usize {
        self.buffered.load(Ordering::Acquire)
    }

    /// Whether no more messages can be sent.
    pub fn is_closed(&self) -> bool {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).closed
    }

    /// Resolves once the application closed or terminated the connection (used while a
    /// client is still connecting).
    pub async fn closed_while_connecting(&self) {
        std::future::poll_fn(|cx| {
            let _ = self.wake.poll(cx);
            if self.is_closed() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Takes the queued items (and the rest of a half-written direct frame, which must go
    /// first), marking the task busy when it has anything to write.
    fn take(&self, has_output: bool) -> (Option<BytesMut>, Vec<Out>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let items = std::mem::take(&mut q.items);
        let front = (!q.staged.is_empty()).then(|| q.staged.split());
        q.busy = has_output || front.is_some() || !items.is_empty();
        (front, items)
    }

    /// Before the task writes: marks it busy (no direct write may cut in) and takes the
    /// rest of a half-written direct frame, which goes first.
    fn claim(&self) -> Option<BytesMut> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.busy = true;
        (!q.staged.is_empty()).then(|| q.staged.split())
    }

    /// The task has written everything: direct writes may resume (unless more is queued).
    fn idle(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.items.is_empty() && q.staged.is_empty() {
            q.busy = false;
        }
    }

    /// The task ended: no more direct writes, and the socket is released.
    fn end_direct(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        q.closed = true;
        q.busy = true;
        q.direct = None;
    }

    fn shut(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
    }
}

impl std::fmt::Debug for WsConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsConn").field("id", &self.id).field("buffered", &self.buffered()).finish()
    }
}

/// How the connection ended, for `on_close`.
struct Ending {
    code: u16,
    /// After a close handshake (the reason is the peer's, in `close_received`).
    clean: bool,
    /// Close gracefully first ([`iocrate_net::linger`]).
    linger: bool,
}

impl Ending {
    /// Without a close handshake (nothing to linger for).
    fn abnormal(code: u16) -> Self {
        Ending { code, clean: false, linger: false }
    }
}

struct Task<T: Transport, E: WsEvents> {
    io: Arc<T>,
    conn: Arc<WsConn>,
    events: Arc<E>,
    settings: Arc<Settings>,
    /// Held (the server's connection count) until the task ends.
    _guard: Option<ConnGuard>,
    role: Role,
    dec: Decoder,
    enc: Encoder,
    rbuf: BytesMut,
    wbuf: BytesMut,
    /// `wbuf.len()` as counted in `conn.buffered`.
    counted: usize,
    close_sent: bool,
    /// The peer's close frame: code and reason (boxed: rare, and the task stays small).
    close_received: Option<Box<(u16, Bytes)>>,
    /// We failed the connection with this close code.
    failed: Option<u16>,
    eof: bool,
    /// The close handshake's or the keep-alive ping's timeout.
    timeout: Option<Timeout>,
    last_input: Instant,
    /// The timer for [`Task::deadline`], while there is one.
    timer: Option<Pin<Box<Sleep>>>,
    /// Waiting for the read window to reopen, while it is full (boxed twice: a thin
    /// pointer in every idle connection's task instead of a fat one).
    window_wait: Option<Box<WindowWait>>,
}

/// The wait for the read window to reopen.
type WindowWait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A pending timeout.
#[derive(Clone, Copy)]
enum Timeout {
    /// The close handshake must be over by then.
    Close(Instant),
    /// The peer must have sent something by then (after a keep-alive ping).
    Pong(Instant),
}

/// What ended a wait.
enum Wake {
    Deadline,
    Read(io::Result<()>),
    Write(io::Result<()>),
    /// A command, the read window, or a spurious wake-up: take another turn.
    Turn,
}

/// Runs a connection until it closes, then calls [`WsEvents::on_close`] (and removes it
/// from every topic through `on_done`). `head` is input already read (after the HTTP
/// handshake); `preface` is output to send first (the `101` response on a server).
///
/// The future holds the connection's state once (about 700 bytes while idle): spawn it
/// as it is rather than inside another `async` block, whose captures would stay beside it.
#[allow(clippy::too_many_arguments)]
pub fn run<T: Transport, E: WsEvents>(
    io: Arc<T>,
    head: Bytes,
    preface: Vec<u8>,
    config: Config,
    settings: Arc<Settings>,
    conn: Arc<WsConn>,
    events: Arc<E>,
    guard: Option<ConnGuard>,
) -> impl Future<Output = ()> + Send {
    let mut task = Task {
        io,
        role: config.role,
        dec: Decoder::new(&config),
        enc: Encoder::new(&config),
        rbuf: BytesMut::from(&head[..]),
        wbuf: BytesMut::from(&preface[..]),
        conn,
        events,
        settings,
        _guard: guard,
        counted: 0,
        close_sent: false,
        close_received: None,
        failed: None,
        eof: false,
        timeout: None,
        last_input: Instant::now(),
        timer: None,
        window_wait: None,
    };
    // The task is captured and driven in place: an `async fn` taking it by value would
    // hold a second copy (its argument and the local it binds).
    async move {
        let ending = task.run().await;
        if ending.linger {
            // Boxed: a linger future inline would make every idle connection's task bigger.
            Box::pin(iocrate_net::linger(&*task.io, LINGER)).await;
        }
        task.end(ending);
    }
}

enum Step {
    Continue,
    Done(Ending),
}

impl<T: Transport, E: WsEvents> Task<T, E> {
    fn end(mut self, ending: Ending) {
        let reason = match self.close_received.take() {
            Some(c) if ending.clean => c.1,
            _ => Bytes::new(),
        };
        let conn = self.conn.clone();
        let events = self.events.clone();
        conn.end_direct();
        // Whatever is still queued will never be sent.
        conn.take(true);
        conn.buffered.store(0, Ordering::Release);
        // The socket (and the connection's slot) go before the close is reported.
        drop(self);
        events.on_close(ending.code, reason, ending.clean);
    }

    async fn run(&mut self) -> Ending {
        loop {
            if let Step::Done(e) = self.turn() {
                return e;
            }
            if let Err(e) = self.flush() {
                return self.abnormal("ERR_WEBSOCKET_IO", e.to_string());
            }
            self.account();
            if self.conn.buffered() > self.settings.max_buffered {
                self.io.abort();
                self.failed = Some(status::POLICY);
                let mut err = WsError::new(
                    "ERR_WEBSOCKET_BUFFER_FULL",
                    format!(
                        "more than {} bytes waiting to be sent: the peer is not reading",
                        self.settings.max_buffered
                    ),
                );
                err.close_code = Some(status::POLICY);
                self.events.on_error(err);
                return Ending::abnormal(status::POLICY);
            }
            let pending = !self.wbuf.is_empty() || self.io.has_pending_output();
            if let Some(end) = self.finished(pending) {
                return end;
            }
            let may_read = self.conn.flow.may_read();
            let want_read = !self.eof
                && self.failed.is_none()
                && (self.close_received.is_none() || self.role == Role::Client)
                && may_read;
            if may_read || self.failed.is_some() {
                self.window_wait = None;
            } else if self.window_wait.is_none() {
                let flow = self.conn.flow.clone();
                self.window_wait = Some(Box::new(Box::pin(async move { flow.ready().await })));
            }
            self.arm_timer();
            match self.wait(want_read, pending).await {
                Wake::Read(r) => {
                    if let Err(e) = r.and_then(|()| self.read()) {
                        return self.abnormal("ERR_WEBSOCKET_IO", e.to_string());
                    }
                }
                Wake::Write(r) => {
                    if let Err(e) = r {
                        return self.abnormal("ERR_WEBSOCKET_IO", e.to_string());
                    }
                }
                Wake::Deadline => {
                    if let Some(e) = self.on_deadline() {
                        return e;
                    }
                }
                Wake::Turn => {}
            }
        }
    }

    /// Sets the timer to [`Task::deadline`], or drops it when there is none.
    fn arm_timer(&mut self) {
        match (self.deadline(), &mut self.timer) {
            (None, t) => *t = None,
            (Some(d), Some(t)) => {
                if t.deadline() != d {
                    t.as_mut().reset(d);
                }
            }
            (Some(d), t) => *t = Some(Box::pin(tokio::time::sleep_until(d))),
        }
    }

    /// Waits for the first of: the deadline, the socket (readable if `read`, writable if
    /// `write`), a command, the read window. The deadline goes first so that a peer
    /// flooding input cannot hold a timeout off; commands and input are handled on every
    /// turn whatever woke it.
    fn wait(&mut self, read: bool, write: bool) -> impl Future<Output = Wake> + '_ {
        std::future::poll_fn(move |cx| {
            if let Some(t) = &mut self.timer {
                if t.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Wake::Deadline);
                }
            }
            if read {
                if let Poll::Ready(r) = self.io.poll_read_ready(cx) {
                    return Poll::Ready(Wake::Read(r));
                }
            }
            if write {
                if let Poll::Ready(r) = self.io.poll_write_ready(cx) {
                    return Poll::Ready(Wake::Write(r));
                }
            }
            if self.conn.wake.poll(cx).is_ready() {
                return Poll::Ready(Wake::Turn);
            }
            if let Some(w) = &mut self.window_wait {
                if (**w).as_mut().poll(cx).is_ready() {
                    self.window_wait = None;
                    return Poll::Ready(Wake::Turn);
                }
            }
            Poll::Pending
        })
    }

    /// Commands and input; `Done` when the connection must end now.
    fn turn(&mut self) -> Step {
        let (front, items) = self.conn.take(!self.wbuf.is_empty());
        self.prepend(front);
        for item in items {
            match item {
                Out::Message { text, data } => {
                    self.uncount(data.len());
                    if self.close_sent {
                        continue;
                    }
                    if text {
                        self.enc.text(&data, &mut self.wbuf);
                    } else {
                        self.enc.binary(&data, &mut self.wbuf);
                    }
                }
                Out::Frame(frame) => {
                    self.uncount(frame.len());
                    if !self.close_sent {
                        self.wbuf.extend_from_slice(&frame);
                    }
                }
                Out::Ping(p) => {
                    if !self.close_sent {
                        let _ = self.enc.ping(&p, &mut self.wbuf);
                    }
                }
                Out::Pong(p) => {
                    if !self.close_sent {
                        let _ = self.enc.pong(&p, &mut self.wbuf);
                    }
                }
                Out::Close(code, reason) => {
                    if !self.close_sent {
                        self.enc.close(code, &reason, &mut self.wbuf);
                        self.close_sent = true;
                        self.timeout = Some(Timeout::Close(Instant::now() + self.settings.close_timeout));
                    }
                }
                Out::Terminate => {
                    self.io.abort();
                    return Step::Done(Ending::abnormal(status::ABNORMAL));
                }
            }
        }
        self.decode();
        Step::Continue
    }

    fn decode(&mut self) {
        while self.close_received.is_none() && self.failed.is_none() {
            match self.dec.decode(&mut self.rbuf) {
                Ok(Some(msg)) => match msg {
                    Message::Text(b) => {
                        let credit = self.conn.flow.take(b.len());
                        self.events.on_message(true, b, credit);
                    }
                    Message::Binary(b) => {
                        let credit = self.conn.flow.take(b.len());
                        self.events.on_message(false, b, credit);
                    }
                    Message::Ping(p) => {
                        if !self.close_sent {
                            let _ = self.enc.pong(&p, &mut self.wbuf);
                        }
                        self.events.on_ping(p);
                    }
                    Message::Pong(p) => self.events.on_pong(p),
                    Message::Close(frame) => {
                        let (code, reason) = match frame {
                            Some(f) => (f.code, Bytes::from(f.reason.into_bytes())),
                            None => (status::NO_STATUS, Bytes::new()),
                        };
                        if !self.close_sent {
                            // Echo the peer's status code (RFC 6455 §5.5.1), as `ws` does.
                            let echo = (code != status::NO_STATUS).then_some(code);
                            self.enc.close(echo, "", &mut self.wbuf);
                            self.close_sent = true;
                            self.conn.shut();
                        }
                        self.close_received = Some(Box::new((code, reason)));
                        self.timeout = Some(Timeout::Close(Instant::now() + self.settings.close_timeout));
                    }
                },
                Ok(None) => break,
                Err(e) => {
                    if !self.close_sent {
                        self.enc.close(Some(e.code), e.reason, &mut self.wbuf);
                        self.close_sent = true;
                        self.conn.shut();
                    }
                    self.failed = Some(e.code);
                    self.timeout = Some(Timeout::Close(Instant::now() + self.settings.close_timeout));
                    let code = match e.code {
                        1007 => "ERR_WEBSOCKET_INVALID_PAYLOAD",
                        1009 => "ERR_WEBSOCKET_MESSAGE_TOO_BIG",
                        _ => "ERR_WEBSOCKET_PROTOCOL",
                    };
                    let mut err = WsError::new(code, e.reason.to_string());
                    err.close_code = Some(e.code);
                    self.events.on_error(err);
                }
            }
        }
        // Released when empty, whatever `capacity()` says: an emptied `BytesMut` may report
        // none and still hold its allocation (or a share of one a message still uses).
        if self.rbuf.is_empty() {
            self.rbuf = BytesMut::new();
        }
    }

    fn read(&mut self) -> io::Result<()> {
        // The rest of a large frame is read in place, into room made for all of it: no
        // copy from the scratch buffer, and no regrowing of the read buffer on the way.
        let rest = if self.close_received.is_none() && !self.rbuf.is_empty() {
            self.dec.frame_remaining(&self.rbuf)
        } else {
            0
        };
        // (Completed frames are split off, so the buffer holds the front frame's start.)
        if rest > 0 && self.rbuf.len() + rest >= BIG_FRAME {
            // Up to the frame's end (what follows starts a buffer of its own, instead of
            // being copied out of this one), and capped: a peer announcing a huge frame
            // gets room as its bytes arrive.
            return match self.io.try_read_bytes(&mut self.rbuf, rest.min(4 * READ_SIZE)) {
                Ok(0) => {
                    self.eof = true;
                    Ok(())
                }
                Ok(_) => {
                    self.input_arrived();
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
                Err(e) => Err(e),
            };
        }
        match self.io.read_chunk(READ_SIZE) {
            Ok(v) if v.is_empty() => self.eof = true,
            Ok(v) => {
                self.input_arrived();
                if self.close_received.is_some() {
                    // A client waiting for the server's TCP close: nothing more is read.
                } else if self.rbuf.is_empty() {
                    self.rbuf = BytesMut::from(Bytes::from(v));
                } else {
                    self.rbuf.extend_from_slice(&v);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Puts the rest of a half-written direct frame before everything else to write (its
    /// bytes were counted in `buffered` by the direct write; `account` counts `wbuf`).
    fn prepend(&mut self, front: Option<BytesMut>) {
        if let Some(f) = front {
            self.uncount(f.len());
            let mut b = BytesMut::with_capacity(f.len() + self.wbuf.len());
            b.extend_from_slice(&f);
            b.extend_from_slice(&self.wbuf);
            self.wbuf = b;
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            let front = self.conn.claim();
            self.prepend(front);
        }
        let r = self.write_out();
        if self.wbuf.is_empty() {
            self.conn.idle();
        }
        r
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.io.has_pending_output() {
            match self.io.flush() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                r => r?,
            }
        }
        while !self.wbuf.is_empty() {
            match self.io.try_write(&self.wbuf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    bytes::Buf::advance(&mut self.wbuf, n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        if self.wbuf.is_empty() {
            self.wbuf = BytesMut::new();
        }
        if self.io.has_pending_output() {
            match self.io.flush() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                r => r?,
            }
        }
        Ok(())
    }

    fn uncount(&self, n: usize) {
        self.conn.buffered.fetch_sub(n, Ordering::AcqRel);
    }

    /// Brings `conn.buffered` in line with the write buffer, and reports a drain.
    fn account(&mut self) {
        let now = self.wbuf.len();
        if now > self.counted {
            self.conn.buffered.fetch_add(now - self.counted, Ordering::AcqRel);
        } else if now < self.counted {
            self.conn.buffered.fetch_sub(self.counted - now, Ordering::AcqRel);
        }
        self.counted = now;
        if self.conn.drain_armed.load(Ordering::Acquire)
            && self.conn.buffered() <= self.conn.high_water / 2
            && self.conn.drain_armed.swap(false, Ordering::AcqRel)
        {
            self.events.on_drain();
        }
    }

    /// Whether the close handshake (or a failure) is complete: the connection ends (after
    /// a linger, if the ending says so).
    fn finished(&mut self, pending: bool) -> Option<Ending> {
        if let Some(code) = self.failed {
            if !pending {
                return Some(Ending { code, clean: false, linger: true });
            }
            return None;
        }
        if let Some(&(code, _)) = self.close_received.as_deref() {
            if pending {
                return None;
            }
            // The server closes the TCP connection first (RFC 6455 §7.1.1); the client
            // waits for it (reading until EOF) unless the close timeout runs out.
            if self.role == Role::Server || self.eof {
                return Some(Ending { code, clean: true, linger: self.role == Role::Server });
            }
            return None;
        }
        if self.eof {
            let mut err = WsError::new("ERR_WEBSOCKET_CLOSED", "the connection closed without a close frame");
            err.close_code = None;
            if !self.close_sent {
                self.events.on_error(err);
            }
            return Some(Ending::abnormal(status::ABNORMAL));
        }
        None
    }

    fn deadline(&self) -> Option<Instant> {
        match self.timeout {
            Some(Timeout::Close(d) | Timeout::Pong(d)) => Some(d),
            None => self.settings.ping_interval.map(|i| self.last_input + i),
        }
    }

    /// Input resets the keep-alive: no pong is awaited any more.
    fn input_arrived(&mut self) {
        self.last_input = Instant::now();
        if matches!(self.timeout, Some(Timeout::Pong(_))) {
            self.timeout = None;
        }
    }

    fn on_deadline(&mut self) -> Option<Ending> {
        let now = Instant::now();
        if let Some(Timeout::Close(d)) = self.timeout {
            if now >= d {
                self.io.abort();
                let (code, clean) = match self.close_received.as_deref() {
                    // The handshake completed; only the peer's TCP close was late.
                    Some(&(code, _)) if self.failed.is_none() => (code, true),
                    _ => (self.failed.unwrap_or(status::ABNORMAL), false),
                };
                return Some(Ending { code, clean, linger: false });
            }
            return None;
        }
        if let Some(Timeout::Pong(d)) = self.timeout {
            if now >= d {
                self.io.abort();
                self.events.on_error(WsError::new(
                    "ERR_WEBSOCKET_PING_TIMEOUT",
                    format!("no answer to a keep-alive ping within {} ms", self.settings.ping_timeout.as_millis()),
                ));
                return Some(Ending::abnormal(status::ABNORMAL));
            }
            return None;
        }
        if let Some(i) = self.settings.ping_interval {
            if now >= self.last_input + i && !self.close_sent {
                let _ = self.enc.ping(b"", &mut self.wbuf);
                self.timeout = Some(Timeout::Pong(now + self.settings.ping_timeout));
            }
        }
        None
    }

    fn abnormal(&mut self, code: &'static str, message: String) -> Ending {
        self.io.abort();
        if self.close_received.is_none() && self.failed.is_none() {
            self.events.on_error(WsError::new(code, message));
        }
        Ending::abnormal(self.failed.unwrap_or(status::ABNORMAL))
    }
}
