//! Request and response heads: types, strict parsing on top of `httparse`, and serialising.

use memchr::memchr;

use crate::error::{Error, WriteError};
use crate::headers::{is_tchar, parse_fields, scan_fields_from, FieldScan, Headers};
use crate::limits::Limits;

/// HTTP version of a message. Anything else is rejected with 505.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

impl Version {
    fn as_str(self) -> &'static str {
        match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        }
    }
}

/// The four request-target forms of RFC 9112 §3.2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestTarget {
    /// `/path?query`
    Origin(String),
    /// `http://host/path` (proxies)
    Absolute(String),
    /// `host:port`, only with CONNECT
    Authority(String),
    /// `*`, only with OPTIONS
    Asterisk,
}

impl RequestTarget {
    /// The target as it appears on the request line.
    pub fn as_str(&self) -> &str {
        match self {
            RequestTarget::Origin(s) | RequestTarget::Absolute(s) | RequestTarget::Authority(s) => s,
            RequestTarget::Asterisk => "*",
        }
    }

    /// Classifies `target` for `method`, rejecting forms the method does not allow.
    pub fn parse(method: &str, target: &str) -> Result<Self, Error> {
        let t = target.as_bytes();
        if t.is_empty() || !t.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(Error::InvalidTarget);
        }
        if method == "CONNECT" {
            // RFC 9112 §3.2.3: authority-form is host ":" port and only for CONNECT.
            let ok = match target.rsplit_once(':') {
                Some((host, port)) => {
                    !host.is_empty()
                        && !port.is_empty()
                        && port.bytes().all(|b| b.is_ascii_digit())
                        && !host.bytes().any(|b| matches!(b, b'/' | b'?' | b'#' | b'@'))
                }
                None => false,
            };
            return if ok { Ok(RequestTarget::Authority(target.to_owned())) } else { Err(Error::InvalidTarget) };
        }
        if target == "*" {
            return if method == "OPTIONS" { Ok(RequestTarget::Asterisk) } else { Err(Error::InvalidTarget) };
        }
        if t[0] == b'/' {
            return Ok(RequestTarget::Origin(target.to_owned()));
        }
        // absolute-URI: scheme ":" hier-part, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        match memchr(b':', t) {
            Some(i)
                if i > 0
                    && t[0].is_ascii_alphabetic()
                    && t[..i].iter().all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
            {
                Ok(RequestTarget::Absolute(target.to_owned()))
            }
            _ => Err(Error::InvalidTarget),
        }
    }
}

/// A request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method, case-sensitive; unknown tokens are passed through.
    pub method: String,
    /// The request target.
    pub target: RequestTarget,
    /// The version.
    pub version: Version,
    /// Header fields in received order.
    pub headers: Headers,
}

impl Request {
    /// An HTTP/1.1 request with no headers. Panics only if `target` is invalid for `method`;
    /// use [`RequestTarget::parse`] to check first.
    pub fn new(method: &str, target: &str) -> Self {
        Self {
            method: method.to_owned(),
            target: RequestTarget::parse(method, target).expect("invalid request target"),
            version: Version::Http11,
            headers: Headers::new(),
        }
    }

    /// Adds a header and returns `self`, for building requests in one expression.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Appends the request line and headers as given, without the final empty line.
    pub(crate) fn encode_head(&self, dst: &mut Vec<u8>) -> Result<(), WriteError> {
        if self.method.is_empty() || !self.method.bytes().all(is_tchar) {
            return Err(WriteError::InvalidStartLine);
        }
        if RequestTarget::parse(&self.method, self.target.as_str()).as_ref() != Ok(&self.target) {
            return Err(WriteError::InvalidStartLine);
        }
        self.headers.validate()?;
        dst.extend_from_slice(self.method.as_bytes());
        dst.push(b' ');
        dst.extend_from_slice(self.target.as_str().as_bytes());
        dst.push(b' ');
        dst.extend_from_slice(self.version.as_str().as_bytes());
        dst.extend_from_slice(b"\r\n");
        self.headers.encode(dst);
        Ok(())
    }
}

/// A response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The version.
    pub version: Version,
    /// The status code, 100..=999.
    pub status: u16,
    /// The reason phrase (may be empty).
    pub reason: String,
    /// Header fields in received order.
    pub headers: Headers,
}

impl Response {
    /// An HTTP/1.1 response with the canonical reason phrase and no headers.
    pub fn new(status: u16) -> Self {
        Self { version: Version::Http11, status, reason: reason(status).to_owned(), headers: Headers::new() }
    }

    /// Adds a header and returns `self`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(name, value);
        self
    }

    /// Appends the status line and headers as given, without the final empty line.
    pub(crate) fn encode_head(&self, dst: &mut Vec<u8>) -> Result<(), WriteError> {
        if !(100..=999).contains(&self.status) || !self.reason.bytes().all(|b| b == b'\t' || b >= 0x20 && b != 0x7f) {
            return Err(WriteError::InvalidStartLine);
        }
        self.headers.validate()?;
        dst.extend_from_slice(self.version.as_str().as_bytes());
        dst.extend_from_slice(format!(" {} ", self.status).as_bytes());
        dst.extend_from_slice(self.reason.as_bytes());
        dst.extend_from_slice(b"\r\n");
        self.headers.encode(dst);
        Ok(())
    }
}

/// The canonical reason phrase (the IANA registry's, as Node's `STATUS_CODES`), else "".
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a Teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

fn parse_version(v: &[u8], bad: Error) -> Result<Version, Error> {
    match v {
        b"HTTP/1.1" => Ok(Version::Http11),
        b"HTTP/1.0" => Ok(Version::Http10),
        [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit() => {
            Err(Error::UnsupportedVersion)
        }
        _ => Err(bad),
    }
}

/// How far an incomplete head at the front of a buffer has been checked, so the next
/// parse of the same buffer (with bytes appended, none removed) resumes there: a head
/// fed a byte at a time is scanned once in total instead of once per byte. Reset it to
/// the default whenever bytes are consumed from the front.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct HeadScan {
    /// Buffer length at the last call; a shorter buffer means a different one.
    pub(crate) len: usize,
    /// Where the start line begins, after skipped empty lines (requests only).
    start: usize,
    /// `buf[start..seen]` holds neither CR nor LF (while the start line is incomplete).
    pub(crate) seen: usize,
    /// The start line's end and where the fields begin, once it is complete.
    line: Option<(usize, usize)>,
    /// Progress through the field lines.
    pub(crate) fields: FieldScan,
}

/// Finds the start line beginning at `start`, skipping the bytes before `*seen` that
/// an earlier call found free of CR and LF. `Ok(None)` means more bytes are needed.
fn start_line(
    buf: &[u8],
    start: usize,
    seen: &mut usize,
    max: usize,
    too_long: Error,
) -> Result<Option<(usize, usize)>, Error> {
    let from = (*seen).max(start);
    let Some(nl) = memchr(b'\n', &buf[from..]).map(|i| from + i) else {
        if buf.len() - start > max {
            return Err(too_long);
        }
        if memchr(b'\r', &buf[from..]).is_some_and(|i| from + i + 1 < buf.len()) {
            return Err(Error::BareCr);
        }
        *seen = buf.len().saturating_sub(1).max(start);
        return Ok(None);
    };
    if nl == start || buf[nl - 1] != b'\r' {
        return Err(Error::BareLf);
    }
    if nl - 1 - start > max {
        return Err(too_long);
    }
    Ok(Some((nl - 1, nl + 1)))
}

/// Parses a request head from the start of `buf`: the head and its length in bytes, or
/// `Ok(None)` if the head is not complete yet.
pub fn parse_request(buf: &[u8], limits: &Limits) -> Result<Option<(Request, usize)>, Error> {
    parse_request_resume(buf, limits, &mut HeadScan::default())
}

/// [`parse_request`], resuming the scan of an incomplete head from `st`.
pub(crate) fn parse_request_resume(
    buf: &[u8],
    limits: &Limits,
    st: &mut HeadScan,
) -> Result<Option<(Request, usize)>, Error> {
    if buf.len() < st.len {
        *st = HeadScan::default();
    }
    st.len = buf.len();
    if st.line.is_none() {
        // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request-line.
        while buf[st.start..].starts_with(b"\r\n") {
            st.start += 2;
            if st.start > limits.max_request_line {
                return Err(Error::RequestLineTooLong);
            }
        }
    }
    let start = st.start;
    let (line_end, fields_start) = match st.line {
        Some(l) => l,
        None => {
            let Some(l) = start_line(buf, start, &mut st.seen, limits.max_request_line, Error::RequestLineTooLong)?
            else {
                return Ok(None);
            };
            st.line = Some(l);
            st.fields = FieldScan::new(l.1);
            l
        }
    };
    let Some((end, count)) = scan_fields_from(
        buf,
        &mut st.fields,
        start + limits.max_header_bytes,
        limits.max_header_count,
        Error::HeadTooLarge,
    )?
    else {
        return Ok(None);
    };
    let line = &buf[start..line_end];
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(Error::InvalidRequestLine);
    };
    if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
        return Err(Error::InvalidMethod);
    }
    if memchr(b' ', version).is_some() {
        return Err(Error::InvalidRequestLine);
    }
    let version = parse_version(version, Error::InvalidRequestLine)?;
    // Both are ASCII after the checks above and in RequestTarget::parse.
    let method = String::from_utf8_lossy(method).into_owned();
    let target = RequestTarget::parse(&method, std::str::from_utf8(target).map_err(|_| Error::InvalidTarget)?)?;
    let headers = parse_fields(&buf[fields_start..end], count)?;
    // RFC 9112 §3.2: 400 for an HTTP/1.1 request without Host, and for any request with several.
    let hosts = headers.get_all("host").count();
    if hosts > 1 || (hosts == 0 && version == Version::Http11) {
        return Err(Error::InvalidHost);
    }
    Ok(Some((Request { method, target, version, headers }, end)))
}

/// Parses a response head from the start of `buf`, like [`parse_request`].
pub fn parse_response(buf: &[u8], limits: &Limits) -> Result<Option<(Response, usize)>, Error> {
    parse_response_resume(buf, limits, &mut HeadScan::default())
}

/// [`parse_response`], resuming the scan of an incomplete head from `st`.
pub(crate) fn parse_response_resume(
    buf: &[u8],
    limits: &Limits,
    st: &mut HeadScan,
) -> Result<Option<(Response, usize)>, Error> {
    if buf.len() < st.len {
        *st = HeadScan::default();
    }
    st.len = buf.len();
    let (line_end, fields_start) = match st.line {
        Some(l) => l,
        None => {
            let Some(l) = start_line(buf, 0, &mut st.seen, limits.max_header_bytes, Error::HeadTooLarge)? else {
                return Ok(None);
            };
            st.line = Some(l);
            st.fields = FieldScan::new(l.1);
            l
        }
    };
    let Some((end, count)) =
        scan_fields_from(buf, &mut st.fields, limits.max_header_bytes, limits.max_header_count, Error::HeadTooLarge)?
    else {
        return Ok(None);
    };
    let line = &buf[..line_end];
    let mut parts = line.splitn(3, |&b| b == b' ');
    let version = parse_version(parts.next().unwrap_or_default(), Error::InvalidStatusLine)?;
    let status = match parts.next() {
        Some(s @ [a, b, c]) if s.iter().all(u8::is_ascii_digit) && *a != b'0' => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(Error::InvalidStatusLine),
    };
    let reason = parts.next().unwrap_or_default();
    if !reason.iter().all(|&b| b == b'\t' || b >= 0x20 && b != 0x7f) {
        return Err(Error::InvalidStatusLine);
    }
    let reason = String::from_utf8_lossy(reason).into_owned();
    let headers = parse_fields(&buf[fields_start..end], count)?;
    Ok(Some((Response { version, status, reason, headers }, end)))
}

/// Whether the connection stays open after a message with this version and headers
/// (RFC 9112 §9.3): 1.1 unless `close`, 1.0 only with `keep-alive`.
pub(crate) fn keep_alive(version: Version, headers: &Headers) -> bool {
    match version {
        Version::Http11 => !headers.has_token("connection", "close"),
        Version::Http10 => headers.has_token("connection", "keep-alive") && !headers.has_token("connection", "close"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &[u8]) -> Result<Option<(Request, usize)>, Error> {
        parse_request(s, &Limits::default())
    }

    #[test]
    fn request_forms() {
        let (r, n) = req(b"\r\nGET /a?b HTTP/1.1\r\nHost: x\r\n\r\nnext").unwrap().unwrap();
        assert_eq!(n, 32);
        assert_eq!(r.target, RequestTarget::Origin("/a?b".into()));
        let (r, _) = req(b"GET http://x/y HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert_eq!((r.target, r.version), (RequestTarget::Absolute("http://x/y".into()), Version::Http10));
        let (r, _) = req(b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n").unwrap().unwrap();
        assert_eq!(r.target, RequestTarget::Authority("x:443".into()));
        let (r, _) = req(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
        assert_eq!(r.target, RequestTarget::Asterisk);
        let (r, _) = req(b"PURGE / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
        assert_eq!(r.method, "PURGE");
    }

    #[test]
    fn request_rejects() {
        let e = |s: &[u8]| req(s).unwrap_err();
        assert_eq!(e(b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"), Error::InvalidTarget);
        assert_eq!(e(b"CONNECT / HTTP/1.1\r\nHost: x\r\n\r\n"), Error::InvalidTarget);
        assert_eq!(e(b"GET example.com HTTP/1.1\r\nHost: x\r\n\r\n"), Error::InvalidTarget);
        assert_eq!(e(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"), Error::UnsupportedVersion);
        assert_eq!(e(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n").status(), 505);
        assert_eq!(e(b"GET / FOO\r\nHost: x\r\n\r\n"), Error::InvalidRequestLine);
        assert_eq!(e(b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n"), Error::InvalidRequestLine);
        assert_eq!(e(b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n"), Error::InvalidMethod);
        assert_eq!(e(b"GET / HTTP/1.1\r\n\r\n"), Error::InvalidHost);
        assert_eq!(e(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), Error::InvalidHost);
        assert_eq!(e(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"), Error::ObsFold);
        let long = [b"GET /".as_slice(), &[b'a'; 9000]].concat();
        assert_eq!(e(&long).status(), 414);
    }

    #[test]
    fn response_and_encode() {
        let lim = Limits::default();
        let (r, _) = parse_response(b"HTTP/1.1 404 Not Found\r\nA: b\r\n\r\n", &lim).unwrap().unwrap();
        assert_eq!((r.status, r.reason.as_str()), (404, "Not Found"));
        let (r, _) = parse_response(b"HTTP/1.0 200\r\n\r\n", &lim).unwrap().unwrap();
        assert_eq!((r.status, r.reason.as_str()), (200, ""));
        assert_eq!(parse_response(b"HTTP/1.1 20 OK\r\n\r\n", &lim), Err(Error::InvalidStatusLine));
        let mut out = Vec::new();
        Response::new(200).header("X-Case", "v").encode_head(&mut out).unwrap();
        assert_eq!(out, b"HTTP/1.1 200 OK\r\nX-Case: v\r\n");
        out.clear();
        Request::new("GET", "/").header("hOsT", "a").encode_head(&mut out).unwrap();
        assert_eq!(out, b"GET / HTTP/1.1\r\nhOsT: a\r\n");
    }
}
