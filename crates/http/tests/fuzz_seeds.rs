//! Replays the seed corpora of the HTTP fuzz targets (`fuzz/corpus/http_*`) through the
//! same entry points, plus every truncation and a bit flip of each seed (`fuzz/seeds.rs`).

#[path = "../../../fuzz/seeds.rs"]
mod seeds;

use iocrate_http::fuzzing::{chunked, client_parse, server_parse};
use seeds::{replay, seeds, Variations};

const VARY: Variations = Variations { cut_max: usize::MAX, flip_from: 0, flip_max: usize::MAX, flip_step: 3, xors: &[0x20] };

#[test]
fn server_parse_seeds() {
    replay(&seeds("http_server_parse", 1), server_parse, &VARY);
}

#[test]
fn client_parse_seeds() {
    replay(&seeds("http_client_parse", 1), client_parse, &VARY);
}

#[test]
fn chunked_seeds() {
    replay(&seeds("http_chunked", 1), chunked, &VARY);
}
