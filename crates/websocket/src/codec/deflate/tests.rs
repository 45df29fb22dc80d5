//! Negotiation (RFC 7692 §5, §7.1) and stream (§7.2) tests; Autobahn 12.x/13.x cover the
//! same ground from the wire.

use bytes::BytesMut;

use super::*;

fn offers(s: &str) -> Vec<ExtensionOffer> {
    parse_extensions(s).unwrap()
}

fn compress(d: &mut Deflater, data: &[u8]) -> Vec<u8> {
    let mut out = BytesMut::new();
    d.compress(data, &mut out);
    out.to_vec()
}

fn inflate(i: &mut Inflater, data: &[u8]) -> Result<Vec<u8>, InflateError> {
    let mut out = BytesMut::new();
    i.decompress(data, true, &mut out, usize::MAX / 2)?;
    Ok(out.to_vec())
}

#[test]
fn parses_extension_lists() {
    let v = offers("permessage-deflate; client_max_window_bits, permessage-deflate ;server_max_window_bits=\"10\",x");
    assert_eq!(v.len(), 3);
    assert_eq!(v[0].name, "permessage-deflate");
    assert_eq!(v[0].params, [("client_max_window_bits".to_owned(), None)]);
    assert_eq!(v[1].params, [("server_max_window_bits".to_owned(), Some("10".to_owned()))]);
    assert_eq!(v[2], ExtensionOffer { name: "x".into(), params: vec![] });
    assert_eq!(offers("  "), vec![]);
    assert_eq!(offers("a, ,b").len(), 2);
    assert_eq!(offers("a; b = 1")[0].params, [("b".to_owned(), Some("1".to_owned()))]);
    for bad in
        ["a;", "; a", "a b", "a; b=", "a; b=\"x y\"", "a; b=\"\"", "a; b=\"1", "a=1", "a; b=1 2", "a;;b", "\"a\""]
    {
        assert_eq!(parse_extensions(bad), Err(HandshakeError::BadExtensions), "{bad}");
    }
}

#[test]
fn server_always_answers_server_no_context_takeover() {
    let cfg = DeflateConfig::default();
    let (p, r) = negotiate(&offers("permessage-deflate; client_max_window_bits"), &cfg).unwrap();
    assert_eq!(r, "permessage-deflate; server_no_context_takeover");
    assert_eq!(p, DeflateParams { server_no_context_takeover: true, ..DeflateParams::default() });
    let (_, r) = negotiate(&offers("permessage-deflate"), &cfg).unwrap();
    assert_eq!(r, "permessage-deflate; server_no_context_takeover");
    assert!(negotiate(&offers("x-webkit-deflate-frame"), &cfg).is_none());
    assert!(negotiate(&[], &cfg).is_none());
}

#[test]
fn server_window_bits() {
    let cfg = DeflateConfig { client_max_window_bits: 10, ..DeflateConfig::default() };
    // Offered without a value: the server may pick.
    let (p, r) = negotiate(&offers("permessage-deflate; client_max_window_bits"), &cfg).unwrap();
    assert_eq!(r, "permessage-deflate; server_no_context_takeover; client_max_window_bits=10");
    assert_eq!(p.client_max_window_bits, 10);
    // Offered with a smaller value: min.
    let (p, r) = negotiate(&offers("permessage-deflate; client_max_window_bits=9"), &cfg).unwrap();
    assert_eq!(r, "permessage-deflate; server_no_context_takeover; client_max_window_bits=9");
    assert_eq!(p.client_max_window_bits, 9);
    // Not offered: must not be sent, the client uses 15.
    let (p, r) = negotiate(&offers("permessage-deflate"), &cfg).unwrap();
    assert_eq!(r, "permessage-deflate; server_no_context_takeover");
    assert_eq!(p.client_max_window_bits, 15);
    // The client limits the server's window.
    let (p, r) = negotiate(&offers("permessage-deflate; server_max_window_bits=8"), &cfg).unwrap();
    assert_eq!(r, "permessage-deflate; server_no_context_takeover; server_max_window_bits=8");
    assert_eq!(p.server_max_window_bits, 8);
    assert_eq!(send_window_bits(8), None);
    assert_eq!(send_window_bits(9), Some(9));
    // Our own smaller server window is announced unrequested.
    let cfg = DeflateConfig { server_max_window_bits: 11, ..DeflateConfig::default() };
    let (p, r) = negotiate(&offers("permessage-deflate; server_max_window_bits=12"), &cfg).unwrap();
    assert_eq!(r, "permessage-deflate; server_no_context_takeover; server_max_window_bits=11");
    assert_eq!(p.server_max_window_bits, 11);
    let (_, r) = negotiate(&offers("permessage-deflate; client_no_context_takeover"), &cfg).unwrap();
    assert_eq!(
        r,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11"
    );
}

#[test]
fn server_declines_invalid_offers_and_takes_the_next() {
    let cfg = DeflateConfig::default();
    for bad in [
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=0x9",
        "permessage-deflate; client_max_window_bits=1000",
        "permessage-deflate; client_max_window_bits; client_max_window_bits",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; foo",
    ] {
        assert!(negotiate(&offers(bad), &cfg).is_none(), "{bad}");
        let two = format!("{bad}, permessage-deflate; client_no_context_takeover");
        let (p, r) = negotiate(&offers(&two), &cfg).unwrap();
        assert!(p.client_no_context_takeover, "{two}");
        assert_eq!(r, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    }
}

#[test]
fn client_offer_and_accept() {
    for cfg in [
        DeflateConfig::default(),
        DeflateConfig { client_max_window_bits: 9, ..DeflateConfig::default() },
        DeflateConfig { server_max_window_bits: 10, client_max_window_bits: 12, ..DeflateConfig::default() },
    ] {
        let o = offer(&cfg);
        for server_cfg in [DeflateConfig::default(), DeflateConfig { client_max_window_bits: 8, ..cfg }] {
            let (p, r) = negotiate(&offers(&o), &server_cfg).unwrap();
            assert_eq!(accept_response(&r, &cfg), Ok(p), "offer {o} response {r}");
        }
    }
    assert_eq!(offer(&DeflateConfig::default()), "permessage-deflate; client_max_window_bits");
    assert_eq!(
        offer(&DeflateConfig { server_max_window_bits: 10, client_max_window_bits: 12, ..DeflateConfig::default() }),
        "permessage-deflate; client_max_window_bits=12; server_max_window_bits=10"
    );
    let d = DeflateConfig::default();
    assert_eq!(accept_response("permessage-deflate", &d), Ok(DeflateParams::default()));
    assert_eq!(
        accept_response("permessage-deflate;client_no_context_takeover; server_max_window_bits=9", &d),
        Ok(DeflateParams { client_no_context_takeover: true, server_max_window_bits: 9, ..DeflateParams::default() })
    );
}

#[test]
fn client_rejects_bad_answers() {
    let d = DeflateConfig::default();
    let small = DeflateConfig { server_max_window_bits: 10, client_max_window_bits: 12, ..d };
    for (bad, cfg) in [
        ("permessage-deflate, permessage-deflate", &d),
        ("x-other", &d),
        ("permessage-deflate; foo", &d),
        ("permessage-deflate; client_max_window_bits", &d),
        ("permessage-deflate; client_max_window_bits=7", &d),
        ("permessage-deflate; server_max_window_bits=16", &d),
        ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", &d),
        ("permessage-deflate; client_no_context_takeover=x", &d),
        ("permessage-deflate; client_max_window_bits=13", &small),
        ("permessage-deflate; server_max_window_bits=11", &small),
        ("permessage-deflate", &small),
        ("", &d),
    ] {
        assert!(matches!(accept_response(bad, cfg), Err(HandshakeError::BadDeflateResponse(_))), "{bad}");
    }
    assert_eq!(accept_response("permessage-deflate;", &d), Err(HandshakeError::BadExtensions));
}

#[test]
fn rfc_7692_examples() {
    // §7.2.3.1: "Hello" in one compressed message.
    let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    for level in [1, 6, 9] {
        assert_eq!(compress(&mut Deflater::new(level, 15, true), b"Hello"), hello, "level {level}");
    }
    // §7.2.3.2: with context takeover the second "Hello" refers back to the first.
    let mut d = Deflater::new(6, 15, false);
    assert_eq!(compress(&mut d, b"Hello"), hello);
    assert_eq!(compress(&mut d, b"Hello"), [0xf2, 0x00, 0x11, 0x00, 0x00]);
    let mut i = Inflater::new(false);
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
    assert_eq!(inflate(&mut i, &[0xf2, 0x00, 0x11, 0x00, 0x00]).unwrap(), b"Hello");
    // Without context takeover both messages are the same.
    let mut d = Deflater::new(6, 15, true);
    assert_eq!(compress(&mut d, b"Hello"), hello);
    assert_eq!(compress(&mut d, b"Hello"), hello);
    // §7.2.3.3: a stored block; §7.2.3.4: BFINAL set; §7.2.3.5: two blocks.
    let mut i = Inflater::new(false);
    assert_eq!(inflate(&mut i, &[0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]).unwrap(), b"Hello");
    assert_eq!(inflate(&mut i, &[0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]).unwrap(), b"Hello");
    // After a BFINAL block the next message starts a new stream.
    assert_eq!(inflate(&mut i, &hello).unwrap(), b"Hello");
    let two = [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
    assert_eq!(inflate(&mut Inflater::new(true), &two).unwrap(), b"Hello");
    // §7.2.3.6: an empty message is a single 0x00.
    assert_eq!(compress(&mut Deflater::new(1, 15, false), b""), [0x00]);
    assert_eq!(inflate(&mut Inflater::new(false), &[0x00]).unwrap(), b"");
}

fn sample(n: usize) -> Vec<u8> {
    (0..n).map(|i| b"the quick brown fox jumps over the lazy dog "[(i * 7 / 3) % 44] ^ (i / 997) as u8).collect()
}

#[test]
fn round_trips_every_window_and_context_mode() {
    for bits in 9..=15 {
        for nct in [false, true] {
            let mut d = Deflater::new(6, bits, nct);
            let mut i = Inflater::new(nct);
            for n in [0, 1, 100, 5000, 70_000] {
                let data = sample(n);
                let z = compress(&mut d, &data);
                assert!(!z.ends_with(&[0, 0, 0xff, 0xff]) || z.is_empty());
                assert_eq!(inflate(&mut i, &z).unwrap(), data, "bits {bits} nct {nct} n {n}");
            }
        }
    }
}

#[test]
fn fragments_round_trip_including_empty_last_fragment() {
    let data = sample(10_000);
    for cuts in [&[0usize, 10_000][..], &[3000, 3000, 10_000], &[5000, 10_000, 10_000], &[0, 0, 1]] {
        let mut d = Deflater::new(1, 15, false);
        let mut i = Inflater::new(false);
        for round in 0..2 {
            let mut out = BytesMut::new();
            let mut prev = 0;
            for (k, &c) in cuts.iter().enumerate() {
                let c = c.min(data.len());
                let mut z = BytesMut::new();
                let fin = k == cuts.len() - 1;
                d.compress_fragment(&data[prev..c], fin, &mut z);
                i.decompress(&z, fin, &mut out, usize::MAX / 2).unwrap();
                prev = c;
            }
            assert_eq!(&out[..], &data[..prev], "cuts {cuts:?} round {round}");
        }
    }
}

#[test]
fn inflate_is_bounded() {
    // A zip bomb: 16 MiB of zeros compresses to about 16 KiB.
    let bomb = compress(&mut Deflater::new(9, 15, true), &vec![0u8; 16 << 20]);
    assert!(bomb.len() < 100_000);
    let mut out = BytesMut::new();
    let limit = 1 << 20;
    assert_eq!(Inflater::new(true).decompress(&bomb, true, &mut out, limit), Err(InflateError::TooBig));
    assert!(out.len() <= limit + 1, "{}", out.len());
    assert!(out.capacity() <= 2 * limit + (64 << 10), "{}", out.capacity());
    // Exactly the limit is fine.
    let z = compress(&mut Deflater::new(1, 15, true), &[7u8; 1000]);
    let mut out = BytesMut::new();
    assert_eq!(Inflater::new(true).decompress(&z, true, &mut out, 1000), Ok(()));
    assert_eq!(out.len(), 1000);
    let mut out = BytesMut::new();
    assert_eq!(Inflater::new(true).decompress(&z, true, &mut out, 999), Err(InflateError::TooBig));
}

#[test]
fn inflate_rejects_bad_data() {
    for bad in [&[0xffu8, 0xff, 0xff][..], &[0x07], &[0x00, 0x05, 0x00, 0x00, 0x00]] {
        assert_eq!(inflate(&mut Inflater::new(false), bad), Err(InflateError::BadData), "{bad:x?}");
    }
}

/// The measurement behind `DeflateConfig::level`'s default:
/// `cargo test -p iocrate-websocket measure_levels -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_levels() {
    let mut x = 1u32;
    let mut json = String::new();
    for i in 0..40 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        json.push_str(&format!(
            "{{\"id\":{i},\"user\":\"user{}\",\"price\":{}.{:02},\"side\":\"{}\",\"ts\":{}}},",
            x % 1000,
            (x >> 8) % 10000,
            x % 100,
            if x & 1 == 0 { "buy" } else { "sell" },
            1_700_000_000_000u64 + u64::from(x % 100_000)
        ));
    }
    let data = json.as_bytes();
    for level in [1, 2, 3, 4, 6] {
        let mut d = Deflater::new(level, 15, true);
        let t = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..2000 {
            n = compress(&mut d, data).len();
        }
        println!("level {level}: {} -> {n} bytes, {:?} per message", data.len(), t.elapsed() / 2000);
    }
}
