//! TCP hot paths: `TcpConn::write` of small messages (the direct-write path taken from the
//! JS thread) and a 64 B echo round trip through two `TcpConn`s on loopback.

use std::io::Read;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use iocrate_net::tcp::{AcceptedSocket, ServerEvents, TcpConn, TcpServer};
use iocrate_net::{ConnectOptions, Credit, ListenOptions, NetError, SocketAddress, StreamEvents, StreamOptions};

struct Chan(mpsc::Sender<Ev>);
enum Ev {
    Connect,
    Data(Vec<u8>),
    Other,
}
impl StreamEvents for Chan {
    fn on_connect(&self) {
        let _ = self.0.send(Ev::Connect);
    }
    fn on_data(&self, d: Vec<u8>, _c: Credit) {
        let _ = self.0.send(Ev::Data(d));
    }
    fn on_end(&self) {}
    fn on_drain(&self) {}
    fn on_timeout(&self) {}
    fn on_error(&self, _e: NetError) {
        let _ = self.0.send(Ev::Other);
    }
    fn on_close(&self, _h: bool) {}
}

/// Echoes every accepted connection from inside the driver (the echo is done by the
/// event sink writing back to its own connection).
struct EchoServer;
struct EchoSink(std::sync::OnceLock<Arc<TcpConn>>);
impl StreamEvents for EchoSink {
    fn on_connect(&self) {}
    fn on_data(&self, d: Vec<u8>, _c: Credit) {
        if let Some(c) = self.0.get() {
            let _ = c.write(&d);
        }
    }
    fn on_end(&self) {}
    fn on_drain(&self) {}
    fn on_timeout(&self) {}
    fn on_error(&self, _e: NetError) {}
    fn on_close(&self, _h: bool) {}
}
impl ServerEvents for EchoServer {
    fn on_connection(&self, a: AcceptedSocket) {
        let sink = Arc::new(EchoSink(std::sync::OnceLock::new()));
        let conn = TcpConn::accepted(a.sock, Some(a.guard), &StreamOptions::default(), sink.clone());
        let _ = sink.0.set(conn.clone());
        conn.start();
    }
    fn on_drop(&self, _r: Option<SocketAddress>) {}
    fn on_error(&self, _e: NetError) {}
    fn on_close(&self) {}
}

fn connect(port: u16) -> (Arc<TcpConn>, mpsc::Receiver<Ev>) {
    let (tx, rx) = mpsc::channel();
    let conn =
        TcpConn::connect(ConnectOptions { host: "127.0.0.1".into(), port, ..Default::default() }, Arc::new(Chan(tx)));
    match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
        Ev::Connect => {}
        _ => panic!("connect failed"),
    }
    (conn, rx)
}

fn tcp(c: &mut Criterion) {
    let mut g = c.benchmark_group("tcp");

    // Direct writes: a plain std listener drains on a thread.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = vec![0u8; 1 << 16];
        while s.read(&mut buf).map(|n| n > 0).unwrap_or(false) {}
    });
    let (conn, _rx) = connect(port);
    let msg = [7u8; 64];
    g.throughput(Throughput::Bytes(64));
    g.bench_function("TcpConn::write 64B (direct path)", |b| b.iter(|| conn.write(&msg).unwrap()));
    conn.destroy();

    // Echo round trip through the driver on both ends.
    let server =
        TcpServer::bind(&ListenOptions { host: "127.0.0.1".into(), ..Default::default() }, Arc::new(EchoServer))
            .unwrap();
    server.start();
    let (conn, rx) = connect(server.local_addr().port());
    g.bench_function("echo round trip 64B", |b| {
        b.iter_custom(|iters| {
            let t0 = Instant::now();
            for _ in 0..iters {
                conn.write(&msg).unwrap();
                let mut got = 0;
                while got < 64 {
                    match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
                        Ev::Data(d) => got += d.len(),
                        _ => panic!("unexpected event"),
                    }
                }
            }
            t0.elapsed()
        })
    });
    conn.destroy();
    server.close();
    g.finish();
}

criterion_group!(benches, tcp);
criterion_main!(benches);
