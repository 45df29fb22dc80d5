//! Value decoding into the row tape, and parameter encoders.
//!
//! # Row tape
//!
//! [`RowTape::append_row`] writes each cell of a DataRow, in column order, as a tag byte
//! and a body; all numbers are little-endian and unaligned. There is no row or column
//! header: the reader knows the column count from the RowDescription.
//!
//! | tag | name | body |
//! |---|---|---|
//! | 0 | `NULL` | — |
//! | 1 | `BOOL` | u8 0 / 1 |
//! | 2 | `I16` | i16 |
//! | 3 | `I32` | i32 |
//! | 4 | `I64` | i64 (int8; also `oid`, unsigned 32-bit) |
//! | 5 | `F32` | f32 |
//! | 6 | `F64` | f64 |
//! | 7 | `TEXT` | u32 len, UTF-8 |
//! | 8 | `BYTES` | u32 len, raw bytes |
//! | 9 | `JSON` | u32 len, UTF-8 JSON text |
//! | 10 | `DATE` | f64 ms since 1970-01-01 UTC (±Infinity for ±infinity) |
//! | 11 | `TIMESTAMP` | f64 ms since 1970-01-01 UTC, floored; i32 extra µs 0..=999 |
//! | 12 | `TIMESTAMPTZ` | as `TIMESTAMP` |
//! | 13 | `ARRAY` | u32 ndims, u32 length per dim, then the elements in row-major order, each a tagged value |
//!
//! The column's type OID and format decide the decoding ([`decode_value`]):
//! `text`/`varchar`/`bpchar`/`name`, `numeric`, `uuid`, `inet`/`cidr`, `interval`,
//! `time`/`timetz`, enums and unknown OIDs in text format become `TEXT` in PostgreSQL's
//! own text output; unknown OIDs in binary format become `BYTES`. A text-format value that
//! does not parse as its type (a DateStyle other than ISO, say) falls back to `TEXT`; a
//! malformed binary value is a protocol error. Text that is not UTF-8 becomes `BYTES`.
//! An `ARRAY` of 0 dimensions is an empty array; lower bounds are not kept.

mod array;
mod datetime;
mod decode;
mod encode;
mod numeric;
#[cfg(any(test, feature = "fuzzing"))]
mod reader;

pub use decode::{decode_value, RowTape};
pub use encode::{
    encode_array_text, encode_bool, encode_bytea_text, encode_f32, encode_f64, encode_i16, encode_i32, encode_i64,
    encode_uuid,
};

/// The format of a parameter or result value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i16)]
pub enum Format {
    /// Text (format code 0).
    Text = 0,
    /// Binary (format code 1).
    Binary = 1,
}

/// Tag bytes of the row tape (see the [module docs](self)).
pub mod tape {
    /// SQL NULL: no body.
    pub const NULL: u8 = 0;
    /// u8 0 or 1.
    pub const BOOL: u8 = 1;
    /// i16.
    pub const I16: u8 = 2;
    /// i32.
    pub const I32: u8 = 3;
    /// i64.
    pub const I64: u8 = 4;
    /// f32.
    pub const F32: u8 = 5;
    /// f64.
    pub const F64: u8 = 6;
    /// u32 length, UTF-8.
    pub const TEXT: u8 = 7;
    /// u32 length, raw bytes.
    pub const BYTES: u8 = 8;
    /// u32 length, UTF-8 JSON.
    pub const JSON: u8 = 9;
    /// f64 ms since the Unix epoch.
    pub const DATE: u8 = 10;
    /// f64 ms since the Unix epoch (floored), i32 extra µs 0..=999.
    pub const TIMESTAMP: u8 = 11;
    /// As [`TIMESTAMP`], for `timestamptz`.
    pub const TIMESTAMPTZ: u8 = 12;
    /// u32 ndims, u32 per dimension, then elements.
    pub const ARRAY: u8 = 13;

    #[cfg(any(test, feature = "fuzzing"))]
    pub use super::reader::{read_value, Value};
}

/// Type OIDs this crate knows (from `pg_type.dat`).
pub mod oid {
    #![allow(missing_docs)]
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const UNKNOWN: u32 = 705;
    pub const CIDR: u32 = 650;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
    pub const JSONB: u32 = 3802;
}

/// (array type OID, element type OID) for the array types decoded element-wise.
const ARRAYS: &[(u32, u32)] = &[
    (1000, oid::BOOL),
    (1001, oid::BYTEA),
    (1002, oid::CHAR),
    (1003, oid::NAME),
    (1016, oid::INT8),
    (1005, oid::INT2),
    (1007, oid::INT4),
    (1009, oid::TEXT),
    (1028, oid::OID),
    (199, oid::JSON),
    (143, oid::XML),
    (1021, oid::FLOAT4),
    (1022, oid::FLOAT8),
    (651, oid::CIDR),
    (1041, oid::INET),
    (1014, oid::BPCHAR),
    (1015, oid::VARCHAR),
    (1182, oid::DATE),
    (1183, oid::TIME),
    (1115, oid::TIMESTAMP),
    (1185, oid::TIMESTAMPTZ),
    (1187, oid::INTERVAL),
    (1270, oid::TIMETZ),
    (1231, oid::NUMERIC),
    (2951, oid::UUID),
    (3807, oid::JSONB),
];

/// The element type of a known array type.
pub fn array_element(array_oid: u32) -> Option<u32> {
    ARRAYS.iter().find(|(a, _)| *a == array_oid).map(|(_, e)| *e)
}

/// Whether this crate decodes values of this type in binary format (so results should be
/// requested in binary); for other types request text.
pub fn binary_result_supported(type_oid: u32) -> bool {
    use oid::*;
    match type_oid {
        BOOL | BYTEA | NAME | INT8 | INT2 | INT4 | TEXT | OID | JSON | FLOAT4 | FLOAT8 | CIDR | INET | BPCHAR
        | VARCHAR | DATE | TIME | TIMESTAMP | TIMESTAMPTZ | INTERVAL | TIMETZ | NUMERIC | UUID | JSONB => true,
        o => array_element(o).is_some_and(|e| e != CHAR && e != XML),
    }
}

#[cfg(test)]
mod tests;
