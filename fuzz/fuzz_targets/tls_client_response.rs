//! Arbitrary server bytes in answer to our client's ClientHello.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_tls::fuzzing::client_response(include_bytes!("../certs/ca.pem"), data));
