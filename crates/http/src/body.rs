//! Body framing: deciding how a message body is delimited (RFC 9112 §6), decoding
//! Content-Length, chunked and read-until-close bodies, and encoding them.

use bytes::{Buf, Bytes, BytesMut};

use crate::error::{Error, WriteError};
use crate::head::Version;
use crate::headers::{parse_fields, scan_fields, write_field, Headers};
use crate::limits::Limits;

/// How a received body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Length(u64),
    Chunked,
    UntilClose,
}

/// Reads the framing headers of a request (`is_request`) or response that may have a body.
///
/// Stricter than RFC 9112 §6.3 on purpose: both CL and TE, TE in HTTP/1.0, any coding
/// other than a single final `chunked`, and any repeated Content-Length in a request are
/// errors. Identical repeated Content-Length values (`5, 5`) are rejected in requests and
/// accepted in responses only (RFC 9110 §8.6 allows either; servers see attackers, clients
/// see old servers).
pub(crate) fn framing(headers: &Headers, version: Version, is_request: bool) -> Result<BodyKind, Error> {
    let has_te = headers.contains("transfer-encoding");
    let has_cl = headers.contains("content-length");
    if has_te {
        if has_cl {
            return Err(Error::ContentLengthWithTransferEncoding);
        }
        if version == Version::Http10 {
            return Err(Error::TransferEncodingInHttp10);
        }
        let codings: Vec<&[u8]> = headers.list("transfer-encoding").collect();
        let known = |c: &[u8]| {
            [&b"chunked"[..], b"gzip", b"deflate", b"compress", b"x-gzip", b"x-compress"]
                .iter()
                .any(|k| k.eq_ignore_ascii_case(c))
        };
        let is_chunked = |c: &[u8]| c.eq_ignore_ascii_case(b"chunked");
        if codings.iter().any(|c| c.is_empty()) {
            return Err(Error::ChunkedNotFinal);
        }
        if codings.iter().any(|c| !known(c)) {
            return Err(Error::UnsupportedTransferCoding);
        }
        if !codings.last().is_some_and(|c| is_chunked(c)) {
            // RFC 9112 §6.3: a request must be rejected; a response is read until close.
            return if is_request { Err(Error::ChunkedNotFinal) } else { Ok(BodyKind::UntilClose) };
        }
        if codings.iter().filter(|c| is_chunked(c)).count() > 1 {
            return Err(Error::ChunkedNotFinal);
        }
        if codings.len() > 1 {
            // gzip etc. under chunked: we do not decode them and must not hand them on as identity.
            return Err(Error::UnsupportedTransferCoding);
        }
        return Ok(BodyKind::Chunked);
    }
    if has_cl {
        let mut value = None;
        for v in headers.list("content-length") {
            if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
                return Err(Error::InvalidContentLength);
            }
            let n: u64 = std::str::from_utf8(v).ok().and_then(|s| s.parse().ok()).ok_or(Error::InvalidContentLength)?;
            match value {
                None => value = Some(n),
                Some(m) if m == n && !is_request => {}
                Some(_) => return Err(Error::DuplicateContentLength),
            }
        }
        return Ok(BodyKind::Length(value.unwrap_or(0)));
    }
    Ok(if is_request { BodyKind::Length(0) } else { BodyKind::UntilClose })
}

/// One step of body decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// Body bytes.
    Data(Bytes),
    /// The body is complete; trailer fields (empty unless chunked with trailers).
    End(Headers),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Reading hex digits: value so far, digit count.
    Size(u64, u32),
    /// BWS after the size, before `;`.
    SizeWs(u64),
    /// Inside the extension: size, extension bytes so far.
    Ext(u64, usize),
    /// Saw CR after the size line; LF must follow.
    SizeLf(u64),
    Data(u64),
    DataCr,
    DataLf,
    Trailers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    Done,
}

/// Incremental body decoder. Feed it the bytes after the head; it consumes what it uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyDecoder {
    kind: Kind,
    total: u64,
}

impl BodyDecoder {
    /// A body of exactly `n` bytes.
    pub fn length(n: u64) -> Self {
        Self { kind: if n == 0 { Kind::Done } else { Kind::Length(n) }, total: 0 }
    }

    /// A chunked body (RFC 9112 §7.1).
    pub fn chunked() -> Self {
        Self { kind: Kind::Chunked(Chunked::Size(0, 0)), total: 0 }
    }

    /// A response body delimited by the connection closing.
    pub fn until_close() -> Self {
        Self { kind: Kind::UntilClose, total: 0 }
    }

    pub(crate) fn from_kind(kind: BodyKind) -> Self {
        match kind {
            BodyKind::Length(n) => Self::length(n),
            BodyKind::Chunked => Self::chunked(),
            BodyKind::UntilClose => Self::until_close(),
        }
    }

    /// Whether the body has no bytes left to read (a zero length).
    pub(crate) fn is_empty(&self) -> bool {
        self.kind == Kind::Done
    }

    /// Decodes from the front of `buf`, consuming what it uses. `eof` says the peer has
    /// closed and `buf` holds everything that will ever arrive. `Ok(None)`: need more bytes.
    pub fn decode(&mut self, buf: &mut BytesMut, eof: bool, limits: &Limits) -> Result<Option<Decoded>, Error> {
        loop {
            match self.kind {
                Kind::Done => return Ok(Some(Decoded::End(Headers::new()))),
                Kind::Length(remaining) => {
                    if buf.is_empty() {
                        return if eof { Err(Error::UnexpectedEof) } else { Ok(None) };
                    }
                    let n = remaining.min(buf.len() as u64);
                    self.kind = if n == remaining { Kind::Done } else { Kind::Length(remaining - n) };
                    return self.data(buf, n as usize, limits).map(Some);
                }
                Kind::UntilClose => {
                    if buf.is_empty() {
                        if eof {
                            self.kind = Kind::Done;
                            continue;
                        }
                        return Ok(None);
                    }
                    let n = buf.len();
                    return self.data(buf, n, limits).map(Some);
                }
                Kind::Chunked(Chunked::Data(remaining)) => {
                    if buf.is_empty() {
                        return if eof { Err(Error::UnexpectedEof) } else { Ok(None) };
                    }
                    let n = remaining.min(buf.len() as u64);
                    self.kind =
                        Kind::Chunked(if n == remaining { Chunked::DataCr } else { Chunked::Data(remaining - n) });
                    // The limit was checked when the chunk size was read.
                    return Ok(Some(Decoded::Data(buf.split_to(n as usize).freeze())));
                }
                Kind::Chunked(Chunked::Trailers) => {
                    let scanned =
                        scan_fields(buf, 0, limits.max_trailer_bytes, limits.max_header_count, Error::TrailerTooLarge)?;
                    let Some((end, count)) = scanned else {
                        return if eof { Err(Error::UnexpectedEof) } else { Ok(None) };
                    };
                    let trailers = parse_fields(&buf[..end], count)?;
                    buf.advance(end);
                    self.kind = Kind::Done;
                    return Ok(Some(Decoded::End(trailers)));
                }
                Kind::Chunked(state) => {
                    let Some(&b) = buf.first() else {
                        return if eof { Err(Error::UnexpectedEof) } else { Ok(None) };
                    };
                    self.kind = Kind::Chunked(self.chunk_line(state, b, limits)?);
                    buf.advance(1);
                }
            }
        }
    }

    fn data(&mut self, buf: &mut BytesMut, n: usize, limits: &Limits) -> Result<Decoded, Error> {
        self.total += n as u64;
        if limits.max_body_bytes.is_some_and(|max| self.total > max) {
            return Err(Error::BodyTooLarge);
        }
        Ok(Decoded::Data(buf.split_to(n).freeze()))
    }

    /// One byte of a chunk-size line or of the CRLF after chunk data.
    fn chunk_line(&mut self, state: Chunked, b: u8, limits: &Limits) -> Result<Chunked, Error> {
        Ok(match state {
            Chunked::Size(size, digits) => match b {
                b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                    let d = (b as char).to_digit(16).unwrap_or(0) as u64;
                    let size = size.checked_mul(16).and_then(|s| s.checked_add(d)).ok_or(Error::ChunkSizeOverflow)?;
                    // Leading zeros cannot overflow, so bound the digit count separately.
                    if digits >= 64 {
                        return Err(Error::InvalidChunkSize);
                    }
                    Chunked::Size(size, digits + 1)
                }
                _ if digits == 0 => return Err(Error::InvalidChunkSize),
                b'\r' => Chunked::SizeLf(size),
                b';' => Chunked::Ext(size, 0),
                b' ' | b'\t' => Chunked::SizeWs(size),
                b'\n' => return Err(Error::BareLf),
                _ => return Err(Error::InvalidChunkSize),
            },
            Chunked::SizeWs(size) => match b {
                b' ' | b'\t' => Chunked::SizeWs(size),
                b';' => Chunked::Ext(size, 0),
                _ => return Err(Error::InvalidChunkSize),
            },
            Chunked::Ext(size, len) => match b {
                b'\r' => Chunked::SizeLf(size),
                b'\n' => return Err(Error::BareLf),
                _ if len + 1 > limits.max_chunk_ext_bytes => return Err(Error::ChunkExtensionTooLong),
                // Extensions are ignored (RFC 9112 §7.1.1) but must be printable.
                b'\t' | 0x20..=0x7e | 0x80..=0xff => Chunked::Ext(size, len + 1),
                _ => return Err(Error::InvalidChunkExtension),
            },
            Chunked::SizeLf(size) => match b {
                b'\n' if size == 0 => Chunked::Trailers,
                b'\n' => {
                    self.total = self.total.saturating_add(size);
                    if limits.max_body_bytes.is_some_and(|max| self.total > max) {
                        return Err(Error::BodyTooLarge);
                    }
                    Chunked::Data(size)
                }
                _ => return Err(Error::BareCr),
            },
            Chunked::DataCr if b == b'\r' => Chunked::DataLf,
            Chunked::DataLf if b == b'\n' => Chunked::Size(0, 0),
            Chunked::DataCr | Chunked::DataLf => return Err(Error::MissingChunkCrlf),
            Chunked::Data(_) | Chunked::Trailers => unreachable!("handled by decode"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EncKind {
    Length(u64),
    Chunked,
    UntilClose,
    /// HEAD responses, 204, 304: the head announced a body that is not sent.
    Discard,
    Done,
}

/// Body encoder. Appends framed body bytes to a caller-owned buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyEncoder {
    kind: EncKind,
}

impl BodyEncoder {
    /// Exactly `n` bytes follow.
    pub fn length(n: u64) -> Self {
        Self { kind: EncKind::Length(n) }
    }

    /// Chunked encoding.
    pub fn chunked() -> Self {
        Self { kind: EncKind::Chunked }
    }

    /// Bytes until the connection closes.
    pub fn until_close() -> Self {
        Self { kind: EncKind::UntilClose }
    }

    /// No body goes on the wire; data is dropped.
    pub fn discard() -> Self {
        Self { kind: EncKind::Discard }
    }

    /// Appends `data`, framed.
    pub fn encode(&mut self, data: &[u8], dst: &mut Vec<u8>) -> Result<(), WriteError> {
        match self.kind {
            EncKind::Length(remaining) => {
                if data.len() as u64 > remaining {
                    return Err(WriteError::BodyTooLong);
                }
                self.kind = EncKind::Length(remaining - data.len() as u64);
                dst.extend_from_slice(data);
            }
            // An empty chunk would end the body, so empty writes append nothing.
            EncKind::Chunked if data.is_empty() => {}
            EncKind::Chunked => {
                dst.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                dst.extend_from_slice(data);
                dst.extend_from_slice(b"\r\n");
            }
            EncKind::UntilClose => dst.extend_from_slice(data),
            EncKind::Discard => {}
            EncKind::Done => return Err(WriteError::InvalidState),
        }
        Ok(())
    }

    /// Ends the body, with `trailers` if chunked (they must be empty otherwise).
    pub fn finish(&mut self, trailers: &Headers, dst: &mut Vec<u8>) -> Result<(), WriteError> {
        if !trailers.is_empty() && self.kind != EncKind::Chunked {
            return Err(WriteError::TrailersNotChunked);
        }
        match self.kind {
            EncKind::Length(n) if n > 0 => return Err(WriteError::BodyTooShort(n)),
            EncKind::Chunked => {
                trailers.validate()?;
                dst.extend_from_slice(b"0\r\n");
                for (n, v) in trailers.iter() {
                    write_field(dst, n, v);
                }
                dst.extend_from_slice(b"\r\n");
            }
            EncKind::Done => return Err(WriteError::InvalidState),
            _ => {}
        }
        self.kind = EncKind::Done;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(dec: &mut BodyDecoder, input: &[u8], eof: bool) -> Result<(Vec<u8>, Option<Headers>), Error> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        let lim = Limits { max_chunk_ext_bytes: 16, ..Limits::default() };
        while let Some(d) = dec.decode(&mut buf, eof, &lim)? {
            match d {
                Decoded::Data(b) => out.extend_from_slice(&b),
                Decoded::End(t) => return Ok((out, Some(t))),
            }
        }
        Ok((out, None))
    }

    fn chunked(input: &[u8]) -> Result<(Vec<u8>, Option<Headers>), Error> {
        decode_all(&mut BodyDecoder::chunked(), input, false)
    }

    #[test]
    fn chunked_ok() {
        let (body, t) = chunked(b"5;a=b;c=\"d\"\r\nhello\r\n1 ;x\r\n!\r\n0\r\nX-T: 1\r\n\r\n").unwrap();
        assert_eq!(body, b"hello!");
        assert_eq!(t.unwrap().get("x-t"), Some(&b"1"[..]));
        let (body, t) = chunked(b"A\r\n0123456789\r\n0\r\n\r\n").unwrap();
        assert_eq!((body.len(), t.unwrap().len()), (10, 0));
        assert_eq!(chunked(b"5\r\nhel").unwrap(), (b"hel".to_vec(), None));
    }

    #[test]
    fn chunked_rejects() {
        assert_eq!(chunked(b"-1\r\n"), Err(Error::InvalidChunkSize));
        assert_eq!(chunked(b"0x5\r\n"), Err(Error::InvalidChunkSize));
        assert_eq!(chunked(b"\r\n"), Err(Error::InvalidChunkSize));
        assert_eq!(chunked(b"10000000000000000\r\n"), Err(Error::ChunkSizeOverflow));
        assert_eq!(chunked(&[&[b'0'; 70][..], b"\r\n"].concat()), Err(Error::InvalidChunkSize));
        assert_eq!(chunked(b"5\nhello"), Err(Error::BareLf));
        assert_eq!(chunked(b"5;a\nhello"), Err(Error::BareLf));
        assert_eq!(chunked(b"5\rhello"), Err(Error::BareCr));
        assert_eq!(chunked(b"5 \r\n"), Err(Error::InvalidChunkSize));
        assert_eq!(chunked(b"5\r\nhelloX\r\n"), Err(Error::MissingChunkCrlf));
        assert_eq!(chunked(b"5\r\nhello\n0\r\n"), Err(Error::MissingChunkCrlf));
        assert_eq!(chunked(b"5;aaaaaaaaaaaaaaaaaaaaaaa\r\n"), Err(Error::ChunkExtensionTooLong));
        assert_eq!(chunked(b"5;a\x00\r\n"), Err(Error::InvalidChunkExtension));
        assert_eq!(chunked(b"0\r\nX: 1\n\r\n"), Err(Error::BareLf));
        assert_eq!(decode_all(&mut BodyDecoder::chunked(), b"5\r\nab", true), Err(Error::UnexpectedEof));
    }

    #[test]
    fn length_and_close() {
        assert_eq!(decode_all(&mut BodyDecoder::length(3), b"abcd", false).unwrap().0, b"abc");
        assert_eq!(decode_all(&mut BodyDecoder::length(3), b"ab", true), Err(Error::UnexpectedEof));
        let (b, end) = decode_all(&mut BodyDecoder::until_close(), b"abc", true).unwrap();
        assert_eq!((b.as_slice(), end.is_some()), (&b"abc"[..], true));
        let lim = Limits { max_body_bytes: Some(2), ..Limits::default() };
        let mut buf = BytesMut::from(&b"3\r\nabc\r\n"[..]);
        assert_eq!(BodyDecoder::chunked().decode(&mut buf, false, &lim), Err(Error::BodyTooLarge));
    }

    #[test]
    fn framing_rules() {
        let h = |pairs: &[(&str, &str)]| {
            let mut h = Headers::new();
            for (n, v) in pairs {
                h.push(*n, *v);
            }
            h
        };
        let v11 = Version::Http11;
        let te = |v: &str| framing(&h(&[("Transfer-Encoding", v)]), v11, true);
        assert_eq!(te("chunked"), Ok(BodyKind::Chunked));
        assert_eq!(te("CHUNKED"), Ok(BodyKind::Chunked));
        // OWS around list elements is field syntax (RFC 9110 §5.6.1), not part of the coding.
        assert_eq!(te("\tchunked \t"), Ok(BodyKind::Chunked));
        assert_eq!(te("chunked\x0c"), Err(Error::UnsupportedTransferCoding));
        assert_eq!(te("chunked,"), Err(Error::ChunkedNotFinal));
        assert_eq!(te("xchunked"), Err(Error::UnsupportedTransferCoding));
        assert_eq!(te("chunked, identity"), Err(Error::UnsupportedTransferCoding));
        assert_eq!(te("gzip"), Err(Error::ChunkedNotFinal));
        assert_eq!(te("chunked, chunked"), Err(Error::ChunkedNotFinal));
        assert_eq!(te("gzip, chunked"), Err(Error::UnsupportedTransferCoding));
        assert_eq!(framing(&h(&[("Transfer-Encoding", "gzip")]), v11, false), Ok(BodyKind::UntilClose));
        let cl = |v: &[(&str, &str)], req| framing(&h(v), v11, req);
        assert_eq!(cl(&[("Content-Length", "5")], true), Ok(BodyKind::Length(5)));
        assert_eq!(cl(&[("Content-Length", "5, 5")], true), Err(Error::DuplicateContentLength));
        assert_eq!(cl(&[("Content-Length", "5, 5")], false), Ok(BodyKind::Length(5)));
        assert_eq!(cl(&[("Content-Length", "5"), ("content-length", "6")], false), Err(Error::DuplicateContentLength));
        assert_eq!(cl(&[("Content-Length", "+5")], true), Err(Error::InvalidContentLength));
        assert_eq!(cl(&[("Content-Length", "99999999999999999999")], true), Err(Error::InvalidContentLength));
        assert_eq!(cl(&[], true), Ok(BodyKind::Length(0)));
        assert_eq!(cl(&[], false), Ok(BodyKind::UntilClose));
    }

    #[test]
    fn encoder() {
        let mut out = Vec::new();
        let mut e = BodyEncoder::chunked();
        e.encode(b"hello", &mut out).unwrap();
        e.encode(b"", &mut out).unwrap();
        let mut t = Headers::new();
        t.push("X-Sum", "1");
        e.finish(&t, &mut out).unwrap();
        assert_eq!(out, b"5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n");
        let mut e = BodyEncoder::length(2);
        assert_eq!(e.encode(b"abc", &mut out), Err(WriteError::BodyTooLong));
        assert_eq!(e.finish(&Headers::new(), &mut out), Err(WriteError::BodyTooShort(2)));
        assert_eq!(BodyEncoder::length(0).finish(&t, &mut out), Err(WriteError::TrailersNotChunked));
    }
}
