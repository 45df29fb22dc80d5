//! Size limits applied while parsing.

/// Size limits for one connection. Exceeding one yields the matching [`crate::Error`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line (method, target and version), without CRLF. Over it: 414.
    pub max_request_line: usize,
    /// Most header fields in a head or trailer section. Over it: 431.
    pub max_header_count: usize,
    /// Largest head in bytes, start line and final empty line included. Over it: 431.
    pub max_header_bytes: usize,
    /// Largest decoded body; `None` means unlimited. Over it: 413.
    pub max_body_bytes: Option<u64>,
    /// Longest chunk extension (everything between the chunk size and its CRLF). Over it: 400.
    pub max_chunk_ext_bytes: usize,
    /// Largest trailer section in bytes, final empty line included. Over it: 431.
    pub max_trailer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_line: 8 * 1024,
            max_header_count: 100,
            max_header_bytes: 16 * 1024,
            max_body_bytes: None,
            max_chunk_ext_bytes: 1024,
            max_trailer_bytes: 16 * 1024,
        }
    }
}
