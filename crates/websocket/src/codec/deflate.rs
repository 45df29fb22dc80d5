//! permessage-deflate (RFC 7692): extension negotiation, and the per-message compressor
//! and decompressor ([`Deflater`], [`Inflater`], in `deflate/stream.rs`).
//!
//! # Negotiation
//!
//! The client offers one or more `permessage-deflate` configurations in
//! `Sec-WebSocket-Extensions`; the server accepts at most one by answering with the
//! parameters it agreed to ([`negotiate`]); the client checks that answer
//! ([`accept_response`]). The four parameters (RFC 7692 §7.1):
//!
//! - `server_no_context_takeover` / `client_no_context_takeover`: that side resets its
//!   compressor after every message. Our server *always* answers
//!   `server_no_context_takeover`: it costs some ratio on chatty connections, but a frame
//!   compressed from a fresh context decodes on every connection, so a pub/sub publish is
//!   compressed once and the same bytes go to every subscriber ([`super::shared_frame`]).
//!   It also frees the server from keeping a 256 KiB deflate state per idle connection.
//! - `server_max_window_bits` / `client_max_window_bits` (8..=15): the largest LZ77
//!   window that side may use, i.e. how far back a peer's decompressor must remember.
//!   Decompressing always uses a 15-bit window, which accepts any smaller one. Compressing
//!   with 8 bits is impossible with zlib (raw deflate rejects 8, and its old "8 means 9"
//!   behaviour would produce distances a strict 8-bit inflater rejects), so a side limited
//!   to 8 bits sends its messages *uncompressed* (RSV1 clear), which RFC 7692 always
//!   allows; see [`send_window_bits`].

mod stream;

use std::fmt::Write as _;

pub use stream::{Deflater, InflateError, Inflater};

use super::handshake::{is_tchar, HandshakeError};

/// The extension token.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// The negotiated permessage-deflate parameters of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateParams {
    /// The server resets its compressor after every message.
    pub server_no_context_takeover: bool,
    /// The client resets its compressor after every message.
    pub client_no_context_takeover: bool,
    /// Largest window (8..=15) the server compresses with.
    pub server_max_window_bits: u8,
    /// Largest window (8..=15) the client compresses with.
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    fn default() -> Self {
        Self {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

/// Local permessage-deflate settings: what to offer or accept, and how hard to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateConfig {
    /// zlib level 0..=9. Default 6. Measured with zlib-rs on a 3 KB JSON message
    /// (`measure_levels` test, dev profile): level 1 → 972 bytes in 4.9 µs, 2 → 692 bytes
    /// in 10.7 µs, 6 → 656 bytes in 14.4 µs. Level 1 is zlib-rs's "quick" strategy and
    /// gives up a third of the saving, which is the point of compressing; 6 still runs at
    /// about 200 MB/s per core, and a pub/sub publish is compressed once for all
    /// subscribers ([`super::shared_frame`]).
    pub level: u32,
    /// Messages shorter than this are sent uncompressed (RSV1 clear). Default 1024: below
    /// that the deflate overhead and CPU rarely pay off.
    pub threshold: usize,
    /// Largest window the server will compress with (8..=15, default 15). A server offers
    /// it as `server_max_window_bits` when smaller than 15; a client requests it.
    pub server_max_window_bits: u8,
    /// Largest window the client may compress with (8..=15, default 15).
    pub client_max_window_bits: u8,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self { level: 6, threshold: 1024, server_max_window_bits: 15, client_max_window_bits: 15 }
    }
}

/// One extension of a `Sec-WebSocket-Extensions` list, e.g. `permessage-deflate;
/// client_max_window_bits`. Parameter values are unquoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionOffer {
    /// Extension token.
    pub name: String,
    /// Parameters in order, with their value if any.
    pub params: Vec<(String, Option<String>)>,
}

/// Parses a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1):
///
/// ```text
/// extension-list = 1#extension
/// extension = extension-token *( ";" extension-param )
/// extension-param = token [ "=" (token | quoted-string) ]
/// ```
///
/// A quoted value must be a token once unescaped (§9.1). Empty list elements are skipped.
pub fn parse_extensions(header_value: &str) -> Result<Vec<ExtensionOffer>, HandshakeError> {
    let mut p = Parser { b: header_value.as_bytes(), i: 0 };
    let mut out = Vec::new();
    loop {
        p.ows();
        match p.peek() {
            None => return Ok(out),
            Some(b',') => {
                p.i += 1;
                continue;
            }
            Some(_) => {}
        }
        let name = p.token()?;
        let mut params = Vec::new();
        loop {
            p.ows();
            match p.peek() {
                None | Some(b',') => break,
                Some(b';') => p.i += 1,
                Some(_) => return Err(HandshakeError::BadExtensions),
            }
            p.ows();
            let key = p.token()?;
            p.ows();
            let value = if p.peek() == Some(b'=') {
                p.i += 1;
                p.ows();
                Some(if p.peek() == Some(b'"') { p.quoted()? } else { p.token()? })
            } else {
                None
            };
            params.push((key, value));
        }
        out.push(ExtensionOffer { name, params });
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Result<String, HandshakeError> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        if self.i == start {
            return Err(HandshakeError::BadExtensions);
        }
        Ok(String::from_utf8_lossy(&self.b[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> Result<String, HandshakeError> {
        self.i += 1; // opening quote
        let mut v = String::new();
        loop {
            match self.peek() {
                None => return Err(HandshakeError::BadExtensions),
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    let c = *self.b.get(self.i + 1).ok_or(HandshakeError::BadExtensions)?;
                    v.push(char::from(c));
                    self.i += 2;
                }
                Some(c) => {
                    v.push(char::from(c));
                    self.i += 1;
                }
            }
        }
        // RFC 6455 §9.1: "the value MUST conform to the 'token' ABNF" after unescaping.
        if v.is_empty() || !v.bytes().all(is_tchar) {
            return Err(HandshakeError::BadExtensions);
        }
        Ok(v)
    }
}

/// permessage-deflate parameters as found in one offer or response.
#[derive(Default)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (allowed in an offer only).
    client_max_window_bits: Option<Option<u8>>,
}

fn window_bits(v: Option<&str>) -> Result<u8, &'static str> {
    let v = v.ok_or("window bits without a value")?;
    if v.is_empty() || v.len() > 2 || !v.bytes().all(|c| c.is_ascii_digit()) {
        return Err("window bits not a number");
    }
    match v.parse::<u8>() {
        Ok(n @ 8..=15) => Ok(n),
        _ => Err("window bits outside 8..=15"),
    }
}

/// Validates the parameters of one permessage-deflate element (RFC 7692 §7.1): known
/// names only, each at most once, `*_no_context_takeover` without a value, window bits in
/// 8..=15. `client_max_window_bits` may lack a value only in an offer.
fn parse_params(ext: &ExtensionOffer, is_offer: bool) -> Result<Parsed, &'static str> {
    let mut p = Parsed::default();
    for (k, v) in &ext.params {
        let v = v.as_deref();
        if k.eq_ignore_ascii_case("server_no_context_takeover") {
            if p.server_no_context_takeover || v.is_some() {
                return Err("bad server_no_context_takeover");
            }
            p.server_no_context_takeover = true;
        } else if k.eq_ignore_ascii_case("client_no_context_takeover") {
            if p.client_no_context_takeover || v.is_some() {
                return Err("bad client_no_context_takeover");
            }
            p.client_no_context_takeover = true;
        } else if k.eq_ignore_ascii_case("server_max_window_bits") {
            if p.server_max_window_bits.is_some() {
                return Err("duplicate server_max_window_bits");
            }
            p.server_max_window_bits = Some(window_bits(v)?);
        } else if k.eq_ignore_ascii_case("client_max_window_bits") {
            if p.client_max_window_bits.is_some() {
                return Err("duplicate client_max_window_bits");
            }
            p.client_max_window_bits = Some(match v {
                None if is_offer => None,
                v => Some(window_bits(v)?),
            });
        } else {
            return Err("unknown parameter");
        }
    }
    Ok(p)
}

/// Server side: picks the first acceptable permessage-deflate offer and returns the
/// negotiated parameters with the `Sec-WebSocket-Extensions` response value.
///
/// Offers with invalid parameters are declined (skipped), as RFC 7692 §5 allows. The
/// answer always includes `server_no_context_takeover` (see the module docs), echoes
/// `client_no_context_takeover` when offered, answers a requested
/// `server_max_window_bits` with min(request, `cfg.server_max_window_bits`) (and offers
/// a smaller configured window unrequested, §7.1.2.1), and sends `client_max_window_bits`
/// only if the client offered it and the result is below 15. `None` = no deflate.
pub fn negotiate(offers: &[ExtensionOffer], cfg: &DeflateConfig) -> Option<(DeflateParams, String)> {
    let own_server_bits = cfg.server_max_window_bits.clamp(8, 15);
    let own_client_bits = cfg.client_max_window_bits.clamp(8, 15);
    for offer in offers.iter().filter(|o| o.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE)) {
        let Ok(p) = parse_params(offer, true) else { continue };
        let server_bits = p.server_max_window_bits.unwrap_or(15).min(own_server_bits);
        let client_bits = match p.client_max_window_bits {
            None => 15,
            Some(v) => v.unwrap_or(15).min(own_client_bits),
        };
        let mut response = format!("{PERMESSAGE_DEFLATE}; server_no_context_takeover");
        if p.client_no_context_takeover {
            response.push_str("; client_no_context_takeover");
        }
        if p.server_max_window_bits.is_some() || server_bits < 15 {
            let _ = write!(response, "; server_max_window_bits={server_bits}");
        }
        if p.client_max_window_bits.is_some() && client_bits < 15 {
            let _ = write!(response, "; client_max_window_bits={client_bits}");
        }
        let params = DeflateParams {
            server_no_context_takeover: true,
            client_no_context_takeover: p.client_no_context_takeover,
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
        };
        return Some((params, response));
    }
    None
}

/// Client side: the `Sec-WebSocket-Extensions` offer for `cfg`, e.g.
/// `permessage-deflate; client_max_window_bits`. `client_max_window_bits` is always
/// offered (it only tells the server we can limit our window); `server_max_window_bits`
/// is requested when `cfg.server_max_window_bits` is below 15.
pub fn offer(cfg: &DeflateConfig) -> String {
    let mut s = format!("{PERMESSAGE_DEFLATE}; client_max_window_bits");
    let client_bits = cfg.client_max_window_bits.clamp(8, 15);
    if client_bits < 15 {
        let _ = write!(s, "={client_bits}");
    }
    let server_bits = cfg.server_max_window_bits.clamp(8, 15);
    if server_bits < 15 {
        let _ = write!(s, "; server_max_window_bits={server_bits}");
    }
    s
}

/// Client side: validates the server's `Sec-WebSocket-Extensions` answer to [`offer`]
/// (`offered` is the config the offer was made from). The answer must be exactly one
/// `permessage-deflate` with known, non-duplicated parameters, window bits in 8..=15, a
/// `client_max_window_bits` no larger than offered, and a `server_max_window_bits` no
/// larger than requested (and present if requested, RFC 7692 §7.1.2.1).
pub fn accept_response(value: &str, offered: &DeflateConfig) -> Result<DeflateParams, HandshakeError> {
    let bad = HandshakeError::BadDeflateResponse;
    let exts = parse_extensions(value)?;
    let [ext] = &exts[..] else { return Err(bad("expected exactly one extension")) };
    if !ext.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE) {
        return Err(bad("an extension that was not offered"));
    }
    let p = parse_params(ext, false).map_err(bad)?;
    let own_client_bits = offered.client_max_window_bits.clamp(8, 15);
    let requested_server_bits = offered.server_max_window_bits.clamp(8, 15);
    let client_bits = match p.client_max_window_bits {
        Some(Some(n)) if n > own_client_bits => return Err(bad("client_max_window_bits above the offer")),
        Some(Some(n)) => n,
        _ => own_client_bits,
    };
    let server_bits = match p.server_max_window_bits {
        Some(n) if n > requested_server_bits => return Err(bad("server_max_window_bits above the request")),
        Some(n) => n,
        None if requested_server_bits < 15 => return Err(bad("server_max_window_bits request ignored")),
        None => 15,
    };
    Ok(DeflateParams {
        server_no_context_takeover: p.server_no_context_takeover,
        client_no_context_takeover: p.client_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    })
}

/// The window a compressor may really use for a negotiated limit: `None` for 8 (send
/// uncompressed; see the module docs), else the limit itself.
pub fn send_window_bits(negotiated: u8) -> Option<u8> {
    (9..=15).contains(&negotiated).then_some(negotiated)
}

#[cfg(test)]
mod tests;
