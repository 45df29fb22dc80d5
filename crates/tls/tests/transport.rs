//! `TlsTransport` (TLS as an `iocrate_net::Transport`): against `openssl s_client` and
//! `openssl s_server`, against itself with 10 MiB each way, ALPN/SNI in `info()`,
//! verification failures, handshake timeouts and end of stream (`close_notify`, TCP EOF).

mod common;
use common::*;
use std::io::{self, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use iocrate_net::tcp::Sock;
use iocrate_net::{NetError, Transport};
use iocrate_tls::config::{client_config, server_config};
use iocrate_tls::{codes, tls_error_of, ClientOptions, ServerOptions, TlsTransport, TlsVersion};
use tokio::net::{TcpListener, TcpStream};

const T: Option<Duration> = Some(Duration::from_secs(10));

fn http11() -> Vec<Vec<u8>> {
    vec![b"http/1.1".to_vec()]
}

async fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

async fn accept_sock(l: &TcpListener) -> Sock {
    Sock::Tcp(l.accept().await.unwrap().0)
}

async fn connect_sock(port: u16) -> Sock {
    Sock::Tcp(TcpStream::connect(("127.0.0.1", port)).await.unwrap())
}

/// Reads until end of stream or `until` returns true for what was read so far.
async fn read_until<Tr: Transport>(t: &Tr, got: &mut Vec<u8>, until: impl Fn(&[u8]) -> bool) -> io::Result<bool> {
    loop {
        if until(got) {
            return Ok(false);
        }
        match t.try_read(got) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => t.readable().await?,
            Err(e) => return Err(e),
        }
    }
}

/// Reads to end of stream.
async fn read_to_end<Tr: Transport>(t: &Tr) -> io::Result<Vec<u8>> {
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), read_until(t, &mut got, |_| false)).await.expect("EOF in time")?;
    Ok(got)
}

/// Writes everything and flushes it.
async fn write_all<Tr: Transport>(t: &Tr, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match t.try_write(data) {
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => t.writable().await?,
            Err(e) => return Err(e),
        }
    }
    flush_all(t).await
}

async fn flush_all<Tr: Transport>(t: &Tr) -> io::Result<()> {
    while t.has_pending_output() {
        match t.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => t.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// What a driver does: sends `send` then ends, while reading everything the peer sends
/// until its end, in one loop waiting on readability and writability together.
async fn exchange<Tr: Transport>(t: &Tr, send: &[u8]) -> Vec<u8> {
    let (mut sent, mut got, mut shut, mut eof) = (0, Vec::new(), false, false);
    loop {
        while sent < send.len() {
            match t.try_write(&send[sent..]) {
                Ok(n) => sent += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("write: {e}"),
            }
        }
        if sent == send.len() && !shut {
            t.shutdown_write().unwrap();
            shut = true;
        }
        if t.has_pending_output() {
            match t.flush() {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => panic!("flush: {e}"),
            }
        }
        while !eof {
            match t.try_read(&mut got) {
                Ok(0) => eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("read: {e}"),
            }
        }
        if eof && shut && !t.has_pending_output() {
            return got;
        }
        let want_write = sent < send.len() || t.has_pending_output();
        tokio::select! {
            r = t.readable(), if !eof => r.unwrap(),
            r = t.writable(), if want_write => r.unwrap(),
        }
    }
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn code_of(e: &io::Error) -> &'static str {
    tls_error_of(e).unwrap_or_else(|| panic!("not a TLS error: {e}")).code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_against_s_client() {
    for (ver, want) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let config = server_config(&ServerOptions {
            identity: Some(pair("server")),
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            ..Default::default()
        })
        .unwrap();
        let (l, port) = listener().await;
        let client = tokio::task::spawn_blocking(move || {
            s_client(
                port,
                &[ver, "-servername", "localhost", "-verify_hostname", "localhost", "-alpn", "http/1.1"],
                b"ping over tls\n",
            )
        });
        let t = TlsTransport::accept(accept_sock(&l).await, config, T).await.unwrap();
        let info = t.info();
        assert_eq!(info.protocol, Some(want));
        assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(info.servername.as_deref(), Some("localhost"));
        assert!(info.cipher.is_some());
        assert!(!t.is_client());
        assert!(t.peer_addr().is_some());
        let mut got = Vec::new();
        let eof = read_until(&t, &mut got, |g| g.ends_with(b"\n")).await.unwrap();
        assert!(!eof);
        assert_eq!(got, b"ping over tls\n");
        write_all(&t, b"pong: ping over tls\n").await.unwrap();
        t.shutdown_write().unwrap();
        flush_all(&t).await.unwrap();
        let (_ok, out) = client.await.unwrap();
        assert!(out.contains("pong: ping over tls"), "{ver}: {out}");
        // s_client exits once we closed: our side sees the end of its stream.
        assert!(read_to_end(&t).await.unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_reports_the_alert_that_preceded_it() {
    // TLS 1.3: the server refuses our (missing) certificate after our handshake is done.
    // Nothing reads, so its alert and FIN wait unread; a write makes it answer with a
    // reset and a later one fails (EPIPE). The error is the alert, as a TLS error.
    let (_peer, port) = s_server_requiring_client_cert("-tls1_3");
    let setup = client_config(&ca_opts()).unwrap();
    let t = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut err = None;
    for _ in 0..40 {
        match t.try_write(b"x\n").and_then(|_| Transport::flush(&t)) {
            Ok(()) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let e = err.expect("a write fails once the server is gone");
    assert_eq!(code_of(&e), codes::ALERT, "{e}");
    // Later writes and reads report the same.
    assert_eq!(code_of(&t.try_write(b"y").unwrap_err()), codes::ALERT);
    assert_eq!(code_of(&t.try_read(&mut Vec::new()).unwrap_err()), codes::ALERT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_against_s_server() {
    for (flag, want) in [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")] {
        let port = free_port();
        let _peer = s_server(port, "server", &[flag, "-alpn", "http/1.1"]);
        let setup = client_config(&ClientOptions { alpn: http11(), ..ca_opts() }).unwrap();
        let t = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap();
        let info = t.info();
        assert_eq!(info.protocol, Some(want));
        assert_eq!(info.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(info.servername.as_deref(), Some("localhost"));
        assert!(info.authorized);
        assert!(!info.peer_certs.is_empty());
        assert!(t.is_client());
        write_all(&t, b"hello\n").await.unwrap();
        let mut got = Vec::new();
        read_until(&t, &mut got, |g| g.ends_with(b"\n")).await.unwrap();
        assert_eq!(got, b"olleh\n");
        t.shutdown_write().unwrap();
        flush_all(&t).await.unwrap();
    }
}

/// Accepts one connection with `config` on a task.
fn serve_one(
    l: TcpListener,
    config: Arc<rustls::ServerConfig>,
    timeout: Option<Duration>,
) -> tokio::task::JoinHandle<Result<TlsTransport, NetError>> {
    tokio::spawn(async move { TlsTransport::accept(accept_sock(&l).await, config, timeout).await })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mib_both_ways_with_alpn_and_sni() {
    const LEN: usize = 10 << 20;
    for v in [TlsVersion::Tls13, TlsVersion::Tls12] {
        let config = server_config(&ServerOptions {
            identity: Some(pair("server")),
            alpn: http11(),
            min_version: Some(v),
            max_version: Some(v),
            ..Default::default()
        })
        .unwrap();
        let (l, port) = listener().await;
        let server = tokio::spawn(async move {
            let t = TlsTransport::accept(accept_sock(&l).await, config, T).await.unwrap();
            let got = exchange(&t, &pattern(LEN, 2)).await;
            (t.info(), got)
        });
        let setup = client_config(&ClientOptions { alpn: http11(), ..ca_opts() }).unwrap();
        let t = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap();
        let got = tokio::time::timeout(Duration::from_secs(60), exchange(&t, &pattern(LEN, 1))).await.unwrap();
        let (sinfo, sgot) = server.await.unwrap();
        assert_eq!(got.len(), LEN, "{v:?}");
        assert!(got == pattern(LEN, 2), "{v:?}: client received different bytes");
        assert_eq!(sgot.len(), LEN, "{v:?}");
        assert!(sgot == pattern(LEN, 1), "{v:?}: server received different bytes");
        let cinfo = t.info();
        assert_eq!(cinfo.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(sinfo.alpn.as_deref(), Some(&b"http/1.1"[..]));
        assert_eq!(sinfo.servername.as_deref(), Some("localhost"));
        assert_eq!(cinfo.protocol, sinfo.protocol);
        assert_eq!(cinfo.cipher, sinfo.cipher);
        assert!(cinfo.authorized);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sni_picks_the_certificate_and_is_visible() {
    let config = server_config(&ServerOptions {
        identity: Some(pair("server")),
        sni: vec![("a.sni.test".into(), pair("sni-a")), ("b.sni.test".into(), pair("sni-b"))],
        ..Default::default()
    })
    .unwrap();
    let (l, port) = listener().await;
    let server = serve_one(l, config, T);
    let setup = client_config(&ca_opts()).unwrap();
    let t = TlsTransport::connect(connect_sock(port).await, &setup, "b.sni.test", T).await.unwrap();
    let s = server.await.unwrap().unwrap();
    assert_eq!(s.info().servername.as_deref(), Some("b.sni.test"));
    assert_eq!(t.info().servername.as_deref(), Some("b.sni.test"));
    assert!(t.info().authorized);
    let leaf = iocrate_tls::CertInfo::from_der(&t.info().peer_certs[0]).unwrap();
    assert!(leaf.subject.contains(&("CN".to_string(), "b.sni.test".to_string())), "{:?}", leaf.subject);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_ca_fails_with_the_tlsconn_codes() {
    // Against openssl: the same code the TlsConn tests expect.
    let port = free_port();
    let _peer = s_server(port, "other", &[]);
    let setup = client_config(&ca_opts()).unwrap();
    let e = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap_err();
    assert_eq!(e.code, codes::CERT_UNTRUSTED, "{e}");
    assert_eq!(e.syscall, "handshake");
    // Against ourselves: the client refuses, the server gets the client's alert.
    let config = server_config(&ServerOptions { identity: Some(pair("other")), ..Default::default() }).unwrap();
    let (l, port) = listener().await;
    let server = serve_one(l, config, T);
    let e = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap_err();
    assert_eq!(e.code, codes::CERT_UNTRUSTED, "{e}");
    let se = server.await.unwrap().unwrap_err();
    assert_eq!(se.code, codes::ALERT, "{se}");
    // Hostname mismatch and a bad server name.
    let config = server_config(&ServerOptions { identity: Some(pair("server")), ..Default::default() }).unwrap();
    let (l, port) = listener().await;
    let _server = serve_one(l, config, T);
    let e = TlsTransport::connect(connect_sock(port).await, &setup, "wrong.example", T).await.unwrap_err();
    assert_eq!(e.code, codes::HOSTNAME_MISMATCH, "{e}");
    let (_l, port) = listener().await;
    let e = TlsTransport::connect(connect_sock(port).await, &setup, "bad name!", T).await.unwrap_err();
    assert_eq!(e.code, codes::BAD_CONFIG, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_times_out_against_a_silent_peer() {
    // Client side: the server accepts and says nothing.
    let (l, port) = listener().await;
    let silent = tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(3)).await;
        drop(s);
    });
    let setup = client_config(&ca_opts()).unwrap();
    let start = Instant::now();
    let e = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", Some(Duration::from_millis(300)))
        .await
        .unwrap_err();
    assert_eq!(e.code, codes::HANDSHAKE, "{e}");
    assert!(e.message.contains("timed out after 300 ms"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(2));
    silent.abort();
    // Server side: the client connects and says nothing.
    let config = server_config(&ServerOptions { identity: Some(pair("server")), ..Default::default() }).unwrap();
    let (l, port) = listener().await;
    let server = serve_one(l, config, Some(Duration::from_millis(300)));
    let _quiet = connect_sock(port).await;
    let e = server.await.unwrap().unwrap_err();
    assert_eq!(e.code, codes::HANDSHAKE, "{e}");
    // A peer that closes during the handshake: ECONNRESET, as TlsConn reports it.
    let config = server_config(&ServerOptions { identity: Some(pair("server")), ..Default::default() }).unwrap();
    let (l, port) = listener().await;
    let server = serve_one(l, config, T);
    drop(connect_sock(port).await);
    let e = server.await.unwrap().unwrap_err();
    assert_eq!(e.code, "ECONNRESET", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_notify_and_tcp_eof_read_as_end_of_stream() {
    let config = server_config(&ServerOptions { identity: Some(pair("server")), ..Default::default() }).unwrap();
    let setup = client_config(&ca_opts()).unwrap();

    // close_notify right behind the data: the data, then Ok(0) (repeatedly), and
    // readable() resolves at once while the end is owed.
    let (l, port) = listener().await;
    let server = serve_one(l, config.clone(), T);
    let c = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap();
    let s = server.await.unwrap().unwrap();
    write_all(&s, b"bye").await.unwrap();
    s.shutdown_write().unwrap();
    assert!(!s.has_pending_output());
    assert_eq!(s.try_write(b"more").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
    assert_eq!(read_to_end(&c).await.unwrap(), b"bye");
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_millis(200), c.readable()).await.expect("readable at once").unwrap();
        assert_eq!(c.try_read(&mut Vec::new()).unwrap(), 0);
    }
    // The other direction still works after one side ended; then it ends too.
    write_all(&c, b"reply").await.unwrap();
    c.shutdown_write().unwrap();
    flush_all(&c).await.unwrap();
    assert_eq!(read_to_end(&s).await.unwrap(), b"reply");

    // TCP EOF without close_notify (the peer's transport is dropped): Ok(0) as well.
    let (l, port) = listener().await;
    let server = serve_one(l, config.clone(), T);
    let c = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap();
    let s = server.await.unwrap().unwrap();
    write_all(&s, b"abrupt").await.unwrap();
    drop(s);
    assert_eq!(read_to_end(&c).await.unwrap(), b"abrupt");

    // Nothing buffered: try_read is WouldBlock.
    let (l, port) = listener().await;
    let server = serve_one(l, config, T);
    let c = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap();
    let _s = server.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut buf = Vec::new();
    match c.try_read(&mut buf) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::WouldBlock),
        Ok(n) => panic!("read {n} bytes from a quiet peer"),
    }
}

/// A client that sends its Finished, application data and close_notify in one write
/// (rustls by hand over a blocking socket): the server's `accept` receives the data with
/// the handshake, and `readable()` must report it without waiting for the socket, which
/// stays quiet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_arriving_with_the_handshake_is_readable_at_once() {
    let config = server_config(&ServerOptions {
        identity: Some(pair("server")),
        min_version: Some(TlsVersion::Tls13),
        ..Default::default()
    })
    .unwrap();
    let (l, port) = listener().await;
    let server = serve_one(l, config, T);
    let cfg = client_config(&ca_opts()).unwrap().config;
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    let client = std::thread::spawn(move || {
        let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut conn = rustls::ClientConnection::new(cfg, "localhost".try_into().unwrap()).unwrap();
        loop {
            while conn.is_handshaking() && conn.wants_write() {
                conn.write_tls(&mut sock).unwrap();
            }
            if !conn.is_handshaking() {
                break;
            }
            conn.read_tls(&mut sock).unwrap();
            conn.process_new_packets().unwrap();
        }
        conn.writer().write_all(b"early words").unwrap();
        conn.send_close_notify();
        let mut flight = Vec::new();
        while conn.wants_write() {
            conn.write_tls(&mut flight).unwrap();
        }
        sock.write_all(&flight).unwrap();
        // Stay connected (and quiet) until the test is done.
        let _ = rx.recv_timeout(Duration::from_secs(20));
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest);
    });
    let s = server.await.unwrap().unwrap();
    // The socket itself is drained (this also clears its readiness): what follows can
    // only come from the transport's own buffer.
    let e = s.sock().try_read_buf(&mut Vec::with_capacity(1024)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    tokio::time::timeout(Duration::from_millis(500), s.readable()).await.expect("readable at once").unwrap();
    let mut got = Vec::new();
    let n = s.try_read(&mut got).unwrap();
    assert_eq!((n, &got[..]), (11, &b"early words"[..]));
    tokio::time::timeout(Duration::from_millis(500), s.readable()).await.expect("end owed: readable").unwrap();
    assert_eq!(s.try_read(&mut got).unwrap(), 0);
    s.shutdown_write().unwrap();
    flush_all(&s).await.unwrap();
    tx.send(()).unwrap();
    client.join().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_after_the_handshake_is_a_typed_read_error() {
    // Our server, a raw TLS client (rustls by hand) that then sends a corrupt record.
    let config = server_config(&ServerOptions { identity: Some(pair("server")), ..Default::default() }).unwrap();
    let (l, port) = listener().await;
    let server = serve_one(l, config, T);
    let cfg = client_config(&ca_opts()).unwrap().config;
    let client = std::thread::spawn(move || {
        let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut conn = rustls::ClientConnection::new(cfg, "localhost".try_into().unwrap()).unwrap();
        while conn.is_handshaking() {
            conn.complete_io(&mut sock).unwrap();
        }
        // An application-data record whose ciphertext does not authenticate.
        let mut rec = vec![0x17, 0x03, 0x03, 0x00, 0x20];
        rec.extend_from_slice(&[0x55; 32]);
        sock.write_all(&rec).unwrap();
        // The server answers with an alert and closes.
        let mut rest = Vec::new();
        let _ = sock.read_to_end(&mut rest);
        let mut rd = &rest[..];
        while !rd.is_empty() {
            conn.read_tls(&mut rd).unwrap();
            if let Err(e) = conn.process_new_packets() {
                return Some(e);
            }
        }
        None
    });
    let s = server.await.unwrap().unwrap();
    let mut got = Vec::new();
    let e =
        tokio::time::timeout(Duration::from_secs(10), read_until(&s, &mut got, |_| false)).await.unwrap().unwrap_err();
    assert_eq!(code_of(&e), codes::HANDSHAKE, "{e}");
    // The error sticks; readable() reports it at once.
    tokio::time::timeout(Duration::from_millis(200), s.readable()).await.unwrap().unwrap();
    assert_eq!(code_of(&s.try_read(&mut got).unwrap_err()), codes::HANDSHAKE);
    assert_eq!(code_of(&s.try_write(b"x").unwrap_err()), codes::HANDSHAKE);
    flush_all(&s).await.unwrap();
    s.shutdown_write().unwrap();
    flush_all(&s).await.unwrap();
    // The alert reached the client.
    let seen = client.join().unwrap();
    assert!(matches!(seen, Some(rustls::Error::AlertReceived(_))), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unflushed_ciphertext_is_bounded() {
    let config = server_config(&ServerOptions { identity: Some(pair("server")), ..Default::default() }).unwrap();
    let (l, port) = listener().await;
    let server = serve_one(l, config, T);
    let setup = client_config(&ca_opts()).unwrap();
    let c = TlsTransport::connect(connect_sock(port).await, &setup, "localhost", T).await.unwrap();
    let s = server.await.unwrap().unwrap();
    // The client does not read: the server's writes stop at WouldBlock, each taking at
    // most MAX_PENDING, and the rest waits as pending output.
    let data = pattern(64 << 20, 3);
    let mut sent = 0;
    loop {
        match s.try_write(&data[sent..]) {
            Ok(n) => {
                assert!(n > 0 && n <= iocrate_tls::MAX_PENDING, "{n}");
                sent += n;
                assert!(sent < data.len(), "64 MiB accepted without the peer reading");
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("{e}"),
        }
    }
    assert!(s.has_pending_output());
    assert_eq!(s.flush().unwrap_err().kind(), io::ErrorKind::WouldBlock);
    // shutdown_write with output pending: close_notify is queued, the FIN follows the flush.
    s.shutdown_write().unwrap();
    assert!(s.has_pending_output());
    let writer = tokio::spawn(async move {
        flush_all(&s).await.unwrap();
        s
    });
    let got = read_to_end(&c).await.unwrap();
    assert_eq!(got.len(), sent);
    assert!(got[..] == data[..sent]);
    let s = writer.await.unwrap();
    assert!(!s.has_pending_output());
}
