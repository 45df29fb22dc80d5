//! Replays the fuzz seed corpus (`fuzz/corpus/<target>/`) through the same entry points
//! the fuzz targets call, so CI runs them on stable.

use std::path::PathBuf;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn replay_tls_server_accept() {
    let d = fuzz_dir().join("certs");
    let config = iocrate_tls::fuzzing::test_server_config(
        &std::fs::read(d.join("server.pem")).unwrap(),
        &std::fs::read(d.join("server.key")).unwrap(),
    );
    for seed in corpus("tls_server_accept") {
        iocrate_tls::fuzzing::server_accept(&config, &seed);
        // Truncations and bit flips of each seed, cheaply.
        for n in [0, 1, 5, seed.len() / 2] {
            iocrate_tls::fuzzing::server_accept(&config, &seed[..n.min(seed.len())]);
        }
        let mut flipped = seed.clone();
        for i in (0..flipped.len()).step_by(7) {
            flipped[i] ^= 0x5a;
        }
        iocrate_tls::fuzzing::server_accept(&config, &flipped);
    }
}

#[test]
fn replay_tls_client_response() {
    let ca = std::fs::read(fuzz_dir().join("certs/ca.pem")).unwrap();
    for seed in corpus("tls_client_response") {
        iocrate_tls::fuzzing::client_response(&ca, &seed);
        iocrate_tls::fuzzing::client_response(&ca, &seed[..seed.len() / 3]);
    }
}

#[test]
fn replay_pem_config() {
    for seed in corpus("pem_config") {
        iocrate_tls::fuzzing::pem_config(&seed);
        iocrate_tls::fuzzing::pem_config(&seed[..seed.len() / 2]);
    }
}
