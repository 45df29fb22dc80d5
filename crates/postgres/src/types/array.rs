//! Arrays, binary and text, into the tape: `ARRAY`, u32 ndims, u32 length per dimension,
//! then every element in row-major order with its own tag.

use super::decode::{binary as binary_value, text as text_value};
use super::tape;
use crate::error::PgProtocolError;

/// PostgreSQL's MAXDIM.
const MAX_DIMS: usize = 6;

fn bad(oid: u32, why: &'static str) -> PgProtocolError {
    PgProtocolError::BadValue { oid, why }
}

fn header(out: &mut Vec<u8>, dims: &[u32]) {
    out.push(tape::ARRAY);
    out.extend_from_slice(&(dims.len() as u32).to_le_bytes());
    for d in dims {
        out.extend_from_slice(&d.to_le_bytes());
    }
}

/// Binary array: ndim i32, flags i32, element OID, (length i32, lower bound i32) per
/// dimension, then (length i32 or -1, bytes) per element. Elements are decoded by the
/// element OID the value carries.
pub(super) fn binary(ty: u32, v: &[u8], out: &mut Vec<u8>) -> Result<(), PgProtocolError> {
    let mut r = v;
    let i32_ = |r: &mut &[u8]| -> Result<i32, PgProtocolError> {
        let (h, rest) = r.split_first_chunk::<4>().ok_or(bad(ty, "truncated array"))?;
        *r = rest;
        Ok(i32::from_be_bytes(*h))
    };
    let ndim = i32_(&mut r)?;
    let flags = i32_(&mut r)?;
    let elem = i32_(&mut r)? as u32;
    if !(0..=MAX_DIMS as i32).contains(&ndim) || !(0..=1).contains(&flags) {
        return Err(bad(ty, "bad array header"));
    }
    let mut dims = Vec::with_capacity(ndim as usize);
    let mut total: u64 = if ndim == 0 { 0 } else { 1 };
    for _ in 0..ndim {
        let len = i32_(&mut r)?;
        let _lower_bound = i32_(&mut r)?;
        if len < 0 {
            return Err(bad(ty, "negative array dimension"));
        }
        dims.push(len as u32);
        total = total.saturating_mul(len as u64);
    }
    // Every element takes at least its 4 length bytes.
    if total > (r.len() / 4) as u64 {
        return Err(bad(ty, "array shorter than its dimensions"));
    }
    let start = out.len();
    header(out, &dims);
    for _ in 0..total {
        let Ok(len) = i32_(&mut r) else {
            out.truncate(start);
            return Err(bad(ty, "truncated array"));
        };
        if len == -1 {
            out.push(tape::NULL);
            continue;
        }
        if len < 0 || len as usize > r.len() {
            out.truncate(start);
            return Err(bad(ty, "bad array element length"));
        }
        let (e, rest) = r.split_at(len as usize);
        r = rest;
        if let Err(e) = binary_value(elem, e, out, 1) {
            out.truncate(start);
            return Err(e);
        }
    }
    if !r.is_empty() {
        out.truncate(start);
        return Err(bad(ty, "trailing bytes after array"));
    }
    Ok(())
}

/// Text array (`{1,2}`, `{{"a b",NULL},{c,d}}`, `[0:1]={x,y}`); `false` if it does not
/// parse, leaving `out` untouched.
pub(super) fn text(elem: u32, s: &str, out: &mut Vec<u8>) -> bool {
    let Some((dims, items)) = parse(s) else { return false };
    header(out, &dims);
    for item in items {
        match item {
            None => out.push(tape::NULL),
            Some(v) => text_value(elem, v.as_bytes(), out),
        }
    }
    true
}

/// The dimensions and the elements (`None` for NULL) of an array literal.
fn parse(s: &str) -> Option<(Vec<u32>, Vec<Option<String>>)> {
    let mut b = s.as_bytes();
    // Optional explicit bounds, `[lo:hi][lo:hi]=`: they only shift subscripts.
    if b.first() == Some(&b'[') {
        let eq = b.iter().position(|&c| c == b'=')?;
        if !b[..eq].iter().all(|c| c.is_ascii_digit() || matches!(c, b'[' | b']' | b':' | b'-')) {
            return None;
        }
        b = &b[eq + 1..];
    }
    let mut p = Parser { b, pos: 0, dims: Vec::new(), leaf: None, items: Vec::new() };
    p.ws();
    p.level(0)?;
    p.ws();
    if p.pos != p.b.len() || p.leaf != Some(p.dims.len() - 1) {
        return None;
    }
    let mut dims: Vec<u32> = p.dims.into_iter().collect::<Option<_>>()?;
    if dims == [0] {
        dims.clear();
    }
    Some((dims, p.items))
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
    /// Length of each dimension, fixed when its first sub-array closes.
    dims: Vec<Option<u32>>,
    /// Depth of the sub-arrays holding scalars.
    leaf: Option<usize>,
    items: Vec<Option<String>>,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.b.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.pos) == Some(&c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// One `{…}` at nesting depth `d`.
    fn level(&mut self, d: usize) -> Option<()> {
        if d >= MAX_DIMS || !self.eat(b'{') {
            return None;
        }
        if self.dims.len() == d {
            self.dims.push(None);
        }
        self.ws();
        let mut n: u32 = 0;
        let nested = self.b.get(self.pos) == Some(&b'{');
        if self.eat(b'}') {
            // `{{}}` is not a valid literal.
            if d > 0 {
                return None;
            }
        } else {
            loop {
                self.ws();
                if nested {
                    self.level(d + 1)?;
                } else {
                    let v = self.element()?;
                    self.items.push(v);
                }
                n += 1;
                self.ws();
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
            }
        }
        // Scalars sit at one depth only, and sub-arrays of a dimension have one length.
        if !nested {
            match self.leaf {
                None => self.leaf = Some(d),
                Some(l) if l != d => return None,
                Some(_) => {}
            }
        }
        match self.dims[d] {
            None => self.dims[d] = Some(n),
            Some(m) if m != n => return None,
            Some(_) => {}
        }
        Some(())
    }

    /// A quoted or unquoted element; `None` inside for an unquoted NULL.
    fn element(&mut self) -> Option<Option<String>> {
        let mut v = Vec::new();
        if self.eat(b'"') {
            loop {
                match *self.b.get(self.pos)? {
                    b'"' => {
                        self.pos += 1;
                        break;
                    }
                    b'\\' => {
                        v.push(*self.b.get(self.pos + 1)?);
                        self.pos += 2;
                    }
                    c => {
                        v.push(c);
                        self.pos += 1;
                    }
                }
            }
            return Some(Some(String::from_utf8(v).ok()?));
        }
        let mut escaped = false;
        let mut last_kept = 0;
        loop {
            match *self.b.get(self.pos)? {
                b',' | b'}' => break,
                b'{' | b'"' => return None,
                b'\\' => {
                    v.push(*self.b.get(self.pos + 1)?);
                    self.pos += 2;
                    escaped = true;
                    last_kept = v.len();
                }
                c => {
                    v.push(c);
                    self.pos += 1;
                    if !c.is_ascii_whitespace() {
                        last_kept = v.len();
                    }
                }
            }
        }
        // Trailing unescaped whitespace is not part of an unquoted element.
        v.truncate(last_kept);
        if v.is_empty() {
            return None;
        }
        if !escaped && v.eq_ignore_ascii_case(b"NULL") {
            return Some(None);
        }
        Some(Some(String::from_utf8(v).ok()?))
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn p(s: &str) -> Option<(Vec<u32>, Vec<Option<&'static str>>)> {
        parse(s).map(|(d, items)| (d, items.into_iter().map(|i| i.map(|s| &*Box::leak(s.into_boxed_str()))).collect()))
    }

    #[test]
    fn literals() {
        assert_eq!(p("{}"), Some((vec![], vec![])));
        assert_eq!(p("{1,2,3}"), Some((vec![3], vec![Some("1"), Some("2"), Some("3")])));
        assert_eq!(p("{NULL,null,\"NULL\"}"), Some((vec![3], vec![None, None, Some("NULL")])));
        assert_eq!(
            p(r#"{"a b","c\"d","e\\f", g h ,\NULL}"#),
            Some((vec![5], vec![Some("a b"), Some("c\"d"), Some("e\\f"), Some("g h"), Some("NULL")]))
        );
        assert_eq!(
            p("{{1,2},{3,4},{5,6}}"),
            Some((vec![3, 2], vec![Some("1"), Some("2"), Some("3"), Some("4"), Some("5"), Some("6")]))
        );
        assert_eq!(p("[0:1]={a,b}"), Some((vec![2], vec![Some("a"), Some("b")])));
        assert_eq!(p("{{{x}}}"), Some((vec![1, 1, 1], vec![Some("x")])));
        assert_eq!(p("{{1,2},{3}}"), None);
        assert_eq!(p("{{1},2}"), None);
        assert_eq!(p("{1,{2}}"), None);
        assert_eq!(p("{{}}"), None);
        assert_eq!(p("{1,}"), None);
        assert_eq!(p("{1"), None);
        assert_eq!(p("{\"a}"), None);
        assert_eq!(p("{1} x"), None);
        assert_eq!(p("{{{{{{{1}}}}}}}"), None);
    }
}
