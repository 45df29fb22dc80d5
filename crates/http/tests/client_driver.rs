//! The tokio client driver against real peers: a node:http server, the crate's own
//! server driver, and raw `std::net` servers and a CONNECT proxy for the edge cases.
#![cfg(feature = "tokio")]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use iocrate_http::client::{Client, ClientError, ClientOptions, Origin, RequestHandle, RequestSpec, ResponseHandler};
use iocrate_http::driver::{Exchange, Handler, HttpServer, HttpServerOptions, RequestInfo, Routes, StaticResponse};
use iocrate_http::{Framing, Headers, Version};
use iocrate_net::{ListenOptions, SocketAddress};

// ---------------------------------------------------------------------------------------
// Collecting handler

#[derive(Debug)]
enum Ev {
    Head(u16, Headers),
    Info(u16),
    Body(Bytes),
    End,
    Error(ClientError),
    Drain,
}

struct Collect(Mutex<Sender<Ev>>);

impl Collect {
    fn send(&self, ev: Ev) {
        let _ = self.0.lock().unwrap().send(ev);
    }
}

impl ResponseHandler for Collect {
    fn on_response(&self, status: u16, _reason: String, _version: Version, headers: Headers) {
        self.send(Ev::Head(status, headers));
    }
    fn on_informational(&self, status: u16, _headers: Headers) {
        self.send(Ev::Info(status));
    }
    fn on_body(&self, chunk: Bytes) {
        self.send(Ev::Body(chunk));
    }
    fn on_end(&self, _trailers: Headers) {
        self.send(Ev::End);
    }
    fn on_error(&self, err: ClientError) {
        self.send(Ev::Error(err));
    }
    fn on_drain(&self) {
        self.send(Ev::Drain);
    }
}

#[derive(Debug, Default)]
struct Outcome {
    status: u16,
    headers: Headers,
    body: Vec<u8>,
    infos: Vec<u16>,
    error: Option<ClientError>,
}

impl Outcome {
    fn code(&self) -> &'static str {
        self.error.as_ref().map_or("", |e| e.code())
    }
    fn text(&self) -> String {
        assert!(self.error.is_none(), "request failed: {:?}", self.error);
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn start(client: &Client, spec: RequestSpec) -> (RequestHandle, Receiver<Ev>) {
    let (tx, rx) = channel();
    let h = client.request(spec, Arc::new(Collect(Mutex::new(tx))));
    (h, rx)
}

/// Collects events until the request ends or fails. Drain events are skipped.
fn wait(rx: &Receiver<Ev>) -> Outcome {
    let mut out = Outcome::default();
    loop {
        match rx.recv_timeout(Duration::from_secs(30)).expect("request finishes") {
            Ev::Head(s, h) => {
                out.status = s;
                out.headers = h;
            }
            Ev::Info(s) => out.infos.push(s),
            Ev::Body(b) => out.body.extend_from_slice(&b),
            Ev::Drain => {}
            Ev::End => return out,
            Ev::Error(e) => {
                out.error = Some(e);
                return out;
            }
        }
    }
}

fn run(client: &Client, spec: RequestSpec) -> Outcome {
    let (_h, rx) = start(client, spec);
    wait(&rx)
}

fn get(client: &Client, origin: &Origin, path: &str) -> Outcome {
    run(client, RequestSpec::new("GET", origin.clone(), path))
}

fn origin_of(addr: SocketAddr) -> Origin {
    Origin::http(addr.ip().to_string(), addr.port())
}

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------------------
// node:http server

const NODE_SERVER: &str = r#"
const http = require('http');
const crypto = require('crypto');
let opened = 0, active = 0, statsConns = 0;
const big = Buffer.alloc(10 * 1024 * 1024);
for (let i = 0; i < big.length; i++) big[i] = i % 251;
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const p = u.pathname;
  if (p === '/hello') { res.setHeader('Content-Length', '5'); res.end(req.method === 'HEAD' ? undefined : 'hello'); }
  else if (p === '/stats') { statsConns++; res.setHeader('Connection', 'close'); res.end(`${opened - statsConns} ${active - 1}`); }
  else if (p === '/big') { res.setHeader('Content-Length', big.length); res.end(big); }
  else if (p === '/upload') {
    const h = crypto.createHash('sha256'); let n = 0;
    req.on('data', d => { h.update(d); n += d.length; });
    req.on('end', () => res.end(`${n} ${h.digest('hex')} ${req.headers['transfer-encoding'] || '-'}`));
  }
  else if (p === '/204') { res.writeHead(204); res.end(); }
  else if (p === '/304') { res.writeHead(304, { ETag: '"x"' }); res.end(); }
  else if (p === '/close') { res.setHeader('Connection', 'close'); res.end('bye'); }
  else if (p === '/slow') { setTimeout(() => res.end(u.searchParams.get('id') || 'slow'), +(u.searchParams.get('ms') || 50)); }
  else if (p === '/stream') {
    let i = 0; res.writeHead(200);
    const t = setInterval(() => { if (i++ > 2000) { clearInterval(t); res.end(); return; } res.write(Buffer.alloc(16384, 97)); }, 5);
    res.on('close', () => clearInterval(t));
  }
  else { res.statusCode = 404; res.end('not found'); }
});
server.keepAliveTimeout = +(process.argv[1] || 60000);
server.on('connection', s => { opened++; active++; s.on('close', () => active--); });
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
"#;

struct Node {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Node {
    fn start() -> Node {
        Self::with_keep_alive(60_000)
    }

    fn with_keep_alive(ms: u64) -> Node {
        let mut child = Command::new("node")
            .args(["-e", NODE_SERVER, &ms.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 = line.trim().parse().expect("node prints its port");
        Node { child, addr: SocketAddr::from(([127, 0, 0, 1], port)) }
    }

    fn origin(&self) -> Origin {
        origin_of(self.addr)
    }

    /// (connections opened by clients other than this probe, connections open now)
    fn stats(&self) -> (usize, usize) {
        let mut s = TcpStream::connect(self.addr).unwrap();
        s.write_all(b"GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let body = out.split("\r\n\r\n").nth(1).unwrap();
        let mut it = body.split(' ').map(|n| n.parse::<usize>().unwrap());
        (it.next().unwrap(), it.next().unwrap())
    }
}

fn sha256_hex(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().split(' ').next().unwrap().to_owned()
}

fn opts() -> ClientOptions {
    ClientOptions::default()
}

// ---------------------------------------------------------------------------------------
// Tests against node

#[test]
fn keep_alive_reuses_one_connection_for_ten_requests() {
    let node = Node::start();
    let client = Client::new(opts());
    for _ in 0..10 {
        let r = get(&client, &node.origin(), "/hello");
        assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    }
    assert_eq!(client.connections(&node.origin()), 1);
    assert_eq!(client.idle_connections(&node.origin()), 1);
    assert_eq!(node.stats().0, 1);
}

#[test]
fn fifty_concurrent_requests_share_four_sockets() {
    let node = Node::start();
    let client = Client::new(ClientOptions { max_sockets_per_origin: 4, ..opts() });
    let pending: Vec<_> = (0..50)
        .map(|i| start(&client, RequestSpec::new("GET", node.origin(), &format!("/slow?ms=10&id={i}"))))
        .collect();
    assert!(client.connections(&node.origin()) <= 4);
    for (i, (_h, rx)) in pending.iter().enumerate() {
        let r = wait(rx);
        assert_eq!(r.text(), i.to_string());
    }
    let (opened, _) = node.stats();
    assert!((1..=4).contains(&opened), "opened {opened}");
}

#[test]
fn chunked_upload_of_5_mib_with_backpressure() {
    let node = Node::start();
    let client = Client::new(opts());
    let data: Vec<u8> = (0..5 * 1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let spec = RequestSpec::new("POST", node.origin(), "/upload").streaming(Framing::Chunked);
    let (h, rx) = start(&client, spec);
    let mut drains = 0;
    let mut early = Vec::new();
    for chunk in data.chunks(100_000) {
        let queued = h.write_body(Bytes::copy_from_slice(chunk)).unwrap();
        if queued >= 64 * 1024 {
            // Wait for on_drain before writing more.
            loop {
                match rx.recv_timeout(Duration::from_secs(10)).expect("drain") {
                    Ev::Drain => break,
                    other => early.push(other),
                }
            }
            drains += 1;
        }
    }
    h.end(Headers::new()).unwrap();
    assert!(early.is_empty(), "{early:?}");
    assert!(drains > 0);
    let r = wait(&rx);
    assert_eq!(r.text(), format!("{} {} chunked", data.len(), sha256_hex(&data)));
    assert_eq!(h.write_body(Bytes::from_static(b"late")), Err(iocrate_http::client::Closed));
}

#[test]
fn expect_continue_waits_then_sends_the_body() {
    let node = Node::start();
    let client = Client::new(opts());
    let data = vec![b'z'; 300_000];
    let spec =
        RequestSpec::new("PUT", node.origin(), "/upload").header("Expect", "100-continue").with_body(data.clone());
    let r = run(&client, spec);
    assert_eq!(r.infos, vec![100]);
    assert_eq!(r.text(), format!("{} {} -", data.len(), sha256_hex(&data)));
}

#[test]
fn downloads_10_mib_with_pause_and_resume() {
    let node = Node::start();
    let client = Client::new(opts());
    let (h, rx) = start(&client, RequestSpec::new("GET", node.origin(), "/big"));
    let mut body = Vec::new();
    let mut paused_once = false;
    loop {
        match rx.recv_timeout(Duration::from_secs(30)).unwrap() {
            Ev::Head(s, hd) => {
                assert_eq!(s, 200);
                assert_eq!(hd.get("content-length"), Some(b"10485760".as_slice()));
            }
            Ev::Body(b) => {
                body.extend_from_slice(&b);
                if !paused_once {
                    paused_once = true;
                    h.pause();
                    std::thread::sleep(Duration::from_millis(200));
                    h.resume();
                }
            }
            Ev::End => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(body.len(), 10 * 1024 * 1024);
    assert!(body.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
}

#[test]
fn head_204_and_304_have_no_body_and_keep_the_connection() {
    let node = Node::start();
    let client = Client::new(opts());
    let r = run(&client, RequestSpec::new("HEAD", node.origin(), "/hello"));
    assert_eq!((r.status, r.body.len()), (200, 0));
    assert_eq!(r.headers.get("content-length"), Some(b"5".as_slice()));
    let r = get(&client, &node.origin(), "/204");
    assert_eq!((r.status, r.text().as_str()), (204, ""));
    let r = get(&client, &node.origin(), "/304");
    assert_eq!((r.status, r.text().as_str()), (304, ""));
    assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
    assert_eq!(node.stats().0, 1);
}

#[test]
fn connection_close_retires_the_socket() {
    let node = Node::start();
    let client = Client::new(opts());
    assert_eq!(get(&client, &node.origin(), "/close").text(), "bye");
    assert_eq!(client.connections(&node.origin()), 0);
    assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
    assert_eq!(node.stats().0, 2);
}

#[test]
fn idle_timeout_closes_pooled_sockets() {
    let node = Node::start();
    let client = Client::new(ClientOptions { idle_timeout: Duration::from_millis(300), ..opts() });
    assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
    assert_eq!(client.idle_connections(&node.origin()), 1);
    assert_eq!(node.stats().1, 1);
    eventually("the idle socket to close", || client.connections(&node.origin()) == 0);
    eventually("node to see the close", || node.stats().1 == 0);
}

#[test]
fn a_socket_the_server_closed_while_idle_is_replaced() {
    let node = Node::with_keep_alive(100);
    let client = Client::new(opts());
    assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
    // Node adds a second to keepAliveTimeout before it closes.
    eventually("node to close the idle socket", || node.stats().1 == 0);
    eventually("the client to drop it", || client.connections(&node.origin()) == 0);
    assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
    assert_eq!(node.stats().0, 2);
}

#[test]
fn abort_mid_response_errors_and_the_pool_stays_usable() {
    let node = Node::start();
    let client = Client::new(opts());
    let (h, rx) = start(&client, RequestSpec::new("GET", node.origin(), "/stream"));
    let mut got = 0;
    loop {
        match rx.recv_timeout(Duration::from_secs(10)).unwrap() {
            Ev::Head(..) => {}
            Ev::Body(b) => {
                got += b.len();
                h.abort();
            }
            Ev::Error(e) => {
                assert_eq!(e.code(), "ABORT_ERR");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(got > 0);
    h.abort();
    eventually("node to see the abort", || node.stats().1 == 0);
    assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
}

#[test]
fn abort_before_connecting_and_destroy() {
    let node = Node::start();
    let client = Client::new(ClientOptions { max_sockets_per_origin: 1, ..opts() });
    let (_h1, rx1) = start(&client, RequestSpec::new("GET", node.origin(), "/slow?ms=300"));
    let (h2, rx2) = start(&client, RequestSpec::new("GET", node.origin(), "/hello"));
    h2.abort();
    assert_eq!(wait(&rx2).code(), "ABORT_ERR");
    let (_h3, rx3) = start(&client, RequestSpec::new("GET", node.origin(), "/hello"));
    client.destroy();
    assert_eq!(wait(&rx1).code(), "ABORT_ERR");
    assert_eq!(wait(&rx3).code(), "ABORT_ERR");
    assert_eq!(get(&client, &node.origin(), "/hello").code(), "ERR_IOCRATE_HTTP_CLIENT_CLOSED");
}

#[test]
fn close_lets_in_flight_requests_finish() {
    let node = Node::start();
    let client = Client::new(opts());
    assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
    let (_h, rx) = start(&client, RequestSpec::new("GET", node.origin(), "/slow?ms=200&id=done"));
    let (_h2, rx2) = start(&client, RequestSpec::new("GET", node.origin(), "/hello"));
    client.close();
    assert_eq!(wait(&rx).text(), "done");
    assert_eq!(wait(&rx2).text(), "hello");
    eventually("every socket to close", || client.connections(&node.origin()) == 0 && node.stats().1 == 0);
}

#[test]
fn connection_refused_has_its_code() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::new(opts());
    let r = get(&client, &Origin::http("127.0.0.1", port), "/");
    assert_eq!(r.code(), "ECONNREFUSED");
    let r = get(&client, &Origin::https("127.0.0.1", port), "/");
    assert_eq!(r.code(), "ERR_IOCRATE_HTTP_TLS_UNSUPPORTED");
}

// ---------------------------------------------------------------------------------------
// Raw servers

/// Reads one request head (and a body of `Content-Length`) from `s`; None at EOF.
fn read_request(s: &mut TcpStream, pending: &mut Vec<u8>) -> Option<String> {
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&pending[..end + 4]).into_owned();
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0usize);
            if pending.len() >= end + 4 + len {
                pending.drain(..end + 4 + len);
                return Some(head);
            }
        }
        let mut b = [0u8; 4096];
        match s.read(&mut b) {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&b[..n]),
        }
    }
}

/// Accepts connections forever, running `f(connection index, stream)` on each in a thread.
fn raw_server(f: impl Fn(usize, TcpStream) + Send + Sync + 'static) -> (SocketAddr, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let f = Arc::new(f);
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { return };
            let i = c.fetch_add(1, Ordering::SeqCst);
            let f = f.clone();
            std::thread::spawn(move || f(i, s));
        }
    });
    (addr, count)
}

/// First connection: answers one request, then closes after reading the second without
/// answering. Later connections answer every request with "fresh".
fn closes_after_one() -> (SocketAddr, Arc<AtomicUsize>) {
    raw_server(|i, mut s| {
        let mut pending = Vec::new();
        if i == 0 {
            read_request(&mut s, &mut pending).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst").unwrap();
            read_request(&mut s, &mut pending);
            return;
        }
        while read_request(&mut s, &mut pending).is_some() {
            s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfresh").unwrap();
        }
    })
}

#[test]
fn get_is_retried_once_on_a_fresh_connection() {
    let (addr, count) = closes_after_one();
    let client = Client::new(opts());
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "first");
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "fresh");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn post_is_not_retried() {
    let (addr, count) = closes_after_one();
    let client = Client::new(opts());
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "first");
    let r = run(&client, RequestSpec::new("POST", origin_of(addr), "/").with_body("data"));
    assert_eq!(r.code(), "ECONNRESET");
    assert_eq!(count.load(Ordering::SeqCst), 1);
    // A streamed PUT is not retried either.
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "fresh");
}

#[test]
fn a_fresh_connection_that_closes_is_not_retried() {
    let (addr, count) = raw_server(|_, mut s| {
        read_request(&mut s, &mut Vec::new());
    });
    let client = Client::new(opts());
    assert_eq!(get(&client, &origin_of(addr), "/").code(), "ECONNRESET");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn headers_timeout_against_a_silent_server() {
    let (addr, _) = raw_server(|_, mut s| {
        let _ = read_request(&mut s, &mut Vec::new());
        std::thread::sleep(Duration::from_secs(5));
    });
    let client = Client::new(ClientOptions { headers_timeout: Duration::from_millis(300), ..opts() });
    let t = Instant::now();
    let r = get(&client, &origin_of(addr), "/");
    assert_eq!(r.code(), "ERR_IOCRATE_HTTP_HEADERS_TIMEOUT");
    assert!(t.elapsed() < Duration::from_secs(3));
    eventually("the connection to go", || client.connections(&origin_of(addr)) == 0);
}

#[test]
fn malformed_response_is_a_parse_error_and_the_pool_recovers() {
    let (addr, count) = raw_server(|i, mut s| {
        let mut pending = Vec::new();
        while read_request(&mut s, &mut pending).is_some() {
            if i == 0 {
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!");
            } else {
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok").unwrap();
            }
        }
    });
    let client = Client::new(opts());
    let r = get(&client, &origin_of(addr), "/");
    assert_eq!(r.code(), "ERR_IOCRATE_HTTP_PARSE");
    assert!(matches!(r.error, Some(ClientError::Parse(_))));
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "ok");
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "ok");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn switching_protocols_is_reported_unsupported() {
    let (addr, _) = raw_server(|_, mut s| {
        read_request(&mut s, &mut Vec::new());
        let _ = s.write_all(b"HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n");
        std::thread::sleep(Duration::from_millis(500));
    });
    let client = Client::new(opts());
    let spec = RequestSpec::new("GET", origin_of(addr), "/").header("Connection", "upgrade").header("Upgrade", "x");
    assert_eq!(run(&client, spec).code(), "ERR_IOCRATE_HTTP_UPGRADE_UNSUPPORTED");
}

#[test]
fn pipelining_sends_eight_requests_on_one_connection_in_order() {
    // Answers only once 8 requests are in: that only happens if they were pipelined.
    let (addr, count) = raw_server(|_, mut s| {
        let mut pending = Vec::new();
        let mut paths = Vec::new();
        while paths.len() < 8 {
            let Some(head) = read_request(&mut s, &mut pending) else { return };
            paths.push(head.split(' ').nth(1).unwrap().to_owned());
        }
        let mut out = Vec::new();
        for p in paths {
            out.extend_from_slice(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{p}", p.len()).as_bytes());
        }
        s.write_all(&out).unwrap();
        let _ = read_request(&mut s, &mut pending);
    });
    let client = Client::new(ClientOptions { max_sockets_per_origin: 1, pipelining: 8, ..opts() });
    let order = Arc::new(Mutex::new(Vec::new()));
    let pending: Vec<_> =
        (0..8).map(|i| start(&client, RequestSpec::new("GET", origin_of(addr), &format!("/p{i}")))).collect();
    for (i, (_h, rx)) in pending.iter().enumerate() {
        let r = wait(rx);
        assert_eq!(r.text(), format!("/p{i}"));
        order.lock().unwrap().push(i);
    }
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn pipelining_against_node_keeps_order() {
    let node = Node::start();
    let client = Client::new(ClientOptions { max_sockets_per_origin: 1, pipelining: 8, ..opts() });
    let pending: Vec<_> = (0..16)
        .map(|i| {
            let ms = [60, 10, 30, 0][i % 4];
            start(&client, RequestSpec::new("GET", node.origin(), &format!("/slow?ms={ms}&id={i}")))
        })
        .collect();
    for (i, (_h, rx)) in pending.iter().enumerate() {
        assert_eq!(wait(rx).text(), i.to_string());
    }
    assert_eq!(node.stats().0, 1);
}

/// A CONNECT proxy: answers 200, then relays bytes both ways. Records each CONNECT target.
fn connect_proxy() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let targets = Arc::new(Mutex::new(Vec::new()));
    let t = targets.clone();
    let (addr, _) = raw_server(move |_, mut s| {
        let head = read_request(&mut s, &mut Vec::new()).unwrap();
        let mut words = head.split(' ');
        assert_eq!(words.next(), Some("CONNECT"));
        let target = words.next().unwrap().to_owned();
        t.lock().unwrap().push(target.clone());
        let up = TcpStream::connect(&target).unwrap();
        s.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").unwrap();
        let (mut a, mut b) = (s.try_clone().unwrap(), up.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut a, &mut b);
            let _ = b.shutdown(std::net::Shutdown::Write);
        });
        let (mut up, mut s) = (up, s);
        let _ = std::io::copy(&mut up, &mut s);
        let _ = s.shutdown(std::net::Shutdown::Write);
    });
    (addr, targets)
}

#[test]
fn requests_tunnel_through_a_connect_proxy() {
    let node = Node::start();
    let (proxy, targets) = connect_proxy();
    let client = Client::new(ClientOptions { proxy: Some(origin_of(proxy)), ..opts() });
    for _ in 0..3 {
        assert_eq!(get(&client, &node.origin(), "/hello").text(), "hello");
    }
    assert_eq!(*targets.lock().unwrap(), vec![node.addr.to_string()]);
    assert_eq!(node.stats().0, 1);
}

#[test]
fn a_proxy_refusal_has_its_code() {
    let (proxy, _) = raw_server(|_, mut s| {
        read_request(&mut s, &mut Vec::new());
        let _ = s.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
    });
    let client = Client::new(ClientOptions { proxy: Some(origin_of(proxy)), ..opts() });
    let r = get(&client, &Origin::http("example.invalid", 80), "/");
    assert_eq!(r.code(), "ERR_IOCRATE_HTTP_PROXY");
    assert_eq!(r.error, Some(ClientError::Proxy(403)));
}

// ---------------------------------------------------------------------------------------
// Against the crate's own server driver

/// Echoes each request body back with chunked framing.
#[derive(Default)]
struct Echo {
    open: Mutex<HashMap<u64, (Exchange, Vec<u8>)>>,
}

impl Handler for Echo {
    fn on_request(&self, req: RequestInfo, exchange: Exchange) {
        self.open.lock().unwrap().insert(req.id, (exchange, Vec::new()));
    }
    fn on_body(&self, id: u64, chunk: Bytes) {
        if let Some(e) = self.open.lock().unwrap().get_mut(&id) {
            e.1.extend_from_slice(&chunk);
        }
    }
    fn on_body_end(&self, id: u64, _trailers: Headers) {
        let Some((ex, body)) = self.open.lock().unwrap().remove(&id) else { return };
        ex.respond(200, Headers::new(), Framing::Chunked).unwrap();
        ex.write_body(body).unwrap();
        ex.end(Headers::new()).unwrap();
    }
}

fn own_server() -> (Arc<HttpServer>, Origin) {
    let opts = HttpServerOptions {
        routes: Routes::new().route("GET", "/r1", StaticResponse::new(200, "route one")),
        ..Default::default()
    };
    let listen = ListenOptions { host: "127.0.0.1".into(), port: 0, ..Default::default() };
    let server = HttpServer::bind(listen, opts, Arc::new(Echo::default())).unwrap();
    let SocketAddress::Inet(addr) = server.local_addr().clone() else { panic!() };
    (server, origin_of(addr))
}

#[test]
fn own_server_keep_alive_and_streamed_echo() {
    let (server, origin) = own_server();
    let client = Client::new(opts());
    for _ in 0..10 {
        assert_eq!(get(&client, &origin, "/r1").text(), "route one");
    }
    assert_eq!(server.connections(), 1);
    let (h, rx) = start(&client, RequestSpec::new("PUT", origin.clone(), "/echo").streaming(Framing::Chunked));
    for i in 0..100 {
        h.write_body(format!("{i},")).unwrap();
    }
    h.end(Headers::new()).unwrap();
    let expected: String = (0..100).map(|i| format!("{i},")).collect();
    assert_eq!(wait(&rx).text(), expected);
    let r = run(&client, RequestSpec::new("POST", origin.clone(), "/echo").with_body(vec![7u8; 1 << 20]));
    assert_eq!(r.body, vec![7u8; 1 << 20]);
    assert_eq!(server.connections(), 1);
}

#[test]
fn own_server_pipelining_and_concurrency() {
    let (server, origin) = own_server();
    let client = Client::new(ClientOptions { max_sockets_per_origin: 2, pipelining: 4, ..opts() });
    let pending: Vec<_> = (0..40)
        .map(|i| start(&client, RequestSpec::new("POST", origin.clone(), "/e").with_body(format!("body {i}"))))
        .collect();
    for (i, (_h, rx)) in pending.iter().enumerate() {
        assert_eq!(wait(rx).text(), format!("body {i}"));
    }
    assert!(server.connections() <= 2);
}

#[test]
fn a_read_until_close_body_retires_the_connection() {
    let (addr, count) = raw_server(|i, mut s| {
        read_request(&mut s, &mut Vec::new());
        let _ = s.write_all(format!("HTTP/1.1 200 OK\r\n\r\nuntil close {i}").as_bytes());
    });
    let client = Client::new(opts());
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "until close 0");
    assert_eq!(client.connections(&origin_of(addr)), 0);
    assert_eq!(get(&client, &origin_of(addr), "/").text(), "until close 1");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn connect_timeout_covers_a_silent_proxy() {
    let (proxy, _) = raw_server(|_, mut s| {
        read_request(&mut s, &mut Vec::new());
        std::thread::sleep(Duration::from_secs(3));
    });
    let client = Client::new(ClientOptions {
        proxy: Some(origin_of(proxy)),
        connect_timeout: Duration::from_millis(200),
        ..opts()
    });
    let t = Instant::now();
    assert_eq!(get(&client, &Origin::http("example.invalid", 80), "/").code(), "ETIMEDOUT");
    assert!(t.elapsed() < Duration::from_secs(2));
}
