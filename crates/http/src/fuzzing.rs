//! Entry points of the cargo-fuzz targets in `fuzz/`, here so that a stable `cargo test`
//! can replay their seed corpora (`tests/fuzz_seeds.rs`). Each asserts the invariants the
//! target checks; a panic is a finding.

use bytes::BytesMut;

use crate::{BodyDecoder, Client, Connection, Decoded, Event, Framing, Limits, Request, Server};

fn small_limits() -> Limits {
    Limits {
        max_request_line: 256,
        max_header_count: 8,
        max_header_bytes: 512,
        max_body_bytes: Some(4096),
        max_chunk_ext_bytes: 32,
        max_trailer_bytes: 256,
    }
}

/// Arbitrary client bytes into a server connection. The first byte picks the read size.
pub fn server_parse(data: &[u8]) {
    let Some((&split, data)) = data.split_first() else { return };
    let mut conn = Connection::<Server>::new(small_limits());
    let mut buf = BytesMut::new();
    let step = usize::from(split).max(1);
    for (i, piece) in data.chunks(step).enumerate() {
        buf.extend_from_slice(piece);
        if (i + 1) * step >= data.len() {
            conn.handle_eof();
        }
        loop {
            match conn.poll_event(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => {
                    assert!(conn.must_close(), "error {e:?} without must_close");
                    assert!(matches!(e.status(), 400 | 413 | 414 | 431 | 501 | 505));
                    assert_eq!(conn.poll_event(&mut buf), Err(e));
                    return;
                }
            }
        }
    }
}

/// Arbitrary server bytes as the response to a request the client wrote. The first byte
/// picks the read size, the second the request's method (which decides, for `HEAD` and
/// `CONNECT`, whether a body follows).
pub fn client_parse(data: &[u8]) {
    let [split, method, data @ ..] = data else { return };
    let method = ["GET", "HEAD", "POST", "CONNECT"][usize::from(*method) % 4];
    let target = if method == "CONNECT" { "example.com:443" } else { "/" };
    let mut conn = Connection::<Client>::new(small_limits());
    let mut out = Vec::new();
    let req = Request::new(method, target).header("Host", "example.com");
    conn.write_request(&req, Framing::None, &mut out).expect("a valid request");
    let _ = conn.write_end(&crate::Headers::new(), &mut out);
    let mut buf = BytesMut::new();
    let step = usize::from(*split).max(1);
    let mut body = 0usize;
    let mut finals = 0;
    for (i, piece) in data.chunks(step).enumerate() {
        buf.extend_from_slice(piece);
        if (i + 1) * step >= data.len() {
            conn.handle_eof();
        }
        loop {
            match conn.poll_event(&mut buf) {
                Ok(Some(Event::Head(res))) => {
                    assert!((100..=999).contains(&res.status));
                    if res.status >= 200 {
                        finals += 1;
                        assert_eq!(finals, 1, "a second final response to one request");
                    }
                }
                Ok(Some(Event::Data(d))) => {
                    assert!(!d.is_empty());
                    assert!(method != "HEAD", "a body for HEAD");
                    body += d.len();
                    assert!(body <= data.len());
                }
                Ok(Some(Event::End(_))) => assert_eq!(finals, 1),
                Ok(Some(Event::Upgrade(_))) => return,
                Ok(Some(Event::ExpectContinue)) => {}
                Ok(None) => break,
                Err(e) => {
                    assert!(conn.must_close(), "error {e:?} without must_close");
                    return;
                }
            }
        }
    }
}

/// Arbitrary bytes into the chunked body decoder, fed in reads of varying size.
pub fn chunked(data: &[u8]) {
    let Some((&split, data)) = data.split_first() else { return };
    let limits = Limits { max_chunk_ext_bytes: 32, max_trailer_bytes: 256, max_header_count: 8, ..Limits::default() };
    let mut dec = BodyDecoder::chunked();
    let mut buf = BytesMut::new();
    let step = usize::from(split).max(1);
    let mut body = 0usize;
    for piece in data.chunks(step) {
        buf.extend_from_slice(piece);
        loop {
            let before = buf.len();
            match dec.decode(&mut buf, false, &limits) {
                Ok(Some(Decoded::Data(d))) => {
                    assert!(!d.is_empty());
                    body += d.len();
                    assert!(body <= data.len());
                }
                Ok(Some(Decoded::End(_))) => return,
                Ok(None) => break,
                Err(_) => return,
            }
            assert!(buf.len() < before, "no progress");
        }
    }
}
