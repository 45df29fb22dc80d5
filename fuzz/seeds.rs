//! Seed-corpus replay shared by the codec crates' `tests/fuzz_seeds.rs` (each includes this
//! file with `#[path = "../../../fuzz/seeds.rs"]`): the committed seeds of a cargo-fuzz
//! target go through its entry point whole, cut at every length, and with bytes flipped,
//! so a stable `cargo test` catches regressions the fuzzer once found (or would find first).

use std::fs;
use std::path::Path;

/// The committed seeds (`fuzz/corpus/<target>/seed-*`) of `target`, sorted: a local fuzz run
/// adds thousands of unnamed inputs beside them. Panics with fewer than `min`.
pub fn seeds(target: &str, min: usize) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut out: Vec<Vec<u8>> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("seed-"))
        .map(|p| fs::read(p).unwrap())
        .collect();
    assert!(out.len() >= min.max(1), "too few seeds in {} ({} < {min})", dir.display(), out.len());
    out.sort();
    out
}

/// How [`replay`] varies a seed.
pub struct Variations {
    /// Cuts at every length below this (and the seed's own).
    pub cut_max: usize,
    /// Flips bytes at positions `flip_from..min(len, flip_max)`, every `flip_step`-th.
    pub flip_from: usize,
    pub flip_max: usize,
    pub flip_step: usize,
    /// Each flipped byte is xored with these in turn (cumulatively), each result fed.
    pub xors: &'static [u8],
}

/// Feeds every seed to `f`: whole, cut, and with single bytes flipped (see [`Variations`]).
pub fn replay(seeds: &[Vec<u8>], f: impl Fn(&[u8]), v: &Variations) {
    for seed in seeds {
        f(seed);
        for cut in 0..seed.len().min(v.cut_max) {
            f(&seed[..cut]);
        }
        for i in (v.flip_from..seed.len().min(v.flip_max)).step_by(v.flip_step) {
            let mut flipped = seed.clone();
            for x in v.xors {
                flipped[i] ^= x;
                f(&flipped);
            }
        }
    }
}

/// The seeds back to back after their first byte (which the entry points read as a
/// setting), behind each of a few first bytes: pipelined input of every kind.
#[allow(dead_code)]
pub fn concatenated(seeds: &[Vec<u8>], f: impl Fn(&[u8])) {
    let all: Vec<u8> = seeds.iter().flat_map(|s| s[1..].to_vec()).collect();
    for first in [0u8, 1, 17, 200] {
        f(&[&[first][..], &all].concat());
    }
}
