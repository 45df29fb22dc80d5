//! Entry point of the `ws_decode` cargo-fuzz target, here so that a stable `cargo test`
//! can replay its seed corpus (`tests/fuzz_seeds.rs`). Each run asserts the invariants
//! below; a panic is a finding.

use bytes::BytesMut;

use crate::codec::{Config, Decoder, DeflateParams, Encoder, Limits, Message, ProtocolError, Role};

type Outcome = Vec<Result<Message, ProtocolError>>;

const LIMITS: Limits = Limits { max_frame: 4096, max_message: 16384 };

/// Arbitrary bytes into a decoder of each role, without deflate and with deflate (with
/// and without context takeover). The first byte seeds the read sizes. Asserts:
/// no panic; reading in pieces gives the same messages and error as reading at once;
/// text is UTF-8, control payloads ≤ 125 bytes, messages within the limits, errors carry
/// 1002/1007/1009 and are sticky; and every decoded message, re-encoded by the peer's
/// [`Encoder`], decodes to itself.
pub fn decode(data: &[u8]) {
    let Some((&seed, data)) = data.split_first() else { return };
    let nct =
        DeflateParams { server_no_context_takeover: true, client_no_context_takeover: true, ..Default::default() };
    for role in [Role::Server, Role::Client] {
        for deflate in [None, Some(DeflateParams::default()), Some(nct)] {
            let cfg = Config { limits: LIMITS, deflate, deflate_threshold: 16, ..Config::new(role) };
            let whole = run(&cfg, data, &mut std::iter::repeat(data.len().max(1)));
            let mut rng = u32::from(seed) | 0x100;
            let max = usize::from(seed % 61) + 1;
            let mut sizes = std::iter::from_fn(|| {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                Some(rng as usize % max + 1)
            });
            let pieces = run(&cfg, data, &mut sizes);
            assert_eq!(whole, pieces, "chunking changed the result ({role:?}, deflate {deflate:?})");
            reencode(&cfg, &whole);
        }
    }
}

fn run(cfg: &Config, data: &[u8], sizes: &mut dyn Iterator<Item = usize>) -> Outcome {
    let mut dec = Decoder::new(cfg);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        let n = sizes.next().unwrap_or(1).min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            let before = buf.len();
            match dec.decode(&mut buf) {
                Ok(Some(m)) => {
                    assert!(buf.len() < before, "a message without consuming input");
                    check(&m);
                    assert!(dec.pending() <= LIMITS.max_message);
                    let closed = matches!(m, Message::Close(_));
                    out.push(Ok(m));
                    if closed {
                        assert_eq!(dec.decode(&mut buf), Ok(None), "output after Close");
                        return out;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    assert!(matches!(e.code, 1002 | 1007 | 1009), "{e:?}");
                    assert_eq!(dec.decode(&mut buf), Err(e), "error not sticky");
                    out.push(Err(e));
                    return out;
                }
            }
        }
        if rest.is_empty() {
            return out;
        }
    }
}

fn check(m: &Message) {
    match m {
        Message::Text(b) => {
            assert!(std::str::from_utf8(b).is_ok(), "text not UTF-8");
            assert!(b.len() <= LIMITS.max_message);
        }
        Message::Binary(b) => assert!(b.len() <= LIMITS.max_message),
        Message::Ping(b) | Message::Pong(b) => assert!(b.len() <= 125),
        Message::Close(Some(c)) => {
            assert!(crate::codec::valid_close_code(c.code));
            assert!(c.reason.len() <= 123);
        }
        Message::Close(None) => {}
    }
}

/// The peer's encoder must reproduce what we decoded.
fn reencode(cfg: &Config, outcome: &Outcome) {
    let peer = match cfg.role {
        Role::Server => Role::Client,
        Role::Client => Role::Server,
    };
    let mut enc = Encoder::new(&Config { role: peer, ..cfg.clone() });
    let mut wire = BytesMut::new();
    let msgs: Vec<&Message> = outcome.iter().filter_map(|r| r.as_ref().ok()).collect();
    for m in &msgs {
        match m {
            Message::Text(b) => enc.text(b, &mut wire),
            Message::Binary(b) => enc.binary(b, &mut wire),
            Message::Ping(b) => enc.ping(b, &mut wire).expect("≤ 125 bytes"),
            Message::Pong(b) => enc.pong(b, &mut wire).expect("≤ 125 bytes"),
            Message::Close(c) => enc.close(c.as_ref().map(|c| c.code), c.as_ref().map_or("", |c| &c.reason), &mut wire),
        }
    }
    let mut dec = Decoder::new(&Config { limits: Limits::default(), ..cfg.clone() });
    for m in msgs {
        assert_eq!(dec.decode(&mut wire).as_ref(), Ok(&Some(m.clone())), "re-encoded message differs");
    }
    assert!(wire.is_empty());
}
