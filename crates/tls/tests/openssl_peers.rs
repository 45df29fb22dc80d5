//! Wire tests against the `openssl` CLI: our client ↔ `openssl s_server`, `openssl
//! s_client` ↔ our server, plus the verification failures and garbage handling.
//! Every peer is spawned on a free port and bounded in time.

mod common;
use common::*;
use std::io::Write;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iocrate_net::tcp::{AcceptedSocket, ServerEvents, TcpServer};
use iocrate_net::{ConnectOptions, Credit, ListenOptions, NetError, SocketAddress, StreamEvents, StreamOptions};
use iocrate_tls::config::{client_config, server_config};
use iocrate_tls::{codes, ClientOptions, ServerOptions, TlsConn, TlsVersion};

#[derive(Debug)]
enum Ev {
    Connect,
    Data(Vec<u8>),
    End,
    Error(NetError),
    Close,
}

struct Chan(Mutex<Sender<Ev>>);
impl StreamEvents for Chan {
    fn on_connect(&self) {
        let _ = self.0.lock().unwrap().send(Ev::Connect);
    }
    fn on_data(&self, d: Vec<u8>, _c: Credit) {
        let _ = self.0.lock().unwrap().send(Ev::Data(d));
    }
    fn on_end(&self) {
        let _ = self.0.lock().unwrap().send(Ev::End);
    }
    fn on_drain(&self) {}
    fn on_timeout(&self) {}
    fn on_error(&self, e: NetError) {
        let _ = self.0.lock().unwrap().send(Ev::Error(e));
    }
    fn on_close(&self, _h: bool) {
        let _ = self.0.lock().unwrap().send(Ev::Close);
    }
}

fn chan() -> (Arc<Chan>, Receiver<Ev>) {
    let (tx, rx) = channel();
    (Arc::new(Chan(Mutex::new(tx))), rx)
}

fn next(rx: &Receiver<Ev>) -> Ev {
    rx.recv_timeout(Duration::from_secs(10)).expect("event within 10 s")
}

fn connect(port: u16, opts: ClientOptions, name: &str) -> (Arc<TlsConn>, Receiver<Ev>) {
    let (ev, rx) = chan();
    let setup = client_config(&opts).unwrap();
    let co = ConnectOptions { host: "127.0.0.1".into(), port, ..Default::default() };
    (TlsConn::connect(co, setup, name, Some(Duration::from_secs(10)), ev), rx)
}

fn expect_error(rx: &Receiver<Ev>) -> NetError {
    loop {
        match next(rx) {
            Ev::Error(e) => return e,
            Ev::Close => panic!("closed without error"),
            _ => {}
        }
    }
}

#[test]
fn client_against_s_server_tls12_and_tls13() {
    for (flag, want) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let port = free_port();
        let _peer = s_server(port, "server", &[flag]);
        let (conn, rx) = connect(port, ca_opts(), "localhost");
        assert!(matches!(next(&rx), Ev::Connect));
        let info = conn.info().unwrap();
        assert_eq!(info.protocol, Some(want));
        assert!(info.authorized);
        assert!(!info.peer_certs.is_empty());
        conn.write(b"hello\n").unwrap();
        let mut got = Vec::new();
        while !got.ends_with(b"\n") {
            match next(&rx) {
                Ev::Data(d) => got.extend(d),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got, b"olleh\n");
        conn.destroy();
    }
}

#[test]
fn client_verifies_by_ip_and_ec_keys() {
    let port = free_port();
    let _peer = s_server(port, "ec", &[]);
    let (_conn, rx) = connect(port, ca_opts(), "127.0.0.1");
    assert!(matches!(next(&rx), Ev::Connect));
}

#[test]
fn verification_failures_have_clear_codes() {
    let cases = [
        ("other", "localhost", codes::CERT_UNTRUSTED),
        ("server", "wrong.example", codes::HOSTNAME_MISMATCH),
        ("expired", "localhost", codes::CERT_EXPIRED),
    ];
    for (cert, name, code) in cases {
        let port = free_port();
        let _peer = s_server(port, cert, &[]);
        let (_conn, rx) = connect(port, ca_opts(), name);
        let e = expect_error(&rx);
        assert_eq!(e.code, code, "{cert}/{name}: {e}");
    }
    // The opt-out still reports what verification would have said.
    let port = free_port();
    let _peer = s_server(port, "other", &[]);
    let opts = ClientOptions { dangerously_disable_certificate_verification: true, ..ca_opts() };
    let (conn, rx) = connect(port, opts, "localhost");
    assert!(matches!(next(&rx), Ev::Connect));
    let info = conn.info().unwrap();
    assert!(!info.authorized);
    assert_eq!(info.authorization_error.as_ref().unwrap().code, codes::CERT_UNTRUSTED);
}

#[test]
fn alert_from_server_is_typed() {
    // s_server requiring a client certificate: we present none, it sends an alert.
    let (_peer, port) = s_server_requiring_client_cert("-tls1_2");
    let (_conn, rx) = connect(port, ca_opts(), "localhost");
    let e = expect_error(&rx);
    assert!(e.code == codes::ALERT || e.code == "ECONNRESET", "{e}");
}

#[test]
fn alert_that_arrived_before_a_failed_write_is_reported() {
    // TLS 1.3: our handshake is done before the server checks for a client certificate,
    // so its alert arrives after `Connect`. Reading is paused, so the alert and the FIN
    // wait unread; a write then makes the server answer with a reset, and the next one
    // fails with EPIPE. The error reported is the alert that explains it.
    let (_peer, port) = s_server_requiring_client_cert("-tls1_3");
    let (conn, rx) = connect(port, ca_opts(), "localhost");
    conn.pause();
    assert!(matches!(next(&rx), Ev::Connect));
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..20 {
        if conn.write(b"x\n").is_err() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let e = expect_error(&rx);
    assert_eq!(e.code, codes::ALERT, "{e}");
    assert!(e.message.contains("certificate_required") || e.message.contains("CertificateRequired"), "{e}");
}

struct Acceptor {
    config: Arc<rustls::ServerConfig>,
    events: Mutex<Sender<(Arc<TlsConn>, Receiver<Ev>)>>,
}
impl ServerEvents for Acceptor {
    fn on_connection(&self, a: AcceptedSocket) {
        let (ev, rx) = chan();
        let c = TlsConn::accept(
            a.sock,
            Some(a.guard),
            &self.config,
            &StreamOptions::default(),
            Some(Duration::from_secs(5)),
            ev,
        );
        c.start();
        let _ = self.events.lock().unwrap().send((c, rx));
    }
    fn on_drop(&self, _r: Option<SocketAddress>) {}
    fn on_error(&self, _e: NetError) {}
    fn on_close(&self) {}
}

/// Accepted connections with their event receivers.
type Accepted = Receiver<(Arc<TlsConn>, Receiver<Ev>)>;

fn serve(opts: ServerOptions) -> (Arc<TcpServer>, u16, Accepted) {
    let (tx, rx) = channel();
    let config = server_config(&opts).unwrap();
    let lo = ListenOptions { host: "127.0.0.1".into(), ..Default::default() };
    let server = TcpServer::bind(&lo, Arc::new(Acceptor { config, events: Mutex::new(tx) })).unwrap();
    server.start();
    let port = server.local_addr().port();
    (server, port, rx)
}

/// Echoes until the peer ends, then ends.
fn echo(conn: Arc<TlsConn>, rx: Receiver<Ev>) -> std::thread::JoinHandle<Vec<Ev>> {
    echo_with(conn, rx, false)
}

/// Echoes; with `end_after_line`, ends once a newline has been echoed (for `s_client
/// -ign_eof`, which waits for the server to close).
fn echo_with(conn: Arc<TlsConn>, rx: Receiver<Ev>, end_after_line: bool) -> std::thread::JoinHandle<Vec<Ev>> {
    std::thread::spawn(move || {
        let mut seen = Vec::new();
        while let Ok(ev) = rx.recv_timeout(Duration::from_secs(10)) {
            match &ev {
                Ev::Data(d) => {
                    let _ = conn.write(d);
                    if end_after_line && d.ends_with(b"\n") {
                        conn.end();
                    }
                }
                Ev::End => conn.end(),
                Ev::Close => {
                    seen.push(ev);
                    break;
                }
                _ => {}
            }
            seen.push(ev);
        }
        seen
    })
}

/// Takes the next accepted connection on another thread and echoes on it (ending after
/// the first line); joins to the connection.
fn accept_echo(conns: &Arc<Mutex<Accepted>>) -> std::thread::JoinHandle<(Arc<TlsConn>, Vec<Ev>)> {
    let conns = conns.clone();
    std::thread::spawn(move || {
        let (conn, rx) = conns.lock().unwrap().recv_timeout(Duration::from_secs(10)).unwrap();
        let seen = echo_with(conn.clone(), rx, true).join().unwrap();
        (conn, seen)
    })
}

#[test]
fn s_client_against_our_server() {
    for ver in ["-tls1_2", "-tls1_3"] {
        let (server, port, conns) = serve(ServerOptions { identity: Some(pair("server")), ..Default::default() });
        let conns = Arc::new(Mutex::new(conns));
        let h = accept_echo(&conns);
        let (ok, out) =
            s_client(port, &[ver, "-servername", "localhost", "-verify_hostname", "localhost"], b"ping over tls\n");
        let (conn, seen) = h.join().unwrap();
        assert!(out.contains("ping over tls"), "{ver}: ok={ok} {out}\n{seen:?}");
        let info = conn.info().unwrap();
        assert_eq!(info.servername.as_deref(), Some("localhost"));
        assert_eq!(info.protocol, Some(if ver == "-tls1_2" { "TLSv1.2" } else { "TLSv1.3" }));
        server.close();
    }
}

#[test]
fn sni_alpn_and_client_certs() {
    let ca = certs().join("ca.pem");
    let opts = ServerOptions {
        identity: Some(pair("server")),
        sni: vec![("a.sni.test".into(), pair("sni-a")), ("b.sni.test".into(), pair("sni-b"))],
        alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        request_cert: true,
        require_cert: true,
        ca: Some(vec![read("ca.pem")]),
        ..Default::default()
    };
    let (_server, port, conns) = serve(opts);
    let conns = Arc::new(Mutex::new(conns));
    // Without a client certificate: refused.
    // (s_client's exit status is not reliable here: with TLS 1.3 the refusal comes after
    // its handshake is done. Our server's error is what is checked.)
    let _ = s_client(port, &["-servername", "a.sni.test"], b"x\n");
    let (_c, rx) = conns.lock().unwrap().recv_timeout(Duration::from_secs(5)).unwrap();
    let e = expect_error(&rx);
    assert_eq!(e.code, codes::HANDSHAKE, "{e}");
    // With one: accepted, SNI picks the cert, ALPN agrees.
    let cert = certs().join("client.pem");
    let key = certs().join("client.key");
    let h = accept_echo(&conns);
    let (_ok, out) = s_client(
        port,
        &[
            "-servername",
            "b.sni.test",
            "-verify_hostname",
            "b.sni.test",
            "-alpn",
            "http/1.1",
            "-cert",
            cert.to_str().unwrap(),
            "-key",
            key.to_str().unwrap(),
            "-CAfile",
            ca.to_str().unwrap(),
        ],
        b"sni\n",
    );
    let (conn, _) = h.join().unwrap();
    assert!(out.contains("sni"), "{out}");
    let info = conn.info().unwrap();
    assert_eq!(info.servername.as_deref(), Some("b.sni.test"));
    assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
    assert!(info.authorized);
    let ci = iocrate_tls::CertInfo::from_der(&info.peer_certs[0]).unwrap();
    assert!(ci.subject.contains(&("CN".to_string(), "iocrate-test-client".to_string())));
}

#[test]
fn garbage_is_a_typed_error_and_the_server_survives() {
    let (_server, port, conns) = serve(ServerOptions { identity: Some(pair("server")), ..Default::default() });
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (_c, rx) = conns.recv_timeout(Duration::from_secs(5)).unwrap();
    let e = expect_error(&rx);
    assert_eq!(e.code, codes::HANDSHAKE, "{e}");
    let conns = Arc::new(Mutex::new(conns));
    let h = accept_echo(&conns);
    let (_ok, out) = s_client(port, &["-servername", "localhost"], b"still here\n");
    h.join().unwrap();
    assert!(out.contains("still here"), "{out}");
}

#[test]
fn our_client_against_our_server_resumes_and_moves_bulk() {
    for v in [TlsVersion::Tls12, TlsVersion::Tls13] {
        let (_server, port, conns) = serve(ServerOptions {
            identity: Some(pair("server")),
            max_version: Some(v),
            min_version: Some(v),
            ..Default::default()
        });
        let opts = ClientOptions { alpn: vec![format!("resume-{v:?}").into_bytes()], ..ca_opts() };
        let mut reused = Vec::new();
        for round in 0..2 {
            let (conn, rx) = connect(port, opts.clone(), "localhost");
            let (sc, srx) = conns.recv_timeout(Duration::from_secs(5)).unwrap();
            let h = echo(sc, srx);
            assert!(matches!(next(&rx), Ev::Connect));
            reused.push(conn.info().unwrap().session_reused);
            let total = if round == 0 { 4 << 20 } else { 1000 };
            let chunk = vec![7u8; 100_000];
            let mut sent = 0;
            while sent < total {
                let n = chunk.len().min(total - sent);
                conn.write(&chunk[..n]).unwrap();
                sent += n;
            }
            conn.end();
            let mut got = 0;
            loop {
                match next(&rx) {
                    Ev::Data(d) => got += d.len(),
                    Ev::End => {}
                    Ev::Close => break,
                    Ev::Error(e) => panic!("{e}"),
                    Ev::Connect => {}
                }
            }
            assert_eq!(got, total);
            h.join().unwrap();
            // TLS 1.3 tickets arrive after the handshake; give them a moment.
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(reused, vec![false, true], "{v:?}");
    }
}
