//! Sans-IO content codings (RFC 9110 §8.4.1): negotiation, compression and bounded decompression.
//!
//! Like the rest of this crate nothing here does I/O: [`Encoder`] and [`Decoder`] take byte
//! slices and append to a caller-owned `Vec<u8>`, so they work the same under the server
//! driver, the client, or a test.
//!
//! * [`negotiate`] picks a response coding from a request's `Accept-Encoding` (§12.5.3).
//! * [`compressible`] says whether a `Content-Type` is worth compressing.
//! * [`Encoder`] compresses a body as a stream (optionally flushing after every write so that
//!   a streamed response makes progress); [`compress`] does a whole body at once.
//! * [`Decoder`] decompresses a response body for a client, with hard limits on output size and
//!   expansion ratio ([`DecodeLimits`]), accepting input split at any byte boundary.
//! * [`parse_content_encoding`] reads a response's `Content-Encoding` list; codings stacked in
//!   that list were applied in order, so they are decoded in reverse order.
//!
//! `deflate` here means what HTTP means by it, the zlib format (RFC 1950); the [`Decoder`] also
//! accepts raw deflate (RFC 1951), which some servers send instead, detected from the first bytes.

use std::fmt;
use std::io::{self, Write};

use brotli::enc::StandardAlloc;
use brotli::{BrotliDecompressStream, BrotliResult, BrotliState};
use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::{Compression, Crc, Decompress, FlushDecompress, Status};

/// A content coding this crate can produce and decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Coding {
    /// `gzip` (RFC 1952); `x-gzip` is parsed as this too.
    Gzip,
    /// `deflate`: the zlib format (RFC 1950) wrapping deflate data (RFC 1951).
    Deflate,
    /// `br`: Brotli (RFC 7932).
    Br,
    /// `identity`: no coding.
    Identity,
}

impl Coding {
    /// The coding's name as it appears in `Content-Encoding` / `Accept-Encoding`.
    pub fn as_str(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
            Coding::Br => "br",
            Coding::Identity => "identity",
        }
    }

    /// Parses a coding name, case-insensitively and ignoring surrounding whitespace.
    /// `x-gzip` is accepted as [`Coding::Gzip`] (RFC 9110 §8.4.1.3). Returns `None` for
    /// anything else (e.g. `compress`, `zstd`).
    pub fn parse(name: &[u8]) -> Option<Coding> {
        match &trim_ows(name).to_ascii_lowercase()[..] {
            b"gzip" | b"x-gzip" => Some(Coding::Gzip),
            b"deflate" => Some(Coding::Deflate),
            b"br" => Some(Coding::Br),
            b"identity" => Some(Coding::Identity),
            _ => None,
        }
    }
}

impl fmt::Display for Coding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses an RFC 9110 §12.4.2 qvalue into thousandths: `0(.d{0,3})?` or `1(.0{0,3})?`.
fn parse_qvalue(v: &[u8]) -> Option<u16> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &b""[..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        thousandths = thousandths * 10 + frac.get(i).map_or(0, |d| u16::from(d - b'0'));
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// One `Accept-Encoding` element: the coding token and its weight in thousandths.
/// Returns `None` for a malformed element, which is then ignored.
fn parse_accept_element(el: &[u8]) -> Option<(&[u8], u16)> {
    let mut parts = el.split(|&b| b == b';');
    let token = trim_ows(parts.next()?);
    if token.is_empty() || !token.iter().copied().all(is_tchar) {
        return None;
    }
    let mut q = 1000;
    for param in parts {
        let param = trim_ows(param);
        let eq = param.iter().position(|&b| b == b'=')?;
        let (name, value) = (trim_ows(&param[..eq]), trim_ows(&param[eq + 1..]));
        if name.eq_ignore_ascii_case(b"q") {
            q = parse_qvalue(value)?;
        }
    }
    Some((token, q))
}

/// Chooses the response coding for a request's `Accept-Encoding` value (RFC 9110 §12.5.3).
///
/// * `accept_encoding` is the field value (all lines joined with `,`); `None` (no field)
///   returns [`Coding::Identity`]: without the header the client did not ask for compression.
/// * Coding names are case-insensitive; `q=0` forbids a coding; `*` gives the weight of every
///   coding not listed explicitly; malformed elements (bad token, bad qvalue) are ignored.
/// * Among `offered` codings with the same (highest, non-zero) weight, the one earliest in
///   `offered` wins.
/// * Identity is always available: if the client names it (or `*`) with a weight above every
///   offered coding it is chosen; if the client does not mention it, it is only the fallback.
///   When nothing is acceptable (even `identity;q=0`) this still returns [`Coding::Identity`]:
///   a server may instead answer 415 itself, but sending the unencoded body is the usual choice.
pub fn negotiate(accept_encoding: Option<&[u8]>, offered: &[Coding]) -> Coding {
    let Some(value) = accept_encoding else { return Coding::Identity };
    let elements: Vec<(&[u8], u16)> = value.split(|&b| b == b',').filter_map(parse_accept_element).collect();
    let star = elements.iter().find(|(t, _)| *t == b"*").map(|&(_, q)| q);
    let weight = |c: Coding| -> Option<u16> {
        elements.iter().find(|(t, _)| Coding::parse(t) == Some(c)).map(|&(_, q)| q).or(star)
    };
    let mut best: Option<(Coding, u16)> = None;
    for &c in offered {
        let q = weight(c).unwrap_or(0);
        if q > 0 && best.is_none_or(|(_, bq)| q > bq) {
            best = Some((c, q));
        }
    }
    match (best, weight(Coding::Identity)) {
        (Some((_, bq)), Some(iq)) if iq > bq => Coding::Identity,
        (Some((c, _)), _) => c,
        (None, _) => Coding::Identity,
    }
}

/// Whether a response with this `Content-Type` is worth compressing: text, JSON, JavaScript,
/// XML (including `+json` / `+xml` types such as `image/svg+xml`), WebAssembly and
/// uncompressed font formats. Images, audio, video, archives and other already-compressed
/// types are not. A missing content type returns `false`.
pub fn compressible(content_type: Option<&[u8]>) -> bool {
    let Some(ct) = content_type else { return false };
    let essence = trim_ows(ct.split(|&b| b == b';').next().unwrap_or_default()).to_ascii_lowercase();
    let Some(slash) = essence.iter().position(|&b| b == b'/') else { return false };
    let (top, sub) = (&essence[..slash], &essence[slash + 1..]);
    if sub.ends_with(b"+json") || sub.ends_with(b"+xml") {
        return true;
    }
    match top {
        b"text" => true,
        b"application" => matches!(
            sub,
            b"json"
                | b"javascript"
                | b"x-javascript"
                | b"ecmascript"
                | b"xml"
                | b"wasm"
                | b"x-www-form-urlencoded"
                | b"graphql-response+json"
                | b"vnd.ms-fontobject"
                | b"x-font-ttf"
        ),
        b"font" => matches!(sub, b"ttf" | b"otf" | b"collection"),
        _ => false,
    }
}

/// A `Content-Encoding` element this crate cannot decode (e.g. `compress`, `zstd`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unsupported content coding {0:?}")]
pub struct UnsupportedCoding(pub String);

/// Parses a response's `Content-Encoding` value into the codings applied, in the order they
/// were applied: decode by running a [`Decoder`] for each, last element first.
///
/// Empty list elements are skipped (RFC 9110 §5.6.1), as is `identity`; an empty value gives an
/// empty list. Any other unknown coding is an error: the body cannot be decoded.
pub fn parse_content_encoding(value: &[u8]) -> Result<Vec<Coding>, UnsupportedCoding> {
    let mut codings = Vec::new();
    for el in value.split(|&b| b == b',') {
        let el = trim_ows(el);
        if el.is_empty() {
            continue;
        }
        match Coding::parse(el) {
            Some(Coding::Identity) => {}
            Some(c) => codings.push(c),
            None => return Err(UnsupportedCoding(String::from_utf8_lossy(el).into_owned())),
        }
    }
    Ok(codings)
}

/// Default gzip/deflate level for on-the-fly compression (zlib's default).
pub const DEFAULT_FLATE_LEVEL: u32 = 6;
/// Default Brotli quality for on-the-fly compression (fast, about gzip 6's speed, smaller).
pub const DEFAULT_BROTLI_QUALITY: u32 = 4;
/// Brotli window (log2 of bytes): 4 MiB, which a decoder must then hold.
pub const BROTLI_LGWIN: u32 = 22;

enum EncInner {
    Identity,
    Gzip(GzEncoder<Vec<u8>>),
    Deflate(ZlibEncoder<Vec<u8>>),
    Br(Box<brotli::CompressorWriter<Vec<u8>>>),
}

/// A streaming compressor for one body.
///
/// ```
/// use iocrate_http::compress::{Coding, Encoder};
/// let mut enc = Encoder::new(Coding::Gzip, None);
/// let mut out = Vec::new();
/// enc.write(b"hello, ", &mut out).unwrap();
/// enc.write(b"world", &mut out).unwrap();
/// enc.finish(&mut out).unwrap();
/// ```
pub struct Encoder {
    inner: EncInner,
    /// After every non-empty [`Encoder::write`], flush the compressor (a zlib sync flush for
    /// gzip/deflate, a Brotli flush) so that all input given so far can be decoded from the
    /// output so far: what a streamed response needs to make progress. Costs some ratio; set
    /// it to `false` when the whole body is written before it is sent. Default: `true`.
    pub flush_each_write: bool,
}

impl fmt::Debug for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoder")
            .field("coding", &self.coding())
            .field("flush_each_write", &self.flush_each_write)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// A compressor for `coding`. `level` is 0–9 for gzip/deflate (default
    /// [`DEFAULT_FLATE_LEVEL`]) and 0–11 for Brotli (default [`DEFAULT_BROTLI_QUALITY`]);
    /// higher values are clamped. Ignored for [`Coding::Identity`], which copies its input.
    /// Flushes after each write by default (see [`Encoder::flush_each_write`]).
    pub fn new(coding: Coding, level: Option<u32>) -> Encoder {
        let inner = match coding {
            Coding::Identity => EncInner::Identity,
            Coding::Gzip => EncInner::Gzip(GzEncoder::new(
                Vec::new(),
                Compression::new(level.unwrap_or(DEFAULT_FLATE_LEVEL).min(9)),
            )),
            Coding::Deflate => EncInner::Deflate(ZlibEncoder::new(
                Vec::new(),
                Compression::new(level.unwrap_or(DEFAULT_FLATE_LEVEL).min(9)),
            )),
            Coding::Br => EncInner::Br(Box::new(brotli::CompressorWriter::new(
                Vec::new(),
                4096,
                level.unwrap_or(DEFAULT_BROTLI_QUALITY).min(11),
                BROTLI_LGWIN,
            ))),
        };
        Encoder { inner, flush_each_write: true }
    }

    /// The coding this encoder produces.
    pub fn coding(&self) -> Coding {
        match self.inner {
            EncInner::Identity => Coding::Identity,
            EncInner::Gzip(_) => Coding::Gzip,
            EncInner::Deflate(_) => Coding::Deflate,
            EncInner::Br(_) => Coding::Br,
        }
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        let buf = match &mut self.inner {
            EncInner::Identity => return,
            EncInner::Gzip(e) => e.get_mut(),
            EncInner::Deflate(e) => e.get_mut(),
            EncInner::Br(e) => e.get_mut(),
        };
        if out.is_empty() {
            std::mem::swap(out, buf);
        } else {
            out.append(buf);
        }
    }

    /// Compresses `input`, appending whatever compressed output is ready to `out` (with
    /// [`Encoder::flush_each_write`], everything needed to decode `input`).
    pub fn write(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        match &mut self.inner {
            EncInner::Identity => {
                out.extend_from_slice(input);
                return Ok(());
            }
            EncInner::Gzip(e) => e.write_all(input)?,
            EncInner::Deflate(e) => e.write_all(input)?,
            EncInner::Br(e) => e.write_all(input)?,
        }
        if self.flush_each_write && !input.is_empty() {
            self.flush_inner()?;
        }
        self.drain(out);
        Ok(())
    }

    fn flush_inner(&mut self) -> io::Result<()> {
        match &mut self.inner {
            EncInner::Identity => Ok(()),
            EncInner::Gzip(e) => e.flush(),
            EncInner::Deflate(e) => e.flush(),
            EncInner::Br(e) => e.flush(),
        }
    }

    /// Flushes explicitly (whatever [`Encoder::flush_each_write`] says), appending to `out`
    /// the output needed to decode everything written so far.
    pub fn flush(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        self.flush_inner()?;
        self.drain(out);
        Ok(())
    }

    /// Ends the stream, appending the remaining output (and the gzip/zlib trailer) to `out`.
    pub fn finish(self, out: &mut Vec<u8>) -> io::Result<()> {
        let rest = match self.inner {
            EncInner::Identity => return Ok(()),
            EncInner::Gzip(e) => e.finish()?,
            EncInner::Deflate(e) => e.finish()?,
            EncInner::Br(e) => {
                // `into_inner` finishes the stream (writing into a Vec cannot fail).
                e.into_inner()
            }
        };
        out.extend_from_slice(&rest);
        Ok(())
    }
}

/// Compresses a whole body at once (no intermediate flushes, so the best ratio for `level`).
pub fn compress(coding: Coding, level: Option<u32>, data: &[u8]) -> Vec<u8> {
    let mut enc = Encoder::new(coding, level);
    enc.flush_each_write = false;
    let mut out = Vec::with_capacity(data.len() / 3 + 64);
    // Writing into a Vec cannot fail.
    enc.write(data, &mut out).expect("compressing into memory");
    enc.finish(&mut out).expect("compressing into memory");
    out
}

/// Why a [`Decoder`] gave up. After any error the decoder is unusable and the body must be
/// discarded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecompressError {
    /// The data is not valid for its coding (bad header, corrupt stream, checksum mismatch).
    #[error("invalid {coding} data: {reason}")]
    Invalid {
        /// The coding being decoded.
        coding: Coding,
        /// What was wrong.
        reason: String,
    },
    /// The input ended ([`Decoder::finish`]) before the compressed stream did.
    #[error("truncated {0} data: the body ended inside the compressed stream")]
    Truncated(Coding),
    /// More bytes followed the end of the compressed stream.
    #[error("unexpected data after the end of the {0} stream")]
    TrailingData(Coding),
    /// The decompressed body would exceed [`DecodeLimits::max_output`].
    #[error("decompressed body exceeds the limit of {limit} bytes")]
    OutputLimit {
        /// The limit in force.
        limit: u64,
    },
    /// The body expands more than [`DecodeLimits::max_ratio`] (a decompression bomb).
    #[error("decompression ratio exceeds {max_ratio}:1 ({output} bytes from {input} compressed bytes)")]
    RatioLimit {
        /// The limit in force.
        max_ratio: u64,
        /// Decompressed bytes so far.
        output: u64,
        /// Compressed bytes so far.
        input: u64,
    },
}

/// Bounds on what a [`Decoder`] will produce (decompression-bomb protection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most decompressed bytes for the whole body. Default 64 MiB.
    pub max_output: u64,
    /// Most decompressed bytes per compressed byte, checked once the output passes
    /// [`DecodeLimits::ratio_grace`]. Default 1032 (deflate's own maximum; Brotli can go far
    /// beyond it, and ordinary content stays well below). 0 disables the check.
    pub max_ratio: u64,
    /// Output below this many bytes is never refused for its ratio (small, very repetitive
    /// bodies legitimately expand a lot). Default 1 MiB.
    pub ratio_grace: u64,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_output: 64 << 20, max_ratio: 1032, ratio_grace: 1 << 20 }
    }
}

/// Bytes produced per inner step: also the most a single step can overshoot before the limits
/// are checked (they are checked before the bytes are handed out, so never past the limit).
const STEP: usize = 32 * 1024;
/// Longest gzip header accepted (FEXTRA up to 64 KiB, plus file name and comment).
const MAX_GZIP_HEADER: usize = 128 * 1024;

struct Flate {
    inflate: Decompress,
    done: bool,
}

enum GzState {
    /// Collecting a member header (the first, or one after a complete member).
    Header(Vec<u8>),
    Body(Flate, Crc),
    Trailer(Vec<u8>, Crc),
}

enum DefState {
    /// The first two bytes decide zlib or raw deflate.
    Detect(Vec<u8>),
    Body(Flate),
}

enum DecInner {
    Identity,
    Gzip { state: GzState, members: u64 },
    Deflate(DefState),
    Br { state: Box<BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>>, done: bool },
}

/// A streaming decompressor for one response body, bounded by [`DecodeLimits`].
///
/// Input may be split at any byte boundary. Gzip bodies may hold several members (they decode
/// to the concatenation); `deflate` bodies may be zlib-wrapped (the HTTP meaning) or raw
/// deflate. An empty body decodes to nothing for every coding (servers send
/// `Content-Encoding: gzip` on empty bodies).
pub struct Decoder {
    inner: DecInner,
    limits: DecodeLimits,
    total_in: u64,
    total_out: u64,
    failed: Option<DecompressError>,
    scratch: Vec<u8>,
}

impl fmt::Debug for Decoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoder")
            .field("coding", &self.coding())
            .field("limits", &self.limits)
            .field("total_in", &self.total_in)
            .field("total_out", &self.total_out)
            .finish_non_exhaustive()
    }
}

fn invalid(coding: Coding, reason: impl Into<String>) -> DecompressError {
    DecompressError::Invalid { coding, reason: reason.into() }
}

/// Parses a complete gzip member header (RFC 1952 §2.3) at the start of `b`: `Ok(Some(len))`,
/// `Ok(None)` if more bytes are needed.
fn parse_gzip_header(b: &[u8]) -> Result<Option<usize>, DecompressError> {
    let bad = |r: &str| Err(invalid(Coding::Gzip, r));
    if let Some(&m) = b.first() {
        if m != 0x1f {
            return bad("not a gzip member (bad magic)");
        }
    }
    if let Some(&m) = b.get(1) {
        if m != 0x8b {
            return bad("not a gzip member (bad magic)");
        }
    }
    if let Some(&cm) = b.get(2) {
        if cm != 8 {
            return bad("unknown compression method");
        }
    }
    let Some(&flg) = b.get(3) else { return Ok(None) };
    if flg & 0xe0 != 0 {
        return bad("reserved header flags set");
    }
    let mut pos = 10;
    if b.len() < pos {
        return Ok(None);
    }
    if flg & 0x04 != 0 {
        let Some(xlen) = b.get(pos..pos + 2) else { return Ok(None) };
        pos += 2 + usize::from(u16::from_le_bytes([xlen[0], xlen[1]]));
        if b.len() < pos {
            return Ok(None);
        }
    }
    for flag in [0x08, 0x10] {
        if flg & flag != 0 {
            let Some(nul) = b[pos..].iter().position(|&c| c == 0) else { return Ok(None) };
            pos += nul + 1;
        }
    }
    if flg & 0x02 != 0 {
        let Some(hcrc) = b.get(pos..pos + 2) else { return Ok(None) };
        let mut crc = Crc::new();
        crc.update(&b[..pos]);
        if u16::from_le_bytes([hcrc[0], hcrc[1]]) != (crc.sum() & 0xffff) as u16 {
            return bad("header checksum mismatch");
        }
        pos += 2;
    }
    Ok(Some(pos))
}

/// A zlib header per RFC 1950 §2.2: method 8, window ≤ 32 KiB, check bits, no preset
/// dictionary. Anything else is taken for raw deflate.
fn looks_like_zlib(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0 && flg & 0x20 == 0
}

impl Decoder {
    /// A decompressor for `coding` with [`DecodeLimits::default`].
    pub fn new(coding: Coding) -> Decoder {
        Decoder::with_limits(coding, DecodeLimits::default())
    }

    /// A decompressor for `coding` that refuses to produce more than `max_output` bytes
    /// (other limits at their defaults).
    pub fn with_max_output(coding: Coding, max_output: u64) -> Decoder {
        Decoder::with_limits(coding, DecodeLimits { max_output, ..DecodeLimits::default() })
    }

    /// A decompressor for `coding` bounded by `limits`.
    pub fn with_limits(coding: Coding, limits: DecodeLimits) -> Decoder {
        let inner = match coding {
            Coding::Identity => DecInner::Identity,
            Coding::Gzip => DecInner::Gzip { state: GzState::Header(Vec::new()), members: 0 },
            Coding::Deflate => DecInner::Deflate(DefState::Detect(Vec::new())),
            Coding::Br => DecInner::Br {
                // `new_strict`: no "large window" extension, so the window is at most 16 MiB.
                state: Box::new(BrotliState::new_strict(
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                )),
                done: false,
            },
        };
        Decoder { inner, limits, total_in: 0, total_out: 0, failed: None, scratch: Vec::new() }
    }

    /// The coding this decoder reads.
    pub fn coding(&self) -> Coding {
        match self.inner {
            DecInner::Identity => Coding::Identity,
            DecInner::Gzip { .. } => Coding::Gzip,
            DecInner::Deflate(_) => Coding::Deflate,
            DecInner::Br { .. } => Coding::Br,
        }
    }

    /// Compressed bytes given so far.
    pub fn total_in(&self) -> u64 {
        self.total_in
    }

    /// Decompressed bytes produced so far.
    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    /// Decompresses `input` (any piece of the body), appending the output to `out`. Never
    /// appends more than the limits allow; after an error the decoder stays failed.
    pub fn write(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), DecompressError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        self.total_in += input.len() as u64;
        let r = self.write_inner(input, out);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    /// Ends the body: an error if the compressed stream is incomplete. Appends any last
    /// output to `out`.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<(), DecompressError> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let coding = self.coding();
        let empty = self.total_in == 0;
        let complete = match &mut self.inner {
            DecInner::Identity => true,
            DecInner::Gzip { state: GzState::Header(h), members } => h.is_empty() && (*members > 0 || empty),
            DecInner::Gzip { .. } => false,
            DecInner::Deflate(DefState::Detect(pending)) => pending.is_empty(),
            DecInner::Deflate(DefState::Body(f)) => f.done,
            DecInner::Br { done, .. } => *done || empty,
        };
        let _ = out; // every coding hands out its output from `write` already
        if complete {
            Ok(())
        } else {
            Err(DecompressError::Truncated(coding))
        }
    }

    /// Checks the limits for `n` more output bytes and counts them.
    fn admit(&mut self, n: usize) -> Result<(), DecompressError> {
        let output = self.total_out + n as u64;
        if output > self.limits.max_output {
            return Err(DecompressError::OutputLimit { limit: self.limits.max_output });
        }
        let l = &self.limits;
        if l.max_ratio > 0 && output > l.ratio_grace && output > self.total_in.saturating_mul(l.max_ratio) {
            return Err(DecompressError::RatioLimit { max_ratio: l.max_ratio, output, input: self.total_in });
        }
        self.total_out = output;
        Ok(())
    }

    fn write_inner(&mut self, mut input: &[u8], out: &mut Vec<u8>) -> Result<(), DecompressError> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.resize(STEP, 0);
        let r = loop {
            let r = match &mut self.inner {
                DecInner::Identity => {
                    let n = input.len();
                    match self.admit(n) {
                        Ok(()) => {
                            out.extend_from_slice(input);
                            input = &[];
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                DecInner::Gzip { .. } => self.gzip_step(&mut input, out, &mut scratch),
                DecInner::Deflate(_) => self.deflate_step(&mut input, out, &mut scratch),
                DecInner::Br { .. } => self.brotli_step(&mut input, out, &mut scratch),
            };
            match r {
                Err(e) => break Err(e),
                Ok(()) if input.is_empty() => break Ok(()),
                Ok(()) => {}
            }
        };
        self.scratch = scratch;
        r
    }

    /// Runs raw/zlib inflate over `input` until it is consumed or the stream ends, handing
    /// output (after the limit check) to `out` and `crc`.
    fn inflate(
        &mut self,
        coding: Coding,
        input: &mut &[u8],
        out: &mut Vec<u8>,
        scratch: &mut [u8],
        mut crc: Option<&mut Crc>,
    ) -> Result<(), DecompressError> {
        loop {
            let f = match &mut self.inner {
                DecInner::Gzip { state: GzState::Body(f, _), .. } | DecInner::Deflate(DefState::Body(f)) => f,
                _ => unreachable!("inflate outside a deflate body"),
            };
            let (in0, out0) = (f.inflate.total_in(), f.inflate.total_out());
            let status = f
                .inflate
                .decompress(input, scratch, FlushDecompress::None)
                .map_err(|e| invalid(coding, e.to_string()))?;
            let consumed = (f.inflate.total_in() - in0) as usize;
            let produced = (f.inflate.total_out() - out0) as usize;
            *input = &input[consumed..];
            if status == Status::StreamEnd {
                f.done = true;
            }
            let done = f.done;
            if produced > 0 {
                self.admit(produced)?;
                if let Some(crc) = crc.as_deref_mut() {
                    crc.update(&scratch[..produced]);
                }
                out.extend_from_slice(&scratch[..produced]);
            }
            if !done && consumed == 0 && produced == 0 && !input.is_empty() {
                // Cannot happen with a working inflater; never spin on it.
                return Err(invalid(coding, "decoder made no progress"));
            }
            if done || (input.is_empty() && produced < scratch.len()) {
                return Ok(());
            }
        }
    }

    fn gzip_step(&mut self, input: &mut &[u8], out: &mut Vec<u8>, scratch: &mut [u8]) -> Result<(), DecompressError> {
        let DecInner::Gzip { state, members } = &mut self.inner else { unreachable!() };
        match state {
            GzState::Header(h) => {
                let old = h.len();
                let take = input.len().min(MAX_GZIP_HEADER + 1 - old);
                h.extend_from_slice(&input[..take]);
                match parse_gzip_header(h) {
                    Ok(Some(n)) => {
                        *input = &input[n - old..];
                        *state = GzState::Body(Flate { inflate: Decompress::new(false), done: false }, Crc::new());
                    }
                    Ok(None) if h.len() > MAX_GZIP_HEADER => return Err(invalid(Coding::Gzip, "header too long")),
                    Ok(None) => *input = &input[take..],
                    Err(_) if *members > 0 => return Err(DecompressError::TrailingData(Coding::Gzip)),
                    Err(e) => return Err(e),
                }
                Ok(())
            }
            GzState::Body(..) => {
                let mut crc = match state {
                    GzState::Body(_, crc) => std::mem::replace(crc, Crc::new()),
                    _ => unreachable!(),
                };
                let r = self.inflate(Coding::Gzip, input, out, scratch, Some(&mut crc));
                let DecInner::Gzip { state, .. } = &mut self.inner else { unreachable!() };
                match state {
                    GzState::Body(f, _) if f.done => *state = GzState::Trailer(Vec::with_capacity(8), crc),
                    GzState::Body(_, c) => *c = crc,
                    _ => unreachable!(),
                }
                r
            }
            GzState::Trailer(t, crc) => {
                let take = input.len().min(8 - t.len());
                t.extend_from_slice(&input[..take]);
                *input = &input[take..];
                if t.len() == 8 {
                    let want_crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
                    let want_len = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
                    if want_crc != crc.sum() {
                        return Err(invalid(Coding::Gzip, "CRC-32 mismatch"));
                    }
                    if want_len != crc.amount() {
                        return Err(invalid(Coding::Gzip, "length mismatch"));
                    }
                    *members += 1;
                    *state = GzState::Header(Vec::new());
                }
                Ok(())
            }
        }
    }

    fn deflate_step(
        &mut self,
        input: &mut &[u8],
        out: &mut Vec<u8>,
        scratch: &mut [u8],
    ) -> Result<(), DecompressError> {
        let DecInner::Deflate(state) = &mut self.inner else { unreachable!() };
        match state {
            DefState::Detect(pending) => {
                let take = input.len().min(2 - pending.len());
                pending.extend_from_slice(&input[..take]);
                *input = &input[take..];
                if pending.len() < 2 {
                    return Ok(());
                }
                let head = std::mem::take(pending);
                let zlib = looks_like_zlib(head[0], head[1]);
                *state = DefState::Body(Flate { inflate: Decompress::new(zlib), done: false });
                let mut head_in = &head[..];
                self.inflate(Coding::Deflate, &mut head_in, out, scratch, None)?;
                if !head_in.is_empty() {
                    // Only possible if the stream ended within its first two bytes.
                    return Err(DecompressError::TrailingData(Coding::Deflate));
                }
                Ok(())
            }
            DefState::Body(f) if f.done => Err(DecompressError::TrailingData(Coding::Deflate)),
            DefState::Body(_) => self.inflate(Coding::Deflate, input, out, scratch, None),
        }
    }

    fn brotli_step(&mut self, input: &mut &[u8], out: &mut Vec<u8>, scratch: &mut [u8]) -> Result<(), DecompressError> {
        loop {
            let DecInner::Br { state, done } = &mut self.inner else { unreachable!() };
            if *done {
                return if input.is_empty() { Ok(()) } else { Err(DecompressError::TrailingData(Coding::Br)) };
            }
            let (mut avail_in, mut in_off) = (input.len(), 0);
            let (mut avail_out, mut out_off, mut total) = (scratch.len(), 0, 0);
            let r = BrotliDecompressStream(
                &mut avail_in,
                &mut in_off,
                input,
                &mut avail_out,
                &mut out_off,
                scratch,
                &mut total,
                &mut **state,
            );
            *input = &input[in_off..];
            match r {
                BrotliResult::ResultFailure => return Err(invalid(Coding::Br, "corrupt stream")),
                BrotliResult::ResultSuccess => *done = true,
                BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {}
            }
            if out_off > 0 {
                self.admit(out_off)?;
                out.extend_from_slice(&scratch[..out_off]);
            }
            if matches!(r, BrotliResult::NeedsMoreOutput) && in_off == 0 && out_off == 0 {
                return Err(invalid(Coding::Br, "decoder made no progress"));
            }
            if matches!(r, BrotliResult::NeedsMoreInput) {
                // Everything given was consumed (the decoder buffers partial input itself).
                *input = &[];
                return Ok(());
            }
        }
    }
}

/// Fuzzing entry point shared by `fuzz/fuzz_targets/http_decompress.rs` and the seed-replay
/// unit test: the first byte picks the read size, the rest goes to a [`Decoder`] for every
/// coding (bounded to 1 MiB), and is also round-tripped through every [`Encoder`]. Panics on
/// any broken invariant; never on bad input.
#[doc(hidden)]
pub fn fuzz_decoders(data: &[u8]) {
    const MAX: u64 = 1 << 20;
    let Some((&split, data)) = data.split_first() else { return };
    let step = usize::from(split).max(1);
    for coding in [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Identity] {
        let mut dec = Decoder::with_max_output(coding, MAX);
        let mut out = Vec::new();
        let mut r = Ok(());
        for piece in data.chunks(step) {
            r = dec.write(piece, &mut out);
            assert!(out.len() as u64 <= MAX, "{coding}: output past the limit");
            assert_eq!(out.len() as u64, dec.total_out());
            if r.is_err() {
                break;
            }
        }
        if r.is_ok() {
            let _ = dec.finish(&mut out);
        }
        assert!(out.len() as u64 <= MAX);

        // The encoders must round-trip anything, streamed in the same pieces.
        let mut enc = Encoder::new(coding, Some(u32::from(split) % 12));
        enc.flush_each_write = split & 1 == 1;
        let mut wire = Vec::new();
        for piece in data.chunks(step) {
            enc.write(piece, &mut wire).expect("encoding into memory");
        }
        enc.finish(&mut wire).expect("encoding into memory");
        let mut dec = Decoder::with_limits(coding, DecodeLimits { max_ratio: 0, ..DecodeLimits::default() });
        let mut back = Vec::new();
        for piece in wire.chunks(step) {
            dec.write(piece, &mut back).expect("decoding our own output");
        }
        dec.finish(&mut back).expect("decoding our own output");
        assert!(back == data, "{coding}: round trip changed the data");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// Deterministic, moderately compressible sample data.
    fn sample(len: usize) -> Vec<u8> {
        let words: [&[u8]; 8] = [b"alpha ", b"beta ", b"gamma ", b"delta\n", b"{\"k\":", b"12345,", b"x", b"zeta "];
        let mut seed = 0x2545_f491_u32;
        let mut v = Vec::with_capacity(len + 8);
        while v.len() < len {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            v.extend_from_slice(words[(seed % 8) as usize]);
            if seed % 7 == 3 {
                v.push((seed >> 8) as u8);
            }
        }
        v.truncate(len);
        v
    }

    const ALL: [Coding; 4] = [Coding::Gzip, Coding::Deflate, Coding::Br, Coding::Identity];

    fn decode_pieces(coding: Coding, data: &[u8], step: usize) -> Result<Vec<u8>, DecompressError> {
        let mut dec = Decoder::new(coding);
        let mut out = Vec::new();
        for piece in data.chunks(step.max(1)) {
            dec.write(piece, &mut out)?;
        }
        dec.finish(&mut out)?;
        Ok(out)
    }

    fn decode(coding: Coding, data: &[u8]) -> Result<Vec<u8>, DecompressError> {
        decode_pieces(coding, data, data.len())
    }

    #[test]
    fn coding_names() {
        for c in ALL {
            assert_eq!(Coding::parse(c.as_str().as_bytes()), Some(c));
            assert_eq!(Coding::parse(c.as_str().to_ascii_uppercase().as_bytes()), Some(c));
        }
        assert_eq!(Coding::parse(b" x-GZIP "), Some(Coding::Gzip));
        assert_eq!(Coding::parse(b"compress"), None);
        assert_eq!(Coding::parse(b""), None);
        assert_eq!(Coding::Br.to_string(), "br");
    }

    #[test]
    fn negotiation_table() {
        use Coding::*;
        let std_offer = [Br, Gzip, Deflate];
        let cases: &[(Option<&str>, &[Coding], Coding)] = &[
            (None, &std_offer, Identity),
            (Some(""), &std_offer, Identity),
            (Some("gzip"), &std_offer, Gzip),
            (Some("gzip, deflate, br"), &std_offer, Br),
            (Some("gzip, deflate, br"), &[Gzip, Br], Gzip),
            (Some("br;q=1.0, gzip;q=0.8"), &[Gzip, Br], Br),
            (Some("br;q=0.5, gzip;q=0.8"), &std_offer, Gzip),
            (Some("gzip;q=0, *"), &[Gzip, Br], Br),
            (Some("gzip;q=0, *"), &[Gzip], Identity),
            (Some("*"), &[Deflate, Gzip], Deflate),
            (Some("*;q=0"), &std_offer, Identity),
            (Some("identity;q=0"), &std_offer, Identity),
            (Some("identity;q=0, gzip"), &std_offer, Gzip),
            (Some("GZIP"), &std_offer, Gzip),
            (Some("Br ; Q=0.9 , gzip;q=0.5"), &std_offer, Br),
            (Some("x-gzip"), &std_offer, Gzip),
            (Some("deflate;q=0.5, gzip;q=0.5"), &[Gzip, Deflate], Gzip),
            (Some("deflate;q=0.5, gzip;q=0.5"), &[Deflate, Gzip], Deflate),
            (Some("gzip;q=1.5"), &std_offer, Identity),
            (Some("gzip;q=0.000"), &std_offer, Identity),
            (Some("gzip;q=0.001"), &std_offer, Gzip),
            (Some("gzip;q=0.0001, br;q=0.1"), &std_offer, Br),
            (Some("compress, zstd, gzip"), &std_offer, Gzip),
            (Some("gzip"), &[], Identity),
            (Some("gzip;level=1;q=0.5, br;q=0.4"), &std_offer, Gzip),
            (Some("identity, gzip;q=0.5"), &std_offer, Identity),
            (Some("identity;q=0.2, gzip;q=0.5"), &std_offer, Gzip),
            (Some("@@@, ;q=, br;q=abc, \u{1}gzip, ,,"), &std_offer, Identity),
            (Some("gzip;q"), &std_offer, Identity),
            (Some("  ,  br  ,"), &std_offer, Br),
        ];
        for (i, (header, offered, want)) in cases.iter().enumerate() {
            let got = negotiate(header.map(str::as_bytes), offered);
            assert_eq!(got, *want, "case {i}: {header:?} offered {offered:?}");
        }
        // Non-UTF-8 garbage must not panic.
        assert_eq!(negotiate(Some(b"\xff\xfe;q=\xff, gzip"), &std_offer), Gzip);
    }

    #[test]
    fn compressible_types() {
        let yes = [
            "text/html; charset=utf-8",
            "text/plain",
            "TEXT/CSS",
            "application/json",
            "application/javascript",
            "application/xml",
            "application/ld+json",
            "application/vnd.api+json; charset=utf-8",
            "application/atom+xml",
            "image/svg+xml",
            "application/wasm",
        ];
        let no = [
            "image/png",
            "image/jpeg",
            "video/mp4",
            "audio/mpeg",
            "application/zip",
            "application/gzip",
            "application/octet-stream",
            "font/woff2",
            "application/pdf",
            "garbage",
            "",
        ];
        for t in yes {
            assert!(compressible(Some(t.as_bytes())), "{t}");
        }
        for t in no {
            assert!(!compressible(Some(t.as_bytes())), "{t}");
        }
        assert!(!compressible(None));
    }

    #[test]
    fn content_encoding_lists() {
        use Coding::*;
        assert_eq!(parse_content_encoding(b"gzip").unwrap(), vec![Gzip]);
        assert_eq!(parse_content_encoding(b"deflate, BR").unwrap(), vec![Deflate, Br]);
        assert_eq!(parse_content_encoding(b" , identity, x-gzip ,").unwrap(), vec![Gzip]);
        assert_eq!(parse_content_encoding(b"").unwrap(), vec![]);
        assert_eq!(parse_content_encoding(b"gzip, zstd").unwrap_err(), UnsupportedCoding("zstd".into()));
        assert!(parse_content_encoding(b"gzip;q=1").is_err());

        // Stacked codings: applied in list order, decoded in reverse.
        let body = sample(10_000);
        let codings = parse_content_encoding(b"deflate, gzip").unwrap();
        let mut wire = body.clone();
        for &c in &codings {
            wire = compress(c, None, &wire);
        }
        for &c in codings.iter().rev() {
            wire = decode(c, &wire).unwrap();
        }
        assert_eq!(wire, body);
    }

    #[test]
    fn round_trip_streamed() {
        let data = sample(300_000);
        for coding in ALL {
            for flush in [true, false] {
                let mut enc = Encoder::new(coding, None);
                enc.flush_each_write = flush;
                let mut wire = Vec::new();
                let mut dec = Decoder::new(coding);
                let mut back = Vec::new();
                for (i, piece) in data.chunks(7_777).enumerate() {
                    let before = wire.len();
                    enc.write(piece, &mut wire).unwrap();
                    if flush {
                        // Sync-flush semantics: the output so far decodes everything written so far.
                        assert!(wire.len() > before, "{coding} piece {i} produced nothing");
                        dec.write(&wire[before..], &mut back).unwrap();
                        assert_eq!(back.len(), (i * 7_777 + piece.len()).min(data.len()), "{coding} piece {i}");
                    }
                }
                enc.finish(&mut wire).unwrap();
                if !flush {
                    dec.write(&wire, &mut back).unwrap();
                } else {
                    let sent: usize = back.len();
                    assert_eq!(sent, data.len());
                    // The tail (trailer) was appended by finish.
                    let mut d2 = Decoder::new(coding);
                    let mut b2 = Vec::new();
                    d2.write(&wire, &mut b2).unwrap();
                    d2.finish(&mut b2).unwrap();
                    assert_eq!(b2, data, "{coding}");
                    continue;
                }
                dec.finish(&mut back).unwrap();
                assert_eq!(back, data, "{coding} flush={flush}");
                if coding != Coding::Identity {
                    assert!(wire.len() < data.len() / 2, "{coding} compressed {} -> {}", data.len(), wire.len());
                }
            }
        }
    }

    #[test]
    fn whole_body_smaller_than_flushed() {
        let data = sample(50_000);
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Br] {
            let whole = compress(coding, None, &data);
            let mut enc = Encoder::new(coding, None);
            let mut flushed = Vec::new();
            for piece in data.chunks(100) {
                enc.write(piece, &mut flushed).unwrap();
            }
            enc.finish(&mut flushed).unwrap();
            assert!(whole.len() < flushed.len(), "{coding}: {} vs {}", whole.len(), flushed.len());
            assert_eq!(decode(coding, &flushed).unwrap(), data);
            assert_eq!(decode(coding, &whole).unwrap(), data);
        }
    }

    #[test]
    fn levels_and_empty_bodies() {
        let data = sample(20_000);
        for coding in ALL {
            for level in [Some(0), Some(1), Some(9), Some(11), Some(99), None] {
                assert_eq!(decode(coding, &compress(coding, level, &data)).unwrap(), data, "{coding} {level:?}");
            }
            // Compressed empty body, and a body with no bytes at all.
            assert_eq!(decode(coding, &compress(coding, None, b"")).unwrap(), b"");
            assert_eq!(decode(coding, b"").unwrap(), b"");
            // Empty writes are harmless.
            let mut enc = Encoder::new(coding, None);
            let mut out = Vec::new();
            enc.write(b"", &mut out).unwrap();
            enc.write(b"abc", &mut out).unwrap();
            enc.write(b"", &mut out).unwrap();
            enc.flush(&mut out).unwrap();
            enc.finish(&mut out).unwrap();
            assert_eq!(decode(coding, &out).unwrap(), b"abc");
        }
    }

    #[test]
    fn one_byte_at_a_time() {
        let data = sample(40_000);
        for coding in ALL {
            let wire = compress(coding, None, &data);
            assert_eq!(decode_pieces(coding, &wire, 1).unwrap(), data, "{coding}");
            assert_eq!(decode_pieces(coding, &wire, 3).unwrap(), data, "{coding}");
        }
        // Raw deflate and multi-member gzip too.
        let raw = raw_deflate(&data);
        assert_eq!(decode_pieces(Coding::Deflate, &raw, 1).unwrap(), data);
        let mut multi = compress(Coding::Gzip, None, &data[..1000]);
        multi.extend(compress(Coding::Gzip, Some(1), &data[1000..]));
        assert_eq!(decode_pieces(Coding::Gzip, &multi, 1).unwrap(), data);
    }

    fn raw_deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_multi_member() {
        let mut wire = compress(Coding::Gzip, None, b"first member, ");
        wire.extend(compress(Coding::Gzip, None, b""));
        wire.extend(compress(Coding::Gzip, Some(9), b"second member"));
        assert_eq!(decode(Coding::Gzip, &wire).unwrap(), b"first member, second member");
        // Garbage after a complete member is an error, not silently dropped.
        let mut bad = compress(Coding::Gzip, None, b"x");
        bad.extend_from_slice(b"junk");
        assert_eq!(decode(Coding::Gzip, &bad).unwrap_err(), DecompressError::TrailingData(Coding::Gzip));
    }

    #[test]
    fn deflate_raw_and_zlib() {
        let data = sample(5_000);
        let zlib = compress(Coding::Deflate, None, &data);
        assert!(looks_like_zlib(zlib[0], zlib[1]));
        assert_eq!(decode(Coding::Deflate, &zlib).unwrap(), data);
        for level in 0..=9 {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(level));
            e.write_all(&data).unwrap();
            let raw = e.finish().unwrap();
            assert_eq!(decode(Coding::Deflate, &raw).unwrap(), data, "raw level {level}");
        }
        // Trailing bytes after the stream end.
        let mut bad = zlib.clone();
        bad.push(0);
        assert_eq!(decode(Coding::Deflate, &bad).unwrap_err(), DecompressError::TrailingData(Coding::Deflate));
    }

    /// `gzip -9 -c greeting.txt` (header with FNAME) of "hello hello hello gzip fixture\n".
    const GZIP_CLI_FIXTURE: &[u8] = &[
        0x1f, 0x8b, 0x08, 0x08, 0x41, 0xf9, 0x08, 0x6b, 0x02, 0x03, 0x67, 0x72, 0x65, 0x65, 0x74, 0x69, 0x6e, 0x67,
        0x2e, 0x74, 0x78, 0x74, 0x00, 0xcb, 0x48, 0xcd, 0xc9, 0xc9, 0x57, 0xc8, 0x40, 0x22, 0xd3, 0xab, 0x32, 0x0b,
        0x14, 0xd2, 0x32, 0x2b, 0x4a, 0x4a, 0x8b, 0x52, 0xb9, 0x00, 0x37, 0x2a, 0x1d, 0x18, 0x1f, 0x00, 0x00, 0x00,
    ];
    /// Python `zlib.compress(d, 9)` of "zlib fixture zlib fixture zlib fixture\n".
    const PY_ZLIB_FIXTURE: &[u8] = &[
        120, 218, 171, 202, 201, 76, 82, 72, 203, 172, 40, 41, 45, 74, 85, 168, 194, 197, 225, 2, 0, 45, 184, 14, 211,
    ];
    /// Python `zlib.compressobj(6, DEFLATED, -15)` (raw deflate) of the same text.
    const PY_RAW_FIXTURE: &[u8] = &[171, 202, 201, 76, 82, 72, 203, 172, 40, 41, 45, 74, 85, 168, 194, 197, 225, 2, 0];

    #[test]
    fn embedded_external_fixtures() {
        for step in [1, 2, 5, 1000] {
            assert_eq!(
                decode_pieces(Coding::Gzip, GZIP_CLI_FIXTURE, step).unwrap(),
                b"hello hello hello gzip fixture\n"
            );
            let zl = b"zlib fixture zlib fixture zlib fixture\n";
            assert_eq!(decode_pieces(Coding::Deflate, PY_ZLIB_FIXTURE, step).unwrap(), zl);
            assert_eq!(decode_pieces(Coding::Deflate, PY_RAW_FIXTURE, step).unwrap(), zl);
        }
    }

    /// Runs `cmd args` with `input` on stdin; `None` if the tool is missing or fails.
    fn run_tool(cmd: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
        let mut child = Command::new(cmd)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut stdin = child.stdin.take()?;
        let input = input.to_vec();
        let writer = std::thread::spawn(move || stdin.write_all(&input));
        let output = child.wait_with_output().ok()?;
        writer.join().ok()?.ok()?;
        output.status.success().then_some(output.stdout)
    }

    #[test]
    fn external_tool_outputs() {
        let data = sample(200_000);
        let mut checked = Vec::new();
        let mut skipped = Vec::new();

        // gzip CLI, from a file so the header carries FNAME; and two members concatenated.
        let path = std::env::temp_dir().join(format!("iocrate-compress-fixture-{}.txt", std::process::id()));
        std::fs::write(&path, &data).unwrap();
        let gz = Command::new("gzip").args(["-c", "-6"]).arg(&path).output().ok().filter(|o| o.status.success());
        let _ = std::fs::remove_file(&path);
        match gz {
            Some(o) => {
                assert_eq!(o.stdout[3] & 0x08, 0x08, "gzip -c <file> sets FNAME");
                assert_eq!(decode_pieces(Coding::Gzip, &o.stdout, 1000).unwrap(), data);
                let mut two = o.stdout.clone();
                two.extend(run_tool("gzip", &["-c", "-1"], b"tail").expect("gzip from stdin"));
                let mut want = data.clone();
                want.extend_from_slice(b"tail");
                assert_eq!(decode_pieces(Coding::Gzip, &two, 4096).unwrap(), want);
                checked.push("gzip");
            }
            None => skipped.push("gzip"),
        }

        let py = |script: &str| run_tool("python3", &["-c", script], &data);
        let zlib = "import sys,zlib; sys.stdout.buffer.write(zlib.compress(sys.stdin.buffer.read(), 6))";
        let raw = "import sys,zlib; c=zlib.compressobj(9, zlib.DEFLATED, -15); \
                   d=sys.stdin.buffer.read(); sys.stdout.buffer.write(c.compress(d)+c.flush())";
        let pygz = "import sys,gzip; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 9))";
        for (name, script, coding) in [
            ("python zlib", zlib, Coding::Deflate),
            ("python raw deflate", raw, Coding::Deflate),
            ("python gzip", pygz, Coding::Gzip),
        ] {
            match py(script) {
                Some(wire) => {
                    assert_eq!(decode_pieces(coding, &wire, 777).unwrap(), data, "{name}");
                    checked.push(name);
                }
                None => skipped.push(name),
            }
        }

        // Brotli: the CLI, else the Python module; neither is guaranteed to be installed.
        let br = run_tool("brotli", &["-c", "-q", "9"], &data).or_else(|| {
            py("import sys,brotli; sys.stdout.buffer.write(brotli.compress(sys.stdin.buffer.read(), quality=9))")
        });
        match br {
            Some(wire) => {
                assert_eq!(decode_pieces(Coding::Br, &wire, 777).unwrap(), data, "external brotli");
                checked.push("brotli");
            }
            None => skipped.push("brotli (no `brotli` CLI nor python module)"),
        }
        eprintln!("external fixtures checked: {checked:?}; skipped: {skipped:?}");
    }

    #[test]
    fn bomb_limits() {
        let zeros = vec![0u8; 8 << 20];
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Br] {
            let wire = compress(coding, Some(9), &zeros);
            assert!(wire.len() < 40_000, "{coding}: {}", wire.len());

            // Output limit, reached in one write: nothing past the limit is appended.
            let mut dec = Decoder::with_max_output(coding, 1 << 20);
            let mut out = Vec::new();
            let err = dec.write(&wire, &mut out).unwrap_err();
            assert_eq!(err, DecompressError::OutputLimit { limit: 1 << 20 }, "{coding}");
            assert!(out.len() <= 1 << 20);
            assert!(err.to_string().contains("exceeds the limit"));
            // Stays failed.
            assert_eq!(dec.write(b"", &mut out).unwrap_err(), err);
            assert_eq!(dec.finish(&mut out).unwrap_err(), err);

            // Ratio limit (default limits; 8 MiB of zeros is far beyond 1032:1 for br and at
            // deflate's ceiling, so use a tighter ratio).
            let limits = DecodeLimits { max_ratio: 100, ..DecodeLimits::default() };
            let mut dec = Decoder::with_limits(coding, limits);
            let mut out = Vec::new();
            let err = dec.write(&wire, &mut out).unwrap_err();
            assert!(matches!(err, DecompressError::RatioLimit { max_ratio: 100, .. }), "{coding}: {err}");
            assert!(out.len() as u64 <= limits.ratio_grace.max(wire.len() as u64 * 100) + STEP as u64);

            // Fed piecewise, the limit trips just the same and early.
            let mut dec = Decoder::with_limits(coding, limits);
            let mut out = Vec::new();
            let r = wire.chunks(64).try_for_each(|p| dec.write(p, &mut out));
            assert!(matches!(r, Err(DecompressError::RatioLimit { .. })), "{coding}");

            // Generous limits let it through.
            let limits = DecodeLimits { max_output: 16 << 20, max_ratio: 0, ..DecodeLimits::default() };
            let mut dec = Decoder::with_limits(coding, limits);
            let mut out = Vec::new();
            dec.write(&wire, &mut out).unwrap();
            dec.finish(&mut out).unwrap();
            assert_eq!(out.len(), zeros.len());
        }
        let mut dec = Decoder::with_max_output(Coding::Identity, 10);
        let mut out = Vec::new();
        dec.write(b"0123456789", &mut out).unwrap();
        assert_eq!(dec.write(b"a", &mut out).unwrap_err(), DecompressError::OutputLimit { limit: 10 });
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn truncated_input_fails_at_finish() {
        let data = sample(30_000);
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Br] {
            let wire = compress(coding, None, &data);
            for cut in [1, 2, 5, 10, wire.len() / 2, wire.len() - 4, wire.len() - 1] {
                let mut dec = Decoder::new(coding);
                let mut out = Vec::new();
                let r = dec.write(&wire[..cut], &mut out).and_then(|()| dec.finish(&mut out));
                let err = r.unwrap_err();
                assert!(
                    matches!(err, DecompressError::Truncated(c) if c == coding),
                    "{coding} cut at {cut}/{}: {err}",
                    wire.len()
                );
            }
        }
    }

    #[test]
    fn corrupt_input_errors() {
        let data = sample(30_000);
        for coding in [Coding::Gzip, Coding::Deflate, Coding::Br] {
            let wire = compress(coding, None, &data);
            // Flip bits throughout: gzip/zlib carry checksums and Brotli is strict, so a flip must
            // never go unnoticed (error, or at worst different output), nor panic.
            for i in (0..wire.len()).step_by(97) {
                let mut bad = wire.clone();
                bad[i] ^= 0x55;
                let r = decode_pieces(coding, &bad, 333);
                if let Ok(out) = r {
                    assert_ne!(out, data, "{coding}: flip at {i} went unnoticed and gave the same data");
                }
            }
        }
        let mut bad = compress(Coding::Gzip, None, b"checksum");
        let n = bad.len();
        bad[n - 8] ^= 1;
        assert_eq!(
            decode(Coding::Gzip, &bad).unwrap_err(),
            DecompressError::Invalid { coding: Coding::Gzip, reason: "CRC-32 mismatch".into() }
        );
        assert!(matches!(decode(Coding::Gzip, b"PK\x03\x04"), Err(DecompressError::Invalid { .. })));
        assert!(decode(Coding::Br, b"\xff\xff\xff\xff").is_err());
    }

    #[test]
    fn gzip_header_fields() {
        // FEXTRA + FNAME + FCOMMENT + FHCRC, built with flate2's GzBuilder.
        let mut e = flate2::GzBuilder::new()
            .extra(vec![1, 2, 3, 4])
            .filename("name.txt")
            .comment("a comment")
            .operating_system(3)
            .write(Vec::new(), Compression::default());
        e.write_all(b"with every header field").unwrap();
        let mut wire = e.finish().unwrap();
        assert_eq!(decode_pieces(Coding::Gzip, &wire, 1).unwrap(), b"with every header field");
        // Set FHCRC by hand: insert the CRC-16 of the header.
        let hlen = parse_gzip_header(&wire).unwrap().unwrap();
        wire[3] |= 0x02;
        let mut crc = Crc::new();
        crc.update(&wire[..hlen]);
        let c16 = (crc.sum() & 0xffff) as u16;
        wire.splice(hlen..hlen, c16.to_le_bytes());
        assert_eq!(decode_pieces(Coding::Gzip, &wire, 1).unwrap(), b"with every header field");
        wire[hlen] ^= 1;
        assert!(decode(Coding::Gzip, &wire).is_err());
    }

    /// A cheap stand-in for the fuzzer on stable: random bytes and mutated valid streams.
    #[test]
    fn random_inputs_never_panic() {
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let valid: Vec<Vec<u8>> = [Coding::Gzip, Coding::Deflate, Coding::Br]
            .into_iter()
            .map(|c| compress(c, Some(5), &sample(3_000)))
            .chain([raw_deflate(&sample(3_000))])
            .collect();
        for i in 0..400 {
            let mut data: Vec<u8> = if i % 2 == 1 {
                let mut v = valid[(next() as usize) % valid.len()].clone();
                for _ in 0..1 + next() % 4 {
                    let at = next() as usize % v.len();
                    v[at] = next() as u8;
                }
                v.truncate(v.len() - (next() as usize % 3));
                v
            } else {
                (0..next() % 600).map(|_| next() as u8).collect()
            };
            data.insert(0, next() as u8);
            fuzz_decoders(&data);
        }
    }

    /// Replays `fuzz/corpus/http_decompress/seed-*` (plus truncations and bit flips) through the
    /// fuzz target's entry point, and checks each seed decodes with the coding its name says.
    #[test]
    fn fuzz_seed_replay() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/http_decompress");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds in {}", dir.display());
        for path in files {
            let seed = std::fs::read(&path).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let coding = if name.contains("gzip") {
                Coding::Gzip
            } else if name.contains("zlib") || name.contains("deflate") {
                Coding::Deflate
            } else if name.contains("-br") {
                Coding::Br
            } else {
                Coding::Identity
            };
            if name.starts_with("seed-crash") {
                coding_agnostic_replay(&seed);
                continue;
            }
            let body =
                decode_pieces(coding, &seed[1..], usize::from(seed[0])).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!body.is_empty(), "{name}");
            coding_agnostic_replay(&seed);
        }
    }

    fn coding_agnostic_replay(seed: &[u8]) {
        fuzz_decoders(seed);
        for n in [0, 1, 2, 5, seed.len() / 2, seed.len().saturating_sub(1)] {
            fuzz_decoders(&seed[..n.min(seed.len())]);
        }
        let mut flipped = seed.to_vec();
        for i in (1..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5a;
        }
        fuzz_decoders(&flipped);
    }
}
