//! Arbitrary bytes into the chunked body decoder, fed in reads of varying size.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_http::fuzzing::chunked(data));
