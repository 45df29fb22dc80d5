//! The reply decoder: RESP bytes in, tape out.
//!
//! # Theory of operation
//!
//! The decoder is a resumable state machine over one top-level reply at a time. Its
//! [`State`] says what the next input byte belongs to: a *header* line (type byte, text,
//! CRLF), the *payload* of a bulk-like value (copied straight from the input into the
//! tape as it arrives), the 4-byte *verbatim format* prefix, or the *CRLF* after a
//! payload. Open aggregates sit on a stack of [`Frame`]s holding the tape position of
//! their count and how many values they still expect; a streamed aggregate counts its
//! values instead and back-patches the count when `.` arrives, and a streamed string
//! (`$?`) back-patches its length at `;0`.
//!
//! Where the tape is written: a reply that starts during a `feed` call is written straight
//! into the caller's `out`. If the input ends before the reply does, its partial tape is
//! moved into the decoder (`tape`) and the next call keeps appending there, handing the
//! finished reply over once (a swap when `out` is empty). An incomplete header line is
//! kept in `line` (at most `max_line + 3` bytes); nothing else of the input is kept, so a
//! reply is never re-parsed and a big bulk costs one copy into the tape.
//!
//! Every check is a function of the byte stream alone, never of where it was split, so
//! feeding bytes whole, one at a time or in any chunks yields the same tape and error.
//! Lines are searched for `\n` within `max_line + 2` bytes after the type byte; a line
//! without one in that window is too long whether or not it is complete yet.

use crate::error::{shown, RespError};
use crate::tape;

/// Parser limits. Each is checked as soon as the header announcing the value arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest bulk string, blob error, verbatim string or streamed string in bytes
    /// (default 512 MiB; capped at `u32::MAX`).
    pub max_bulk: usize,
    /// Most elements in one aggregate, map and attribute pairs counting as two
    /// (default 2^28; capped at `u32::MAX`).
    pub max_elements: usize,
    /// Deepest nesting of aggregates, attributes included (default 128).
    pub max_depth: usize,
    /// Longest simple string, error, number or header line without its CRLF (default 1 MiB).
    pub max_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bulk: 512 << 20, max_elements: 1 << 28, max_depth: 128, max_line: 1 << 20 }
    }
}

/// Incremental RESP2/RESP3 reply decoder. See the [crate docs](crate) for the tape format.
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    state: State,
    /// Open aggregates of the current reply, outermost first.
    stack: Vec<Frame>,
    /// An open streamed string: tape position of its length (relative to the reply's
    /// start) and the bytes so far.
    stream_str: Option<(usize, usize)>,
    /// An attribute just ended; the value it annotates must come next.
    attr_pending: bool,
    /// Incomplete header line (type byte first).
    line: Vec<u8>,
    /// Partial tape of a reply continued from an earlier call.
    tape: Vec<u8>,
    error: Option<RespError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Expecting a type byte and its line.
    Header,
    /// Copying this many payload bytes into the tape.
    Payload { left: usize },
    /// Reading the `xxx:` prefix of a verbatim string (`got` bytes so far), then `left`
    /// content bytes.
    VerbatimFormat { got: u8, left: usize },
    /// Expecting the CRLF after a payload (`got` bytes of it so far).
    Crlf { got: u8 },
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    tag: u8,
    /// Tape position of the u32 count, relative to the reply's start.
    count_pos: usize,
    streamed: bool,
    /// Values still expected (counted aggregate) or received (streamed).
    n: u64,
}

impl Decoder {
    /// A decoder with these limits (`max_bulk`, `max_elements` and `max_line` are capped
    /// at `u32::MAX`, the widest tape length).
    pub fn new(limits: Limits) -> Self {
        let cap = u32::MAX as usize;
        let limits = Limits {
            max_bulk: limits.max_bulk.min(cap),
            max_elements: limits.max_elements.min(cap),
            max_line: limits.max_line.min(cap),
            ..limits
        };
        Decoder {
            limits,
            state: State::Header,
            stack: Vec::new(),
            stream_str: None,
            attr_pending: false,
            line: Vec::new(),
            tape: Vec::new(),
            error: None,
        }
    }

    /// Feeds bytes; appends the tape of every reply completed by them to `out` and returns
    /// how many top-level replies were completed. A reply split across calls is resumed
    /// where it stopped (never re-parsed), and the bytes of a partial reply are kept inside
    /// the decoder. On an error, `out` holds the replies completed before the bad bytes;
    /// the decoder is then poisoned and every later call returns the same error.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, RespError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        let res = self.feed_inner(input, out);
        if let Err(e) = &res {
            self.error = Some(e.clone());
            self.stack = Vec::new();
            self.line = Vec::new();
            self.tape = Vec::new();
            self.stream_str = None;
        }
        res
    }

    /// Bytes held for a partial reply (unparsed input plus partial tape).
    pub fn buffered(&self) -> usize {
        self.line.len() + self.tape.len()
    }

    fn feed_inner(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<usize, RespError> {
        let mut pos = 0;
        let mut count = 0;
        if !self.tape.is_empty() {
            // Continue the reply begun in an earlier call in our own buffer, so a big reply
            // is appended to (amortised O(1) per byte) rather than moved back and forth.
            let mut t = std::mem::take(&mut self.tape);
            let done = self.run(input, &mut pos, &mut t, 0);
            match done {
                Ok(true) => {
                    if out.is_empty() {
                        std::mem::swap(out, &mut t);
                    } else {
                        out.extend_from_slice(&t);
                    }
                    t.clear();
                    self.tape = t;
                    count += 1;
                }
                Ok(false) => {
                    self.tape = t;
                    return Ok(0);
                }
                Err(e) => return Err(e),
            }
        }
        while pos < input.len() {
            let base = out.len();
            match self.run(input, &mut pos, out, base) {
                Ok(true) => count += 1,
                Ok(false) => {
                    self.tape.extend_from_slice(&out[base..]);
                    out.truncate(base);
                }
                Err(e) => {
                    out.truncate(base);
                    return Err(e);
                }
            }
        }
        Ok(count)
    }

    /// Parses from `input[*pos..]` until the current reply completes (`true`) or the input
    /// is used up (`false`). Tape positions are relative to `base` in `dst`.
    fn run(&mut self, input: &[u8], pos: &mut usize, dst: &mut Vec<u8>, base: usize) -> Result<bool, RespError> {
        loop {
            if *pos == input.len() {
                return Ok(false);
            }
            match self.state {
                State::Header => {
                    let done = if self.line.is_empty() {
                        let ty = input[*pos];
                        self.check_type(ty)?;
                        let rest = &input[*pos + 1..];
                        let window = self.limits.max_line.saturating_add(2);
                        match memchr::memchr(b'\n', &rest[..rest.len().min(window)]) {
                            Some(i) => {
                                let line = strip_crlf(&rest[..=i])?;
                                *pos += i + 2;
                                self.header(ty, line, dst, base)?
                            }
                            None if rest.len() >= window => return Err(RespError::LineTooLong(self.limits.max_line)),
                            None => {
                                self.line.extend_from_slice(&input[*pos..]);
                                *pos = input.len();
                                return Ok(false);
                            }
                        }
                    } else {
                        let mut line = std::mem::take(&mut self.line);
                        let window = self.limits.max_line.saturating_add(2) - (line.len() - 1);
                        let avail = &input[*pos..];
                        match memchr::memchr(b'\n', &avail[..avail.len().min(window)]) {
                            Some(i) => {
                                line.extend_from_slice(&avail[..=i]);
                                *pos += i + 1;
                                let r = match strip_crlf(&line[1..]) {
                                    Ok(text) => self.header(line[0], text, dst, base),
                                    Err(e) => Err(e),
                                };
                                line.clear();
                                self.line = line;
                                r?
                            }
                            None if avail.len() >= window => return Err(RespError::LineTooLong(self.limits.max_line)),
                            None => {
                                line.extend_from_slice(avail);
                                self.line = line;
                                *pos = input.len();
                                return Ok(false);
                            }
                        }
                    };
                    if done {
                        return Ok(true);
                    }
                }
                State::Payload { left } => {
                    let n = left.min(input.len() - *pos);
                    dst.extend_from_slice(&input[*pos..*pos + n]);
                    *pos += n;
                    self.state = if n == left { State::Crlf { got: 0 } } else { State::Payload { left: left - n } };
                }
                State::VerbatimFormat { got, left } => {
                    let b = input[*pos];
                    *pos += 1;
                    if got < 3 {
                        dst.push(b);
                        self.state = State::VerbatimFormat { got: got + 1, left };
                    } else if b != b':' {
                        return Err(RespError::BadVerbatim);
                    } else {
                        self.state = if left == 0 { State::Crlf { got: 0 } } else { State::Payload { left } };
                    }
                }
                State::Crlf { got } => {
                    let b = input[*pos];
                    *pos += 1;
                    if b != b"\r\n"[usize::from(got)] {
                        return Err(RespError::MissingCrlf("after a payload"));
                    }
                    if got == 0 {
                        self.state = State::Crlf { got: 1 };
                    } else {
                        self.state = State::Header;
                        if self.stream_str.is_none() && self.complete()? {
                            return Ok(true);
                        }
                    }
                }
            }
        }
    }

    /// Rejects a type byte at once, before its line is complete.
    fn check_type(&self, ty: u8) -> Result<(), RespError> {
        if self.stream_str.is_some() {
            return if ty == b';' { Ok(()) } else { Err(RespError::StreamedString("expected a ';' chunk")) };
        }
        match ty {
            b'+' | b'-' | b':' | b'$' | b'*' | b'%' | b'~' | b'>' | b',' | b'#' | b'(' | b'=' | b'!' | b'_' | b'|' => {
                Ok(())
            }
            b'.' if self.stack.last().is_some_and(|f| f.streamed) => Ok(()),
            b'.' => Err(RespError::BadEnd("outside a streamed aggregate")),
            b';' => Err(RespError::StreamedString("';' chunk outside a streamed string")),
            _ => Err(RespError::BadType(ty)),
        }
    }

    /// Handles one complete header line; returns whether the reply is complete.
    fn header(&mut self, ty: u8, line: &[u8], dst: &mut Vec<u8>, base: usize) -> Result<bool, RespError> {
        match ty {
            b'+' | b'-' => {
                self.attr_pending = false;
                let tag = if ty == b'+' { tape::SIMPLE } else { tape::ERROR };
                put_bytes(dst, tag, line);
                self.complete()
            }
            b':' => {
                self.attr_pending = false;
                let v = parse_i64(line).ok_or_else(|| RespError::BadInteger(shown(line)))?;
                dst.push(tape::INT);
                dst.extend_from_slice(&v.to_le_bytes());
                self.complete()
            }
            b'$' | b'=' | b'!' => {
                self.attr_pending = false;
                if ty == b'$' && line == b"?" {
                    dst.push(tape::BULK);
                    self.stream_str = Some((dst.len() - base, 0));
                    dst.extend_from_slice(&[0; 4]);
                    return Ok(false);
                }
                let n = parse_i64(line).ok_or_else(|| RespError::BadLength(shown(line), char::from(ty)))?;
                if n == -1 && ty == b'$' {
                    dst.push(tape::NULL);
                    return self.complete();
                }
                let n = u64::try_from(n).map_err(|_| RespError::BadLength(shown(line), char::from(ty)))?;
                if n > self.limits.max_bulk as u64 {
                    return Err(RespError::BulkTooLarge { len: n, max: self.limits.max_bulk });
                }
                let n = n as usize;
                dst.reserve(5 + n.min(1 << 16));
                match ty {
                    b'=' => {
                        if n < 4 {
                            return Err(RespError::BadVerbatim);
                        }
                        dst.push(tape::VERBATIM);
                        dst.extend_from_slice(&(n as u32 - 4).to_le_bytes());
                        self.state = State::VerbatimFormat { got: 0, left: n - 4 };
                    }
                    _ => {
                        dst.push(if ty == b'$' { tape::BULK } else { tape::BLOBERR });
                        dst.extend_from_slice(&(n as u32).to_le_bytes());
                        self.state = if n == 0 { State::Crlf { got: 0 } } else { State::Payload { left: n } };
                    }
                }
                Ok(false)
            }
            b';' => {
                let n = parse_i64(line)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or(RespError::StreamedString("invalid chunk length"))?;
                let (len_pos, total) = self.stream_str.expect("check_type admits ';' only in a streamed string");
                if n == 0 {
                    let at = base + len_pos;
                    dst[at..at + 4].copy_from_slice(&(total as u32).to_le_bytes());
                    self.stream_str = None;
                    return self.complete();
                }
                let sum = total as u64 + n;
                if sum > self.limits.max_bulk as u64 {
                    return Err(RespError::BulkTooLarge { len: sum, max: self.limits.max_bulk });
                }
                self.stream_str = Some((len_pos, sum as usize));
                self.state = State::Payload { left: n as usize };
                Ok(false)
            }
            b'*' | b'%' | b'~' | b'>' | b'|' => self.aggregate(ty, line, dst, base),
            b'.' => {
                if !line.is_empty() {
                    return Err(RespError::BadEnd("must be \".\\r\\n\""));
                }
                if self.attr_pending {
                    return Err(RespError::AttributeWithoutValue);
                }
                let f = self.stack.pop().expect("check_type admits '.' only in a streamed aggregate");
                let count = if f.tag == tape::MAP {
                    if f.n & 1 != 0 {
                        return Err(RespError::OddMap(f.n as usize));
                    }
                    f.n / 2
                } else {
                    f.n
                };
                let at = base + f.count_pos;
                dst[at..at + 4].copy_from_slice(&(count as u32).to_le_bytes());
                self.complete()
            }
            b',' => {
                self.attr_pending = false;
                let v = std::str::from_utf8(line)
                    .ok()
                    .and_then(|s| s.parse::<f64>().ok())
                    .ok_or_else(|| RespError::BadDouble(shown(line)))?;
                dst.push(tape::DOUBLE);
                dst.extend_from_slice(&v.to_le_bytes());
                self.complete()
            }
            b'#' => {
                self.attr_pending = false;
                let v = match line {
                    b"t" => 1,
                    b"f" => 0,
                    _ => return Err(RespError::BadBoolean(shown(line))),
                };
                dst.extend_from_slice(&[tape::BOOL, v]);
                self.complete()
            }
            b'(' => {
                self.attr_pending = false;
                let digits = line.strip_prefix(b"-").unwrap_or(line);
                if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                    return Err(RespError::BadBignum(shown(line)));
                }
                put_bytes(dst, tape::BIGNUM, line);
                self.complete()
            }
            b'_' => {
                self.attr_pending = false;
                if !line.is_empty() {
                    return Err(RespError::BadNull(shown(line)));
                }
                dst.push(tape::NULL);
                self.complete()
            }
            _ => unreachable!("check_type rejects type byte {ty:#x}"),
        }
    }

    fn aggregate(&mut self, ty: u8, line: &[u8], dst: &mut Vec<u8>, base: usize) -> Result<bool, RespError> {
        let (tag, per) = match ty {
            b'*' => (tape::ARRAY, 1),
            b'%' => (tape::MAP, 2),
            b'~' => (tape::SET, 1),
            b'>' => (tape::PUSH, 1),
            _ => (tape::ATTR, 2),
        };
        let bad = || RespError::BadLength(shown(line), char::from(ty));
        let streamed = line == b"?" && matches!(ty, b'*' | b'%' | b'~');
        let n = if streamed {
            0
        } else {
            let n = parse_i64(line).ok_or_else(bad)?;
            if n == -1 && ty == b'*' {
                self.attr_pending = false;
                dst.push(tape::NULL);
                return self.complete();
            }
            let n = u64::try_from(n).map_err(|_| bad())?;
            if n.saturating_mul(per) > self.limits.max_elements as u64 {
                return Err(RespError::TooManyElements { count: n.saturating_mul(per), max: self.limits.max_elements });
            }
            n
        };
        if self.stack.len() >= self.limits.max_depth {
            return Err(RespError::TooDeep(self.limits.max_depth));
        }
        if tag != tape::ATTR {
            self.attr_pending = false;
        }
        dst.push(tag);
        let count_pos = dst.len() - base;
        dst.extend_from_slice(&(n as u32).to_le_bytes());
        if streamed {
            self.stack.push(Frame { tag, count_pos, streamed, n: 0 });
            Ok(false)
        } else if n == 0 {
            if tag == tape::ATTR {
                self.attr_pending = true;
                Ok(false)
            } else {
                self.complete()
            }
        } else {
            self.stack.push(Frame { tag, count_pos, streamed, n: n * per });
            Ok(false)
        }
    }

    /// A value just ended: closes the aggregates it completes. Returns whether that
    /// finished the top-level reply.
    fn complete(&mut self) -> Result<bool, RespError> {
        while let Some(top) = self.stack.last_mut() {
            if top.streamed {
                top.n += 1;
                if top.n > self.limits.max_elements as u64 {
                    return Err(RespError::TooManyElements { count: top.n, max: self.limits.max_elements });
                }
                return Ok(false);
            }
            top.n -= 1;
            if top.n > 0 {
                return Ok(false);
            }
            if self.stack.pop().is_some_and(|f| f.tag == tape::ATTR) {
                // An attribute is not a value: the one it annotates comes next.
                self.attr_pending = true;
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The text of a line given the bytes after its type byte up to and including `\n`.
fn strip_crlf(line: &[u8]) -> Result<&[u8], RespError> {
    match line {
        [text @ .., b'\r', b'\n'] => Ok(text),
        _ => Err(RespError::MissingCrlf("(bare \\n ends a line)")),
    }
}

fn put_bytes(dst: &mut Vec<u8>, tag: u8, b: &[u8]) {
    dst.push(tag);
    dst.extend_from_slice(&(b.len() as u32).to_le_bytes());
    dst.extend_from_slice(b);
}

/// A strict decimal i64: optional `-`, then at least one digit; no `+`, no spaces.
fn parse_i64(b: &[u8]) -> Option<i64> {
    let (neg, digits) = match b.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, b),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        // Accumulate negatively so i64::MIN parses.
        v = v.checked_mul(10)?.checked_sub(i64::from(d))?;
    }
    if neg {
        Some(v)
    } else {
        v.checked_neg()
    }
}
