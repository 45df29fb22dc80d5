//! Tag bytes of the reply tape. Each value is a tag followed by its body (little-endian,
//! unaligned); see the [crate docs](crate) for every body.

/// `+` simple string: u32 length, bytes.
pub const SIMPLE: u8 = 1;
/// `-` error: u32 length, bytes.
pub const ERROR: u8 = 2;
/// `:` integer: i64.
pub const INT: u8 = 3;
/// `$` bulk string (also a streamed `$?` string): u32 length, bytes.
pub const BULK: u8 = 4;
/// `$-1`, `*-1`, `_` null: no body.
pub const NULL: u8 = 5;
/// `*` array (also streamed `*?`): u32 count, values.
pub const ARRAY: u8 = 6;
/// `%` map (also streamed `%?`): u32 pair count, key, value, key, value …
pub const MAP: u8 = 7;
/// `~` set (also streamed `~?`): u32 count, values.
pub const SET: u8 = 8;
/// `>` push: u32 count, values.
pub const PUSH: u8 = 9;
/// `,` double: f64.
pub const DOUBLE: u8 = 10;
/// `#` boolean: u8 1 or 0.
pub const BOOL: u8 = 11;
/// `(` big number: u32 length, ASCII digits with an optional leading `-`.
pub const BIGNUM: u8 = 12;
/// `=` verbatim string: u32 content length, 3 format bytes, content.
pub const VERBATIM: u8 = 13;
/// `!` blob error: u32 length, bytes.
pub const BLOBERR: u8 = 14;
/// `|` attribute: u32 pair count, pairs; the annotated value follows.
pub const ATTR: u8 = 15;

#[cfg(any(test, feature = "fuzzing"))]
pub use reader::{read_value, Value};

#[cfg(any(test, feature = "fuzzing"))]
mod reader {
    use super::*;

    /// A decoded tape value (test and fuzzing helper).
    #[derive(Debug, Clone, PartialEq)]
    pub enum Value {
        /// [`SIMPLE`]
        Simple(Vec<u8>),
        /// [`ERROR`]
        Error(Vec<u8>),
        /// [`INT`]
        Int(i64),
        /// [`BULK`]
        Bulk(Vec<u8>),
        /// [`NULL`]
        Null,
        /// [`ARRAY`]
        Array(Vec<Value>),
        /// [`MAP`]
        Map(Vec<(Value, Value)>),
        /// [`SET`]
        Set(Vec<Value>),
        /// [`PUSH`]
        Push(Vec<Value>),
        /// [`DOUBLE`]
        Double(f64),
        /// [`BOOL`]
        Bool(bool),
        /// [`BIGNUM`]
        Bignum(Vec<u8>),
        /// [`VERBATIM`]: format, content.
        Verbatim([u8; 3], Vec<u8>),
        /// [`BLOBERR`]
        BlobError(Vec<u8>),
        /// [`ATTR`]: the attribute pairs and the value they annotate.
        Attr(Vec<(Value, Value)>, Box<Value>),
    }

    /// Reads one value (an attribute together with the value it annotates) from the start
    /// of `tape`; returns it and the number of bytes it took. Panics on a malformed tape.
    pub fn read_value(tape: &[u8]) -> (Value, usize) {
        let mut pos = 0;
        let v = read(tape, &mut pos);
        (v, pos)
    }

    fn take<'a>(t: &'a [u8], pos: &mut usize, n: usize) -> &'a [u8] {
        let s = &t[*pos..*pos + n];
        *pos += n;
        s
    }

    fn u32_at(t: &[u8], pos: &mut usize) -> usize {
        u32::from_le_bytes(take(t, pos, 4).try_into().unwrap()) as usize
    }

    fn bytes(t: &[u8], pos: &mut usize) -> Vec<u8> {
        let n = u32_at(t, pos);
        take(t, pos, n).to_vec()
    }

    fn list(t: &[u8], pos: &mut usize) -> Vec<Value> {
        let n = u32_at(t, pos);
        (0..n).map(|_| read(t, pos)).collect()
    }

    fn pairs(t: &[u8], pos: &mut usize) -> Vec<(Value, Value)> {
        let n = u32_at(t, pos);
        (0..n).map(|_| (read(t, pos), read(t, pos))).collect()
    }

    fn read(t: &[u8], pos: &mut usize) -> Value {
        let tag = take(t, pos, 1)[0];
        match tag {
            SIMPLE => Value::Simple(bytes(t, pos)),
            ERROR => Value::Error(bytes(t, pos)),
            INT => Value::Int(i64::from_le_bytes(take(t, pos, 8).try_into().unwrap())),
            BULK => Value::Bulk(bytes(t, pos)),
            NULL => Value::Null,
            ARRAY => Value::Array(list(t, pos)),
            MAP => Value::Map(pairs(t, pos)),
            SET => Value::Set(list(t, pos)),
            PUSH => Value::Push(list(t, pos)),
            DOUBLE => Value::Double(f64::from_le_bytes(take(t, pos, 8).try_into().unwrap())),
            BOOL => Value::Bool(match take(t, pos, 1)[0] {
                0 => false,
                1 => true,
                b => panic!("bad boolean byte {b}"),
            }),
            BIGNUM => Value::Bignum(bytes(t, pos)),
            VERBATIM => {
                let n = u32_at(t, pos);
                let fmt = take(t, pos, 3).try_into().unwrap();
                Value::Verbatim(fmt, take(t, pos, n).to_vec())
            }
            BLOBERR => Value::BlobError(bytes(t, pos)),
            ATTR => {
                let attrs = pairs(t, pos);
                Value::Attr(attrs, Box::new(read(t, pos)))
            }
            _ => panic!("bad tape tag {tag} at {}", *pos - 1),
        }
    }
}
