//! Errors shared by the head parser, the body codec and the connection.

/// A message could not be parsed. The connection must be closed after answering
/// (servers) or reporting (clients) it; [`Error::status`] gives the status code a
/// server should send.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request line is longer than `max_request_line`.
    #[error("request line too long")]
    RequestLineTooLong,
    /// The head (or a status line) is larger than `max_header_bytes`.
    #[error("message head too large")]
    HeadTooLarge,
    /// More header (or trailer) fields than `max_header_count`.
    #[error("too many header fields")]
    TooManyHeaders,
    /// The trailer section is larger than `max_trailer_bytes`.
    #[error("trailer section too large")]
    TrailerTooLarge,
    /// The body is larger than `max_body_bytes`.
    #[error("body too large")]
    BodyTooLarge,
    /// A line ended in LF without the CR before it.
    #[error("bare LF used as a line terminator")]
    BareLf,
    /// A CR not followed by LF.
    #[error("bare CR in message head")]
    BareCr,
    /// A field line starts with SP or HTAB (obsolete line folding, RFC 9112 §5.2).
    #[error("obsolete line folding")]
    ObsFold,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1).
    #[error("whitespace between field name and colon")]
    WhitespaceBeforeColon,
    /// A field name is empty, missing its colon or not a token.
    #[error("invalid header field name")]
    InvalidHeaderName,
    /// A field value contains NUL, CR, LF or another control byte.
    #[error("invalid header field value")]
    InvalidHeaderValue,
    /// The request line is not `method SP target SP version`.
    #[error("invalid request line")]
    InvalidRequestLine,
    /// The method is not a token.
    #[error("invalid method")]
    InvalidMethod,
    /// The request target is malformed or not allowed for the method.
    #[error("invalid request target")]
    InvalidTarget,
    /// The status line is malformed.
    #[error("invalid status line")]
    InvalidStatusLine,
    /// A well-formed HTTP version other than 1.0 and 1.1.
    #[error("unsupported HTTP version")]
    UnsupportedVersion,
    /// HTTP/1.1 request without exactly one `Host`, or with several.
    #[error("missing or duplicate Host header")]
    InvalidHost,
    /// `Content-Length` is not a decimal number that fits in u64.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// More than one `Content-Length` value in a request, or differing values in a response.
    #[error("duplicate or conflicting Content-Length")]
    DuplicateContentLength,
    /// Both `Content-Length` and `Transfer-Encoding`.
    #[error("Content-Length together with Transfer-Encoding")]
    ContentLengthWithTransferEncoding,
    /// `Transfer-Encoding` in an HTTP/1.0 message (RFC 9112 §6.1: framing is faulty).
    #[error("Transfer-Encoding in an HTTP/1.0 message")]
    TransferEncodingInHttp10,
    /// A request's final transfer coding is not `chunked`, or `chunked` is repeated or empty.
    #[error("Transfer-Encoding must end in a single chunked")]
    ChunkedNotFinal,
    /// A transfer coding this codec does not implement (only `chunked` is).
    #[error("unsupported transfer coding")]
    UnsupportedTransferCoding,
    /// A chunk size that is empty, signed or not hexadecimal.
    #[error("invalid chunk size")]
    InvalidChunkSize,
    /// A chunk size that does not fit in u64.
    #[error("chunk size overflow")]
    ChunkSizeOverflow,
    /// A chunk-size line or chunk extension with a bad byte.
    #[error("invalid chunk extension")]
    InvalidChunkExtension,
    /// A chunk extension longer than `max_chunk_ext_bytes`.
    #[error("chunk extension too long")]
    ChunkExtensionTooLong,
    /// Chunk data not followed by CRLF.
    #[error("missing CRLF after chunk data")]
    MissingChunkCrlf,
    /// The peer closed the connection in the middle of a message.
    #[error("connection closed before the message was complete")]
    UnexpectedEof,
    /// A response arrived with no request outstanding, or a 101 that was not asked for.
    #[error("unexpected response")]
    UnexpectedResponse,
}

impl Error {
    /// The status code a server should answer with: 400, 413, 414, 431, 501 or 505.
    pub fn status(&self) -> u16 {
        match self {
            Error::RequestLineTooLong => 414,
            Error::HeadTooLarge | Error::TooManyHeaders | Error::TrailerTooLarge => 431,
            Error::BodyTooLarge => 413,
            Error::UnsupportedTransferCoding => 501,
            Error::UnsupportedVersion => 505,
            _ => 400,
        }
    }
}

/// A message could not be written; nothing was appended to the output buffer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A header name is not a token or a value contains CR, LF, NUL or another control byte.
    #[error("invalid header field {0:?}")]
    InvalidHeader(String),
    /// The caller set `Content-Length` or `Transfer-Encoding`; pass a [`crate::Framing`] instead.
    #[error("framing headers are set by the codec")]
    FramingHeader,
    /// The method, target or reason phrase contains bytes not allowed on the start line.
    #[error("invalid start line")]
    InvalidStartLine,
    /// A server has no request to answer.
    #[error("no request to respond to")]
    NoRequest,
    /// A 101 answer to a request that did not ask for an upgrade.
    #[error("101 Switching Protocols without an Upgrade request")]
    UnexpectedUpgrade,
    /// Call out of order: a head while a body is open, or body/end with no message open.
    #[error("write out of order")]
    InvalidState,
    /// The connection is closing or was handed off; nothing more may be written.
    #[error("connection is closed")]
    Closed,
    /// More body bytes than the declared `Content-Length`.
    #[error("body longer than Content-Length")]
    BodyTooLong,
    /// The body ended before the declared `Content-Length`.
    #[error("body shorter than Content-Length ({0} bytes missing)")]
    BodyTooShort(u64),
    /// Trailers on a message that is not chunked.
    #[error("trailers need chunked encoding")]
    TrailersNotChunked,
}
