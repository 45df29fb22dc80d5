//! The tokio server driver against real peers: curl, and raw `std::net::TcpStream`
//! clients for pipelining, ordering, smuggling and timeouts.
#![cfg(feature = "tokio")]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iocrate_http::driver::{Exchange, Handler, HttpServer, HttpServerOptions, RequestInfo, Routes, StaticResponse};
use iocrate_http::{Framing, Headers};
use iocrate_net::{ListenOptions, SocketAddress};

/// An exchange being read: the handle, its path and the body so far.
type Open = (Exchange, String, Vec<u8>);

/// Echoes each request body back. `/slow…` answers from another thread after 200 ms;
/// `/chunked…` answers with chunked framing in two writes.
#[derive(Default)]
struct Echo {
    open: Mutex<HashMap<u64, Open>>,
}

impl Handler for Echo {
    fn on_request(&self, req: RequestInfo, exchange: Exchange) {
        let path = req.request.target.as_str().to_owned();
        self.open.lock().unwrap().insert(req.id, (exchange, path, Vec::new()));
    }

    fn on_body(&self, id: u64, chunk: Bytes) {
        if let Some(e) = self.open.lock().unwrap().get_mut(&id) {
            e.2.extend_from_slice(&chunk);
        }
    }

    fn on_body_end(&self, id: u64, _trailers: Headers) {
        let Some((ex, path, body)) = self.open.lock().unwrap().remove(&id) else { return };
        let slow = path.starts_with("/slow");
        let answer = move || {
            let mut h = Headers::new();
            h.push("X-Path", path.clone());
            if path.starts_with("/chunked") {
                ex.respond(200, h, Framing::Chunked).unwrap();
                let (a, b) = body.split_at(body.len() / 2);
                ex.write_body(a.to_vec()).unwrap();
                ex.write_body(b.to_vec()).unwrap();
            } else {
                ex.respond(200, h, Framing::Length(body.len() as u64)).unwrap();
                ex.write_body(body).unwrap();
            }
            ex.end(Headers::new()).unwrap();
        };
        if slow {
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                answer();
            });
        } else {
            answer();
        }
    }
}

const BIG: usize = 10 * 1024 * 1024;

fn big_body() -> Bytes {
    (0..BIG).map(|i| (i % 251) as u8).collect::<Vec<u8>>().into()
}

fn start(mut opts: HttpServerOptions) -> (Arc<HttpServer>, SocketAddr) {
    opts.routes = Routes::new()
        .route("GET", "/r1", StaticResponse::new(200, "route one").header("Content-Type", "text/plain"))
        .route("GET", "/big", StaticResponse::new(200, big_body()));
    let listen = ListenOptions { host: "127.0.0.1".into(), port: 0, ..Default::default() };
    let server = HttpServer::bind(listen, opts, Arc::new(Echo::default())).unwrap();
    let addr = match server.local_addr() {
        SocketAddress::Inet(a) => *a,
        other => panic!("unexpected address {other:?}"),
    };
    (server, addr)
}

fn default_server() -> (Arc<HttpServer>, SocketAddr) {
    start(HttpServerOptions::default())
}

fn curl(args: &[&str]) -> (Vec<u8>, String) {
    let out = Command::new("/usr/bin/curl").args(["-s", "-S", "--max-time", "20"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "curl {args:?} failed: {stderr}");
    (out.stdout, stderr)
}

/// Writes `input` in one call and reads until the server closes.
fn raw(addr: SocketAddr, input: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(input).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("server closes the connection");
    String::from_utf8_lossy(&out).into_owned()
}

fn tmp_file(name: &str, data: &[u8]) -> String {
    let path = std::env::temp_dir().join(format!("iocrate-http-{}-{name}", std::process::id()));
    std::fs::write(&path, data).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn curl_keep_alive_reuses_the_connection() {
    let (_s, addr) = default_server();
    let url = format!("http://{addr}/r1");
    let (out, _) = curl(&["-o", "/dev/null", "-o", "/dev/null", "-w", "%{num_connects}\n", &url, &url]);
    assert_eq!(String::from_utf8(out).unwrap(), "1\n0\n");
    let echo = format!("http://{addr}/e");
    let (out, _) = curl(&[&url, "--next", "--data-binary", "hello", &echo]);
    assert_eq!(out, b"route onehello");
}

#[test]
fn curl_http10_gets_a_closed_response() {
    let (_s, addr) = default_server();
    let (out, err) = curl(&["--http1.0", "-v", &format!("http://{addr}/r1")]);
    assert_eq!(out, b"route one");
    assert!(err.contains("< HTTP/1.1 200 OK"), "{err}");
    assert!(err.contains("< Date: "), "{err}");
    assert!(err.contains("< Content-Length: 9"), "{err}");
}

#[test]
fn curl_chunked_upload_is_echoed() {
    let (_s, addr) = default_server();
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 97) as u8).collect();
    let file = tmp_file("chunked", &data);
    let (out, _) = curl(&[
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &format!("@{file}"),
        &format!("http://{addr}/chunked"),
    ]);
    assert_eq!(out, data);
    let _ = std::fs::remove_file(file);
}

#[test]
fn curl_expect_continue_large_post() {
    let (_s, addr) = default_server();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 89) as u8).collect();
    let file = tmp_file("expect", &data);
    let (out, err) = curl(&[
        "-v",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &format!("@{file}"),
        &format!("http://{addr}/echo"),
    ]);
    assert!(err.contains("HTTP/1.1 100 Continue"), "{err}");
    assert_eq!(out.len(), data.len());
    assert!(out == data);
    let _ = std::fs::remove_file(file);
}

#[test]
fn curl_downloads_10_mib_from_a_static_route() {
    let (_s, addr) = default_server();
    let path = std::env::temp_dir().join(format!("iocrate-http-{}-big", std::process::id()));
    let p = path.to_string_lossy().into_owned();
    let (out, _) = curl(&["-o", &p, "-w", "%{size_download}", &format!("http://{addr}/big")]);
    assert_eq!(String::from_utf8(out).unwrap(), BIG.to_string());
    assert!(std::fs::read(&path).unwrap() == big_body());
    let _ = std::fs::remove_file(path);
}

fn bodies(resp: &str) -> Vec<&str> {
    resp.split("HTTP/1.1 ").skip(1).map(|r| r.split("\r\n\r\n").nth(1).unwrap_or("")).collect()
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_s, addr) = default_server();
    let out = raw(
        addr,
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\noneGET /r1 HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nthree",
    );
    assert_eq!(out.matches("HTTP/1.1 200 OK").count(), 3, "{out}");
    assert_eq!(bodies(&out), ["one", "route one", "three"]);
    assert!(out.ends_with("Connection: close\r\n\r\nthree") || out.contains("Connection: close"), "{out}");
    // Only the closing request's own response says so.
    assert_eq!(out.matches("Connection: close").count(), 1, "{out}");
}

#[test]
fn out_of_order_answers_still_leave_in_order() {
    let (_s, addr) = default_server();
    let out = raw(
        addr,
        b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n1\
          POST /chunked HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n22\
          POST /fast HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\n333",
    );
    let paths: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("X-Path: ")).collect();
    assert_eq!(paths, ["/slow", "/chunked", "/fast"], "{out}");
    assert!(out.contains("Transfer-Encoding: chunked\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\n333"), "{out}");
}

#[test]
fn smuggling_attempts_get_one_400_and_a_close() {
    let (_s, addr) = default_server();
    let next = "GET /r1 HTTP/1.1\r\nHost: x\r\n\r\n";
    let cases = [
        // CL.TE
        "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG",
        // TE.CL
        "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
        // obs-fold hiding a Transfer-Encoding
        "POST /e HTTP/1.1\r\nHost: x\r\nX: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
        // duplicate Content-Length
        "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
        // Content-Length with a sign
        "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
    ];
    for case in cases {
        let out = raw(addr, format!("{case}{next}").as_bytes());
        assert!(out.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{case:?} -> {out}");
        assert_eq!(out.matches("HTTP/1.1").count(), 1, "{case:?} -> {out}");
        assert!(out.contains("Connection: close\r\n"), "{out}");
        assert!(!out.contains("route one"), "{out}");
    }
}

#[test]
fn codec_errors_map_to_their_status() {
    let (_s, addr) = default_server();
    let out = raw(addr, b"GET / HTTP/2.0\r\nHost: x\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 505 "), "{out}");
    let long = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000));
    let out = raw(addr, long.as_bytes());
    assert!(out.starts_with("HTTP/1.1 414 "), "{out}");
    let out = raw(addr, b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 501 "), "{out}");
}

#[test]
fn slow_headers_time_out() {
    let (_s, addr) = start(HttpServerOptions { headers_timeout: Duration::from_millis(300), ..Default::default() });
    let t = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /r1 HTTP/1.1\r\n").unwrap();
    // Trickling more bytes does not extend the deadline.
    std::thread::sleep(Duration::from_millis(150));
    s.write_all(b"Host: x\r\n").unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).expect("closed, not timed out on our side");
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
fn idle_keep_alive_connections_close() {
    let (s, addr) = start(HttpServerOptions { keep_alive_timeout: Duration::from_millis(200), ..Default::default() });
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(b"GET /r1 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with("route one"), "{out}");
    drop(c);
    let t = Instant::now();
    while s.connections() > 0 && t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(s.connections(), 0);
}
