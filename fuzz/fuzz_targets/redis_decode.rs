//! Arbitrary bytes into the RESP decoder with tight and default limits, fed whole, one
//! byte at a time and in pieces of varying size; the tape must agree and be well-formed.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_redis::fuzzing::decode(data));
