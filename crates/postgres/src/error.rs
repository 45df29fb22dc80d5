//! The decoding error shared by the backend decoder and the row tape: malformed input
//! ([`PgProtocolError::code`] `ERR_PG_PROTOCOL`), a configured limit exceeded
//! (`ERR_PG_LIMIT`), or an authentication method this client does not implement
//! (`ERR_PG_AUTH_UNSUPPORTED`).

/// Why decoding backend bytes failed. A [`Decoder`](crate::backend::Decoder) is poisoned
/// afterwards: every later call returns the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PgProtocolError {
    /// A message length below 4 (the length counts itself).
    #[error("message '{tag}' has an invalid length {len}")]
    BadLength {
        /// The message type byte, as a char.
        tag: char,
        /// The announced length.
        len: i32,
    },
    /// A message longer than [`Limits::max_message`](crate::backend::Limits::max_message).
    #[error("message '{tag}' of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The message type byte, as a char.
        tag: char,
        /// The announced length (including the 4 length bytes).
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A message type byte no backend sends.
    #[error("unknown backend message type 0x{0:02x}")]
    UnknownMessage(u8),
    /// A message whose body does not match its type's format.
    #[error("malformed {msg} message: {why}")]
    Malformed {
        /// The message name, e.g. `DataRow`.
        msg: &'static str,
        /// What was wrong.
        why: &'static str,
    },
    /// An authentication request with an unknown code.
    #[error("unknown authentication request code {0}")]
    UnknownAuthentication(i32),
    /// An authentication method the server asked for that this client does not implement
    /// (KerberosV5, SCM credentials, GSSAPI, SSPI).
    #[error("the server requested {0} authentication, which is not supported")]
    UnsupportedAuthentication(&'static str),
    /// The reply to an SSLRequest was neither `S` nor `N`.
    #[error("invalid response 0x{0:02x} to SSLRequest (expected 'S' or 'N')")]
    BadSslResponse(u8),
    /// A DataRow whose column count differs from the RowDescription it is decoded with.
    #[error("DataRow has {got} columns but the RowDescription has {expected}")]
    ColumnCount {
        /// Columns in the RowDescription.
        expected: usize,
        /// Columns in the DataRow.
        got: usize,
    },
    /// A binary value that does not match its type's wire format.
    #[error("malformed binary value of type oid {oid}: {why}")]
    BadValue {
        /// The type OID.
        oid: u32,
        /// What was wrong.
        why: &'static str,
    },
}

impl PgProtocolError {
    /// Stable error code: `ERR_PG_LIMIT` for a limit exceeded, `ERR_PG_AUTH_UNSUPPORTED`
    /// for an authentication method this client lacks, `ERR_PG_PROTOCOL` for malformed input.
    pub fn code(&self) -> &'static str {
        match self {
            PgProtocolError::MessageTooLarge { .. } => "ERR_PG_LIMIT",
            PgProtocolError::UnsupportedAuthentication(_) => "ERR_PG_AUTH_UNSUPPORTED",
            _ => "ERR_PG_PROTOCOL",
        }
    }

    /// Whether a configured limit (rather than malformed input) caused this error.
    pub fn is_limit(&self) -> bool {
        matches!(self, PgProtocolError::MessageTooLarge { .. })
    }
}
