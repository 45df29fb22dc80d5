//! The decoder's error: malformed input ([`RespError::code`] `ERR_REDIS_PROTOCOL`) or a
//! configured limit exceeded (`ERR_REDIS_LIMIT`).

/// Why [`Decoder::feed`](crate::Decoder::feed) failed. The decoder is poisoned afterwards:
/// every later call returns the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RespError {
    /// A reply started with a byte that is not a RESP type (inline replies do not exist
    /// from server to client).
    #[error("invalid RESP type byte 0x{0:02x}")]
    BadType(u8),
    /// A line did not end with `\r\n` (a bare `\n`), or a payload was not followed by `\r\n`.
    #[error("missing CRLF {0}")]
    MissingCrlf(&'static str),
    /// A length or count that is not `-1` or a plain non-negative decimal (or `?` where
    /// streaming is allowed).
    #[error("invalid length {0:?} after '{1}'")]
    BadLength(String, char),
    /// An integer reply that is not a decimal fitting in an i64.
    #[error("invalid integer {0:?} (must be a decimal i64)")]
    BadInteger(String),
    /// A boolean other than `#t` / `#f`.
    #[error("invalid boolean {0:?} (must be t or f)")]
    BadBoolean(String),
    /// A double that does not parse (decimal with optional exponent, `inf`, `-inf`, `nan`).
    #[error("invalid double {0:?}")]
    BadDouble(String),
    /// A big number other than ASCII digits with an optional leading `-`.
    #[error("invalid big number {0:?}")]
    BadBignum(String),
    /// A null (`_`) with something before its CRLF.
    #[error("invalid null {0:?} (must be empty)")]
    BadNull(String),
    /// A verbatim string shorter than 4 bytes or without the `xxx:` format prefix.
    #[error("verbatim string without its 3-byte format and ':' prefix")]
    BadVerbatim,
    /// A streamed string (`$?`) was continued with something other than a `;` chunk, or
    /// a `;` chunk arrived outside a streamed string.
    #[error("streamed string: {0}")]
    StreamedString(&'static str),
    /// An end marker (`.`) outside a streamed aggregate, or one that is not `.\r\n`.
    #[error("unexpected end marker: {0}")]
    BadEnd(&'static str),
    /// A streamed map or attribute ended after a key, without its value.
    #[error("streamed map ended with an odd number of elements ({0})")]
    OddMap(usize),
    /// An attribute was not followed by the value it annotates.
    #[error("attribute not followed by a value")]
    AttributeWithoutValue,
    /// A bulk string, blob error, verbatim string or streamed string longer than
    /// [`Limits::max_bulk`](crate::Limits::max_bulk).
    #[error("bulk of {len} bytes exceeds the limit of {max}")]
    BulkTooLarge {
        /// Announced (or, for a streamed string, accumulated) length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// An aggregate with more elements than [`Limits::max_elements`](crate::Limits::max_elements)
    /// (map and attribute pairs count as two elements).
    #[error("aggregate of {count} elements exceeds the limit of {max}")]
    TooManyElements {
        /// Announced (or, for a streamed aggregate, reached) element count.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// Aggregates (attributes included) nested deeper than [`Limits::max_depth`](crate::Limits::max_depth).
    #[error("aggregates nested deeper than the limit of {0}")]
    TooDeep(usize),
    /// A simple string, error, number or header line longer than
    /// [`Limits::max_line`](crate::Limits::max_line) (without its CRLF).
    #[error("line longer than the limit of {0} bytes")]
    LineTooLong(usize),
}

impl RespError {
    /// Stable error code: `ERR_REDIS_LIMIT` for a limit exceeded, `ERR_REDIS_PROTOCOL`
    /// for malformed input.
    pub fn code(&self) -> &'static str {
        if self.is_limit() {
            "ERR_REDIS_LIMIT"
        } else {
            "ERR_REDIS_PROTOCOL"
        }
    }

    /// Whether a configured limit (rather than malformed input) caused this error.
    pub fn is_limit(&self) -> bool {
        matches!(
            self,
            RespError::BulkTooLarge { .. }
                | RespError::TooManyElements { .. }
                | RespError::TooDeep(_)
                | RespError::LineTooLong(_)
        )
    }
}

/// The offending bytes for an error message, shortened.
pub(crate) fn shown(b: &[u8]) -> String {
    const MAX: usize = 64;
    let mut s = String::from_utf8_lossy(&b[..b.len().min(MAX)]).into_owned();
    if b.len() > MAX {
        s.push('…');
    }
    s
}
