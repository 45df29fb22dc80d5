//! Arbitrary server bytes as the response to a GET/HEAD/POST/CONNECT the client wrote.
//! The first byte picks the read size, the second the method.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_http::fuzzing::client_parse(data));
