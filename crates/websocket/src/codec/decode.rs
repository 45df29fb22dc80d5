//! The receive side: wire frames to messages. See the theory of operation in `mod.rs`.
//!
//! All transitions are in [`Decoder::decode`] and its helpers below:
//!
//! | state        | frame                      | next                                    |
//! |--------------|----------------------------|-----------------------------------------|
//! | idle         | Text/Binary FIN, plain     | idle, message returned (zero-copy)      |
//! | idle         | Text/Binary otherwise      | assembling                              |
//! | assembling   | Continuation               | assembling, or idle + message on FIN    |
//! | idle/assembl.| Ping/Pong                  | unchanged, frame returned               |
//! | any          | Close                      | closed, `Message::Close` returned       |
//! | idle         | Continuation               | failed 1002                             |
//! | assembling   | Text/Binary                | failed 1002                             |
//! | any          | rule broken                | failed with the rule's code             |

use bytes::{Buf, BytesMut};

use super::deflate::{InflateError, Inflater};
use super::frame::{parse_header, FrameHeader, OpCode};
use super::mask::apply_mask;
use super::utf8::Utf8Validator;
use super::{valid_close_code, CloseFrame, Config, Limits, Message, ProtocolError, Role};

/// A data message being assembled from several frames, or inflated.
#[derive(Debug)]
struct Partial {
    text: bool,
    /// RSV1 was set on the first frame (RFC 7692 §6: the whole message is compressed).
    compressed: bool,
    data: BytesMut,
    utf8: Utf8Validator,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    Closed,
    /// Boxed: rare, and every idle connection carries the state.
    Failed(Box<ProtocolError>),
}

/// Decodes the frames of one connection into messages; see the module docs of
/// [`crate::codec`].
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    limits: Limits,
    /// Present iff permessage-deflate was negotiated: whether the peer resets its
    /// compressor after every message (its no_context_takeover), so we may too.
    inflate: Option<bool>,
    /// Created with the first compressed message (a zlib inflate state is ~40 KiB);
    /// boxed, like the message being assembled, so an idle connection carries a pointer.
    inflater: Option<Box<Inflater>>,
    partial: Option<Box<Partial>>,
    state: State,
    /// Payload bytes of the text frame at the front of the buffer that were already
    /// unmasked in place and validated while the frame was incomplete (Autobahn 6.4.3/6.4.4:
    /// fail fast even within a frame). Relies on the caller passing the same buffer again.
    unmasked: usize,
    /// UTF-8 state of the first frame of a text message, until that frame is complete
    /// (then it moves into `Partial`, or the message is returned).
    frame_utf8: Utf8Validator,
}

impl Decoder {
    /// A decoder for `cfg.role` (which decides which masking is required) that accepts
    /// compressed messages iff `cfg.deflate` is set.
    pub fn new(cfg: &Config) -> Self {
        let inflate = cfg.deflate.map(|p| match cfg.role {
            Role::Server => p.client_no_context_takeover,
            Role::Client => p.server_no_context_takeover,
        });
        Self {
            role: cfg.role,
            limits: cfg.limits,
            inflate,
            inflater: None,
            partial: None,
            state: State::Open,
            unmasked: 0,
            frame_utf8: Utf8Validator::new(),
        }
    }

    /// Parses the next complete message (or control frame) out of `buf`, consuming what
    /// it used. `Ok(None)` = need more bytes. Control frames interleaved within a
    /// fragmented message are returned as soon as they are complete. After an error or a
    /// Close, further calls return the same error / `Ok(None)`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, ProtocolError> {
        match &self.state {
            State::Open => {}
            State::Closed => return Ok(None),
            State::Failed(e) => return Err(**e),
        }
        match self.step(buf) {
            Err(e) => {
                self.state = State::Failed(Box::new(e));
                self.partial = None;
                Err(e)
            }
            Ok(Some(Message::Close(c))) => {
                self.state = State::Closed;
                self.partial = None;
                Ok(Some(Message::Close(c)))
            }
            r => r,
        }
    }

    /// How many more bytes complete the frame at the front of `buf`, once its header is
    /// there and was accepted (0 otherwise): a reader may make room for them at once.
    pub fn frame_remaining(&self, buf: &[u8]) -> usize {
        if !matches!(self.state, State::Open) {
            return 0;
        }
        match parse_header(buf) {
            Ok(Some(h)) if self.check(&h).is_ok() => {
                // check() bounded payload_len by max_frame, a usize.
                (h.header_len + h.payload_len as usize).saturating_sub(buf.len())
            }
            _ => 0,
        }
    }

    /// Bytes of the message being assembled (for memory accounting).
    pub fn pending(&self) -> usize {
        self.partial.as_ref().map_or(0, |p| p.data.len())
    }

    fn step(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, ProtocolError> {
        loop {
            let Some(h) = parse_header(buf)? else { return Ok(None) };
            self.check(&h)?;
            // check() bounded payload_len by max_frame, a usize.
            let len = h.payload_len as usize;
            let avail = buf.len() - h.header_len;
            if avail < len {
                // Validate the text received so far, so that invalid UTF-8 fails before the
                // frame (possibly megabytes) is complete.
                let done = self.unmasked;
                if avail > done {
                    if let Some(utf8) = self.plain_text_validator(&h) {
                        let seen = &mut buf[h.header_len + done..h.header_len + avail];
                        if let Some(key) = h.mask {
                            apply_mask(seen, key, done);
                        }
                        utf8.feed(seen).map_err(|()| BAD_UTF8)?;
                        self.unmasked = avail;
                    }
                }
                return Ok(None);
            }
            buf.advance(h.header_len);
            let mut payload = buf.split_to(len);
            let done = std::mem::take(&mut self.unmasked);
            if let Some(key) = h.mask {
                apply_mask(&mut payload[done..], key, done);
            }
            match h.opcode {
                OpCode::Ping => return Ok(Some(Message::Ping(payload.freeze()))),
                OpCode::Pong => return Ok(Some(Message::Pong(payload.freeze()))),
                OpCode::Close => return close(&payload).map(Some),
                OpCode::Text | OpCode::Binary => {
                    let text = h.opcode == OpCode::Text;
                    let mut utf8 = std::mem::take(&mut self.frame_utf8);
                    if text && !h.rsv1 {
                        utf8.feed(&payload[done..]).map_err(|()| BAD_UTF8)?;
                    }
                    if h.fin && !h.rsv1 {
                        // The common case: zero-copy.
                        if text {
                            utf8.finish().map_err(|()| BAD_UTF8)?;
                        }
                        return Ok(Some(data_message(text, payload)));
                    }
                    self.partial = Some(Box::new(Partial { text, compressed: h.rsv1, data: BytesMut::new(), utf8 }));
                    if let Some(m) = self.fragment(&payload, h.fin, payload.len())? {
                        return Ok(Some(m));
                    }
                    continue;
                }
                OpCode::Continuation => {}
            }
            if let Some(m) = self.fragment(&payload, h.fin, done)? {
                return Ok(Some(m));
            }
        }
    }

    /// The validator for the front frame's payload if it is uncompressed text.
    fn plain_text_validator(&mut self, h: &FrameHeader) -> Option<&mut Utf8Validator> {
        match (h.opcode, &mut self.partial) {
            (OpCode::Text, _) if !h.rsv1 => Some(&mut self.frame_utf8),
            (OpCode::Continuation, Some(p)) if p.text && !p.compressed => Some(&mut p.utf8),
            _ => None,
        }
    }

    /// Every rule that can be checked from the header alone, before buffering the payload.
    fn check(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        let err = |code, reason| Err(ProtocolError::new(code, reason));
        // Autobahn 3.x: reserved bits. RSV1 means "compressed" (RFC 7692 §6) only on the
        // first frame of a data message and only with permessage-deflate.
        if h.rsv2 || h.rsv3 {
            return err(1002, "reserved bit RSV2/RSV3 set");
        }
        if h.rsv1 && (self.inflate.is_none() || !matches!(h.opcode, OpCode::Text | OpCode::Binary)) {
            return err(1002, "reserved bit RSV1 set");
        }
        // §5.1: clients mask, servers do not.
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return err(1002, "unmasked frame from a client"),
            (Role::Client, true) => return err(1002, "masked frame from a server"),
            _ => {}
        }
        // Autobahn 2.x / 5.x: control frames are short and never fragmented (§5.5).
        if h.opcode.is_control() {
            if !h.fin {
                return err(1002, "fragmented control frame");
            }
            if h.payload_len > 125 {
                return err(1002, "control frame payload over 125 bytes");
            }
            return Ok(());
        }
        // Autobahn 5.x: fragmentation order (§5.4).
        let compressed = match (h.opcode, &self.partial) {
            (OpCode::Continuation, None) => return err(1002, "continuation frame without a message"),
            (OpCode::Continuation, Some(p)) => p.compressed,
            (_, Some(_)) => return err(1002, "new data message before the previous one ended"),
            (_, None) => h.rsv1,
        };
        // Autobahn 9.x: limits, from the header. A compressed frame's size says nothing
        // of its message's: the inflater enforces max_message on the output.
        if h.payload_len > self.limits.max_frame as u64 {
            return err(1009, "frame too big");
        }
        if !compressed && self.pending() as u64 + h.payload_len > self.limits.max_message as u64 {
            return err(1009, "message too big");
        }
        Ok(())
    }

    /// Adds one frame's payload to the message being assembled; returns it on FIN. Text is
    /// validated per fragment, after inflating (Autobahn 6.4.x fail fast), except the
    /// first `validated` bytes of an uncompressed payload, which were checked already.
    fn fragment(&mut self, payload: &[u8], fin: bool, validated: usize) -> Result<Option<Message>, ProtocolError> {
        let p = self.partial.as_mut().expect("check() guarantees an open message");
        let start = p.data.len();
        if p.compressed {
            let nct = self.inflate.expect("check() guarantees deflate for RSV1");
            let inflater = self.inflater.get_or_insert_with(|| Box::new(Inflater::new(nct)));
            let limit = self.limits.max_message - start;
            inflater.decompress(payload, fin, &mut p.data, limit).map_err(|e| match e {
                InflateError::TooBig => ProtocolError::new(1009, "message too big"),
                InflateError::BadData => ProtocolError::new(1007, "invalid compressed data"),
            })?;
        } else {
            p.data.extend_from_slice(payload);
        }
        if p.text {
            let skip = if p.compressed { 0 } else { validated };
            p.utf8.feed(&p.data[start + skip..]).map_err(|()| BAD_UTF8)?;
        }
        if !fin {
            return Ok(None);
        }
        let p = self.partial.take().expect("checked above");
        if p.text {
            let mut utf8 = p.utf8;
            utf8.finish().map_err(|()| BAD_UTF8)?;
        }
        Ok(Some(data_message(p.text, p.data)))
    }
}

const BAD_UTF8: ProtocolError = ProtocolError::new(1007, "invalid UTF-8 in text message");

fn data_message(text: bool, data: BytesMut) -> Message {
    if text {
        Message::Text(data.freeze())
    } else {
        Message::Binary(data.freeze())
    }
}

/// Autobahn 7.x: a Close payload is empty, or a valid 2-byte code plus a UTF-8 reason.
fn close(payload: &[u8]) -> Result<Message, ProtocolError> {
    match payload {
        [] => Ok(Message::Close(None)),
        [_] => Err(ProtocolError::new(1002, "close payload of 1 byte")),
        [a, b, reason @ ..] => {
            let code = u16::from_be_bytes([*a, *b]);
            if !valid_close_code(code) {
                return Err(ProtocolError::new(1002, "invalid close code"));
            }
            let reason =
                std::str::from_utf8(reason).map_err(|_| ProtocolError::new(1007, "invalid UTF-8 in close reason"))?;
            Ok(Message::Close(Some(CloseFrame { code, reason: reason.to_owned() })))
        }
    }
}
