//! Decoder unit tests. Every case goes through [`decode`], which feeds the input whole,
//! one byte at a time and in several random chunkings and checks they agree.

use std::time::Instant;

use crate::tape::{self, read_value, Value};
use crate::{encode_command, Decoder, Limits, RespError};

/// Feeds `input` in pieces of the given sizes (cycled); returns the tape of all calls and
/// the total count or the error. Checks stickiness of errors.
fn feed_in(
    limits: Limits,
    input: &[u8],
    sizes: &mut dyn Iterator<Item = usize>,
) -> (Vec<u8>, Result<usize, RespError>) {
    let mut dec = Decoder::new(limits);
    let mut tape = Vec::new();
    let mut total = 0;
    let mut rest = input;
    while !rest.is_empty() {
        let n = sizes.next().unwrap().clamp(1, rest.len());
        match dec.feed(&rest[..n], &mut tape) {
            Ok(k) => total += k,
            Err(e) => {
                let before = tape.len();
                assert_eq!(dec.feed(b":1\r\n", &mut tape), Err(e.clone()), "not poisoned");
                assert_eq!(tape.len(), before);
                return (tape, Err(e));
            }
        }
        rest = &rest[n..];
    }
    (tape, Ok(total))
}

/// Decodes `input` whole, byte by byte and in random chunks; asserts identical tapes and
/// results, and returns them (the count of an error run is not comparable, so only the
/// error is).
fn decode_with(limits: Limits, input: &[u8]) -> (Vec<u8>, Result<usize, RespError>) {
    let whole = feed_in(limits, input, &mut std::iter::repeat(usize::MAX));
    let ones = feed_in(limits, input, &mut std::iter::repeat(1));
    assert_eq!(whole, ones, "byte-at-a-time differs for {:?}", String::from_utf8_lossy(input));
    for seed in [1u32, 7, 99, 12345] {
        let mut x = seed;
        let mut sizes = std::iter::from_fn(|| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            Some(x as usize % 17 + 1)
        });
        let chunked = feed_in(limits, input, &mut sizes);
        assert_eq!(whole.0, chunked.0, "chunked tape differs for {:?}", String::from_utf8_lossy(input));
        match (&whole.1, &chunked.1) {
            (Err(a), Err(b)) => assert_eq!(a, b),
            (a, b) => assert_eq!(a, b),
        }
    }
    whole
}

fn decode(input: &[u8]) -> (Vec<u8>, Result<usize, RespError>) {
    decode_with(Limits::default(), input)
}

/// The values of `input`, which must decode without error.
fn values(input: &[u8]) -> Vec<Value> {
    let (t, r) = decode(input);
    let n = r.unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(input)));
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < t.len() {
        let (v, len) = read_value(&t[pos..]);
        pos += len;
        out.push(v);
    }
    assert_eq!(out.len(), n, "count");
    out
}

fn one(input: &[u8]) -> Value {
    let mut v = values(input);
    assert_eq!(v.len(), 1, "{:?}", String::from_utf8_lossy(input));
    v.pop().unwrap()
}

fn err_with(limits: Limits, input: &[u8]) -> RespError {
    let (_, r) = decode_with(limits, input);
    r.expect_err(&String::from_utf8_lossy(input))
}

fn err(input: &[u8]) -> RespError {
    err_with(Limits::default(), input)
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn simple_error_int() {
    assert_eq!(one(b"+OK\r\n"), Value::Simple(b("OK")));
    assert_eq!(one(b"+\r\n"), Value::Simple(vec![]));
    assert_eq!(one(b"-ERR unknown command\r\n"), Value::Error(b("ERR unknown command")));
    assert_eq!(one(b":0\r\n"), Value::Int(0));
    assert_eq!(one(b":-42\r\n"), Value::Int(-42));
    assert_eq!(one(b":9223372036854775807\r\n"), Value::Int(i64::MAX));
    assert_eq!(one(b":-9223372036854775808\r\n"), Value::Int(i64::MIN));
    // Exact tape bytes of the common case.
    assert_eq!(decode(b"+OK\r\n").0, [tape::SIMPLE, 2, 0, 0, 0, b'O', b'K']);
    let mut int = vec![tape::INT];
    int.extend_from_slice(&(-42i64).to_le_bytes());
    assert_eq!(decode(b":-42\r\n").0, int);
}

#[test]
fn bulk_and_nulls() {
    assert_eq!(one(b"$5\r\nhello\r\n"), Value::Bulk(b("hello")));
    assert_eq!(one(b"$0\r\n\r\n"), Value::Bulk(vec![]));
    assert_eq!(one(b"$4\r\na\r\nb\r\n"), Value::Bulk(b("a\r\nb")));
    assert_eq!(one(b"!21\r\nSYNTAX invalid syntax\r\n"), Value::BlobError(b("SYNTAX invalid syntax")));
    assert_eq!(one(b"$-1\r\n"), Value::Null);
    assert_eq!(one(b"*-1\r\n"), Value::Null);
    assert_eq!(one(b"_\r\n"), Value::Null);
    assert_eq!(decode(b"$-1\r\n").0, [tape::NULL]);
    assert_eq!(decode(b"$3\r\nabc\r\n").0, [tape::BULK, 3, 0, 0, 0, b'a', b'b', b'c']);
}

#[test]
fn aggregates() {
    assert_eq!(one(b"*0\r\n"), Value::Array(vec![]));
    assert_eq!(
        one(b"*3\r\n:1\r\n$3\r\nfoo\r\n*2\r\n+a\r\n*0\r\n"),
        Value::Array(vec![
            Value::Int(1),
            Value::Bulk(b("foo")),
            Value::Array(vec![Value::Simple(b("a")), Value::Array(vec![])])
        ])
    );
    assert_eq!(
        one(b"%2\r\n+first\r\n:1\r\n+second\r\n%1\r\n_\r\n#t\r\n"),
        Value::Map(vec![
            (Value::Simple(b("first")), Value::Int(1)),
            (Value::Simple(b("second")), Value::Map(vec![(Value::Null, Value::Bool(true))])),
        ])
    );
    assert_eq!(one(b"~2\r\n:1\r\n:2\r\n"), Value::Set(vec![Value::Int(1), Value::Int(2)]));
    assert_eq!(
        one(b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n"),
        Value::Push(vec![Value::Bulk(b("message")), Value::Bulk(b("ch")), Value::Bulk(b("hi"))])
    );
    assert_eq!(one(b"*2\r\n$-1\r\n*-1\r\n"), Value::Array(vec![Value::Null, Value::Null]));
    assert_eq!(decode(b"%1\r\n:1\r\n:2\r\n").0[..5], [tape::MAP, 1, 0, 0, 0]);
}

#[test]
fn doubles_bools_bignums_verbatim() {
    assert_eq!(one(b",1.5\r\n"), Value::Double(1.5));
    assert_eq!(one(b",-2.5e10\r\n"), Value::Double(-2.5e10));
    assert_eq!(one(b",1E-3\r\n"), Value::Double(1e-3));
    assert_eq!(one(b",10\r\n"), Value::Double(10.0));
    assert_eq!(one(b",inf\r\n"), Value::Double(f64::INFINITY));
    assert_eq!(one(b",-inf\r\n"), Value::Double(f64::NEG_INFINITY));
    assert_eq!(one(b",INF\r\n"), Value::Double(f64::INFINITY));
    for nan in [&b",nan\r\n"[..], b",NaN\r\n", b",NAN\r\n"] {
        assert!(matches!(one(nan), Value::Double(v) if v.is_nan()));
    }
    assert_eq!(one(b"#t\r\n"), Value::Bool(true));
    assert_eq!(one(b"#f\r\n"), Value::Bool(false));
    assert_eq!(decode(b"#t\r\n").0, [tape::BOOL, 1]);
    assert_eq!(
        one(b"(3492890328409238509324850943850943825024385\r\n"),
        Value::Bignum(b("3492890328409238509324850943850943825024385"))
    );
    assert_eq!(one(b"(-12\r\n"), Value::Bignum(b("-12")));
    assert_eq!(one(b"=15\r\ntxt:Some string\r\n"), Value::Verbatim(*b"txt", b("Some string")));
    assert_eq!(one(b"=4\r\nmkd:\r\n"), Value::Verbatim(*b"mkd", vec![]));
    assert_eq!(decode(b"=5\r\ntxt:x\r\n").0, [tape::VERBATIM, 1, 0, 0, 0, b't', b'x', b't', b'x']);
}

#[test]
fn attributes() {
    let attr = vec![(Value::Simple(b("ttl")), Value::Int(3600))];
    // Top level: attribute + value are one reply.
    let (t, r) = decode(b"|1\r\n+ttl\r\n:3600\r\n$3\r\nval\r\n");
    assert_eq!(r, Ok(1));
    assert_eq!(t[0], tape::ATTR);
    assert_eq!(read_value(&t).0, Value::Attr(attr.clone(), Box::new(Value::Bulk(b("val")))));
    // Inside an aggregate an attribute does not count as an element.
    assert_eq!(
        one(b"*2\r\n:1\r\n|1\r\n+ttl\r\n:3600\r\n:2\r\n"),
        Value::Array(vec![Value::Int(1), Value::Attr(attr, Box::new(Value::Int(2)))])
    );
    // Empty attribute, attribute on an aggregate, nested attribute.
    assert_eq!(one(b"|0\r\n:7\r\n"), Value::Attr(vec![], Box::new(Value::Int(7))));
    assert_eq!(
        one(b"|1\r\n|0\r\n+k\r\n+v\r\n*1\r\n_\r\n"),
        Value::Attr(
            vec![(Value::Attr(vec![], Box::new(Value::Simple(b("k")))), Value::Simple(b("v")))],
            Box::new(Value::Array(vec![Value::Null]))
        )
    );
    // An attribute alone is not a reply yet.
    let mut dec = Decoder::new(Limits::default());
    let mut out = Vec::new();
    assert_eq!(dec.feed(b"|1\r\n+a\r\n+b\r\n", &mut out), Ok(0));
    assert!(out.is_empty() && dec.buffered() > 0);
    assert_eq!(dec.feed(b":1\r\n", &mut out), Ok(1));
    assert_eq!(dec.buffered(), 0);
}

#[test]
fn streamed() {
    assert_eq!(one(b"$?\r\n;4\r\nHell\r\n;5\r\no wor\r\n;1\r\nd\r\n;0\r\n"), Value::Bulk(b("Hello word")));
    assert_eq!(one(b"$?\r\n;0\r\n"), Value::Bulk(vec![]));
    assert_eq!(decode(b"$?\r\n;2\r\nab\r\n;0\r\n").0, [tape::BULK, 2, 0, 0, 0, b'a', b'b']);
    assert_eq!(
        one(b"*?\r\n:1\r\n:2\r\n*?\r\n.\r\n$?\r\n;1\r\nx\r\n;0\r\n.\r\n"),
        Value::Array(vec![Value::Int(1), Value::Int(2), Value::Array(vec![]), Value::Bulk(b("x"))])
    );
    assert_eq!(
        one(b"%?\r\n+a\r\n:1\r\n+b\r\n:2\r\n.\r\n"),
        Value::Map(vec![(Value::Simple(b("a")), Value::Int(1)), (Value::Simple(b("b")), Value::Int(2))])
    );
    assert_eq!(
        one(b"~?\r\n:1\r\n|0\r\n:2\r\n.\r\n"),
        Value::Set(vec![Value::Int(1), Value::Attr(vec![], Box::new(Value::Int(2)))])
    );
    assert_eq!(decode(b"*?\r\n:1\r\n.\r\n").0[..5], [tape::ARRAY, 1, 0, 0, 0]);
    assert_eq!(decode(b"%?\r\n:1\r\n:1\r\n.\r\n").0[..5], [tape::MAP, 1, 0, 0, 0]);
    // Counted aggregate holding streamed ones.
    assert_eq!(one(b"*2\r\n*?\r\n.\r\n:5\r\n"), Value::Array(vec![Value::Array(vec![]), Value::Int(5)]));
}

#[test]
fn many_replies_and_count() {
    let input = b"+OK\r\n$5\r\nhello\r\n:1\r\n*2\r\n:1\r\n:2\r\n_\r\n|0\r\n#f\r\n";
    assert_eq!(values(input).len(), 6);
    let mut dec = Decoder::new(Limits::default());
    let mut out = Vec::new();
    // Split inside the 4th reply: 3 complete now, 3 later.
    assert_eq!(dec.feed(&input[..28], &mut out), Ok(3));
    assert!(dec.buffered() > 0);
    assert_eq!(dec.feed(&input[28..], &mut out), Ok(3));
    assert_eq!(dec.buffered(), 0);
    assert_eq!(out, decode(input).0);
}

#[test]
fn protocol_errors() {
    let cases: &[(&[u8], RespError)] = &[
        (b"PING\r\n", RespError::BadType(b'P')),
        (b"\r\n", RespError::BadType(b'\r')),
        (b"+OK\n", RespError::MissingCrlf("(bare \\n ends a line)")),
        (b":1\n", RespError::MissingCrlf("(bare \\n ends a line)")),
        (b"$3\r\nabcd\r\n", RespError::MissingCrlf("after a payload")),
        (b"$3\r\nabc\n", RespError::MissingCrlf("after a payload")),
        (b"$3\r\nabc\r\r", RespError::MissingCrlf("after a payload")),
        (b"$-2\r\n", RespError::BadLength(b("-2").iter().map(|&c| c as char).collect(), '$')),
        (b"$+5\r\n", RespError::BadLength("+5".into(), '$')),
        (b"$ 5\r\n", RespError::BadLength(" 5".into(), '$')),
        (b"$\r\n", RespError::BadLength("".into(), '$')),
        (b"*-2\r\n", RespError::BadLength("-2".into(), '*')),
        (b"%-1\r\n", RespError::BadLength("-1".into(), '%')),
        (b"!-1\r\n", RespError::BadLength("-1".into(), '!')),
        (b"*x\r\n", RespError::BadLength("x".into(), '*')),
        (b">?\r\n", RespError::BadLength("?".into(), '>')),
        (b"|?\r\n", RespError::BadLength("?".into(), '|')),
        (b"!?\r\n", RespError::BadLength("?".into(), '!')),
        (b":9223372036854775808\r\n", RespError::BadInteger("9223372036854775808".into())),
        (b":-9223372036854775809\r\n", RespError::BadInteger("-9223372036854775809".into())),
        (b":+1\r\n", RespError::BadInteger("+1".into())),
        (b":\r\n", RespError::BadInteger("".into())),
        (b":-\r\n", RespError::BadInteger("-".into())),
        (b":1.5\r\n", RespError::BadInteger("1.5".into())),
        (b"#x\r\n", RespError::BadBoolean("x".into())),
        (b"#tt\r\n", RespError::BadBoolean("tt".into())),
        (b",\r\n", RespError::BadDouble("".into())),
        (b",1.5x\r\n", RespError::BadDouble("1.5x".into())),
        (b", 1\r\n", RespError::BadDouble(" 1".into())),
        (b"(12a\r\n", RespError::BadBignum("12a".into())),
        (b"(-\r\n", RespError::BadBignum("-".into())),
        (b"(+1\r\n", RespError::BadBignum("+1".into())),
        (b"_x\r\n", RespError::BadNull("x".into())),
        (b"=3\r\ntxt\r\n", RespError::BadVerbatim),
        (b"=5\r\ntxtxx\r\n", RespError::BadVerbatim),
        (b"$?\r\n+a\r\n", RespError::StreamedString("expected a ';' chunk")),
        (b"$?\r\n;-1\r\n", RespError::StreamedString("invalid chunk length")),
        (b"$?\r\n;x\r\n", RespError::StreamedString("invalid chunk length")),
        (b"$?\r\n;1\r\nab\r\n", RespError::MissingCrlf("after a payload")),
        (b";1\r\na\r\n", RespError::StreamedString("';' chunk outside a streamed string")),
        (b".\r\n", RespError::BadEnd("outside a streamed aggregate")),
        (b"*1\r\n.\r\n", RespError::BadEnd("outside a streamed aggregate")),
        (b"*?\r\n.x\r\n", RespError::BadEnd("must be \".\\r\\n\"")),
        (b"%?\r\n:1\r\n.\r\n", RespError::OddMap(1)),
        (b"*?\r\n|0\r\n.\r\n", RespError::AttributeWithoutValue),
    ];
    for (input, want) in cases {
        let got = err(input);
        assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(got.code(), "ERR_REDIS_PROTOCOL");
        assert!(!got.is_limit());
    }
    assert!(err(b"*1\r\nX").to_string().contains("0x58"));
    assert!(err(b":99999999999999999999\r\n").to_string().contains("99999999999999999999"));
}

#[test]
fn limit_errors() {
    let l = Limits { max_bulk: 10, max_elements: 4, max_depth: 3, max_line: 8 };
    let cases: &[(&[u8], RespError)] = &[
        (b"$11\r\n", RespError::BulkTooLarge { len: 11, max: 10 }),
        (b"!11\r\n", RespError::BulkTooLarge { len: 11, max: 10 }),
        (b"=11\r\n", RespError::BulkTooLarge { len: 11, max: 10 }),
        (b"$?\r\n;6\r\nabcdef\r\n;5\r\n", RespError::BulkTooLarge { len: 11, max: 10 }),
        (b"*5\r\n", RespError::TooManyElements { count: 5, max: 4 }),
        (b"%3\r\n", RespError::TooManyElements { count: 6, max: 4 }),
        (b"|3\r\n", RespError::TooManyElements { count: 6, max: 4 }),
        (b"*?\r\n:1\r\n:1\r\n:1\r\n:1\r\n:1\r\n", RespError::TooManyElements { count: 5, max: 4 }),
        (b"*1\r\n*1\r\n*1\r\n*1\r\n", RespError::TooDeep(3)),
        (b"*1\r\n*1\r\n*1\r\n*0\r\n", RespError::TooDeep(3)),
        (b"|1\r\n|1\r\n*1\r\n%?\r\n", RespError::TooDeep(3)),
        (b"+123456789\r\n", RespError::LineTooLong(8)),
        (b"+1234567890", RespError::LineTooLong(8)),
        (b"+123456789\r\r", RespError::LineTooLong(8)),
        (b"-1234567890123", RespError::LineTooLong(8)),
        (b":1234567890", RespError::LineTooLong(8)),
        (b"$000000000010\r\n", RespError::LineTooLong(8)),
    ];
    for (input, want) in cases {
        let got = err_with(l, input);
        assert_eq!(&got, want, "{:?}", String::from_utf8_lossy(input));
        assert_eq!(got.code(), "ERR_REDIS_LIMIT");
        assert!(got.to_string().contains(&match want {
            RespError::TooDeep(m) | RespError::LineTooLong(m) => m.to_string(),
            RespError::BulkTooLarge { max, .. } | RespError::TooManyElements { max, .. } => max.to_string(),
            _ => unreachable!(),
        }));
    }
    // Right at the limits is fine.
    for ok in [
        &b"$10\r\n0123456789\r\n"[..],
        b"+12345678\r\n",
        b"*4\r\n_\r\n_\r\n_\r\n_\r\n",
        b"*1\r\n*1\r\n*0\r\n",
        b"%2\r\n_\r\n_\r\n_\r\n_\r\n",
    ] {
        assert_eq!(decode_with(l, ok).1, Ok(1), "{:?}", String::from_utf8_lossy(ok));
    }
    // A line of max_line bytes whose CRLF has not arrived yet is not an error yet.
    let mut dec = Decoder::new(l);
    assert_eq!(dec.feed(b"+12345678\r", &mut Vec::new()), Ok(0));
    // Limits above u32::MAX are capped.
    let big = Limits { max_bulk: usize::MAX, max_elements: usize::MAX, ..Limits::default() };
    assert_eq!(err_with(big, b"$4294967296\r\n"), RespError::BulkTooLarge { len: 1 << 32, max: u32::MAX as usize });
    assert_eq!(
        err_with(big, b"%2147483648\r\n"),
        RespError::TooManyElements { count: 1 << 32, max: u32::MAX as usize }
    );
}

#[test]
fn error_keeps_earlier_replies_and_poisons() {
    let mut dec = Decoder::new(Limits::default());
    let mut out = Vec::new();
    let e = dec.feed(b"+OK\r\n:1\r\n*2\r\n:1\r\n?oops\r\n", &mut out).unwrap_err();
    assert_eq!(e, RespError::BadType(b'?'));
    assert_eq!(out, [decode(b"+OK\r\n").0, decode(b":1\r\n").0].concat(), "complete replies kept, partial dropped");
    for _ in 0..2 {
        let mut more = Vec::new();
        assert_eq!(dec.feed(b"+OK\r\n", &mut more), Err(e.clone()));
        assert_eq!(dec.feed(b"", &mut more), Err(e.clone()));
        assert!(more.is_empty());
    }
    assert_eq!(dec.buffered(), 0);
    // The same when the failing reply was resumed from an earlier call.
    let mut dec = Decoder::new(Limits::default());
    let mut out = Vec::new();
    assert_eq!(dec.feed(b"*2\r\n:1\r\n", &mut out), Ok(0));
    assert!(dec.feed(b"#x\r\n", &mut out).is_err());
    assert!(out.is_empty());
    assert_eq!(dec.feed(b"", &mut out), Err(RespError::BadBoolean("x".into())));
}

#[test]
fn out_prefix_untouched() {
    // A resumed reply is appended after whatever `out` already holds.
    let mut dec = Decoder::new(Limits::default());
    let mut out = b"xyz".to_vec();
    assert_eq!(dec.feed(b"$5\r\nhe", &mut out), Ok(0));
    assert_eq!(out, b"xyz");
    assert_eq!(dec.feed(b"llo\r\n+OK\r\n$1", &mut out), Ok(2));
    assert_eq!(&out[..3], b"xyz");
    assert_eq!(&out[3..], [decode(b"$5\r\nhello\r\n").0, decode(b"+OK\r\n").0].concat());
}

#[test]
fn big_bulk_in_chunks_is_linear() {
    const SIZE: usize = 64 << 20;
    let mut input = format!("${SIZE}\r\n").into_bytes();
    let header = input.len();
    input.extend((0..SIZE).map(|i| (i % 251) as u8));
    input.extend_from_slice(b"\r\n+OK\r\n");
    let start = Instant::now();
    let mut dec = Decoder::new(Limits::default());
    let mut out = Vec::new();
    let mut replies = 0;
    let mut max_buffered = 0;
    for chunk in input.chunks(64 << 10) {
        replies += dec.feed(chunk, &mut out).unwrap();
        max_buffered = max_buffered.max(dec.buffered());
    }
    let took = start.elapsed();
    assert_eq!(replies, 2);
    assert_eq!(dec.buffered(), 0);
    assert!(max_buffered <= SIZE + 16, "buffered {max_buffered} for a {SIZE}-byte bulk");
    assert_eq!(out.len(), 5 + SIZE + 7);
    assert_eq!(&out[..5], [tape::BULK, 0, 0, 0, 4]);
    assert!(out[5..5 + SIZE] == input[header..header + SIZE]);
    assert!(took.as_secs() < 5, "64 MiB bulk took {took:?}");
}

#[test]
fn big_array_in_chunks_is_linear() {
    const N: usize = 1_000_000;
    let mut input = format!("*{N}\r\n").into_bytes();
    for i in 0..N {
        input.extend_from_slice(if i % 2 == 0 { b":1\r\n" } else { b"$2\r\nab\r\n" });
    }
    let start = Instant::now();
    let mut dec = Decoder::new(Limits::default());
    let mut replies = 0;
    let mut out = Vec::new();
    for chunk in input.chunks(64 << 10) {
        // A fresh `out` per read, as the binding does.
        let mut o = Vec::new();
        replies += dec.feed(chunk, &mut o).unwrap();
        out.extend_from_slice(&o);
        assert!(dec.buffered() <= 9 * N + 16);
    }
    let took = start.elapsed();
    assert_eq!(replies, 1);
    let (v, len) = read_value(&out);
    assert_eq!(len, out.len());
    let Value::Array(items) = v else { panic!("not an array") };
    assert_eq!(items.len(), N);
    assert_eq!(items[1], Value::Bulk(b("ab")));
    assert!(took.as_secs() < 5, "1M-element array took {took:?}");
}

#[test]
fn encode_command_round_trip() {
    let mut out = Vec::new();
    encode_command(&[b"SET", b"key", b"va\r\nl"], &mut out);
    assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nva\r\nl\r\n");
    encode_command(&[], &mut out);
    let big = vec![b'x'; 12345];
    encode_command(&[b"", &big], &mut out);
    let v = values(&out);
    assert_eq!(
        v,
        [
            Value::Array(vec![Value::Bulk(b("SET")), Value::Bulk(b("key")), Value::Bulk(b("va\r\nl"))]),
            Value::Array(vec![]),
            Value::Array(vec![Value::Bulk(vec![]), Value::Bulk(big)]),
        ]
    );
}

#[test]
fn limits_default() {
    let l = Limits::default();
    assert_eq!((l.max_bulk, l.max_elements, l.max_depth, l.max_line), (512 << 20, 1 << 28, 128, 1 << 20));
}
