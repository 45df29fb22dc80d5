//! Parameter encoders. Binary encoders append the value bytes of one Bind parameter
//! (format [`Binary`](super::Format::Binary)); `bytea` in binary is the raw bytes
//! themselves. Text helpers build literals whose quoting is easy to get wrong.

use crate::frontend::EncodeError;

/// `bool` in binary: one byte 0 or 1.
pub fn encode_bool(v: bool, out: &mut Vec<u8>) {
    out.push(u8::from(v));
}

/// `int2` in binary.
pub fn encode_i16(v: i16, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `int4` in binary.
pub fn encode_i32(v: i32, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `int8` in binary.
pub fn encode_i64(v: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `float4` in binary.
pub fn encode_f32(v: f32, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `float8` in binary.
pub fn encode_f64(v: f64, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_be_bytes());
}

/// `uuid` in binary from its text form: 32 hex digits, hyphens anywhere between groups
/// of four and optional braces, as PostgreSQL's `uuid_in` accepts.
pub fn encode_uuid(s: &str, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let s = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(s);
    let mut bytes = [0u8; 16];
    let mut n = 0;
    let mut prev_hyphen = true;
    for c in s.bytes() {
        if c == b'-' && !prev_hyphen && n % 2 == 0 && n < 32 && n % 4 == 0 {
            prev_hyphen = true;
            continue;
        }
        let d = (c as char).to_digit(16).ok_or(EncodeError::OutOfRange("uuid"))? as u8;
        if n >= 32 {
            return Err(EncodeError::OutOfRange("uuid"));
        }
        bytes[n / 2] |= if n % 2 == 0 { d << 4 } else { d };
        n += 1;
        prev_hyphen = false;
    }
    if n != 32 || prev_hyphen {
        return Err(EncodeError::OutOfRange("uuid"));
    }
    out.extend_from_slice(&bytes);
    Ok(())
}

/// `bytea` as text: `\x` followed by lowercase hex.
pub fn encode_bytea_text(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 + 2 * b.len());
    s.push_str("\\x");
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// A one-dimensional array literal from element texts (`None` is NULL): every element is
/// double-quoted with `"` and `\` escaped, so any text round-trips.
pub fn encode_array_text(elements: &[Option<&str>]) -> String {
    let mut s = String::from("{");
    for (i, e) in elements.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        match e {
            None => s.push_str("NULL"),
            Some(e) => {
                s.push('"');
                for c in e.chars() {
                    if c == '"' || c == '\\' {
                        s.push('\\');
                    }
                    s.push(c);
                }
                s.push('"');
            }
        }
    }
    s.push('}');
    s
}
