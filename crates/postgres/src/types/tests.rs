//! Every supported type in binary and text format into the tape, checked against what
//! PostgreSQL 15 sends and prints.

use super::tape::{read_value, Value};
use super::*;
use crate::backend::{Decoder, Message};
use crate::error::PgProtocolError;
use Value::*;

fn bin(oid: u32, v: &[u8]) -> Value {
    let mut out = Vec::new();
    decode_value(oid, Format::Binary, Some(v), &mut out).unwrap();
    let (val, n) = read_value(&out);
    assert_eq!(n, out.len());
    val
}

fn bin_err(oid: u32, v: &[u8]) -> PgProtocolError {
    let mut out = vec![9];
    let e = decode_value(oid, Format::Binary, Some(v), &mut out).unwrap_err();
    assert_eq!(out, [9], "a failed value leaves the tape as it was");
    e
}

fn txt(oid: u32, v: &str) -> Value {
    let mut out = Vec::new();
    decode_value(oid, Format::Text, Some(v.as_bytes()), &mut out).unwrap();
    let (val, n) = read_value(&out);
    assert_eq!(n, out.len());
    val
}

fn t(s: &str) -> Value {
    Text(s.to_string())
}

const Y2K_MS: f64 = 946_684_800_000.0;

#[test]
fn scalars() {
    assert_eq!(bin(oid::BOOL, &[1]), Bool(true));
    assert_eq!(bin(oid::BOOL, &[0]), Bool(false));
    assert_eq!(txt(oid::BOOL, "t"), Bool(true));
    assert_eq!(txt(oid::BOOL, "f"), Bool(false));
    assert_eq!(bin(oid::INT2, &(-32768i16).to_be_bytes()), I16(-32768));
    assert_eq!(txt(oid::INT2, "-32768"), I16(-32768));
    assert_eq!(bin(oid::INT4, &7i32.to_be_bytes()), I32(7));
    assert_eq!(txt(oid::INT4, "2147483647"), I32(i32::MAX));
    assert_eq!(bin(oid::INT8, &i64::MIN.to_be_bytes()), I64(i64::MIN));
    assert_eq!(txt(oid::INT8, "-9223372036854775808"), I64(i64::MIN));
    assert_eq!(bin(oid::OID, &u32::MAX.to_be_bytes()), F64(4_294_967_295.0));
    assert_eq!(txt(oid::OID, "4294967295"), F64(4_294_967_295.0));
    assert_eq!(bin(oid::FLOAT4, &1.5f32.to_be_bytes()), F64(1.5));
    assert_eq!(bin(oid::FLOAT4, &0.1f32.to_be_bytes()), F64(0.1));
    assert_eq!(txt(oid::FLOAT4, "1.5"), F64(1.5));
    // The printed shortest decimal, not the float4 widened: 0.1 stays 0.1.
    assert_eq!(txt(oid::FLOAT4, "0.1"), F64(0.1));
    assert_eq!(txt(oid::FLOAT4, "-Infinity"), F64(f64::NEG_INFINITY));
    assert_eq!(bin(oid::FLOAT8, &0.1f64.to_be_bytes()), F64(0.1));
    assert_eq!(txt(oid::FLOAT8, "1e+100"), F64(1e100));
    assert_eq!(txt(oid::FLOAT8, "Infinity"), F64(f64::INFINITY));
    assert!(matches!(txt(oid::FLOAT8, "NaN"), F64(x) if x.is_nan()));
    assert!(matches!(bin(oid::FLOAT8, &f64::NAN.to_be_bytes()), F64(x) if x.is_nan()));
    // Rust's parser takes "inf"; PostgreSQL never prints it, so it stays text.
    assert_eq!(txt(oid::FLOAT8, "inf"), t("inf"));
    assert_eq!(txt(oid::INT4, "x"), t("x"));
    assert_eq!(txt(oid::BOOL, "true"), t("true"));
}

#[test]
fn strings_and_bytes() {
    for o in [oid::TEXT, oid::VARCHAR, oid::BPCHAR, oid::NAME, oid::UNKNOWN] {
        assert_eq!(bin(o, "héllo".as_bytes()), t("héllo"));
        assert_eq!(txt(o, "héllo"), t("héllo"));
    }
    assert_eq!(bin(oid::TEXT, b"\xff"), Bytes(vec![0xff]));
    assert_eq!(bin(oid::BYTEA, &[0, 1, 255]), Bytes(vec![0, 1, 255]));
    assert_eq!(txt(oid::BYTEA, "\\x0001ff"), Bytes(vec![0, 1, 255]));
    assert_eq!(txt(oid::BYTEA, "\\x"), Bytes(vec![]));
    // bytea_output = escape.
    assert_eq!(txt(oid::BYTEA, "a\\000b\\\\\\377"), Bytes(b"a\0b\\\xff".to_vec()));
    assert_eq!(txt(oid::BYTEA, "\\x0"), t("\\x0"));
    assert_eq!(bin(oid::JSON, br#"{"a":1}"#), Json(r#"{"a":1}"#.into()));
    assert_eq!(txt(oid::JSON, r#"{"a":1}"#), Json(r#"{"a":1}"#.into()));
    assert_eq!(bin(oid::JSONB, b"\x01[1, 2]"), Json("[1, 2]".into()));
    assert_eq!(txt(oid::JSONB, "[1, 2]"), Json("[1, 2]".into()));
    assert_eq!(
        bin_err(oid::JSONB, b"\x02{}"),
        PgProtocolError::BadValue { oid: oid::JSONB, why: "jsonb version is not 1" }
    );
    assert_eq!(bin_err(oid::JSONB, b""), PgProtocolError::BadValue { oid: oid::JSONB, why: "jsonb version is not 1" });
    // Unknown OIDs (enums, domains of custom types, …).
    assert_eq!(bin(99999, &[1, 2]), Bytes(vec![1, 2]));
    assert_eq!(txt(99999, "happy"), t("happy"));
    assert_eq!(txt(oid::CHAR, "a"), t("a"));
}

#[test]
fn numeric_uuid_inet() {
    // SELECT '-12.345'::numeric (binary: ndigits 2, weight 0, NEG, dscale 3, 12, 3450).
    assert_eq!(bin(oid::NUMERIC, &[0, 2, 0, 0, 0x40, 0, 0, 3, 0, 12, 0x0d, 0x7a]), t("-12.345"));
    assert_eq!(bin(oid::NUMERIC, &[0, 0, 0, 0, 0xc0, 0, 0, 0]), t("NaN"));
    assert_eq!(bin(oid::NUMERIC, &[0, 0, 0, 0, 0xd0, 0, 0, 0]), t("Infinity"));
    assert_eq!(bin(oid::NUMERIC, &[0, 0, 0, 0, 0xf0, 0, 0, 0]), t("-Infinity"));
    assert_eq!(txt(oid::NUMERIC, "123456789012345678901234567890.5"), t("123456789012345678901234567890.5"));
    assert!(matches!(bin_err(oid::NUMERIC, &[0, 1, 0, 0]), PgProtocolError::BadValue { .. }));
    let u = [0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38, 0x0a, 0x11];
    assert_eq!(bin(oid::UUID, &u), t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    assert_eq!(txt(oid::UUID, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"));
    assert!(bin_err(oid::UUID, &u[1..]).to_string().contains("wrong length"));
    let inet = |f: u8, bits: u8, cidr: u8, a: &[u8]| {
        let mut v = vec![f, bits, cidr, a.len() as u8];
        v.extend_from_slice(a);
        v
    };
    assert_eq!(bin(oid::INET, &inet(2, 32, 0, &[192, 168, 0, 1])), t("192.168.0.1"));
    assert_eq!(bin(oid::INET, &inet(2, 24, 0, &[192, 168, 0, 1])), t("192.168.0.1/24"));
    assert_eq!(bin(oid::CIDR, &inet(2, 8, 1, &[10, 0, 0, 0])), t("10.0.0.0/8"));
    assert_eq!(bin(oid::CIDR, &inet(2, 32, 1, &[10, 0, 0, 1])), t("10.0.0.1/32"));
    let mut v6 = [0u8; 16];
    v6[0] = 0x20;
    v6[1] = 0x01;
    v6[2] = 0x0d;
    v6[3] = 0xb8;
    v6[15] = 1;
    assert_eq!(bin(oid::INET, &inet(3, 128, 0, &v6)), t("2001:db8::1"));
    assert_eq!(bin(oid::INET, &inet(3, 64, 0, &v6)), t("2001:db8::1/64"));
    assert_eq!(bin(oid::CIDR, &inet(3, 0, 1, &[0; 16])), t("::/0"));
    let mut mapped = [0u8; 16];
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped[12..].copy_from_slice(&[1, 2, 3, 4]);
    assert_eq!(bin(oid::INET, &inet(3, 128, 0, &mapped)), t("::ffff:1.2.3.4"));
    let mut compat = [0u8; 16];
    compat[12..].copy_from_slice(&[1, 2, 3, 4]);
    assert_eq!(bin(oid::INET, &inet(3, 128, 0, &compat)), t("::1.2.3.4"));
    let mut one = [0u8; 16];
    one[15] = 1;
    assert_eq!(bin(oid::INET, &inet(3, 128, 0, &one)), t("::1"));
    assert_eq!(txt(oid::INET, "192.168.0.1/24"), t("192.168.0.1/24"));
    assert!(matches!(bin_err(oid::INET, &inet(2, 33, 0, &[1, 2, 3, 4])), PgProtocolError::BadValue { .. }));
    assert!(matches!(bin_err(oid::INET, &inet(4, 8, 0, &[1, 2, 3, 4])), PgProtocolError::BadValue { .. }));
}

#[test]
fn dates_and_times() {
    assert_eq!(bin(oid::DATE, &0i32.to_be_bytes()), Date(Y2K_MS));
    assert_eq!(bin(oid::DATE, &(-10957i32).to_be_bytes()), Date(0.0));
    assert_eq!(bin(oid::DATE, &i32::MAX.to_be_bytes()), Date(f64::INFINITY));
    assert_eq!(bin(oid::DATE, &i32::MIN.to_be_bytes()), Date(f64::NEG_INFINITY));
    assert_eq!(txt(oid::DATE, "2000-01-01"), Date(Y2K_MS));
    assert_eq!(txt(oid::DATE, "infinity"), Date(f64::INFINITY));
    assert_eq!(txt(oid::DATE, "-infinity"), Date(f64::NEG_INFINITY));
    // SELECT '4713-11-24 BC'::date, the earliest date: binary -2451545 days.
    assert_eq!(bin(oid::DATE, &(-2_451_545i32).to_be_bytes()), txt(oid::DATE, "4714-11-24 BC"));
    assert_eq!(txt(oid::DATE, "01/02/2024"), t("01/02/2024"));

    assert_eq!(bin(oid::TIMESTAMP, &0i64.to_be_bytes()), Timestamp(Y2K_MS, 0));
    assert_eq!(bin(oid::TIMESTAMP, &(-1i64).to_be_bytes()), Timestamp(Y2K_MS - 1.0, 999));
    assert_eq!(bin(oid::TIMESTAMP, &1_234_567i64.to_be_bytes()), Timestamp(Y2K_MS + 1234.0, 567));
    assert_eq!(bin(oid::TIMESTAMP, &i64::MAX.to_be_bytes()), Timestamp(f64::INFINITY, 0));
    assert_eq!(bin(oid::TIMESTAMPTZ, &i64::MIN.to_be_bytes()), TimestampTz(f64::NEG_INFINITY, 0));
    assert_eq!(txt(oid::TIMESTAMP, "2000-01-01 00:00:01.234567"), Timestamp(Y2K_MS + 1234.0, 567));
    assert_eq!(txt(oid::TIMESTAMP, "1999-12-31 23:59:59.999999"), Timestamp(Y2K_MS - 1.0, 999));
    assert_eq!(txt(oid::TIMESTAMP, "infinity"), Timestamp(f64::INFINITY, 0));
    assert_eq!(txt(oid::TIMESTAMPTZ, "2000-01-01 05:30:00+05:30"), TimestampTz(Y2K_MS, 0));
    assert_eq!(txt(oid::TIMESTAMPTZ, "1999-12-31 16:00:00-08"), TimestampTz(Y2K_MS, 0));
    assert_eq!(txt(oid::TIMESTAMPTZ, "-infinity"), TimestampTz(f64::NEG_INFINITY, 0));
    assert_eq!(
        txt(oid::TIMESTAMPTZ, "0001-01-01 00:00:00+00 BC"),
        bin(oid::TIMESTAMPTZ, &(-63_113_904_000_000_000i64).to_be_bytes())
    );
    assert_eq!(txt(oid::TIMESTAMPTZ, "Sat Jan 01 00:00:00 2000 PST"), t("Sat Jan 01 00:00:00 2000 PST"));

    let us = ((4 * 60 + 5) * 60 + 6) * 1_000_000i64 + 789_000;
    assert_eq!(bin(oid::TIME, &us.to_be_bytes()), t("04:05:06.789"));
    assert_eq!(txt(oid::TIME, "04:05:06.789"), t("04:05:06.789"));
    let mut tz = us.to_be_bytes().to_vec();
    tz.extend_from_slice(&(-3600i32).to_be_bytes());
    assert_eq!(bin(oid::TIMETZ, &tz), t("04:05:06.789+01"));
    let mut iv = us.to_be_bytes().to_vec();
    iv.extend_from_slice(&3i32.to_be_bytes());
    iv.extend_from_slice(&14i32.to_be_bytes());
    assert_eq!(bin(oid::INTERVAL, &iv), t("1 year 2 mons 3 days 04:05:06.789"));
    assert_eq!(txt(oid::INTERVAL, "1 year 2 mons"), t("1 year 2 mons"));
    assert!(matches!(bin_err(oid::TIME, &(-1i64).to_be_bytes()), PgProtocolError::BadValue { .. }));
}

fn arr_bin(elem: u32, dims: &[i32], items: &[Option<&[u8]>]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&(dims.len() as i32).to_be_bytes());
    v.extend_from_slice(&i32::from(items.contains(&None)).to_be_bytes());
    v.extend_from_slice(&elem.to_be_bytes());
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
        v.extend_from_slice(&1i32.to_be_bytes());
    }
    for i in items {
        match i {
            None => v.extend_from_slice(&(-1i32).to_be_bytes()),
            Some(b) => {
                v.extend_from_slice(&(b.len() as i32).to_be_bytes());
                v.extend_from_slice(b);
            }
        }
    }
    v
}

#[test]
fn arrays() {
    let one = 1i32.to_be_bytes();
    let two = 2i32.to_be_bytes();
    let a = arr_bin(oid::INT4, &[3], &[Some(&one), None, Some(&two)]);
    assert_eq!(bin(1007, &a), Array(vec![3], vec![I32(1), Null, I32(2)]));
    assert_eq!(txt(1007, "{1,NULL,2}"), Array(vec![3], vec![I32(1), Null, I32(2)]));
    let a = arr_bin(oid::INT4, &[2, 2], &[Some(&one), Some(&two), Some(&two), Some(&one)]);
    assert_eq!(bin(1007, &a), Array(vec![2, 2], vec![I32(1), I32(2), I32(2), I32(1)]));
    assert_eq!(txt(1007, "{{1,2},{2,1}}"), Array(vec![2, 2], vec![I32(1), I32(2), I32(2), I32(1)]));
    assert_eq!(bin(1007, &arr_bin(oid::INT4, &[], &[])), Array(vec![], vec![]));
    assert_eq!(txt(1007, "{}"), Array(vec![], vec![]));
    assert_eq!(
        txt(1009, r#"{"a,b","c\"d",NULL,"NULL",e}"#),
        Array(vec![5], vec![t("a,b"), t("c\"d"), Null, t("NULL"), t("e")])
    );
    assert_eq!(bin(1009, &arr_bin(oid::TEXT, &[2], &[Some(b"x"), None])), Array(vec![2], vec![t("x"), Null]));
    assert_eq!(txt(1182, "{2000-01-01,infinity}"), Array(vec![2], vec![Date(Y2K_MS), Date(f64::INFINITY)]));
    assert_eq!(txt(1185, r#"{"2000-01-01 00:00:00+00"}"#), Array(vec![1], vec![TimestampTz(Y2K_MS, 0)]));
    assert_eq!(txt(1001, r#"{"\\x01ff"}"#), Array(vec![1], vec![Bytes(vec![1, 255])]));
    assert_eq!(txt(1000, "{t,f}"), Array(vec![2], vec![Bool(true), Bool(false)]));
    assert_eq!(txt(3807, r#"{"{\"a\": 1}"}"#), Array(vec![1], vec![Json(r#"{"a": 1}"#.into())]));
    // An element type the array does not announce is still decoded by its own OID.
    assert_eq!(
        bin(1231, &arr_bin(oid::NUMERIC, &[1], &[Some(&[0, 0, 0, 0, 0xc0, 0, 0, 0])])),
        Array(vec![1], vec![t("NaN")])
    );
    // Unparseable text array: TEXT.
    assert_eq!(txt(1007, "{1,{2}}"), t("{1,{2}}"));
    // Malformed binary arrays.
    for bad in [
        arr_bin(oid::INT4, &[2], &[Some(&one)]),
        arr_bin(oid::INT4, &[1], &[Some(&[1])]),
        arr_bin(oid::INT4, &[-1], &[]),
        arr_bin(oid::INT4, &[1, 1, 1, 1, 1, 1, 1], &[Some(&one)]),
        arr_bin(1007, &[1], &[Some(&arr_bin(oid::INT4, &[], &[]))]),
        [arr_bin(oid::INT4, &[1], &[Some(&one)]), vec![0]].concat(),
        arr_bin(oid::INT4, &[65536, 65536], &[]),
    ] {
        assert!(matches!(bin_err(1007, &bad), PgProtocolError::BadValue { .. }), "{bad:?}");
    }
}

#[test]
fn row_tape_from_messages() {
    let mut d = Decoder::default();
    let mut t_body = vec![0, 3];
    for (name, oid, fmt) in [("a", 23u32, 1i16), ("b", 25, 0), ("c", 1184, 1)] {
        t_body.extend_from_slice(name.as_bytes());
        t_body.push(0);
        t_body.extend_from_slice(&[0; 6]);
        t_body.extend_from_slice(&oid.to_be_bytes());
        t_body.extend_from_slice(&[0, 4, 0xff, 0xff, 0xff, 0xff]);
        t_body.extend_from_slice(&fmt.to_be_bytes());
    }
    let frame = |tag: u8, body: &[u8]| {
        let mut v = vec![tag];
        v.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
        v.extend_from_slice(body);
        v
    };
    d.feed(&frame(b'T', &t_body));
    d.feed(&frame(b'D', b"\0\x03\0\0\0\x04\0\0\0\x05\0\0\0\x02hi\0\0\0\x08\0\0\0\0\0\0\0\0"));
    d.feed(&frame(b'D', b"\0\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"));
    d.feed(&frame(b'D', b"\0\x03\0\0\0\x03\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff"));
    d.feed(&frame(b'D', b"\0\x01\xff\xff\xff\xff"));
    let Ok(Some(Message::RowDescription(rd))) = d.next() else { panic!() };
    let tape = RowTape::new(&rd);
    assert_eq!(tape.columns(), 3);
    let mut out = Vec::new();
    for _ in 0..2 {
        let Ok(Some(Message::DataRow(row))) = d.next() else { panic!() };
        tape.append_row(&row, &mut out).unwrap();
    }
    let mut pos = 0;
    let mut vals = Vec::new();
    while pos < out.len() {
        let (v, n) = read_value(&out[pos..]);
        vals.push(v);
        pos += n;
    }
    assert_eq!(vals, [I32(5), t("hi"), TimestampTz(Y2K_MS, 0), Null, Null, Null]);
    let before = out.clone();
    let Ok(Some(Message::DataRow(row))) = d.next() else { panic!() };
    assert!(matches!(tape.append_row(&row, &mut out), Err(PgProtocolError::BadValue { oid: 23, .. })));
    let Ok(Some(Message::DataRow(row))) = d.next() else { panic!() };
    assert_eq!(tape.append_row(&row, &mut out), Err(PgProtocolError::ColumnCount { expected: 3, got: 1 }));
    assert_eq!(out, before);
    assert_eq!(RowTape::from_columns(&[(23, Format::Binary), (25, Format::Text), (1184, Format::Binary)]), tape);
}

#[test]
fn binary_support() {
    for o in [
        16, 17, 20, 21, 23, 25, 26, 114, 700, 701, 869, 650, 1043, 1082, 1083, 1114, 1184, 1186, 1266, 1700, 2950, 3802,
    ] {
        assert!(binary_result_supported(o), "{o}");
    }
    for o in [1000, 1007, 1009, 1231, 3807, 1185] {
        assert!(binary_result_supported(o), "{o}");
    }
    for o in [18, 142, 1002, 143, 790, 99999, 0] {
        assert!(!binary_result_supported(o), "{o}");
    }
    assert_eq!(array_element(1007), Some(oid::INT4));
    assert_eq!(array_element(23), None);
}

#[test]
fn encoders() {
    let mut b = Vec::new();
    encode_bool(true, &mut b);
    encode_i16(-2, &mut b);
    encode_i32(3, &mut b);
    encode_i64(-4, &mut b);
    encode_f32(1.5, &mut b);
    encode_f64(-0.5, &mut b);
    assert_eq!(
        b,
        [
            &[1u8][..],
            &(-2i16).to_be_bytes(),
            &3i32.to_be_bytes(),
            &(-4i64).to_be_bytes(),
            &1.5f32.to_be_bytes(),
            &(-0.5f64).to_be_bytes()
        ]
        .concat()
    );
    for s in [
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        "A0EEBC999C0B4EF8BB6D6BB9BD380A11",
        "{a0eebc99-9c0b4ef8-bb6d6bb9-bd380a11}",
        "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
    ] {
        let mut u = Vec::new();
        encode_uuid(s, &mut u).unwrap();
        assert_eq!(bin(oid::UUID, &u), t("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), "{s}");
    }
    for s in [
        "",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
        "-a0eebc999c0b4ef8bb6d6bb9bd380a11",
        "a0eebc999c0b4ef8bb6d6bb9bd380a11-",
        "a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11",
        "g0eebc999c0b4ef8bb6d6bb9bd380a11",
    ] {
        assert!(encode_uuid(s, &mut Vec::new()).is_err(), "{s}");
    }
    assert_eq!(encode_bytea_text(&[0, 1, 255]), "\\x0001ff");
    assert_eq!(txt(oid::BYTEA, &encode_bytea_text(&[0, 1, 255])), Bytes(vec![0, 1, 255]));
    let lit = encode_array_text(&[Some("a,b"), None, Some("q\"\\"), Some(""), Some("NULL")]);
    assert_eq!(lit, r#"{"a,b",NULL,"q\"\\","","NULL"}"#);
    assert_eq!(txt(1009, &lit), Array(vec![5], vec![t("a,b"), Null, t("q\"\\"), t(""), t("NULL")]));
    assert_eq!(encode_array_text(&[]), "{}");
}
