//! Replays the seed corpus of the `pg_decode` fuzz target (`fuzz/corpus/pg_decode`)
//! through the same entry point, plus every truncation and two bit flips of each byte of
//! each seed (`fuzz/seeds.rs`).

#[path = "../../../fuzz/seeds.rs"]
mod seeds;

use iocrate_postgres::fuzzing::decode;
use seeds::{concatenated, replay, seeds, Variations};

#[test]
fn decode_seeds() {
    let vary = Variations { cut_max: 300, flip_from: 1, flip_max: 300, flip_step: 1, xors: &[0x20, 0x61] };
    replay(&seeds("pg_decode", 25), decode, &vary);
}

#[test]
fn seeds_concatenated() {
    // Every message kind back to back (errors stop at the first bad one).
    concatenated(&seeds("pg_decode", 25), decode);
}
