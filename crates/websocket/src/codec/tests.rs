//! Decoder and Encoder tests, grouped like the Autobahn test suite's cases.

use bytes::{Bytes, BytesMut};

use super::deflate::Deflater;
use super::*;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn config(role: Role, deflate: Option<DeflateParams>) -> Config {
    Config { deflate, ..Config::new(role) }
}

/// A raw frame, valid or not: `b0` is FIN|RSV|opcode, masked with KEY when `mask`.
fn raw(b0: u8, mask: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let m = if mask { 0x80 } else { 0 };
    match payload.len() {
        n if n < 126 => out.extend_from_slice(&[b0, m | n as u8]),
        n if n <= 0xffff => {
            out.extend_from_slice(&[b0, m | 126]);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.extend_from_slice(&[b0, m | 127]);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    if mask {
        out.extend_from_slice(&KEY);
    }
    let start = out.len();
    out.extend_from_slice(payload);
    if mask {
        mask::apply_mask(&mut out[start..], KEY, 0);
    }
    out
}

/// A frame as a client sends it (masked) to a server decoder.
fn c(b0: u8, payload: &[u8]) -> Vec<u8> {
    raw(b0, true, payload)
}

/// Decodes everything, stopping at `Ok(None)` or the first error.
fn run(dec: &mut Decoder, bytes: &[u8]) -> Vec<Result<Message, ProtocolError>> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    loop {
        match dec.decode(&mut buf) {
            Ok(Some(m)) => out.push(Ok(m)),
            Ok(None) => return out,
            Err(e) => {
                out.push(Err(e));
                return out;
            }
        }
    }
}

fn server(bytes: &[u8]) -> Vec<Result<Message, ProtocolError>> {
    run(&mut Decoder::new(&Config::new(Role::Server)), bytes)
}

fn server_deflate(bytes: &[u8]) -> Vec<Result<Message, ProtocolError>> {
    run(&mut Decoder::new(&config(Role::Server, Some(DeflateParams::default()))), bytes)
}

fn last_code(results: &[Result<Message, ProtocolError>]) -> u16 {
    match results.last() {
        Some(Err(e)) => e.code,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn text(s: &str) -> Result<Message, ProtocolError> {
    Ok(Message::Text(Bytes::copy_from_slice(s.as_bytes())))
}

fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

// ---- 1.x framing ----

#[test]
fn framing_1_x_all_length_encodings_both_roles() {
    for n in [0usize, 1, 125, 126, 127, 65535, 65536, 200_000] {
        let data: Vec<u8> = (0..n).map(|i| (i % 251) as u8).collect();
        let want = Ok(Message::Binary(Bytes::from(data.clone())));
        assert_eq!(server(&c(0x82, &data)), std::slice::from_ref(&want), "len {n}");
        let mut client = Decoder::new(&Config::new(Role::Client));
        assert_eq!(run(&mut client, &raw(0x82, false, &data)), [want], "len {n}");
    }
    assert_eq!(server(&c(0x81, b"Hello")), [text("Hello")]);
}

#[test]
fn unfragmented_payload_is_zero_copy() {
    let mut buf = BytesMut::from(&cat(&[c(0x82, &[1; 300]), c(0x81, b"x")])[..]);
    let range = buf.as_ptr() as usize..buf.as_ptr() as usize + buf.len();
    let mut dec = Decoder::new(&Config::new(Role::Server));
    let Ok(Some(Message::Binary(b))) = dec.decode(&mut buf) else { panic!() };
    assert!(range.contains(&(b.as_ptr() as usize)), "payload was copied");
    assert_eq!(&b[..], &[1; 300]);
    assert_eq!(dec.decode(&mut buf), Ok(Some(Message::Text(Bytes::from_static(b"x")))));
    assert!(buf.is_empty());
}

#[test]
fn masking_is_required_by_role() {
    // §5.1: a server fails unmasked frames; a client fails masked ones.
    assert_eq!(last_code(&server(&raw(0x81, false, b"hi"))), 1002);
    let mut client = Decoder::new(&Config::new(Role::Client));
    assert_eq!(last_code(&run(&mut client, &raw(0x81, true, b"hi"))), 1002);
}

#[test]
fn length_with_top_bit_set_is_rejected() {
    let mut f = vec![0x82, 0xff];
    f.extend_from_slice(&(1u64 << 63).to_be_bytes());
    f.extend_from_slice(&KEY);
    assert_eq!(last_code(&server(&f)), 1002);
}

// ---- 2.x ping/pong ----

#[test]
fn ping_pong_2_x() {
    assert_eq!(server(&c(0x89, b"")), [Ok(Message::Ping(Bytes::new()))]);
    assert_eq!(server(&c(0x89, &[0xfe; 125])), [Ok(Message::Ping(Bytes::from(vec![0xfe; 125])))]);
    assert_eq!(server(&c(0x8a, b"p")), [Ok(Message::Pong(Bytes::from_static(b"p")))]);
    // 2.5: control payload over 125 bytes; 5.1/5.2: fragmented control frames.
    assert_eq!(last_code(&server(&c(0x89, &[0; 126]))), 1002);
    assert_eq!(last_code(&server(&c(0x09, b"x"))), 1002);
    assert_eq!(last_code(&server(&c(0x0a, b"x"))), 1002);
    assert_eq!(last_code(&server(&c(0x08, b""))), 1002);
    // The >125 check happens from the header alone.
    let mut hdr = vec![0x89, 0xfe, 0x00, 0x7e];
    hdr.extend_from_slice(&KEY);
    assert_eq!(last_code(&server(&hdr)), 1002);
}

// ---- 3.x reserved bits ----

#[test]
fn reserved_bits_3_x() {
    for b0 in [0xc1, 0xa1, 0x91, 0xf1, 0xa2, 0x99] {
        assert_eq!(last_code(&server(&c(b0, b"x"))), 1002, "{b0:x}");
    }
    // RSV1 is "compressed" only with deflate, only on the first data frame.
    assert_eq!(last_code(&server(&c(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]))), 1002);
    assert_eq!(server_deflate(&c(0xc1, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])), [text("Hello")]);
    assert_eq!(last_code(&server_deflate(&c(0xc9, b""))), 1002);
    assert_eq!(last_code(&server_deflate(&c(0xca, b""))), 1002);
    assert_eq!(last_code(&server_deflate(&c(0xc8, b""))), 1002);
    assert_eq!(last_code(&server_deflate(&cat(&[c(0x41, &[0xf2, 0x48]), c(0xc0, &[0xcd])]))), 1002);
    assert_eq!(last_code(&server_deflate(&cat(&[c(0x01, b"a"), c(0xc0, b"b")]))), 1002);
    // Good frames before the bad one are still delivered (3.2: "send ping, then bad").
    assert_eq!(server(&cat(&[c(0x81, b"a"), c(0xa1, b"b")]))[0], text("a"));
}

// ---- 4.x opcodes ----

#[test]
fn reserved_opcodes_4_x() {
    for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
        assert_eq!(last_code(&server(&c(0x80 | op, b"x"))), 1002, "{op:x}");
    }
}

// ---- 5.x fragmentation ----

#[test]
fn fragmentation_5_x() {
    // 5.6-5.8: text in fragments with pings in between.
    let frames = cat(&[c(0x01, b"fr"), c(0x89, b"p1"), c(0x00, b""), c(0x00, b"ag"), c(0x89, b"p2"), c(0x80, b"ment")]);
    assert_eq!(
        server(&frames),
        [Ok(Message::Ping(Bytes::from_static(b"p1"))), Ok(Message::Ping(Bytes::from_static(b"p2"))), text("fragment"),]
    );
    assert_eq!(server(&cat(&[c(0x02, b""), c(0x80, b"")])), [Ok(Message::Binary(Bytes::new()))]);
    // 5.9-5.14: continuation without a message.
    assert_eq!(last_code(&server(&c(0x80, b"x"))), 1002);
    assert_eq!(last_code(&server(&c(0x00, b"x"))), 1002);
    assert_eq!(last_code(&server(&cat(&[c(0x81, b"a"), c(0x80, b"b")]))), 1002);
    // 5.18-5.20: a new data message while one is open.
    assert_eq!(last_code(&server(&cat(&[c(0x01, b"a"), c(0x81, b"b")]))), 1002);
    assert_eq!(last_code(&server(&cat(&[c(0x02, b"a"), c(0x01, b"b")]))), 1002);
}

#[test]
fn pending_counts_the_message_being_assembled() {
    let mut dec = Decoder::new(&Config::new(Role::Server));
    assert!(run(&mut dec, &cat(&[c(0x02, &[0; 100]), c(0x00, &[0; 50])])).is_empty());
    assert_eq!(dec.pending(), 150);
    assert_eq!(run(&mut dec, &c(0x80, b"")).len(), 1);
    assert_eq!(dec.pending(), 0);
}

// ---- 6.x UTF-8 ----

#[test]
fn utf8_6_x() {
    assert_eq!(server(&c(0x81, "κόσμε".as_bytes())), [text("κόσμε")]);
    assert_eq!(last_code(&server(&c(0x81, &[0xce, 0xba, 0xed, 0xa0, 0x80]))), 1007);
    // 6.2.x: a valid code point split across fragments.
    let e = "€".as_bytes();
    assert_eq!(server(&cat(&[c(0x01, &e[..1]), c(0x00, &e[1..2]), c(0x80, &e[2..])])), [text("€")]);
    // Incomplete at the end of the message.
    assert_eq!(last_code(&server(&cat(&[c(0x01, b"a"), c(0x80, &e[..2])]))), 1007);
    // Binary messages are not checked.
    assert_eq!(server(&c(0x82, &[0xff])), [Ok(Message::Binary(Bytes::from_static(&[0xff])))]);
}

#[test]
fn utf8_fails_fast_6_4_x() {
    // 6.4.1: frame 1 valid, frame 2 makes it invalid, frame 3 never sent: fail on frame 2.
    let mut dec = Decoder::new(&Config::new(Role::Server));
    assert!(run(&mut dec, &c(0x01, "κόσμε".as_bytes())).is_empty());
    assert_eq!(last_code(&run(&mut dec, &c(0x00, &[0xf4, 0x90, 0x80, 0x80]))), 1007);
    // 6.4.2: the invalid prefix is split across fragments.
    let mut dec = Decoder::new(&Config::new(Role::Server));
    assert!(run(&mut dec, &c(0x01, &[0xce, 0xba, 0xf4])).is_empty());
    assert_eq!(last_code(&run(&mut dec, &c(0x00, &[0x90]))), 1007);
    // Same after inflating a compressed fragment.
    let mut dec = Decoder::new(&config(Role::Server, Some(DeflateParams::default())));
    let mut d = Deflater::new(1, 15, false);
    let (mut z1, mut z2) = (BytesMut::new(), BytesMut::new());
    d.compress_fragment("κόσμε".as_bytes(), false, &mut z1);
    d.compress_fragment(&[0xed, 0xa0, 0x80], false, &mut z2);
    assert!(run(&mut dec, &c(0x41, &z1)).is_empty());
    assert_eq!(last_code(&run(&mut dec, &c(0x00, &z2))), 1007);
}

#[test]
fn utf8_fails_fast_within_a_frame_6_4_3_and_6_4_4() {
    // The invalid bytes arrive while the frame is still incomplete: fail now.
    let mut payload = "κόσμε".as_bytes().to_vec();
    payload.extend_from_slice(&[0xf4, 0x90, 0x80, 0x80]);
    payload.extend_from_slice(&[b'x'; 1000]);
    for frames in [c(0x81, &payload), cat(&[c(0x01, b"ok"), c(0x80, &payload)])] {
        let cut = frames.len() - 1000;
        let mut dec = Decoder::new(&Config::new(Role::Server));
        let mut buf = BytesMut::from(&frames[..cut - 3]);
        assert_eq!(dec.decode(&mut buf), Ok(None), "valid prefix");
        buf.extend_from_slice(&frames[cut - 3..cut]);
        assert_eq!(dec.decode(&mut buf).unwrap_err().code, 1007);
    }
    // Valid text delivered in many pieces is unmasked exactly once.
    let text_frame = c(0x81, "€uro ".repeat(100).as_bytes());
    let mut dec = Decoder::new(&Config::new(Role::Server));
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for piece in text_frame.chunks(7) {
        buf.extend_from_slice(piece);
        while let Some(m) = dec.decode(&mut buf).unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, [Message::Text(Bytes::from("€uro ".repeat(100)))]);
}

// ---- 7.x close ----

#[test]
fn close_7_x() {
    assert_eq!(server(&c(0x88, b"")), [Ok(Message::Close(None))]);
    assert_eq!(
        server(&c(0x88, &[0x03, 0xe8, b'o', b'k'])),
        [Ok(Message::Close(Some(CloseFrame { code: 1000, reason: "ok".into() })))]
    );
    // 7.3.2: one-byte payload; 7.5.1: invalid UTF-8 reason.
    assert_eq!(last_code(&server(&c(0x88, &[0x03]))), 1002);
    assert_eq!(last_code(&server(&c(0x88, &[0x03, 0xe8, 0xff]))), 1007);
    // 7.7.x / 7.9.x: valid and invalid codes.
    for code in (0..=5000u16).chain([65535]) {
        let r = server(&c(0x88, &code.to_be_bytes()));
        if valid_close_code(code) {
            assert_eq!(r, [Ok(Message::Close(Some(CloseFrame { code, reason: String::new() })))]);
        } else {
            assert_eq!(last_code(&r), 1002, "{code}");
        }
    }
    for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
        assert!(valid_close_code(code));
    }
    for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
        assert!(!valid_close_code(code));
    }
}

#[test]
fn nothing_after_close_and_errors_are_sticky() {
    let mut dec = Decoder::new(&Config::new(Role::Server));
    let mut buf = BytesMut::from(&cat(&[c(0x88, b""), c(0x81, b"late")])[..]);
    assert_eq!(dec.decode(&mut buf), Ok(Some(Message::Close(None))));
    assert_eq!(dec.decode(&mut buf), Ok(None));
    // A close in the middle of a fragmented message ends it.
    assert_eq!(server(&cat(&[c(0x01, b"a"), c(0x88, b"")])), [Ok(Message::Close(None))]);
    let mut dec = Decoder::new(&Config::new(Role::Server));
    let mut buf = BytesMut::from(&cat(&[c(0xf1, b""), c(0x81, b"ok")])[..]);
    let e = dec.decode(&mut buf).unwrap_err();
    assert_eq!(dec.decode(&mut buf), Err(e));
    assert_eq!(dec.decode(&mut BytesMut::from(&c(0x81, b"ok")[..])), Err(e));
}

// ---- 9.x limits ----

#[test]
fn limits_9_x_checked_from_the_header() {
    let limits = Limits { max_frame: 1000, max_message: 2500 };
    let cfg = Config { limits, ..Config::new(Role::Server) };
    // Frame too big: rejected from the header, before the payload arrives.
    let f = c(0x82, &[0; 1001]);
    assert_eq!(last_code(&run(&mut Decoder::new(&cfg), &f[..8])), 1009);
    assert_eq!(run(&mut Decoder::new(&cfg), &c(0x82, &[0; 1000])).len(), 1);
    // Message too big across fragments: rejected at the header of the frame that overflows.
    let mut dec = Decoder::new(&cfg);
    assert!(run(&mut dec, &cat(&[c(0x02, &[0; 1000]), c(0x00, &[0; 1000])])).is_empty());
    assert_eq!(last_code(&run(&mut dec, &c(0x80, &[0; 501])[..8])), 1009);
    let mut dec = Decoder::new(&cfg);
    let ok = cat(&[c(0x02, &[0; 1000]), c(0x00, &[0; 1000]), c(0x80, &[0; 500])]);
    assert_eq!(run(&mut dec, &ok), [Ok(Message::Binary(Bytes::from(vec![0; 2500])))]);
    // Decompressed size counts: a small compressed frame inflating past max_message.
    let cfg = Config { deflate: Some(DeflateParams::default()), ..cfg };
    let mut z = BytesMut::new();
    Deflater::new(9, 15, true).compress(&[b'a'; 2501], &mut z);
    assert!(z.len() < 100);
    assert_eq!(last_code(&run(&mut Decoder::new(&cfg), &c(0xc2, &z))), 1009);
    let mut z = BytesMut::new();
    Deflater::new(9, 15, true).compress(&[b'a'; 2500], &mut z);
    assert_eq!(run(&mut Decoder::new(&cfg), &c(0xc2, &z)).len(), 1);
}

// ---- 12.x / 13.x permessage-deflate ----

#[test]
fn deflate_rfc_7692_messages_through_the_decoder() {
    // §7.2.3.2: the same "Hello" twice with context takeover, from a server to a client.
    let mut dec = Decoder::new(&config(Role::Client, Some(DeflateParams::default())));
    let frames = cat(&[
        raw(0xc1, false, &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
        raw(0xc1, false, &[0xf2, 0x00, 0x11, 0x00, 0x00]),
    ]);
    assert_eq!(run(&mut dec, &frames), [text("Hello"), text("Hello")]);
    // Bad compressed data: 1007.
    assert_eq!(last_code(&server_deflate(&c(0xc2, &[0xff, 0xff]))), 1007);
    // Compressed text that inflates to bad UTF-8: 1007.
    let mut z = BytesMut::new();
    Deflater::new(1, 15, true).compress(&[b'a', 0xff], &mut z);
    assert_eq!(last_code(&server_deflate(&c(0xc1, &z))), 1007);
}

fn params(nct: bool, bits: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: nct,
        client_no_context_takeover: nct,
        server_max_window_bits: bits,
        client_max_window_bits: bits,
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let mut v = vec![Vec::new(), b"x".to_vec(), b"Hello".to_vec()];
    for n in [125, 126, 1023, 1024, 5000, 65_536, 300_000] {
        v.push((0..n).map(|i| b"abcdefghij{\"k\":[1,2,3]}"[(i * 13 / 7) % 23]).collect());
    }
    v
}

/// Encodes with `from`, decodes with `to`, checks the messages come back.
fn round_trip(cfg_enc: &Config, cfg_dec: &Config) {
    let mut enc = Encoder::new(cfg_enc);
    let mut dec = Decoder::new(cfg_dec);
    let mut wire = BytesMut::new();
    let mut want = Vec::new();
    for (i, m) in corpus().into_iter().enumerate() {
        if i % 2 == 0 {
            enc.binary(&m, &mut wire);
            want.push(Message::Binary(Bytes::from(m)));
        } else {
            enc.text(&m, &mut wire);
            want.push(Message::Text(Bytes::from(m)));
        }
    }
    // A streamed message with a ping in the middle.
    let big: Vec<u8> = corpus().concat();
    enc.fragment(true, false, true, &big[..1000], &mut wire);
    enc.ping(b"mid", &mut wire).unwrap();
    enc.fragment(false, false, false, &big[1000..200_000], &mut wire);
    enc.fragment(false, true, false, &big[200_000..], &mut wire);
    want.push(Message::Ping(Bytes::from_static(b"mid")));
    want.push(Message::Text(Bytes::from(big)));
    enc.pong(b"", &mut wire).unwrap();
    want.push(Message::Pong(Bytes::new()));
    enc.close(Some(1000), "bye", &mut wire);
    want.push(Message::Close(Some(CloseFrame { code: 1000, reason: "bye".into() })));
    let got: Vec<Message> = run(&mut dec, &wire).into_iter().map(Result::unwrap).collect();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert!(g == w, "round trip {:?} -> {:?}", cfg_enc.role, cfg_dec.role);
    }
}

#[test]
fn round_trips_both_roles_with_and_without_deflate() {
    let mut all = vec![None];
    for bits in 8..=15 {
        all.push(Some(params(false, bits)));
        all.push(Some(params(true, bits)));
    }
    for deflate in all {
        for (a, b) in [(Role::Server, Role::Client), (Role::Client, Role::Server)] {
            for threshold in [0, 1024] {
                let enc = Config { deflate_threshold: threshold, ..config(a, deflate) };
                round_trip(&enc, &config(b, deflate));
            }
        }
    }
}

#[test]
fn compression_follows_threshold_and_window() {
    let cfg = config(Role::Server, Some(DeflateParams::default()));
    let mut enc = Encoder::new(&cfg);
    let mut out = BytesMut::new();
    enc.text(&[b'a'; 1023], &mut out);
    assert_eq!(out[0], 0x81, "below the threshold: plain");
    out.clear();
    enc.text(&[b'a'; 1024], &mut out);
    assert_eq!(out[0], 0xc1, "at the threshold: compressed");
    assert!(out.len() < 100);
    // Window 8 cannot be produced by zlib: plain.
    let mut enc = Encoder::new(&config(Role::Server, Some(params(false, 8))));
    out.clear();
    enc.text(&[b'a'; 5000], &mut out);
    assert_eq!(out[0], 0x81);
    // Streamed messages: RSV1 only on the first frame.
    let mut enc = Encoder::new(&cfg);
    out.clear();
    enc.fragment(true, false, false, b"a", &mut out);
    assert_eq!(out[0], 0x42);
    out.clear();
    enc.fragment(false, true, false, b"b", &mut out);
    assert_eq!(out[0], 0x80);
}

#[test]
fn context_takeover_shrinks_repeated_messages() {
    // 5000 pseudo-random letters: compress poorly alone, but repeat exactly.
    let mut x = 12345u32;
    let msg: Vec<u8> = (0..5000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            b'a' + (x >> 16) as u8 % 26
        })
        .collect();
    let size = |nct: bool| {
        let mut enc = Encoder::new(&config(Role::Client, Some(params(nct, 15))));
        let mut out = BytesMut::new();
        enc.binary(&msg, &mut out);
        let first = out.len();
        out.clear();
        enc.binary(&msg, &mut out);
        (first, out.len())
    };
    let (a, b) = size(false);
    assert!(b < a / 2, "{a} {b}");
    let (a, b) = size(true);
    assert_eq!(a, b);
}

// ---- chunking ----

#[test]
fn every_split_point_gives_the_same_messages() {
    for deflate in [None, Some(DeflateParams::default())] {
        let enc_cfg = Config { deflate_threshold: 0, ..config(Role::Client, deflate) };
        let mut enc = Encoder::new(&enc_cfg);
        let mut wire = BytesMut::new();
        enc.text("héllo wörld".as_bytes(), &mut wire);
        enc.fragment(true, false, true, "€".as_bytes(), &mut wire);
        enc.ping(b"p", &mut wire).unwrap();
        enc.fragment(false, true, true, &[b'z'; 300], &mut wire);
        enc.binary(&[9; 70_000], &mut wire);
        enc.close(Some(1001), "", &mut wire);
        let whole = run(&mut Decoder::new(&config(Role::Server, deflate)), &wire);
        assert_eq!(whole.len(), 5);
        for split in 0..wire.len() {
            let mut got = Vec::new();
            let mut buf = BytesMut::from(&wire[..split]);
            let mut dec = Decoder::new(&config(Role::Server, deflate));
            while let Ok(Some(m)) = dec.decode(&mut buf) {
                got.push(Ok(m));
            }
            buf.extend_from_slice(&wire[split..]);
            while let Ok(Some(m)) = dec.decode(&mut buf) {
                got.push(Ok(m));
            }
            assert_eq!(got, whole, "split at {split}");
        }
    }
}

#[test]
fn byte_at_a_time() {
    let mut enc = Encoder::new(&config(Role::Server, Some(DeflateParams::default())));
    let mut wire = BytesMut::new();
    enc.text(&[b'q'; 2000], &mut wire);
    enc.binary(b"b", &mut wire);
    let mut dec = Decoder::new(&config(Role::Client, Some(DeflateParams::default())));
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for &b in wire.iter() {
        buf.extend_from_slice(&[b]);
        while let Some(m) = dec.decode(&mut buf).unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, [Message::Text(Bytes::from(vec![b'q'; 2000])), Message::Binary(Bytes::from_static(b"b"))]);
}

// ---- encoder ----

#[test]
fn client_masks_every_frame_with_a_fresh_key() {
    let mut enc = Encoder::new(&Config::new(Role::Client));
    let mut keys = std::collections::HashSet::new();
    for _ in 0..200 {
        let mut out = BytesMut::new();
        enc.binary(b"abcd", &mut out);
        assert_eq!(out[1], 0x84);
        keys.insert([out[2], out[3], out[4], out[5]]);
    }
    assert!(keys.len() > 190, "keys repeat: {}", keys.len());
    let mut enc = Encoder::new(&Config::new(Role::Server));
    let mut out = BytesMut::new();
    enc.binary(b"abcd", &mut out);
    assert_eq!(&out[..], &[0x82, 0x04, b'a', b'b', b'c', b'd']);
}

#[test]
fn control_frames_are_bounded() {
    let mut enc = Encoder::new(&Config::new(Role::Server));
    let mut out = BytesMut::new();
    assert_eq!(enc.ping(&[0; 126], &mut out), Err(EncodeError::ControlTooLong(126)));
    assert_eq!(enc.pong(&[0; 200], &mut out), Err(EncodeError::ControlTooLong(200)));
    assert!(out.is_empty());
    enc.ping(&[0; 125], &mut out).unwrap();
    assert_eq!(out.len(), 127);
    out.clear();
    enc.close(None, "ignored", &mut out);
    assert_eq!(&out[..], &[0x88, 0x00]);
    // Reason truncated on a char boundary to fit 123 bytes: 61 × "é" = 122 bytes.
    out.clear();
    let reason = "é".repeat(70);
    enc.close(Some(1000), &reason, &mut out);
    assert_eq!(out[1] as usize, 2 + 122);
    let mut dec = Decoder::new(&Config::new(Role::Client));
    assert_eq!(run(&mut dec, &out), [Ok(Message::Close(Some(CloseFrame { code: 1000, reason: "é".repeat(61) })))]);
}

#[test]
fn shared_frames_decode_on_any_deflate_connection() {
    let msg = corpus()[8].clone();
    let z = shared_frame(true, &msg, Some((1, 15)));
    let plain = shared_frame_plain(true, &msg);
    assert_eq!(z[0], 0xc1);
    assert_eq!(plain[0], 0x81);
    assert!(z.len() < plain.len());
    // The same compressed bytes decode on two connections, after other traffic.
    for p in [params(false, 15), DeflateParams { server_no_context_takeover: true, ..params(false, 15) }] {
        let mut dec = Decoder::new(&config(Role::Client, Some(p)));
        let mut wire = z.to_vec();
        wire.extend_from_slice(&z);
        wire.extend_from_slice(&plain);
        let got = run(&mut dec, &wire);
        assert_eq!(got, vec![Ok(Message::Text(Bytes::from(msg.clone()))); 3]);
    }
    assert_eq!(shared_frame(false, b"abc", Some((1, 8)))[0], 0x82, "8-bit window: plain");
    assert_eq!(shared_frame(false, b"abc", None), shared_frame_plain(false, b"abc"));
    // Other levels and windows reuse or replace the cached compressor correctly.
    for (level, bits) in [(6, 10), (6, 10), (1, 9), (9, 15)] {
        let f = shared_frame(false, &msg, Some((level, bits)));
        let mut dec = Decoder::new(&config(Role::Client, Some(params(true, bits))));
        assert_eq!(run(&mut dec, &f), [Ok(Message::Binary(Bytes::from(msg.clone())))]);
    }
}
