//! Arbitrary bytes into the WebSocket decoder, both roles, with and without
//! permessage-deflate, read in pieces of varying size.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_websocket::fuzzing::decode(data));
