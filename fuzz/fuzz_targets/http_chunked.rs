//! Arbitrary bytes into the chunked body decoder, fed in reads of varying size.
#![no_main]
use iocrate_http::bytes::BytesMut;
use iocrate_http::{BodyDecoder, Decoded, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
});
