//! Arbitrary client bytes into a server-side connection built by our config builder.
#![no_main]
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;

fn config() -> &'static Arc<iocrate_tls::rustls::ServerConfig> {
    static C: OnceLock<Arc<iocrate_tls::rustls::ServerConfig>> = OnceLock::new();
    C.get_or_init(|| iocrate_tls::fuzzing::test_server_config(include_bytes!("../certs/server.pem"), include_bytes!("../certs/server.key")))
}

fuzz_target!(|data: &[u8]| iocrate_tls::fuzzing::server_accept(config(), data));
