//! Header fields: the ordered, case-preserving list, and the strict field-section
//! scanner shared by heads and trailers.

use memchr::memchr;

use crate::error::{Error, WriteError};

/// An ordered list of header fields. Names keep the case they were received or
/// given with; lookups are case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Headers {
    fields: Vec<(String, Vec<u8>)>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a field, keeping `name`'s case. Validated when the message is written.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<Vec<u8>>) -> &mut Self {
        self.fields.push((name.into(), value.into()));
        self
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.fields.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields.iter().filter(move |(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// Whether any field is called `name`.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Whether the comma-separated lists in the `name` fields hold `token` (case-insensitive).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.list(name).any(|t| t.eq_ignore_ascii_case(token.as_bytes()))
    }

    /// The elements of every `name` field split on commas and trimmed of SP/HTAB.
    pub(crate) fn list<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.get_all(name).flat_map(|v| v.split(|&b| b == b',')).map(trim_ows)
    }

    /// All fields in order, as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.fields.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Checks every field can be written without injecting lines.
    pub(crate) fn validate(&self) -> Result<(), WriteError> {
        for (n, v) in &self.fields {
            if n.is_empty() || !n.bytes().all(is_tchar) || !v.iter().all(|&b| is_field_vchar(b)) {
                return Err(WriteError::InvalidHeader(n.clone()));
            }
        }
        Ok(())
    }

    /// Appends `name: value\r\n` for every field.
    pub(crate) fn encode(&self, dst: &mut Vec<u8>) {
        for (n, v) in &self.fields {
            write_field(dst, n, v);
        }
    }
}

pub(crate) fn write_field(dst: &mut Vec<u8>, name: &str, value: &[u8]) {
    dst.extend_from_slice(name.as_bytes());
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

/// tchar from RFC 9110 §5.6.2.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// field-vchar / SP / HTAB / obs-text (RFC 9110 §5.5): every byte but controls and DEL.
pub(crate) fn is_field_vchar(b: u8) -> bool {
    b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Scans the field lines of a section starting at `buf[start]` and ending with an
/// empty line. Returns the index just past that empty line and the field count, or
/// `Ok(None)` when more bytes are needed. `max_end` bounds the end index; going past
/// it yields `too_large`.
pub(crate) fn scan_fields(
    buf: &[u8],
    start: usize,
    max_end: usize,
    max_fields: usize,
    too_large: Error,
) -> Result<Option<(usize, usize)>, Error> {
    scan_fields_from(buf, &mut FieldScan::new(start), max_end, max_fields, too_large)
}

/// Where an unfinished [`scan_fields_from`] stopped, so the next call on the same
/// (only appended to) buffer resumes there instead of rescanning from the start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FieldScan {
    /// Start of the first line not yet complete.
    pos: usize,
    /// Complete field lines before `pos`.
    count: usize,
    /// `buf[pos..seen]` holds neither CR nor LF.
    seen: usize,
}

impl FieldScan {
    pub(crate) fn new(start: usize) -> Self {
        Self { pos: start, count: 0, seen: start }
    }

    /// How far the bytes are known to hold no CR or LF.
    #[cfg(test)]
    pub(crate) fn seen(&self) -> usize {
        self.seen
    }
}

/// [`scan_fields`], resuming from `st`: the same result as scanning `buf` from the
/// section start, with each byte examined a bounded number of times over all calls.
pub(crate) fn scan_fields_from(
    buf: &[u8],
    st: &mut FieldScan,
    max_end: usize,
    max_fields: usize,
    too_large: Error,
) -> Result<Option<(usize, usize)>, Error> {
    loop {
        let pos = st.pos;
        let from = st.seen.max(pos);
        let Some(nl) = memchr(b'\n', &buf[from..]).map(|i| from + i) else {
            let rest = &buf[from..];
            // A CR may only be the last byte seen so far: its LF has not arrived yet.
            if memchr(b'\r', rest).is_some_and(|i| i + 1 < rest.len()) {
                return Err(Error::BareCr);
            }
            if buf.len() > max_end {
                return Err(too_large);
            }
            // Everything but a possible trailing CR is clean.
            st.seen = buf.len().saturating_sub(1).max(pos);
            return Ok(None);
        };
        // RFC 9112 §2.2 lets a recipient accept a bare LF; we do not, because a hop that
        // disagrees would see a different message boundary.
        if nl == pos || buf[nl - 1] != b'\r' {
            return Err(Error::BareLf);
        }
        if nl + 1 > max_end {
            return Err(too_large);
        }
        let line = &buf[pos..nl - 1];
        if line.is_empty() {
            return Ok(Some((nl + 1, st.count)));
        }
        if memchr(b'\r', line).is_some() {
            return Err(Error::BareCr);
        }
        st.count += 1;
        if st.count > max_fields {
            return Err(Error::TooManyHeaders);
        }
        check_field_line(line)?;
        st.pos = nl + 1;
        st.seen = nl + 1;
    }
}

fn check_field_line(line: &[u8]) -> Result<(), Error> {
    // RFC 9112 §5.2: obs-fold is rejected (we are not a user agent reading a response
    // we could safely unfold); §2.2: whitespace before the first field is rejected too.
    if matches!(line[0], b' ' | b'\t') {
        return Err(Error::ObsFold);
    }
    let colon = memchr(b':', line).ok_or(Error::InvalidHeaderName)?;
    let name = &line[..colon];
    if name.is_empty() {
        return Err(Error::InvalidHeaderName);
    }
    // RFC 9112 §5.1: a server MUST reject whitespace between field name and colon.
    if matches!(name[name.len() - 1], b' ' | b'\t') {
        return Err(Error::WhitespaceBeforeColon);
    }
    if !name.iter().all(|&b| is_tchar(b)) {
        return Err(Error::InvalidHeaderName);
    }
    if !line[colon + 1..].iter().all(|&b| is_field_vchar(b)) {
        return Err(Error::InvalidHeaderValue);
    }
    Ok(())
}

/// Parses a section already accepted by [`scan_fields`] (`section` ends with the empty line).
pub(crate) fn parse_fields(section: &[u8], count: usize) -> Result<Headers, Error> {
    let mut raw = vec![httparse::EMPTY_HEADER; count];
    match httparse::parse_headers(section, &mut raw) {
        Ok(httparse::Status::Complete((_, parsed))) => {
            let fields = parsed.iter().map(|h| (h.name.to_owned(), trim_ows(h.value).to_vec())).collect();
            Ok(Headers { fields })
        }
        // Unreachable after scan_fields; kept as a hard error rather than a panic.
        Ok(httparse::Status::Partial) | Err(_) => Err(Error::InvalidHeaderName),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(s: &[u8]) -> Result<Option<(usize, usize)>, Error> {
        scan_fields(s, 0, 1024, 10, Error::HeadTooLarge)
    }

    #[test]
    fn scans_and_parses() {
        let s = b"Host: a\r\nX-Y:  b c \t\r\n\r\nrest";
        let (end, n) = scan(s).unwrap().unwrap();
        assert_eq!((end, n), (s.len() - 4, 2));
        let h = parse_fields(&s[..end], n).unwrap();
        assert_eq!(h.get("x-y"), Some(&b"b c"[..]));
        assert_eq!(h.iter().next().unwrap().0, "Host");
    }

    #[test]
    fn incomplete_is_none() {
        assert_eq!(scan(b"Host: a\r\n"), Ok(None));
        assert_eq!(scan(b"Host: a\r"), Ok(None));
    }

    #[test]
    fn rejects() {
        assert_eq!(scan(b"Host: a\n\r\n"), Err(Error::BareLf));
        assert_eq!(scan(b"Host: a\rb\r\n\r\n"), Err(Error::BareCr));
        assert_eq!(scan(b"Host: a\rb"), Err(Error::BareCr));
        assert_eq!(scan(b"A: b\r\n c\r\n\r\n"), Err(Error::ObsFold));
        assert_eq!(scan(b"A : b\r\n\r\n"), Err(Error::WhitespaceBeforeColon));
        assert_eq!(scan(b"A\x00: b\r\n\r\n"), Err(Error::InvalidHeaderName));
        assert_eq!(scan(b"A: b\x00\r\n\r\n"), Err(Error::InvalidHeaderValue));
        assert_eq!(scan(b"A b\r\n\r\n"), Err(Error::InvalidHeaderName));
        assert_eq!(scan(&[b'a'; 2000]), Err(Error::HeadTooLarge));
        assert_eq!(scan(&b"A: b\r\n".repeat(11)), Err(Error::TooManyHeaders));
    }

    #[test]
    fn tokens() {
        let mut h = Headers::new();
        h.push("Connection", "keep-alive, Upgrade");
        assert!(h.has_token("connection", "upgrade"));
        assert!(!h.has_token("connection", "close"));
        h.push("Bad", "a\r\nInjected: 1");
        assert_eq!(h.validate(), Err(WriteError::InvalidHeader("Bad".into())));
    }
}
