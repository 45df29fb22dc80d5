//! `@iocrate/redis`: a TCP, Unix or TLS stream whose bytes are decoded from RESP on the
//! I/O thread. JS receives one `REDIS_REPLY` event per read, carrying the tape of every
//! reply that read completed (see `iocrate_redis::tape`), and writes encoded commands
//! through the ordinary [`StreamHandle`] (one write per tick).

use std::sync::{Arc, Mutex, OnceLock, Weak};

use iocrate_net::tcp::TcpConn;
use iocrate_net::{NetError, StreamEvents, StreamOps};
use iocrate_redis::{Decoder, Limits};
use napi::bindgen_prelude::Either;
use napi_derive::napi;

use crate::bridge::{kind, Bridge, Payload, Sink};
use crate::error::ErrorInfo;
use crate::net::RawConnectOptions;
use crate::stream::{Conn, StreamHandle};
use crate::tls::{tls_connect_with, RawTlsConnectOptions};

/// Parser limits from JS; absent fields keep the codec's defaults.
#[napi(object)]
#[derive(Default)]
pub struct RawRespLimits {
    /// Largest bulk string in bytes.
    pub max_bulk: Option<u32>,
    /// Most elements in one aggregate.
    pub max_elements: Option<u32>,
    /// Deepest nesting.
    pub max_depth: Option<u32>,
}

fn limits(r: Option<RawRespLimits>) -> Limits {
    let r = r.unwrap_or_default();
    let d = Limits::default();
    Limits {
        max_bulk: r.max_bulk.map_or(d.max_bulk, |v| v as usize),
        max_elements: r.max_elements.map_or(d.max_elements, |v| v as usize),
        max_depth: r.max_depth.map_or(d.max_depth, |v| v as usize),
        ..d
    }
}

struct DecodeState {
    decoder: Decoder,
    failed: bool,
}

/// Stream events with RESP decoding in front of the bridge.
struct RespSink {
    sink: Sink,
    state: Mutex<DecodeState>,
    /// The stream, to drop it on a protocol error (set right after it is created).
    conn: OnceLock<Weak<dyn StreamOps>>,
}

impl StreamEvents for RespSink {
    fn on_connect(&self) {
        self.sink.push(kind::CONNECT, Payload::None);
    }
    fn on_data(&self, data: Vec<u8>, credit: iocrate_net::Credit) {
        let mut st = self.state.lock().unwrap();
        if st.failed {
            return;
        }
        let mut tape = Vec::with_capacity(data.len() + data.len() / 2 + 16);
        let res = st.decoder.feed(&data, &mut tape);
        drop(data);
        match res {
            Ok(0) => {}
            Ok(_) => self.sink.push(kind::REDIS_REPLY, Payload::Bytes(tape, credit)),
            Err(e) => {
                st.failed = true;
                drop(st);
                // Replies completed before the bad bytes still belong to their commands.
                if !tape.is_empty() {
                    self.sink.push(kind::REDIS_REPLY, Payload::Bytes(tape, credit));
                }
                self.sink.push(kind::ERROR, Payload::Error(ErrorInfo::new(e.code(), e.to_string())));
                if let Some(c) = self.conn.get().and_then(Weak::upgrade) {
                    c.destroy();
                }
            }
        }
    }
    fn on_end(&self) {
        self.sink.push(kind::END, Payload::None);
    }
    fn on_drain(&self) {
        self.sink.push(kind::DRAIN, Payload::None);
    }
    fn on_timeout(&self) {
        self.sink.push(kind::TIMEOUT, Payload::None);
    }
    fn on_error(&self, err: NetError) {
        self.sink.push(kind::ERROR, Payload::Error(err.into()));
    }
    fn on_close(&self, had_error: bool) {
        self.sink.push(kind::CLOSE, Payload::Bool(had_error));
    }
}

fn resp_sink(sink: Sink, l: Limits) -> Arc<RespSink> {
    Arc::new(RespSink {
        sink,
        state: Mutex::new(DecodeState { decoder: Decoder::new(l), failed: false }),
        conn: OnceLock::new(),
    })
}

fn bind(events: &RespSink, conn: &Conn) {
    let ops: Arc<dyn StreamOps> = match conn {
        Conn::Tcp(c) => c.clone(),
        Conn::Tls(c) => c.clone(),
    };
    let _ = events.conn.set(Arc::downgrade(&ops));
}

/// Connects over TCP or a Unix socket (`path`). Events: CONNECT, then REDIS_REPLY with a
/// tape Buffer per read; a malformed reply reports ERROR (`ERR_REDIS_PROTOCOL` /
/// `ERR_REDIS_LIMIT`) after the replies before it, and the stream is dropped.
#[napi]
pub fn redis_connect(bridge: &Bridge, options: RawConnectOptions, limits_: Option<RawRespLimits>) -> StreamHandle {
    let sink = Sink::new(&bridge.inner);
    let id = sink.id;
    let events = resp_sink(sink, limits(limits_));
    let conn = TcpConn::connect(options.into(), events.clone());
    bridge.inner.track(&conn);
    let conn = Conn::Tcp(conn);
    bind(&events, &conn);
    StreamHandle::new(conn, id)
}

/// [`redis_connect`] over TLS (CONNECT after the handshake).
#[napi]
pub fn redis_connect_tls(
    bridge: &Bridge,
    options: RawTlsConnectOptions,
    limits_: Option<RawRespLimits>,
) -> Either<StreamHandle, ErrorInfo> {
    let l = limits(limits_);
    let mut made: Option<Arc<RespSink>> = None;
    let r = tls_connect_with(bridge, options, |sink| {
        let e = resp_sink(sink, l);
        made = Some(e.clone());
        e
    });
    if let (Either::A(h), Some(e)) = (&r, &made) {
        bind(e, &h.conn);
    }
    r
}

/// The RESP decoder on the JS thread, for connections whose I/O runs in Node's own
/// event loop (`transport: 'node'`): `feed()` takes what one read returned and gives the
/// tape of every reply it completed, or `null` while a reply is incomplete. One call per
/// read, not per reply.
#[napi]
pub struct RespDecoder {
    decoder: Decoder,
    failed: Option<ErrorInfo>,
    completed: Option<Vec<u8>>,
}

#[napi]
impl RespDecoder {
    /// A decoder with the given limits.
    #[napi(constructor)]
    pub fn new(limits_: Option<RawRespLimits>) -> Self {
        RespDecoder { decoder: Decoder::new(limits(limits_)), failed: None, completed: None }
    }

    /// After `feed()` reported an error: the tape of the replies completed before it.
    #[napi]
    pub fn take_completed(&mut self) -> Option<napi::bindgen_prelude::Buffer> {
        self.completed.take().map(Into::into)
    }

    /// Feeds one read. Returns the tape of the replies it completed (`null` if none), or
    /// an error description (`ERR_REDIS_PROTOCOL` / `ERR_REDIS_LIMIT`) after which the
    /// decoder only repeats it. `completed` replies before the bad bytes come first: call
    /// `takeCompleted()` after an error to get them.
    #[napi]
    pub fn feed(
        &mut self,
        data: napi::bindgen_prelude::BufferSlice,
    ) -> Either<Option<napi::bindgen_prelude::Buffer>, ErrorInfo> {
        if let Some(e) = &self.failed {
            return Either::B(e.clone());
        }
        let mut tape = Vec::with_capacity(data.len() + data.len() / 2 + 16);
        match self.decoder.feed(&data, &mut tape) {
            Ok(0) => Either::A(None),
            Ok(_) => Either::A(Some(tape.into())),
            Err(e) => {
                let info = ErrorInfo::new(e.code(), e.to_string());
                self.failed = Some(info.clone());
                self.completed = if tape.is_empty() { None } else { Some(tape) };
                Either::B(info)
            }
        }
    }
}
