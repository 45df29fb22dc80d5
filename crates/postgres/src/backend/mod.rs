//! The backend side: an incremental [`Decoder`] turning server bytes into [`Message`]s.
//!
//! # Theory of operation
//!
//! Every backend message after the SSLRequest reply is framed the same way: a type byte,
//! a big-endian `i32` length that counts itself but not the type byte, then the body.
//! The decoder appends whatever the socket produced to one buffer ([`Decoder::feed`]) and
//! [`Decoder::next`] cuts whole messages off its front, returning them as [`Message`]s
//! that borrow the buffer (no copy of row data). As soon as a header's five bytes are
//! buffered its type byte and length are checked, so an oversized or unknown message is
//! refused before its body is waited for. Every check depends on the byte stream alone,
//! never on how it was split, so any chunking yields the same messages and the same error.
//! After an error the decoder is poisoned: every later call returns that error.
//!
//! The reply to an SSLRequest is a single unframed byte, read with [`ssl_response`]
//! before any bytes reach the decoder. A driver must then check [`Decoder::buffered`] is
//! zero before the TLS handshake: bytes that arrived with the `S` were not protected by
//! TLS (CVE-2021-23222) and must be refused.

mod message;

pub use message::{CopyResponse, DataRow, DataRowIter, ErrorFields, Field, Message, RowDescription, TransactionStatus};

use crate::error::PgProtocolError;

/// Decoder limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, counting its 4 length bytes but not its type byte (default
    /// 1 GiB − 1, PostgreSQL's own `MaxAllocSize`; capped at `i32::MAX`).
    pub max_message: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_message: (1 << 30) - 1 }
    }
}

/// Incremental decoder of backend messages: bytes in with [`feed`](Decoder::feed), any
/// chunking; messages out with [`next`](Decoder::next).
#[derive(Debug, Default)]
pub struct Decoder {
    limits: Limits,
    buf: Vec<u8>,
    /// Start of the first unread byte in `buf`.
    pos: usize,
    error: Option<PgProtocolError>,
}

impl Decoder {
    /// A decoder with these limits.
    pub fn new(limits: Limits) -> Self {
        let limits = Limits { max_message: limits.max_message.min(i32::MAX as usize) };
        Decoder { limits, buf: Vec::new(), pos: 0, error: None }
    }

    /// Appends bytes read from the server.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.error.is_some() {
            return;
        }
        // Drop what earlier messages used, now that no Message borrows it any more.
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        } else if self.pos > 0 && (self.pos >= self.buf.len() / 2 || self.buf.len() + bytes.len() > self.buf.capacity())
        {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered and not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The next complete message, `Ok(None)` if more bytes are needed. On an error the
    /// decoder is poisoned and returns it again on every later call.
    #[allow(clippy::should_implement_trait)] // it lends from self; Iterator cannot
    pub fn next(&mut self) -> Result<Option<Message<'_>>, PgProtocolError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let avail = &self.buf[self.pos..];
        let Some(&[tag, a, b, c, d]) = avail.get(..5) else {
            if let Some(&tag) = avail.first() {
                if let Err(e) = message::check_tag(tag) {
                    return Err(self.poison(e));
                }
            }
            return Ok(None);
        };
        let len = i32::from_be_bytes([a, b, c, d]);
        if let Err(e) = self.check_header(tag, len) {
            return Err(self.poison(e));
        }
        let total = 1 + len as usize;
        if avail.len() < total {
            return Ok(None);
        }
        let start = self.pos + 5;
        let end = self.pos + total;
        self.pos = end;
        // Field-disjoint borrows: the message borrows `buf` while an error poisons `error`.
        let error = &mut self.error;
        message::parse(tag, &self.buf[start..end]).map(Some).inspect_err(|e| *error = Some(e.clone()))
    }

    fn check_header(&self, tag: u8, len: i32) -> Result<(), PgProtocolError> {
        message::check_tag(tag)?;
        if len < 4 {
            return Err(PgProtocolError::BadLength { tag: tag as char, len });
        }
        if len as usize > self.limits.max_message {
            return Err(PgProtocolError::MessageTooLarge {
                tag: tag as char,
                len: len as u64,
                max: self.limits.max_message,
            });
        }
        Ok(())
    }

    fn poison(&mut self, e: PgProtocolError) -> PgProtocolError {
        self.error = Some(e.clone());
        self.buf = Vec::new();
        self.pos = 0;
        e
    }
}

/// What the server answered to an SSLRequest (or a GSSENCRequest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslResponse {
    /// `S`: start the TLS handshake now.
    Accepted,
    /// `N`: the server will not use TLS; continue in plaintext (or give up).
    Refused,
}

/// Reads the single-byte reply to an SSLRequest. Anything but `S` or `N` (an old server
/// answers with an ErrorResponse, starting with `E`) is an error.
pub fn ssl_response(byte: u8) -> Result<SslResponse, PgProtocolError> {
    match byte {
        b'S' => Ok(SslResponse::Accepted),
        b'N' => Ok(SslResponse::Refused),
        b => Err(PgProtocolError::BadSslResponse(b)),
    }
}

#[cfg(test)]
mod tests;
