//! Arbitrary client bytes into a server-role HTTP/1.1 connection with small limits.
//! The first byte picks how the rest is split into reads, so chunk boundaries vary.
#![no_main]
use iocrate_http::bytes::BytesMut;
use iocrate_http::{Connection, Limits, Server};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&split, data)) = data.split_first() else { return };
    let limits = Limits {
        max_request_line: 256,
        max_header_count: 8,
        max_header_bytes: 512,
        max_body_bytes: Some(4096),
        max_chunk_ext_bytes: 32,
        max_trailer_bytes: 256,
    };
    let mut conn = Connection::<Server>::new(limits);
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
});
