//! Sans-IO Redis codec: RESP2 and RESP3 replies in, a compact binary *tape* out.
//!
//! This crate contains no networking code. A connection owns one [`Decoder`] and calls
//! [`Decoder::feed`] with every socket read, however the bytes are chunked; each call
//! appends the tape of every top-level reply it completed to a caller-owned `Vec<u8>`.
//! Commands go the other way through [`encode_command`].
//!
//! The tape is what the TypeScript side reads: every value is a tag byte ([`tape`]) and a
//! body with fixed-width little-endian lengths, counts, integers and doubles, so it needs
//! no CRLF scans and no decimal parsing.
//!
//! | tag | RESP | body |
//! |---|---|---|
//! | 1 `SIMPLE` | `+` | u32 len, bytes |
//! | 2 `ERROR` | `-` | u32 len, bytes |
//! | 3 `INT` | `:` | i64 |
//! | 4 `BULK` | `$`, streamed `$?` + `;n` chunks | u32 len, bytes |
//! | 5 `NULL` | `$-1`, `*-1`, `_` | — |
//! | 6 `ARRAY` | `*`, `*?` … `.` | u32 count, values |
//! | 7 `MAP` | `%`, `%?` … `.` | u32 pair count, key, value, key, value … |
//! | 8 `SET` | `~`, `~?` … `.` | u32 count, values |
//! | 9 `PUSH` | `>` | u32 count, values |
//! | 10 `DOUBLE` | `,` | f64 |
//! | 11 `BOOL` | `#t` / `#f` | u8 1 / 0 |
//! | 12 `BIGNUM` | `(` | u32 len, ASCII digits (optional leading `-`) |
//! | 13 `VERBATIM` | `=` | u32 len of the content, 3 format bytes, content |
//! | 14 `BLOBERR` | `!` | u32 len, bytes |
//! | 15 `ATTR` | `\|` | u32 pair count, pairs; then the annotated value |
//!
//! An attribute and the value it annotates form one reply (inside an aggregate they count
//! as one element). Errors ([`RespError`]) carry a stable [`RespError::code`]; after one
//! the decoder is poisoned.
#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod decode;
mod encode;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod tape;
#[cfg(test)]
mod tests;

pub use decode::{Decoder, Limits};
pub use encode::encode_command;
pub use error::RespError;
