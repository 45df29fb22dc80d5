//! Every backend message, encoded by hand, through the decoder; chunking; limits.

use std::borrow::Cow;

use super::*;
use crate::types::Format;

/// A framed backend message.
fn msg(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    v.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn be32(n: i32) -> [u8; 4] {
    n.to_be_bytes()
}

fn decode_one(bytes: &[u8]) -> Result<String, PgProtocolError> {
    let mut d = Decoder::default();
    d.feed(bytes);
    let m = d.next()?.expect("a whole message");
    let s = format!("{m:?}");
    assert_eq!(d.buffered(), 0);
    assert_eq!(d.next(), Ok(None));
    Ok(s)
}

/// Debug strings of all messages, or the error, feeding `bytes` in pieces of `sizes`.
fn run(bytes: &[u8], sizes: &mut dyn Iterator<Item = usize>) -> (Vec<String>, Option<PgProtocolError>) {
    let mut d = Decoder::default();
    let mut out = Vec::new();
    let mut rest = bytes;
    loop {
        loop {
            match d.next() {
                Ok(Some(m)) => out.push(format!("{m:?}")),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
        if rest.is_empty() {
            return (out, None);
        }
        let n = sizes.next().unwrap().clamp(1, rest.len());
        d.feed(&rest[..n]);
        rest = &rest[n..];
    }
}

fn all_messages() -> Vec<u8> {
    let mut v = Vec::new();
    v.extend(msg(b'R', &be32(0)));
    v.extend(msg(b'R', &be32(3)));
    v.extend(msg(b'R', &[0, 0, 0, 5, 1, 2, 3, 4]));
    v.extend(msg(b'R', b"\0\0\0\x0aSCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0"));
    v.extend(msg(b'R', b"\0\0\0\x0br=abc,s=QQ==,i=4096"));
    v.extend(msg(b'R', b"\0\0\0\x0cv=xyz"));
    v.extend(msg(b'K', &[0, 0, 0, 42, 9, 8, 7, 6]));
    v.extend(msg(b'S', b"server_version\x0015.4\0"));
    v.extend(msg(b'Z', b"I"));
    v.extend(msg(b'Z', b"T"));
    v.extend(msg(b'Z', b"E"));
    let mut t = vec![0, 2];
    t.extend_from_slice(b"id\0\0\0\x40\x01\0\x01\0\0\0\x17\0\x04\xff\xff\xff\xff\0\x01");
    t.extend_from_slice(b"name\0\0\0\0\0\0\0\0\0\0\x19\xff\xff\xff\xff\xff\xff\0\0");
    v.extend(msg(b'T', &t));
    v.extend(msg(b'D', b"\0\x02\0\0\0\x04\0\0\0\x07\xff\xff\xff\xff"));
    v.extend(msg(b'D', b"\0\0"));
    v.extend(msg(b'C', b"SELECT 1\0"));
    v.extend(msg(b'I', b""));
    v.extend(msg(
        b'E',
        b"SERROR\0VERROR\0C42P01\0Mrelation \"x\" does not exist\0P15\0Fparse_relation.c\0L1392\0RparserOpenTable\0\0",
    ));
    v.extend(msg(b'N', b"SNOTICE\0Mhi\0Z?\0\0"));
    v.extend(msg(b'1', b""));
    v.extend(msg(b'2', b""));
    v.extend(msg(b'3', b""));
    v.extend(msg(b'n', b""));
    v.extend(msg(b's', b""));
    v.extend(msg(b't', b"\0\x02\0\0\0\x17\0\0\0\x19"));
    v.extend(msg(b'G', b"\0\0\x02\0\0\0\0"));
    v.extend(msg(b'H', b"\x01\0\x01\0\x01"));
    v.extend(msg(b'W', b"\0\0\0"));
    v.extend(msg(b'd', b"1\t2\n"));
    v.extend(msg(b'c', b""));
    v.extend(msg(b'A', b"\0\0\0\x07chan\0payload\0"));
    v.extend(msg(b'v', b"\0\0\0\x00\0\0\0\x01_pq_.x\0"));
    v.extend(msg(b'V', b"\0\0\0\x02hi"));
    v.extend(msg(b'V', b"\xff\xff\xff\xff"));
    v
}

#[test]
fn every_message_type() {
    let bytes = all_messages();
    let mut d = Decoder::default();
    d.feed(&bytes);
    let mut names = Vec::new();
    macro_rules! next {
        ($p:pat $(if $g:expr)?) => {{
            let m = d.next().unwrap().unwrap();
            names.push(m.name());
            assert!(matches!(m, $p $(if $g)?), "{m:?}");
            m
        }};
    }
    next!(Message::AuthenticationOk);
    next!(Message::AuthenticationCleartextPassword);
    next!(Message::AuthenticationMd5Password { salt: [1, 2, 3, 4] });
    next!(Message::AuthenticationSasl { ref mechanisms } if mechanisms == &["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"]);
    next!(Message::AuthenticationSaslContinue { data: b"r=abc,s=QQ==,i=4096" });
    next!(Message::AuthenticationSaslFinal { data: b"v=xyz" });
    next!(Message::BackendKeyData { process_id: 42, secret_key: &[9, 8, 7, 6] });
    next!(Message::ParameterStatus { name: "server_version", value: "15.4" });
    next!(Message::ReadyForQuery { status: TransactionStatus::Idle });
    next!(Message::ReadyForQuery { status: TransactionStatus::InTransaction });
    next!(Message::ReadyForQuery { status: TransactionStatus::Failed });
    let Message::RowDescription(rd) = next!(Message::RowDescription(_)) else { unreachable!() };
    assert_eq!(
        rd.fields[0],
        Field {
            name: "id",
            table_oid: 0x4001,
            column_attr: 1,
            type_oid: 23,
            type_len: 4,
            type_mod: -1,
            format: Format::Binary
        }
    );
    assert_eq!(rd.fields[1].name, "name");
    assert_eq!(rd.fields[1].type_oid, 25);
    assert_eq!(rd.fields[1].type_len, -1);
    assert_eq!(rd.fields[1].format, Format::Text);
    let Message::DataRow(row) = next!(Message::DataRow(_)) else { unreachable!() };
    assert_eq!(row.len(), 2);
    assert_eq!(row.iter().collect::<Vec<_>>(), [Some(&[0u8, 0, 0, 7][..]), None]);
    let Message::DataRow(row) = next!(Message::DataRow(_)) else { unreachable!() };
    assert!(row.is_empty());
    next!(Message::CommandComplete { tag: "SELECT 1" });
    next!(Message::EmptyQueryResponse);
    let Message::ErrorResponse(e) = next!(Message::ErrorResponse(_)) else { unreachable!() };
    assert_eq!(e.severity.as_deref(), Some("ERROR"));
    assert_eq!(e.severity_nonlocalized.as_deref(), Some("ERROR"));
    assert_eq!(e.code.as_deref(), Some("42P01"));
    assert_eq!(e.message.as_deref(), Some("relation \"x\" does not exist"));
    assert_eq!(e.position.as_deref(), Some("15"));
    assert_eq!(e.file.as_deref(), Some("parse_relation.c"));
    assert_eq!(e.line.as_deref(), Some("1392"));
    assert_eq!(e.routine.as_deref(), Some("parserOpenTable"));
    assert_eq!(e.detail, None);
    let Message::NoticeResponse(n) = next!(Message::NoticeResponse(_)) else { unreachable!() };
    assert_eq!(n, ErrorFields { severity: Some("NOTICE".into()), message: Some("hi".into()), ..Default::default() });
    next!(Message::ParseComplete);
    next!(Message::BindComplete);
    next!(Message::CloseComplete);
    next!(Message::NoData);
    next!(Message::PortalSuspended);
    next!(Message::ParameterDescription { ref type_oids } if type_oids == &[23, 25]);
    next!(Message::CopyInResponse(CopyResponse { format: Format::Text, ref column_formats }) if column_formats == &[Format::Text; 2]);
    next!(Message::CopyOutResponse(CopyResponse { format: Format::Binary, ref column_formats }) if column_formats == &[Format::Binary]);
    next!(Message::CopyBothResponse(CopyResponse { format: Format::Text, ref column_formats }) if column_formats.is_empty());
    next!(Message::CopyData(b"1\t2\n"));
    next!(Message::CopyDone);
    next!(Message::NotificationResponse { process_id: 7, channel: "chan", payload: "payload" });
    next!(Message::NegotiateProtocolVersion { newest_minor: 0, ref unrecognized } if unrecognized == &["_pq_.x"]);
    next!(Message::FunctionCallResponse { result: Some(b"hi") });
    next!(Message::FunctionCallResponse { result: None });
    assert_eq!(d.next(), Ok(None));
    assert_eq!(d.buffered(), 0);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 29, "every Message variant: {names:?}");
}

#[test]
fn all_error_fields() {
    let mut body = Vec::new();
    for (c, v) in "SVCMDHPpqWstcdnFLR"
        .chars()
        .zip(["s", "V", "C", "M", "D", "H", "1", "2", "q", "W", "sc", "t", "c", "d", "n", "F", "9", "R"])
    {
        body.push(c as u8);
        body.extend_from_slice(v.as_bytes());
        body.push(0);
    }
    body.extend_from_slice(b"M\xffbad\0\0");
    let mut d = Decoder::default();
    d.feed(&msg(b'E', &body));
    let Some(Message::ErrorResponse(e)) = d.next().unwrap() else { panic!() };
    let f = |o: &Option<Cow<'_, str>>| o.as_deref().unwrap().to_string();
    assert_eq!(
        [
            f(&e.severity),
            f(&e.severity_nonlocalized),
            f(&e.code),
            f(&e.detail),
            f(&e.hint),
            f(&e.position),
            f(&e.internal_position),
            f(&e.internal_query),
            f(&e.where_),
            f(&e.schema),
            f(&e.table),
            f(&e.column),
            f(&e.data_type),
            f(&e.constraint),
            f(&e.file),
            f(&e.line),
            f(&e.routine)
        ],
        ["s", "V", "C", "D", "H", "1", "2", "q", "W", "sc", "t", "c", "d", "n", "F", "9", "R"]
    );
    // Later fields win; invalid UTF-8 is replaced, not an error.
    assert_eq!(f(&e.message), "\u{fffd}bad");
}

#[test]
fn chunking_invariance() {
    let bytes = all_messages();
    let whole = run(&bytes, &mut std::iter::repeat(bytes.len()));
    assert_eq!(whole.0.len(), 33);
    assert_eq!(whole.1, None);
    assert_eq!(run(&bytes, &mut std::iter::repeat(1)), whole);
    let mut x = 12345u32;
    let mut rnd = std::iter::from_fn(|| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        Some(x as usize % 23 + 1)
    });
    for _ in 0..20 {
        assert_eq!(run(&bytes, &mut rnd), whole);
    }
    // The same with a bad message at the end: the error comes after the same messages.
    let mut bad = bytes.clone();
    bad.extend(msg(b'Z', b"X"));
    let w = run(&bad, &mut std::iter::repeat(bad.len()));
    assert!(w.1.is_some());
    assert_eq!(w.0, whole.0);
    assert_eq!(run(&bad, &mut std::iter::repeat(1)), w);
    assert_eq!(run(&bad, &mut rnd), w);
}

#[test]
fn limits_and_lengths() {
    let mut d = Decoder::new(Limits { max_message: 10 });
    d.feed(&msg(b'd', b"123456"));
    assert!(matches!(d.next(), Ok(Some(Message::CopyData(b"123456")))));
    d.feed(b"d\0\0\0\x0b");
    let e = d.next().unwrap_err();
    assert_eq!(e, PgProtocolError::MessageTooLarge { tag: 'd', len: 11, max: 10 });
    assert_eq!(e.code(), "ERR_PG_LIMIT");
    assert!(e.is_limit());
    // Poisoned.
    d.feed(&msg(b'I', b""));
    assert_eq!(d.next().unwrap_err(), e);
    // The default limit is 1 GiB - 1, refused from the header alone.
    let mut d = Decoder::default();
    d.feed(b"D\x40\0\0\0");
    assert!(matches!(d.next(), Err(PgProtocolError::MessageTooLarge { max: 0x3fff_ffff, .. })));
    let mut d = Decoder::default();
    d.feed(b"D\x3f\xff\xff\xff");
    assert_eq!(d.next(), Ok(None));
    for len in [3, 0, -1, i32::MIN] {
        let mut d = Decoder::default();
        let mut b = vec![b'C'];
        b.extend_from_slice(&len.to_be_bytes());
        d.feed(&b);
        let e = d.next().unwrap_err();
        assert_eq!(e, PgProtocolError::BadLength { tag: 'C', len });
        assert_eq!(e.code(), "ERR_PG_PROTOCOL");
    }
    // Unknown type byte: refused on its first byte.
    let mut d = Decoder::default();
    d.feed(b"x");
    assert_eq!(d.next(), Err(PgProtocolError::UnknownMessage(b'x')));
}

#[test]
fn malformed_messages() {
    let cases: &[(u8, &[u8])] = &[
        (b'I', b"x"),
        (b'Z', b""),
        (b'Z', b"IZ"),
        (b'C', b"no nul"),
        (b'C', b"\xff\0"),
        (b'S', b"a\0"),
        (b'K', b"\0\0\0\x01\0\0"),
        (b'R', b"\0\0"),
        (b'R', b"\0\0\0\x05\x01\x02"),
        (b'R', b"\0\0\0\x0a\0"),
        (b'R', b"\0\0\0\x0aSCRAM"),
        (b'R', b"\0\0\0\0x"),
        (b'D', b"\0\x01\0\0\0\x05abc"),
        (b'D', b"\0\x01\xff\xff\xff\xfe"),
        (b'D', b"\0\0x"),
        (b'T', b"\0\x01id\0"),
        (b'T', b"\xff\xff"),
        (b'T', b"\0\x01id\0\0\0\0\0\0\0\0\0\0\x17\0\x04\xff\xff\xff\xff\0\x02"),
        (b'E', b"SERROR\0"),
        (b'E', b"SERROR"),
        (b't', b"\0\x02\0\0\0\x17"),
        (b'G', b"\x02\0\0"),
        (b'G', b"\0\0\x01\0\x01"),
        (b'v', b"\0\0\0\0\xff\xff\xff\xff"),
        (b'V', b"\xff\xff\xff\xfe"),
        (b'A', b"\0\0\0\x01ch\0"),
    ];
    for (tag, body) in cases {
        let e = decode_one(&msg(*tag, body)).unwrap_err();
        assert_eq!(e.code(), "ERR_PG_PROTOCOL", "{} {body:?}: {e}", *tag as char);
        assert!(matches!(e, PgProtocolError::Malformed { .. }), "{e:?}");
    }
}

#[test]
fn authentication_errors() {
    for (code, name) in [(2, "KerberosV5"), (6, "SCM credential"), (7, "GSSAPI"), (8, "GSSAPI"), (9, "SSPI")] {
        let e = decode_one(&msg(b'R', &be32(code))).unwrap_err();
        assert_eq!(e, PgProtocolError::UnsupportedAuthentication(name));
        assert_eq!(e.code(), "ERR_PG_AUTH_UNSUPPORTED");
    }
    assert_eq!(decode_one(&msg(b'R', &be32(99))), Err(PgProtocolError::UnknownAuthentication(99)));
}

#[test]
fn ssl_byte() {
    assert_eq!(ssl_response(b'S'), Ok(SslResponse::Accepted));
    assert_eq!(ssl_response(b'N'), Ok(SslResponse::Refused));
    assert_eq!(ssl_response(b'E'), Err(PgProtocolError::BadSslResponse(b'E')));
}

#[test]
fn buffer_is_reused() {
    // Many messages through one decoder: consumed bytes are dropped, not accumulated.
    let mut d = Decoder::default();
    let one = msg(b'D', b"\0\x01\0\0\0\x03abc");
    for _ in 0..10_000 {
        d.feed(&one[..5]);
        assert_eq!(d.next(), Ok(None));
        d.feed(&one[5..]);
        assert!(matches!(d.next(), Ok(Some(Message::DataRow(_)))));
    }
    assert!(d.buf.capacity() < 1024, "{}", d.buf.capacity());
}
