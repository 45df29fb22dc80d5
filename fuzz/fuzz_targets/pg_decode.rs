//! Arbitrary bytes into the PostgreSQL backend decoder with tight and default limits, fed
//! whole, one byte at a time and in pieces of varying size; messages, row tapes and errors
//! must agree and tapes be well-formed. The same bytes also go through the SCRAM
//! server-first / server-final parsers.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| iocrate_postgres::fuzzing::decode(data));
