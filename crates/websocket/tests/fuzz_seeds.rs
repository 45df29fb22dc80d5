//! Replays the seed corpus of the `ws_decode` fuzz target (`fuzz/corpus/ws_decode`)
//! through the same entry point, plus every truncation and a bit flip of each seed
//! (`fuzz/seeds.rs`).

#[path = "../../../fuzz/seeds.rs"]
mod seeds;

use iocrate_websocket::fuzzing::decode;
use seeds::{replay, seeds, Variations};

#[test]
fn decode_seeds() {
    let vary = Variations { cut_max: 400, flip_from: 0, flip_max: usize::MAX, flip_step: 3, xors: &[0x20, 0x60] };
    replay(&seeds("ws_decode", 1), decode, &vary);
}
