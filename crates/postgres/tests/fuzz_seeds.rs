//! Replays the seed corpus of the `pg_decode` fuzz target (`fuzz/corpus/pg_decode`)
//! through the same entry point, plus every truncation and two bit flips of each byte of
//! each seed, so a stable `cargo test` catches regressions the fuzzer once found (or
//! would find first).

use std::fs;
use std::path::PathBuf;

use iocrate_postgres::fuzzing::decode;

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut out: Vec<Vec<u8>> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        // Only the committed seeds: a local fuzz run adds thousands of unnamed inputs.
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seed-"))
        .map(|p| fs::read(p).unwrap())
        .collect();
    assert!(out.len() >= 25, "too few seeds in {}", dir.display());
    out.sort();
    out
}

#[test]
fn decode_seeds() {
    for seed in seeds("pg_decode") {
        decode(&seed);
        for cut in 0..seed.len().min(300) {
            decode(&seed[..cut]);
        }
        for i in 1..seed.len().min(300) {
            let mut flipped = seed.clone();
            flipped[i] ^= 0x20;
            decode(&flipped);
            flipped[i] ^= 0x61;
            decode(&flipped);
        }
    }
}

#[test]
fn seeds_concatenated() {
    // Every message kind back to back (errors stop at the first bad one).
    let all: Vec<u8> = seeds("pg_decode").iter().flat_map(|s| s[1..].to_vec()).collect();
    for first in [0u8, 1, 17, 200] {
        decode(&[&[first][..], &all].concat());
    }
}
