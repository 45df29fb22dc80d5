//! Arbitrary bytes into every content-coding `Decoder` (gzip, deflate, br, identity), fed in
//! reads of varying size: never panics, never produces more than its output limit; the same
//! bytes also round-trip through every `Encoder`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_http::compress::fuzz_decoders(data));
