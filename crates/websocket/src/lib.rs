//! Sans-IO WebSocket codec (RFC 6455) with permessage-deflate (RFC 7692).
//!
//! This crate contains no networking code: bytes go in through a caller-owned
//! [`bytes::BytesMut`] ([`codec::Decoder::decode`]), whole messages and control frames come
//! out, and every encoder appends to a caller-owned `BytesMut` ([`codec::Encoder`]). The
//! opening handshake is HTTP and belongs to the HTTP layer; [`codec::handshake`] and
//! [`codec::deflate`] only provide the pure string functions it needs (accept key,
//! subprotocol list, extension negotiation).
//!
//! Every rule of RFC 6455 the decoder enforces maps to the close code the RFC assigns
//! ([`codec::ProtocolError::code`]: 1002, 1007 or 1009), so a driver can answer any error
//! with a Close frame and drop the connection.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

/// Re-export: [`bytes::BytesMut`] is the buffer type of this API.
pub use bytes;

pub mod codec;
#[cfg(feature = "tokio")]
pub mod driver;
#[doc(hidden)]
pub mod fuzzing;
