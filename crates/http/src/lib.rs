//! Sans-IO HTTP/1.1 codec (RFC 9110 / RFC 9112), shared by the iocrate server and client.
//!
//! This crate contains no networking code: bytes go in through a caller-owned
//! [`bytes::BytesMut`], events come out of [`Connection::poll_event`], and every
//! encoder appends to a caller-owned `Vec<u8>`. Time is not needed at this layer;
//! timeouts belong to the driver.
//!
//! The parser is deliberately stricter than the RFC's "MAY accept" clauses so that
//! this codec never disagrees with another hop about where a message ends
//! (request smuggling): see [`Error`] for every rejected construct and the status a
//! server should answer with. After any [`Error`] the connection must be closed
//! ([`Connection::must_close`]).
#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod body;
#[cfg(feature = "tokio")]
pub mod client;
pub mod compress;
mod conn;
#[cfg(feature = "tokio")]
pub mod driver;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod head;
mod headers;
mod limits;

pub use body::{BodyDecoder, BodyEncoder, Decoded};
/// Re-export: [`bytes::BytesMut`] is the input buffer type of this API.
pub use bytes;
pub use conn::{Client, Connection, Event, Framing, Role, Server};

pub use error::{Error, WriteError};
pub use head::{parse_request, parse_response, reason as reason_phrase, Request, RequestTarget, Response, Version};
pub use headers::Headers;
pub use limits::Limits;
