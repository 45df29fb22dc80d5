//! Arbitrary bytes through our PEM and options loader.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_tls::fuzzing::pem_config(data));
