//! Entry point of the `pg_decode` cargo-fuzz target, here so that a stable `cargo test`
//! can replay its seed corpus (`tests/fuzz_seeds.rs`). Each run asserts the invariants
//! below; a panic is a finding.

use crate::auth::{parse_server_final, parse_server_first, ChannelBinding, Scram};
use crate::backend::{Decoder, Limits, Message};
use crate::types::tape::read_value;
use crate::{PgProtocolError, RowTape};

/// Tight limit so the fuzzer reaches the limit check quickly.
const SMALL: Limits = Limits { max_message: 64 };

/// What a whole run produced.
#[derive(Debug, PartialEq)]
struct Outcome {
    /// Debug form of every message, and of every row-tape error.
    messages: Vec<String>,
    /// Row tape of every DataRow that had a RowDescription before it.
    tape: Vec<u8>,
    error: Option<PgProtocolError>,
}

/// Arbitrary backend bytes (after a first byte that seeds the read sizes) into a
/// [`Decoder`] with a tight and with the default limit. Asserts: no panic; feeding the
/// bytes whole, one at a time and in pieces of varying size gives the same messages, row
/// tape and error; errors are sticky and carry a known code; the decoder never holds more
/// than it was fed; every DataRow after a RowDescription becomes a well-formed tape row
/// (one value per column, each read back exactly) or a protocol error that leaves the
/// tape untouched. Then the bytes go through the SCRAM parsers ([`scram`]).
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
    }
    scram(data);
}

fn run(limits: Limits, data: &[u8], sizes: &mut dyn Iterator<Item = usize>) -> Outcome {
    let mut dec = Decoder::new(limits);
    let mut out = Outcome { messages: Vec::new(), tape: Vec::new(), error: None };
    let mut row_tape: Option<RowTape> = None;
    let mut rest = data;
    let mut fed = 0;
    loop {
        loop {
            let before = dec.buffered();
            match dec.next() {
                Ok(Some(m)) => {
                    out.messages.push(format!("{m:?}"));
                    match &m {
                        Message::RowDescription(rd) => row_tape = Some(RowTape::new(rd)),
                        Message::DataRow(row) => {
                            if let Some(t) = &row_tape {
                                let start = out.tape.len();
                                match t.append_row(row, &mut out.tape) {
                                    Ok(()) => {
                                        let mut pos = start;
                                        for _ in 0..t.columns() {
                                            let (_, n) = read_value(&out.tape[pos..]);
                                            pos += n;
                                        }
                                        assert_eq!(pos, out.tape.len(), "row tape has extra bytes");
                                    }
                                    Err(e) => {
                                        assert_eq!(out.tape.len(), start, "failed row left bytes on the tape");
                                        assert_eq!(e.code(), "ERR_PG_PROTOCOL");
                                        out.messages.push(format!("row error: {e}"));
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                    drop(m);
                    assert!(dec.buffered() < before, "a message consumed nothing");
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(dec.next(), Err(e.clone()), "error not sticky");
                    dec.feed(b"I\0\0\0\x04");
                    assert_eq!(dec.next(), Err(e.clone()), "error not sticky");
                    assert!(matches!(e.code(), "ERR_PG_PROTOCOL" | "ERR_PG_LIMIT" | "ERR_PG_AUTH_UNSUPPORTED"));
                    assert!(!e.to_string().is_empty());
                    out.error = Some(e);
                    return out;
                }
            }
        }
        assert!(dec.buffered() <= fed);
        if rest.is_empty() {
            return out;
        }
        let n = sizes.next().unwrap_or(1).clamp(1, rest.len());
        dec.feed(&rest[..n]);
        fed += n;
        rest = &rest[n..];
    }
}

/// The bytes as SCRAM server-first and server-final messages. Asserts: no panic; a
/// parsed server-first round-trips its fields; a full exchange against a server nonce
/// that extends ours either fails cleanly or yields a client-final naming that nonce.
pub fn scram(data: &[u8]) {
    let _ = parse_server_final(data);
    if let Ok(sf) = parse_server_first(data) {
        assert!(sf.iterations >= 1);
        assert!(!sf.nonce.is_empty() && !sf.nonce.contains(','));
        // Keep the fuzzer fast: only small iteration counts go through PBKDF2.
        if sf.iterations <= 64 {
            for cb in [ChannelBinding::None, ChannelBinding::TlsServerEndPoint(vec![7; 32])] {
                let nonce = sf.nonce.get(..3).unwrap_or(sf.nonce);
                let mut s = Scram::with_nonce("", b"pencil", cb, nonce);
                s.client_first();
                match s.server_first(data) {
                    Ok(fin) => {
                        let fin = String::from_utf8(fin).unwrap();
                        assert!(fin.contains(&format!(",r={},p=", sf.nonce)), "{fin}");
                        let _ = s.server_final(data);
                    }
                    Err(e) => assert_eq!(e.code(), "ERR_PG_AUTH"),
                }
            }
        }
    }
}
