//! Entry points shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`) and the corpus
//! replay test (`tests/fuzz_corpus.rs`), so CI exercises on stable exactly what the
//! fuzzer runs on nightly. Each takes untrusted bytes and must never panic.

use std::sync::Arc;

use crate::config::{
    build_client_config, certified_key, parse_certs, parse_key, server_config, ClientOptions, KeyPair, ServerOptions,
};
use crate::record;

/// Feeds `data` as a client's bytes into a server-side connection built by our config
/// builder, through the driver's record processing.
pub fn server_accept(config: &Arc<rustls::ServerConfig>, data: &[u8]) {
    let Ok(mut conn) = record::new_server(config) else { return };
    let mut plain = Vec::new();
    // Split the input at a data-chosen point to exercise partial records too.
    let cut = data.first().map_or(0, |&b| b as usize % (data.len().max(1)));
    for part in [&data[..cut], &data[cut..]] {
        if record::process_incoming(&mut conn, part, &mut plain).is_err() {
            break;
        }
        let mut out = Vec::new();
        record::drain_outgoing(&mut conn, &mut out);
    }
    let _ = record::process_eof(&mut conn, &mut plain);
}

/// Feeds `data` as a server's answer into a client-side connection (after its
/// ClientHello has been produced).
pub fn client_response(ca_pem: &[u8], data: &[u8]) {
    let Ok(setup) = build_client_config(&ClientOptions {
        ca: Some(vec![ca_pem.to_vec()]),
        alpn: vec![b"h2".to_vec()],
        ..Default::default()
    }) else {
        return;
    };
    let Ok(mut conn) = record::new_client(&setup, "localhost") else { return };
    let mut hello = Vec::new();
    record::drain_outgoing(&mut conn, &mut hello);
    let mut plain = Vec::new();
    if record::process_incoming(&mut conn, data, &mut plain).is_ok() {
        let _ = record::process_eof(&mut conn, &mut plain);
    }
}

/// Runs our PEM and options loader on arbitrary bytes (as certificate, key, CA bundle
/// and SNI entry).
pub fn pem_config(data: &[u8]) {
    let _ = parse_certs(data, "fuzz");
    let _ = parse_key(data);
    let pair = KeyPair { cert: data.to_vec(), key: data.to_vec() };
    let _ = certified_key(&pair);
    let _ = build_client_config(&ClientOptions { ca: Some(vec![data.to_vec()]), ..Default::default() });
    let _ = server_config(&ServerOptions { sni: vec![("fuzz.test".into(), pair)], ..Default::default() });
}

/// A server configuration for [`server_accept`] from PEM certificate and key.
pub fn test_server_config(cert: &[u8], key: &[u8]) -> Arc<rustls::ServerConfig> {
    server_config(&ServerOptions {
        identity: Some(KeyPair { cert: cert.to_vec(), key: key.to_vec() }),
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        ..Default::default()
    })
    .expect("valid fuzz certificate")
}
