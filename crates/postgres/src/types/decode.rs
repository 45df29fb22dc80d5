//! Cell decoding: one value (binary or text) into its tape form.

use super::{array, array_element, datetime, numeric, oid, tape, Format};
use crate::backend::{DataRow, RowDescription};
use crate::error::PgProtocolError;

/// Writes DataRows as row tape (see the [module docs](super)) for one RowDescription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowTape {
    columns: Vec<(u32, Format)>,
}

impl RowTape {
    /// A tape writer for the columns (type OID, format) of this RowDescription.
    pub fn new(desc: &RowDescription<'_>) -> Self {
        RowTape { columns: desc.fields.iter().map(|f| (f.type_oid, f.format)).collect() }
    }

    /// A tape writer for these (type OID, format) columns, e.g. from a statement's
    /// RowDescription with the formats later chosen in Bind.
    pub fn from_columns(columns: &[(u32, Format)]) -> Self {
        RowTape { columns: columns.to_vec() }
    }

    /// Number of columns.
    pub fn columns(&self) -> usize {
        self.columns.len()
    }

    /// Appends the tape of one row to `out`. On an error (a column count that does not
    /// match, a malformed binary value) `out` is left as it was.
    pub fn append_row(&self, row: &DataRow<'_>, out: &mut Vec<u8>) -> Result<(), PgProtocolError> {
        if row.len() != self.columns.len() {
            return Err(PgProtocolError::ColumnCount { expected: self.columns.len(), got: row.len() });
        }
        let start = out.len();
        for (&(oid, format), cell) in self.columns.iter().zip(row.iter()) {
            if let Err(e) = decode_value(oid, format, cell, out) {
                out.truncate(start);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Appends the tape of one value (`None` is NULL) of type `oid` in `format`.
pub fn decode_value(oid: u32, format: Format, value: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), PgProtocolError> {
    match value {
        None => {
            out.push(tape::NULL);
            Ok(())
        }
        Some(v) => match format {
            Format::Binary => binary(oid, v, out, 0),
            Format::Text => {
                text(oid, v, out);
                Ok(())
            }
        },
    }
}

pub(super) fn put_len(out: &mut Vec<u8>, tag: u8, b: &[u8]) {
    out.push(tag);
    // Values come from messages of at most 1 GiB, so lengths fit a u32.
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// TEXT when UTF-8, else BYTES.
pub(super) fn put_text(out: &mut Vec<u8>, b: &[u8]) {
    let tag = if std::str::from_utf8(b).is_ok() { tape::TEXT } else { tape::BYTES };
    put_len(out, tag, b);
}

fn put_fixed(out: &mut Vec<u8>, tag: u8, le: &[u8]) {
    out.push(tag);
    out.extend_from_slice(le);
}

pub(super) fn put_timestamp(out: &mut Vec<u8>, tag: u8, ts: datetime::Stamp) {
    let (ms, us) = ts.split();
    out.push(tag);
    out.extend_from_slice(&ms.to_le_bytes());
    out.extend_from_slice(&us.to_le_bytes());
}

fn bad(oid: u32, why: &'static str) -> PgProtocolError {
    PgProtocolError::BadValue { oid, why }
}

fn fixed<const N: usize>(oid: u32, v: &[u8]) -> Result<[u8; N], PgProtocolError> {
    v.try_into().map_err(|_| bad(oid, "wrong length"))
}

/// Binary format. `depth` is 1 inside an array (arrays do not nest by element type).
pub(super) fn binary(ty: u32, v: &[u8], out: &mut Vec<u8>, depth: u8) -> Result<(), PgProtocolError> {
    match ty {
        oid::BOOL => match fixed::<1>(ty, v)?[0] {
            b @ (0 | 1) => put_fixed(out, tape::BOOL, &[b]),
            _ => return Err(bad(ty, "boolean byte other than 0 or 1")),
        },
        oid::INT2 => put_fixed(out, tape::I16, &i16::from_be_bytes(fixed(ty, v)?).to_le_bytes()),
        oid::INT4 => put_fixed(out, tape::I32, &i32::from_be_bytes(fixed(ty, v)?).to_le_bytes()),
        oid::INT8 => put_fixed(out, tape::I64, &i64::from_be_bytes(fixed(ty, v)?).to_le_bytes()),
        oid::OID => put_fixed(out, tape::F64, &f64::from(u32::from_be_bytes(fixed(ty, v)?)).to_le_bytes()),
        // As in text format: the float4's shortest decimal, as a double (0.1 stays 0.1).
        oid::FLOAT4 => {
            let f = f32::from_be_bytes(fixed(ty, v)?);
            let d = if f.is_finite() { f.to_string().parse::<f64>().unwrap_or(f as f64) } else { f as f64 };
            put_fixed(out, tape::F64, &d.to_le_bytes())
        }
        oid::FLOAT8 => put_fixed(out, tape::F64, &f64::from_be_bytes(fixed(ty, v)?).to_le_bytes()),
        oid::TEXT | oid::VARCHAR | oid::BPCHAR | oid::NAME | oid::UNKNOWN | oid::XML => put_text(out, v),
        oid::BYTEA => put_len(out, tape::BYTES, v),
        oid::JSON => json(ty, v, out)?,
        oid::JSONB => match v.split_first() {
            Some((1, rest)) => json(ty, rest, out)?,
            _ => return Err(bad(ty, "jsonb version is not 1")),
        },
        oid::NUMERIC => {
            put_len(out, tape::TEXT, numeric::binary_to_text(v).ok_or(bad(ty, "malformed numeric"))?.as_bytes())
        }
        oid::UUID => put_len(out, tape::TEXT, uuid(fixed(ty, v)?).as_bytes()),
        oid::INET | oid::CIDR => put_len(out, tape::TEXT, inet(v).ok_or(bad(ty, "malformed inet"))?.as_bytes()),
        oid::INTERVAL => {
            let v: [u8; 16] = fixed(ty, v)?;
            let us = i64::from_be_bytes(v[..8].try_into().unwrap());
            let days = i32::from_be_bytes(v[8..12].try_into().unwrap());
            let months = i32::from_be_bytes(v[12..].try_into().unwrap());
            put_len(out, tape::TEXT, datetime::interval_text(months, days, us).as_bytes());
        }
        oid::TIME => {
            let us = i64::from_be_bytes(fixed(ty, v)?);
            put_len(out, tape::TEXT, datetime::time_text(us).ok_or(bad(ty, "time out of range"))?.as_bytes());
        }
        oid::TIMETZ => {
            let v: [u8; 12] = fixed(ty, v)?;
            let us = i64::from_be_bytes(v[..8].try_into().unwrap());
            let zone = i32::from_be_bytes(v[8..].try_into().unwrap());
            let mut s = datetime::time_text(us).ok_or(bad(ty, "time out of range"))?;
            datetime::push_zone(&mut s, zone);
            put_len(out, tape::TEXT, s.as_bytes());
        }
        oid::DATE => {
            let days = i32::from_be_bytes(fixed(ty, v)?);
            out.push(tape::DATE);
            out.extend_from_slice(&datetime::date_binary_ms(days).to_le_bytes());
        }
        oid::TIMESTAMP | oid::TIMESTAMPTZ => {
            let us = i64::from_be_bytes(fixed(ty, v)?);
            let tag = if ty == oid::TIMESTAMP { tape::TIMESTAMP } else { tape::TIMESTAMPTZ };
            put_timestamp(out, tag, datetime::Stamp::from_pg_binary(us));
        }
        t if array_element(t).is_some() => {
            if depth > 0 {
                return Err(bad(ty, "array of arrays"));
            }
            array::binary(ty, v, out)?;
        }
        _ => put_len(out, tape::BYTES, v),
    }
    Ok(())
}

fn json(ty: u32, v: &[u8], out: &mut Vec<u8>) -> Result<(), PgProtocolError> {
    std::str::from_utf8(v).map_err(|_| bad(ty, "JSON is not UTF-8"))?;
    put_len(out, tape::JSON, v);
    Ok(())
}

/// Text format: never fails (a value that does not parse as its type becomes TEXT).
pub(super) fn text(ty: u32, v: &[u8], out: &mut Vec<u8>) {
    let Ok(s) = std::str::from_utf8(v) else {
        put_len(out, tape::BYTES, v);
        return;
    };
    let done = match ty {
        oid::BOOL => match s {
            "t" | "f" => {
                put_fixed(out, tape::BOOL, &[u8::from(s == "t")]);
                Some(())
            }
            _ => None,
        },
        oid::INT2 => s.parse::<i16>().ok().map(|n| put_fixed(out, tape::I16, &n.to_le_bytes())),
        oid::INT4 => s.parse::<i32>().ok().map(|n| put_fixed(out, tape::I32, &n.to_le_bytes())),
        oid::INT8 => s.parse::<i64>().ok().map(|n| put_fixed(out, tape::I64, &n.to_le_bytes())),
        // An OID fits a double exactly: a plain number, unlike int8.
        oid::OID => s.parse::<u32>().ok().map(|n| put_fixed(out, tape::F64, &f64::from(n).to_le_bytes())),
        // The text is the shortest decimal that reads back as the float4: keep it as a
        // double, so `0.1::float4` is 0.1 and not 0.10000000149011612.
        oid::FLOAT4 => float(s).map(|n| put_fixed(out, tape::F64, &n.to_le_bytes())),
        oid::FLOAT8 => float(s).map(|n| put_fixed(out, tape::F64, &n.to_le_bytes())),
        oid::BYTEA => bytea_text(s).map(|b| put_len(out, tape::BYTES, &b)),
        oid::JSON | oid::JSONB => {
            put_len(out, tape::JSON, v);
            Some(())
        }
        oid::DATE => datetime::parse_date(s).map(|ms| {
            out.push(tape::DATE);
            out.extend_from_slice(&ms.to_le_bytes());
        }),
        oid::TIMESTAMP => datetime::parse_timestamp(s, false).map(|t| put_timestamp(out, tape::TIMESTAMP, t)),
        oid::TIMESTAMPTZ => datetime::parse_timestamp(s, true).map(|t| put_timestamp(out, tape::TIMESTAMPTZ, t)),
        t => match array_element(t) {
            Some(elem) => array::text(elem, s, out).then_some(()),
            None => None,
        },
    };
    if done.is_none() {
        put_len(out, tape::TEXT, v);
    }
}

/// PostgreSQL's float text: decimal, exponent, `NaN`, `Infinity`, `-Infinity`.
fn float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ if s.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E')) => s.parse().ok(),
        _ => None,
    }
}

/// bytea text output: `\x` hex (bytea_output = hex) or the escape format.
fn bytea_text(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if let Some(hex) = b.strip_prefix(b"\\x") {
        if hex.len() % 2 != 0 {
            return None;
        }
        return hex.chunks_exact(2).map(|p| Some(nibble(p[0])? << 4 | nibble(p[1])?)).collect();
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            let o = b.get(i + 1..i + 4)?;
            if !o.iter().all(|c| (b'0'..=b'7').contains(c)) || o[0] > b'3' {
                return None;
            }
            out.push((o[0] - b'0') << 6 | (o[1] - b'0') << 3 | (o[2] - b'0'));
            i += 4;
        }
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn uuid(b: [u8; 16]) -> String {
    let h: String = b.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// inet/cidr binary: family (2 = IPv4, 3 = IPv6), bits, is_cidr, address length, address.
/// Printed as PostgreSQL does: inet omits `/bits` when it covers the whole address,
/// cidr always shows it.
fn inet(v: &[u8]) -> Option<String> {
    let (&[family, bits, is_cidr, n], addr) = v.split_first_chunk::<4>()?;
    let (max, len) = match family {
        2 => (32, 4),
        3 => (128, 16),
        _ => return None,
    };
    if usize::from(n) != len || addr.len() != len || bits > max || is_cidr > 1 {
        return None;
    }
    let mut s = if len == 4 {
        std::net::Ipv4Addr::from(<[u8; 4]>::try_from(addr).unwrap()).to_string()
    } else {
        let a = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(addr).unwrap());
        let w = a.segments();
        // PostgreSQL prints an IPv4-compatible address (::a.b.c.d) in dotted form too.
        if w[..6] == [0; 6] && w[6] != 0 {
            format!("::{}.{}.{}.{}", addr[12], addr[13], addr[14], addr[15])
        } else {
            a.to_string()
        }
    };
    if is_cidr == 1 || bits != max {
        s.push_str(&format!("/{bits}"));
    }
    Some(s)
}
