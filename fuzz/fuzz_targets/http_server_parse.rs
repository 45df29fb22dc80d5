//! Arbitrary client bytes into a server-role HTTP/1.1 connection with small limits.
//! The first byte picks how the rest is split into reads, so chunk boundaries vary.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_http::fuzzing::server_parse(data));
