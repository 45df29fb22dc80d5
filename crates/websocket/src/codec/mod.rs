//! The WebSocket codec: frames in, messages out ([`Decoder`]); messages in, frames out
//! ([`Encoder`]). No I/O, no clocks, no tasks.
//!
//! # Theory of operation
//!
//! A connection owns one [`Decoder`] and one [`Encoder`], both built from the same
//! [`Config`] once the opening handshake is done (role and negotiated permessage-deflate
//! parameters). The driver appends socket reads to a `BytesMut` and calls
//! [`Decoder::decode`] until it returns `Ok(None)` ("need more bytes"); each `Some` is a
//! whole data message or a control frame. Writes go through the [`Encoder`] methods,
//! which append complete frames to a caller-owned `BytesMut`.
//!
//! The receive side is a small state machine (in `decode.rs`): *idle* (no data message
//! open), *assembling* (a fragmented or compressed message is being collected, with its
//! incremental UTF-8 validator and the inflater), and the terminal states *closed* (a
//! Close frame was returned: later calls return `Ok(None)`) and *failed* (an error was
//! returned: later calls return the same error). Control frames may arrive between the
//! fragments of a message and are returned as soon as they are complete, without
//! disturbing the message being assembled.
//!
//! Every check that can be done from a frame header is done before its payload is
//! buffered, so a peer announcing a 2^62-byte frame is rejected at once (1009) instead
//! of making us wait for, or allocate, its payload. An unfragmented uncompressed frame is
//! returned without copying: its payload is split off the receive buffer and unmasked in
//! place.
//!
//! Text is validated as it arrives (Autobahn 6.4.x "fail fast"): per fragment, after
//! inflating, and for uncompressed text even within a frame that is still incomplete
//! (its received bytes are unmasked in place and fed to the validator once; the decoder
//! remembers how far it got, so the caller must keep passing the same buffer).
//!
//! Errors carry the close code RFC 6455 §7.4.1 assigns: 1002 (protocol error), 1007
//! (invalid payload data: bad UTF-8, bad compressed data) or 1009 (message too big). The
//! driver should send a Close with that code and close the connection (§7.1.7).
//!
//! Submodules: [`frame`] (header wire format), [`mask`], [`utf8`] (fail-fast
//! incremental validation), [`deflate`] (RFC 7692), [`handshake`] (accept key,
//! subprotocols).

mod decode;
pub mod deflate;
mod encode;
pub mod frame;
pub mod handshake;
pub mod mask;
pub mod utf8;

use bytes::Bytes;

pub use decode::Decoder;
pub use deflate::DeflateParams;
pub use encode::{shared_frame, shared_frame_plain, EncodeError, Encoder};
pub use frame::OpCode;
pub use handshake::HandshakeError;

/// Which end of the connection this codec is. Decides masking (RFC 6455 §5.1): a client
/// masks every frame it sends and the server requires that; a server never masks and the
/// client requires that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Accepted the connection; receives masked frames, sends unmasked ones.
    Server,
    /// Opened the connection; sends masked frames, receives unmasked ones.
    Client,
}

/// Size limits of the receive side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame payload accepted, as announced in its header (default 16 MiB).
    pub max_frame: usize,
    /// Largest message accepted, after decompression (default 64 MiB).
    pub max_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_frame: 16 << 20, max_message: 64 << 20 }
    }
}

/// Everything a [`Decoder`] and [`Encoder`] need to know about their connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Our end of the connection.
    pub role: Role,
    /// Receive limits.
    pub limits: Limits,
    /// The negotiated permessage-deflate parameters; `None` = not negotiated.
    pub deflate: Option<DeflateParams>,
    /// zlib level (0..=9) for messages we send (see [`deflate::DeflateConfig::level`]).
    pub deflate_level: u32,
    /// Messages we send shorter than this go uncompressed.
    pub deflate_threshold: usize,
}

impl Config {
    /// Default limits, no deflate (level 6, threshold 1024 if it is set later).
    pub fn new(role: Role) -> Self {
        let d = deflate::DeflateConfig::default();
        Self { role, limits: Limits::default(), deflate: None, deflate_level: d.level, deflate_threshold: d.threshold }
    }
}

/// A whole message, or a control frame, received from the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message; the bytes are valid UTF-8 (checked, so `from_utf8_unchecked` is
    /// sound on them).
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping; the driver should answer with a pong carrying the same payload (§5.5.2).
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// The peer's Close frame; `None` = it carried no status code. The driver should echo
    /// a Close (§5.5.1). The decoder returns nothing after it.
    Close(Option<CloseFrame>),
}

/// Status code and reason of a Close frame (RFC 6455 §5.5.1, §7.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Status code, valid per [`valid_close_code`].
    pub code: u16,
    /// UTF-8 reason, at most 123 bytes.
    pub reason: String,
}

/// The peer broke RFC 6455 (or our limits): fail the connection with Close `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("websocket protocol error {code}: {reason}")]
pub struct ProtocolError {
    /// Close code to send: 1002 protocol error, 1007 invalid data, 1009 too big.
    pub code: u16,
    /// What was wrong, for logs.
    pub reason: &'static str,
}

impl ProtocolError {
    pub(crate) const fn new(code: u16, reason: &'static str) -> Self {
        Self { code, reason }
    }
}

/// Whether a peer may send `code` in a Close frame (RFC 6455 §7.4.1/§7.4.2, IANA
/// registry; Autobahn 7.7.x/7.9.x): 1000-1003, 1007-1014, 3000-4999. 1004-1006 and 1015
/// are reserved or "must not be sent"; 0-999 and 5000+ are invalid; 1016-2999 are
/// reserved for future RFCs.
pub fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

#[cfg(test)]
mod tests;
