//! Opening-handshake helpers (RFC 6455 §4): pure string functions for the HTTP layer.
//!
//! The handshake itself is an HTTP/1.1 Upgrade exchange handled by the HTTP codec; what is
//! WebSocket-specific is small and lives here: the `Sec-WebSocket-Key` /
//! `Sec-WebSocket-Accept` pair (§4.2.2 step 5.4: base64 of SHA-1 of the key followed by
//! the fixed GUID) and the `Sec-WebSocket-Protocol` token list (§4.1, §11.3.4). Extension
//! negotiation (`Sec-WebSocket-Extensions`) is in [`super::deflate`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha1::{Digest, Sha1};

/// The GUID every endpoint appends to the key before hashing (RFC 6455 §1.3).
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A malformed handshake header value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// `Sec-WebSocket-Extensions` does not follow the §9.1 grammar.
    #[error("malformed Sec-WebSocket-Extensions header")]
    BadExtensions,
    /// `Sec-WebSocket-Protocol` is not a comma-separated list of tokens.
    #[error("malformed Sec-WebSocket-Protocol header")]
    BadProtocols,
    /// The server's permessage-deflate answer is not acceptable to the client (RFC 7692 §5).
    #[error("unacceptable permessage-deflate response: {0}")]
    BadDeflateResponse(&'static str),
}

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
pub fn accept_key(sec_websocket_key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(sec_websocket_key.trim().as_bytes());
    sha.update(GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// Whether a `Sec-WebSocket-Key` is, as §4.1 requires, the base64 of exactly 16 bytes.
pub fn validate_key(key: &str) -> bool {
    let key = key.trim();
    // 16 bytes encode to 22 characters plus "==" padding.
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|k| k.len() == 16)
}

/// A client's `Sec-WebSocket-Key` from 16 random bytes (the caller draws them).
pub fn generate_key(rand: [u8; 16]) -> String {
    STANDARD.encode(rand)
}

/// RFC 9110 §5.6.2 `tchar`.
pub(crate) fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// Parses `Sec-WebSocket-Protocol`: a comma-separated list of tokens (empty list elements
/// are skipped, as RFC 9110 §5.6.1 asks of recipients).
pub fn parse_protocols(header: &str) -> Result<Vec<String>, HandshakeError> {
    let mut out = Vec::new();
    for item in header.split(',') {
        let item = item.trim_matches([' ', '\t']);
        if item.is_empty() {
            continue;
        }
        if !is_token(item) {
            return Err(HandshakeError::BadProtocols);
        }
        out.push(item.to_owned());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6455_accept_key_example() {
        // RFC 6455 §1.3.
        assert_eq!(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn keys() {
        assert!(validate_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!validate_key("dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!validate_key("dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!validate_key("dGhlIHNhbXBsZSBub25jZSE=")); // 17 bytes
        assert!(!validate_key("!!!!!!!!!!!!!!!!!!!!!!=="));
        assert!(!validate_key(""));
        let k = generate_key([7; 16]);
        assert!(validate_key(&k));
        assert_eq!(generate_key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn protocols() {
        assert_eq!(parse_protocols("chat, superchat").unwrap(), ["chat", "superchat"]);
        assert_eq!(parse_protocols(" mqtt ,, v2.stomp").unwrap(), ["mqtt", "v2.stomp"]);
        assert_eq!(parse_protocols("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_protocols("a b"), Err(HandshakeError::BadProtocols));
        assert_eq!(parse_protocols("chat, \"x\""), Err(HandshakeError::BadProtocols));
        assert_eq!(parse_protocols("a/b"), Err(HandshakeError::BadProtocols));
    }
}
