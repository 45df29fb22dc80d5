//! Helpers shared by the integration tests that talk to the `openssl` CLI: the test PKI
//! (generated once per test binary with `scripts/gen-test-certs.sh`), free ports, and
//! `openssl s_server` / `s_client` peers.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use iocrate_tls::{ClientOptions, KeyPair};

pub fn certs() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("iocrate-tls-certs-{}-{}", env!("CARGO_CRATE_NAME"), std::process::id()));
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/gen-test-certs.sh");
        let st = Command::new("bash").arg(script).arg(&dir).stdout(Stdio::null()).status().expect("bash");
        assert!(st.success(), "gen-test-certs.sh failed");
        dir
    })
}

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(certs().join(name)).unwrap()
}

pub fn pair(name: &str) -> KeyPair {
    KeyPair { cert: read(&format!("{name}.pem")), key: read(&format!("{name}.key")) }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A child process killed when dropped.
pub struct Peer(pub Child);
impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn s_server(port: u16, cert: &str, extra: &[&str]) -> Peer {
    let dir = certs();
    let child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-quiet", "-rev"])
        .arg("-cert")
        .arg(dir.join(format!("{cert}.pem")))
        .arg("-key")
        .arg(dir.join(format!("{cert}.key")))
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s_server did not start");
        std::thread::sleep(Duration::from_millis(30));
    }
    Peer(child)
}

/// `openssl s_server` that demands a client certificate signed by the test CA.
#[allow(dead_code)] // not every test binary uses every helper
pub fn s_server_requiring_client_cert(version: &str) -> (Peer, u16) {
    let port = free_port();
    let ca = certs().join("ca.pem");
    (s_server(port, "server", &["-Verify", "1", "-CAfile", ca.to_str().unwrap(), version]), port)
}

pub fn ca_opts() -> ClientOptions {
    ClientOptions { ca: Some(vec![read("ca.pem")]), ..Default::default() }
}

pub fn s_client(port: u16, extra: &[&str], input: &[u8]) -> (bool, String) {
    let ca = certs().join("ca.pem");
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-quiet", "-ign_eof", "-verify_return_error"])
        .arg("-CAfile")
        .arg(ca)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(10) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}
