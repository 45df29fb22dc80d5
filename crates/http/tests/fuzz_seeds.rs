//! Replays the seed corpora of the HTTP fuzz targets (`fuzz/corpus/http_*`) through the
//! same entry points, plus every truncation and a bit flip of each seed, so a stable
//! `cargo test` catches regressions the fuzzers once found (or would find first).

use std::fs;
use std::path::PathBuf;

use iocrate_http::fuzzing::{chunked, client_parse, server_parse};

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut out: Vec<Vec<u8>> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(!out.is_empty(), "no seeds in {}", dir.display());
    out.sort();
    out
}

fn replay(target: &str, f: fn(&[u8])) {
    for seed in seeds(target) {
        f(&seed);
        for cut in 0..seed.len() {
            f(&seed[..cut]);
        }
        for i in (0..seed.len()).step_by(3) {
            let mut flipped = seed.clone();
            flipped[i] ^= 0x20;
            f(&flipped);
        }
    }
}

#[test]
fn server_parse_seeds() {
    replay("http_server_parse", server_parse);
}

#[test]
fn client_parse_seeds() {
    replay("http_client_parse", client_parse);
}

#[test]
fn chunked_seeds() {
    replay("http_chunked", chunked);
}
