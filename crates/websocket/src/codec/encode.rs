//! The send side: messages and control frames to wire frames.
//!
//! Every method appends complete frames to a caller-owned `BytesMut`. A client masks
//! every frame with a fresh key (RFC 6455 §5.3: keys must be unpredictable, "derived from
//! a strong source of entropy"), drawn from the OS in blocks of [`KEYS_PER_DRAW`] to keep
//! the syscall off the per-frame path. A server never masks.
//!
//! With permessage-deflate negotiated, whole messages of at least `deflate_threshold`
//! bytes are compressed (RSV1 set on the frame), smaller ones are sent as they are;
//! streamed messages ([`Encoder::fragment`]) are always compressed, since their size is
//! unknown when the first fragment goes out. A side whose negotiated window is 8 bits
//! never compresses (see [`super::deflate`]).

use std::cell::RefCell;

use bytes::{Bytes, BytesMut};

use super::deflate::{send_window_bits, Deflater};
use super::frame::{encode_header, OpCode};
use super::mask::apply_mask;
use super::{Config, Role};

/// Masking keys drawn from the OS at a time.
const KEYS_PER_DRAW: usize = 64;

/// A frame that cannot be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A control frame payload over 125 bytes (RFC 6455 §5.5); nothing was written.
    #[error("control frame payload of {0} bytes exceeds 125")]
    ControlTooLong(usize),
}

/// Encodes the frames of one connection; see the module docs.
#[derive(Debug)]
pub struct Encoder {
    role: Role,
    /// (level, window bits, no_context_takeover) of our compressor, if we compress.
    deflate: Option<(u32, u8, bool)>,
    /// Created on first use: a zlib deflate state is about 256 KiB at 15 bits, which a
    /// connection that only ever sends short messages never needs.
    deflater: Option<Box<Deflater>>,
    threshold: usize,
    /// Whether the streamed message in progress is compressed (decided on its first
    /// fragment).
    fragment_compressed: bool,
    /// Drawn keys; allocated on a client's first frame (a server never masks, and an
    /// idle connection should not carry 256 bytes it does not use).
    keys: Option<Box<[u8; 4 * KEYS_PER_DRAW]>>,
    next_key: usize,
    /// The compressor's output buffer (boxed: only compressing connections have one).
    scratch: Option<Box<BytesMut>>,
}

impl Encoder {
    /// An encoder for `cfg.role`, compressing per `cfg.deflate`.
    pub fn new(cfg: &Config) -> Self {
        let deflate = cfg.deflate.and_then(|p| {
            let (bits, reset) = match cfg.role {
                Role::Server => (p.server_max_window_bits, p.server_no_context_takeover),
                Role::Client => (p.client_max_window_bits, p.client_no_context_takeover),
            };
            send_window_bits(bits).map(|bits| (cfg.deflate_level, bits, reset))
        });
        Self {
            role: cfg.role,
            deflate,
            deflater: None,
            threshold: cfg.deflate_threshold,
            fragment_compressed: false,
            keys: None,
            next_key: KEYS_PER_DRAW,
            scratch: None,
        }
    }

    /// A text message in one frame (the caller guarantees UTF-8), compressed if deflate
    /// is on and `payload.len() >= deflate_threshold`.
    pub fn text(&mut self, payload: &[u8], out: &mut BytesMut) {
        self.message(OpCode::Text, payload, out);
    }

    /// A binary message in one frame, compressed like [`Encoder::text`].
    pub fn binary(&mut self, payload: &[u8], out: &mut BytesMut) {
        self.message(OpCode::Binary, payload, out);
    }

    /// One fragment of a streamed message: `first` on the first (which carries the
    /// `text` opcode; `text` is ignored on later ones), `fin` on the last. Control frames
    /// may be sent between fragments, data messages may not.
    pub fn fragment(&mut self, first: bool, fin: bool, text: bool, payload: &[u8], out: &mut BytesMut) {
        let opcode = match (first, text) {
            (false, _) => OpCode::Continuation,
            (true, true) => OpCode::Text,
            (true, false) => OpCode::Binary,
        };
        if first {
            self.fragment_compressed = self.deflate.is_some();
        }
        if self.fragment_compressed {
            let z = self.compress(payload, fin);
            // RFC 7692 §6.1: RSV1 on the first frame of a compressed message only.
            self.frame(fin, first, opcode, &z, out);
            self.restore(z);
        } else {
            self.frame(fin, false, opcode, payload, out);
        }
    }

    /// A ping. Payloads over 125 bytes are refused (nothing written).
    pub fn ping(&mut self, payload: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
        self.control(OpCode::Ping, payload, out)
    }

    /// A pong (the answer to a ping carries the ping's payload). Over 125 bytes: refused.
    pub fn pong(&mut self, payload: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
        self.control(OpCode::Pong, payload, out)
    }

    /// A Close frame: empty for `None`, else the code and `reason` truncated on a char
    /// boundary to fit the 123 bytes left by the code (§5.5.1). The code is not checked
    /// (a driver echoing a peer's close sends a code the decoder already validated).
    pub fn close(&mut self, code: Option<u16>, reason: &str, out: &mut BytesMut) {
        let mut payload = [0u8; 125];
        let len = match code {
            None => 0,
            Some(code) => {
                let mut end = reason.len().min(123);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                payload[..2].copy_from_slice(&code.to_be_bytes());
                payload[2..2 + end].copy_from_slice(&reason.as_bytes()[..end]);
                2 + end
            }
        };
        self.frame(true, false, OpCode::Close, &payload[..len], out);
    }

    fn control(&mut self, opcode: OpCode, payload: &[u8], out: &mut BytesMut) -> Result<(), EncodeError> {
        if payload.len() > 125 {
            return Err(EncodeError::ControlTooLong(payload.len()));
        }
        self.frame(true, false, opcode, payload, out);
        Ok(())
    }

    fn message(&mut self, opcode: OpCode, payload: &[u8], out: &mut BytesMut) {
        if self.deflate.is_some() && payload.len() >= self.threshold {
            let z = self.compress(payload, true);
            self.frame(true, true, opcode, &z, out);
            self.restore(z);
        } else {
            self.frame(true, false, opcode, payload, out);
        }
    }

    /// Compresses into the (taken) scratch buffer; the caller puts it back.
    fn compress(&mut self, payload: &[u8], fin: bool) -> BytesMut {
        let mut z = self.scratch.take().map(|b| *b).unwrap_or_default();
        z.clear();
        let (level, bits, reset) = self.deflate.expect("callers check deflate");
        let d = self.deflater.get_or_insert_with(|| Box::new(Deflater::new(level, bits, reset)));
        d.compress_fragment(payload, fin, &mut z);
        z
    }

    /// Keeps the scratch buffer for the next message unless one big message grew it: an
    /// idle connection should not hold on to megabytes.
    fn restore(&mut self, z: BytesMut) {
        if z.capacity() <= 64 << 10 {
            self.scratch = Some(Box::new(z));
        }
    }

    fn frame(&mut self, fin: bool, rsv1: bool, opcode: OpCode, payload: &[u8], out: &mut BytesMut) {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => Some(self.mask_key()),
        };
        out.reserve(14 + payload.len());
        encode_header(out, fin, rsv1, opcode, mask, payload.len());
        let at = out.len();
        out.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut out[at..], key, 0);
        }
    }

    fn mask_key(&mut self) -> [u8; 4] {
        if self.next_key == KEYS_PER_DRAW {
            // Without an OS entropy source there is no safe way to mask (§10.3).
            let keys = self.keys.get_or_insert_with(|| Box::new([0; 4 * KEYS_PER_DRAW]));
            getrandom::fill(&mut keys[..]).expect("OS random source unavailable for WebSocket masking keys");
            self.next_key = 0;
        }
        let i = self.next_key * 4;
        self.next_key += 1;
        let keys = self.keys.as_deref().expect("drawn above");
        [keys[i], keys[i + 1], keys[i + 2], keys[i + 3]]
    }
}

thread_local! {
    /// One reset-after-use compressor per thread for [`shared_frame`], so a publish does
    /// not allocate a zlib state (about 256 KiB at 15 bits) every time.
    static SHARED: RefCell<Option<(u32, u8, Deflater)>> = const { RefCell::new(None) };
}

/// Server role only: one frame that can be sent as-is on many connections (pub/sub
/// fan-out). With `deflate = Some((level, window_bits))` the payload is compressed from a
/// fresh context, which every peer can decode because our server always negotiates
/// `server_no_context_takeover`; `window_bits` is the smallest `server_max_window_bits`
/// among the receivers (8 → sent uncompressed, see [`super::deflate`]).
///
/// Deviation from the spec sketch: there is no threshold parameter, so the caller applies
/// its `deflate_threshold` by passing `None` for short payloads.
pub fn shared_frame(text: bool, payload: &[u8], deflate: Option<(u32, u8)>) -> Bytes {
    let Some((level, bits)) = deflate.and_then(|(l, b)| send_window_bits(b).map(|b| (l, b))) else {
        return shared_frame_plain(text, payload);
    };
    let mut z = BytesMut::new();
    SHARED.with(|cell| {
        let mut cell = cell.borrow_mut();
        match &mut *cell {
            Some((l, b, d)) if *l == level && *b == bits => d.compress(payload, &mut z),
            slot => {
                let mut d = Deflater::new(level, bits, true);
                d.compress(payload, &mut z);
                *slot = Some((level, bits, d));
            }
        }
    });
    let mut out = BytesMut::with_capacity(10 + z.len());
    encode_header(&mut out, true, true, data_opcode(text), None, z.len());
    out.extend_from_slice(&z);
    out.freeze()
}

/// Server role only: the uncompressed counterpart of [`shared_frame`] (a publish to a mix
/// of deflate and non-deflate subscribers needs both).
pub fn shared_frame_plain(text: bool, payload: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(10 + payload.len());
    encode_header(&mut out, true, false, data_opcode(text), None, payload.len());
    out.extend_from_slice(payload);
    out.freeze()
}

fn data_opcode(text: bool) -> OpCode {
    if text {
        OpCode::Text
    } else {
        OpCode::Binary
    }
}
