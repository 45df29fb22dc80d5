//! A row-tape reader for tests and fuzzing: what the TypeScript side does, with every
//! well-formedness check as a panic.

use super::tape::*;

/// A decoded tape value (test and fuzzing helper).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// [`NULL`]
    Null,
    /// [`BOOL`]
    Bool(bool),
    /// [`I16`]
    I16(i16),
    /// [`I32`]
    I32(i32),
    /// [`I64`]
    I64(i64),
    /// [`F32`]
    F32(f32),
    /// [`F64`]
    F64(f64),
    /// [`TEXT`]
    Text(String),
    /// [`BYTES`]
    Bytes(Vec<u8>),
    /// [`JSON`]
    Json(String),
    /// [`DATE`]: ms since the epoch.
    Date(f64),
    /// [`TIMESTAMP`]: ms since the epoch, extra µs.
    Timestamp(f64, i32),
    /// [`TIMESTAMPTZ`]: ms since the epoch, extra µs.
    TimestampTz(f64, i32),
    /// [`ARRAY`]: dimensions, elements in row-major order.
    Array(Vec<u32>, Vec<Value>),
}

/// Reads one value from the start of `tape`; returns it and the bytes it took. Panics on
/// a malformed tape.
pub fn read_value(tape: &[u8]) -> (Value, usize) {
    let mut pos = 0;
    let v = read(tape, &mut pos, false);
    (v, pos)
}

fn take<'a>(t: &'a [u8], pos: &mut usize, n: usize) -> &'a [u8] {
    let s = &t[*pos..*pos + n];
    *pos += n;
    s
}

fn arr<const N: usize>(t: &[u8], pos: &mut usize) -> [u8; N] {
    take(t, pos, N).try_into().unwrap()
}

fn u32_at(t: &[u8], pos: &mut usize) -> usize {
    u32::from_le_bytes(arr(t, pos)) as usize
}

fn text(t: &[u8], pos: &mut usize) -> String {
    let n = u32_at(t, pos);
    String::from_utf8(take(t, pos, n).to_vec()).expect("TEXT/JSON must be UTF-8")
}

fn stamp(t: &[u8], pos: &mut usize) -> (f64, i32) {
    let ms = f64::from_le_bytes(arr(t, pos));
    let us = i32::from_le_bytes(arr(t, pos));
    assert!((0..=999).contains(&us), "extra µs {us} out of range");
    assert!(!ms.is_nan() && (ms.is_infinite() || ms.fract() == 0.0), "timestamp ms {ms}");
    assert!(!ms.is_infinite() || us == 0);
    (ms, us)
}

fn read(t: &[u8], pos: &mut usize, in_array: bool) -> Value {
    let tag = take(t, pos, 1)[0];
    match tag {
        NULL => Value::Null,
        BOOL => Value::Bool(match take(t, pos, 1)[0] {
            0 => false,
            1 => true,
            b => panic!("bad boolean byte {b}"),
        }),
        I16 => Value::I16(i16::from_le_bytes(arr(t, pos))),
        I32 => Value::I32(i32::from_le_bytes(arr(t, pos))),
        I64 => Value::I64(i64::from_le_bytes(arr(t, pos))),
        F32 => Value::F32(f32::from_le_bytes(arr(t, pos))),
        F64 => Value::F64(f64::from_le_bytes(arr(t, pos))),
        TEXT => Value::Text(text(t, pos)),
        BYTES => {
            let n = u32_at(t, pos);
            Value::Bytes(take(t, pos, n).to_vec())
        }
        JSON => Value::Json(text(t, pos)),
        DATE => {
            let ms = f64::from_le_bytes(arr(t, pos));
            assert!(!ms.is_nan() && (ms.is_infinite() || ms % 86_400_000.0 == 0.0), "date ms {ms}");
            Value::Date(ms)
        }
        TIMESTAMP => {
            let (ms, us) = stamp(t, pos);
            Value::Timestamp(ms, us)
        }
        TIMESTAMPTZ => {
            let (ms, us) = stamp(t, pos);
            Value::TimestampTz(ms, us)
        }
        ARRAY => {
            assert!(!in_array, "array inside an array");
            let nd = u32_at(t, pos);
            assert!(nd <= 6, "{nd} dimensions");
            let dims: Vec<u32> = (0..nd).map(|_| u32_at(t, pos) as u32).collect();
            let total: usize = if nd == 0 { 0 } else { dims.iter().map(|d| *d as usize).product() };
            let elems = (0..total).map(|_| read(t, pos, true)).collect();
            Value::Array(dims, elems)
        }
        _ => panic!("bad tape tag {tag} at {}", *pos - 1),
    }
}
