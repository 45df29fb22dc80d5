//! Replays the seed corpus of the `redis_decode` fuzz target (`fuzz/corpus/redis_decode`)
//! through the same entry point, plus every truncation and two bit flips of each byte of
//! each seed (`fuzz/seeds.rs`).

#[path = "../../../fuzz/seeds.rs"]
mod seeds;

use iocrate_redis::fuzzing::decode;
use seeds::{concatenated, replay, seeds, Variations};

#[test]
fn decode_seeds() {
    let vary = Variations { cut_max: 400, flip_from: 1, flip_max: 400, flip_step: 1, xors: &[0x20, 0x60] };
    replay(&seeds("redis_decode", 25), decode, &vary);
}

#[test]
fn seeds_concatenated() {
    // Pipelined replies of every kind back to back (errors stop at the first bad one).
    concatenated(&seeds("redis_decode", 25), decode);
}
