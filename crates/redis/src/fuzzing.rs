//! Entry point of the `redis_decode` cargo-fuzz target, here so that a stable `cargo test`
//! can replay its seed corpus (`tests/fuzz_seeds.rs`). Each run asserts the invariants
//! below; a panic is a finding.

use crate::tape::{self, read_value};
use crate::{Decoder, Limits, RespError};

/// Tight limits so the fuzzer reaches every limit check quickly.
const SMALL: Limits = Limits { max_bulk: 64, max_elements: 16, max_depth: 6, max_line: 32 };

/// What a whole run produced: the concatenated tape, then the total reply count or the error.
#[derive(Debug, PartialEq)]
struct Outcome {
    tape: Vec<u8>,
    result: Result<usize, RespError>,
}

/// Arbitrary bytes into a [`Decoder`] with tight and with default limits; the first byte
/// seeds the read sizes. Asserts: no panic; feeding the bytes whole, one at a time and in
/// pieces of varying size gives the same tape and the same count or error; errors are
/// sticky and add nothing to the tape; the tape is well-formed (the walker and
/// [`read_value`] both consume it exactly, one reply per counted reply); and every reply,
/// re-encoded as RESP, decodes to the same tape.
pub fn decode(data: &[u8]) {
    let Some((&seed, data)) = data.split_first() else { return };
    for limits in [SMALL, Limits::default()] {
        let whole = run(limits, data, &mut std::iter::repeat(data.len().max(1)));
        let ones = run(limits, data, &mut std::iter::repeat(1));
        assert_eq!(whole, ones, "byte-at-a-time changed the result ({limits:?})");
        let mut rng = u32::from(seed) | 0x100;
        let max = usize::from(seed % 61) + 1;
        let mut sizes = std::iter::from_fn(|| {
            rng ^= rng << 13;
            rng ^= rng >> 17;
            rng ^= rng << 5;
            Some(rng as usize % max + 1)
        });
        let pieces = run(limits, data, &mut sizes);
        assert_eq!(whole, pieces, "chunking changed the result ({limits:?})");
        reencode(limits, &whole.tape);
    }
}

fn run(limits: Limits, data: &[u8], sizes: &mut dyn Iterator<Item = usize>) -> Outcome {
    let mut dec = Decoder::new(limits);
    let mut tape = Vec::new();
    let mut counted = 0;
    let mut rest = data;
    let mut fed = 0;
    let result = loop {
        if rest.is_empty() {
            break Ok(counted);
        }
        let n = sizes.next().unwrap_or(1).clamp(1, rest.len());
        fed += n;
        // Alternate between an empty and a non-empty `out`: both paths of the hand-over.
        let mut out = if counted % 2 == 0 { Vec::new() } else { b"prefix".to_vec() };
        let keep = out.len();
        let r = dec.feed(&rest[..n], &mut out);
        assert_eq!(&out[..keep], b"prefix".get(..keep).unwrap(), "feed touched earlier bytes of out");
        tape.extend_from_slice(&out[keep..]);
        rest = &rest[n..];
        match r {
            Ok(k) => {
                assert_eq!(k, walk(&out[keep..]), "count differs from the replies on the tape");
                counted += k;
                assert!(dec.buffered() <= 3 * fed + limits.max_line + 16, "buffered {} after {fed}", dec.buffered());
            }
            Err(e) => {
                let mut again = Vec::new();
                assert_eq!(dec.feed(b"+OK\r\n", &mut again), Err(e.clone()), "error not sticky");
                assert_eq!(dec.feed(b"", &mut again), Err(e.clone()), "error not sticky");
                assert!(again.is_empty());
                assert!(matches!(e.code(), "ERR_REDIS_PROTOCOL" | "ERR_REDIS_LIMIT"));
                assert!(!e.to_string().is_empty());
                break Err(e);
            }
        }
    };
    let total = walk(&tape);
    match &result {
        Ok(n) => assert_eq!(*n, total),
        Err(_) => assert!(counted <= total),
    }
    // Report the reply count from the tape so that an error in a later call compares
    // equal however many replies earlier calls counted.
    Outcome { tape, result: result.map(|_| total) }
}

/// Number of replies on `tape`, asserting it is exactly a sequence of well-formed replies.
fn walk(tape: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 0;
    let mut sink = Vec::new();
    while pos < tape.len() {
        let start = pos;
        to_resp(tape, &mut pos, &mut sink, 0);
        let (_, len) = read_value(&tape[start..]);
        assert_eq!(len, pos - start, "read_value and the walker disagree");
        n += 1;
    }
    assert_eq!(pos, tape.len());
    n
}

/// Every reply on `tape`, written back as RESP (streamed values as counted ones), must
/// decode to the same tape.
fn reencode(limits: Limits, tape: &[u8]) {
    let mut resp = Vec::new();
    let mut pos = 0;
    let mut n = 0;
    while pos < tape.len() {
        to_resp(tape, &mut pos, &mut resp, 0);
        n += 1;
    }
    let mut again = Vec::new();
    assert_eq!(Decoder::new(limits).feed(&resp, &mut again), Ok(n), "re-encoded replies fail");
    assert_eq!(again, tape, "re-encoded replies decode differently");
}

fn take<'a>(t: &'a [u8], pos: &mut usize, n: usize) -> &'a [u8] {
    let s = &t[*pos..*pos + n];
    *pos += n;
    s
}

fn u32_at(t: &[u8], pos: &mut usize) -> usize {
    u32::from_le_bytes(take(t, pos, 4).try_into().unwrap()) as usize
}

fn line(out: &mut Vec<u8>, ty: u8, text: &[u8]) {
    out.push(ty);
    out.extend_from_slice(text);
    out.extend_from_slice(b"\r\n");
}

/// Walks one reply (attributes and the value they annotate) and appends its RESP.
fn to_resp(t: &[u8], pos: &mut usize, out: &mut Vec<u8>, depth: usize) {
    assert!(depth <= 1024, "tape nested impossibly deep");
    loop {
        let tag = take(t, pos, 1)[0];
        match tag {
            tape::SIMPLE | tape::ERROR | tape::BIGNUM => {
                let n = u32_at(t, pos);
                let b = take(t, pos, n);
                assert!(!b.contains(&b'\n'), "line value contains LF");
                if tag == tape::BIGNUM {
                    let d = b.strip_prefix(b"-").unwrap_or(b);
                    assert!(!d.is_empty() && d.iter().all(u8::is_ascii_digit));
                }
                line(out, [0, b'+', b'-', 0, 0, 0, 0, 0, 0, 0, 0, 0, b'('][usize::from(tag)], b);
            }
            tape::INT => {
                let v = i64::from_le_bytes(take(t, pos, 8).try_into().unwrap());
                line(out, b':', v.to_string().as_bytes());
            }
            tape::BULK | tape::BLOBERR => {
                let n = u32_at(t, pos);
                line(out, if tag == tape::BULK { b'$' } else { b'!' }, n.to_string().as_bytes());
                out.extend_from_slice(take(t, pos, n));
                out.extend_from_slice(b"\r\n");
            }
            tape::VERBATIM => {
                let n = u32_at(t, pos);
                line(out, b'=', (n + 4).to_string().as_bytes());
                out.extend_from_slice(take(t, pos, 3));
                out.push(b':');
                out.extend_from_slice(take(t, pos, n));
                out.extend_from_slice(b"\r\n");
            }
            tape::NULL => line(out, b'_', b""),
            tape::DOUBLE => {
                let v = f64::from_le_bytes(take(t, pos, 8).try_into().unwrap());
                let s = match v {
                    v if v.is_nan() && v.is_sign_negative() => "-nan".to_string(),
                    v if v.is_nan() => "nan".to_string(),
                    v => format!("{v:e}"),
                };
                line(out, b',', s.as_bytes());
            }
            tape::BOOL => {
                let b = take(t, pos, 1)[0];
                line(out, b'#', [b"f", b"t"][usize::from(b)]);
            }
            tape::ARRAY | tape::MAP | tape::SET | tape::PUSH | tape::ATTR => {
                let n = u32_at(t, pos);
                let ty = [b'*', b'%', b'~', b'>', 0, 0, 0, 0, 0, b'|'][usize::from(tag - tape::ARRAY)];
                line(out, ty, n.to_string().as_bytes());
                let values = if matches!(tag, tape::MAP | tape::ATTR) { 2 * n } else { n };
                for _ in 0..values {
                    to_resp(t, pos, out, depth + 1);
                }
                if tag == tape::ATTR {
                    // The annotated value follows as part of the same reply.
                    continue;
                }
            }
            _ => panic!("bad tape tag {tag} at {}", *pos - 1),
        }
        return;
    }
}
