//! `TcpConn` and `TcpServer` against plain std::net peers, observed through a
//! channel-based `StreamEvents`.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use iocrate_net::tcp::{AcceptedSocket, ServerEvents, TcpConn, TcpServer};
use iocrate_net::{ConnectOptions, Credit, ListenOptions, NetError, SocketAddress, StreamEvents, StreamOptions};

const WAIT: Duration = Duration::from_secs(5);

#[derive(Debug)]
enum Ev {
    Connect,
    Data(Vec<u8>, Credit),
    End,
    Drain,
    Timeout,
    Error(NetError),
    Close(bool),
}

struct Chan(Mutex<Sender<Ev>>);

impl StreamEvents for Chan {
    fn on_connect(&self) {
        let _ = self.0.lock().unwrap().send(Ev::Connect);
    }
    fn on_data(&self, data: Vec<u8>, credit: Credit) {
        let _ = self.0.lock().unwrap().send(Ev::Data(data, credit));
    }
    fn on_end(&self) {
        let _ = self.0.lock().unwrap().send(Ev::End);
    }
    fn on_drain(&self) {
        let _ = self.0.lock().unwrap().send(Ev::Drain);
    }
    fn on_timeout(&self) {
        let _ = self.0.lock().unwrap().send(Ev::Timeout);
    }
    fn on_error(&self, err: NetError) {
        let _ = self.0.lock().unwrap().send(Ev::Error(err));
    }
    fn on_close(&self, had_error: bool) {
        let _ = self.0.lock().unwrap().send(Ev::Close(had_error));
    }
}

fn events() -> (Arc<Chan>, Receiver<Ev>) {
    let (tx, rx) = channel();
    (Arc::new(Chan(Mutex::new(tx))), rx)
}

fn next(rx: &Receiver<Ev>) -> Ev {
    rx.recv_timeout(WAIT).expect("an event within the wait")
}

/// Reads data events until `n` bytes have arrived; returns them (dropping the credits).
fn read_exact(rx: &Receiver<Ev>, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < n {
        match next(rx) {
            Ev::Data(d, _) => got.extend_from_slice(&d),
            other => panic!("expected data, got {other:?}"),
        }
    }
    got
}

fn connect_to(port: u16, stream: StreamOptions) -> (Arc<TcpConn>, Receiver<Ev>) {
    let (ev, rx) = events();
    let opts = ConnectOptions { host: "127.0.0.1".into(), port, stream, ..Default::default() };
    let conn = TcpConn::connect(opts, ev);
    (conn, rx)
}

fn connected(port: u16, stream: StreamOptions) -> (Arc<TcpConn>, Receiver<Ev>) {
    let (conn, rx) = connect_to(port, stream);
    assert!(matches!(next(&rx), Ev::Connect));
    (conn, rx)
}

fn std_listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    (l, port)
}

#[test]
fn echo_with_std_peer() {
    let (l, port) = std_listener();
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        s.write_all(&buf).unwrap();
    });
    let (conn, rx) = connected(port, StreamOptions::default());
    assert!(matches!(conn.peer_addr(), Some(SocketAddress::Inet(a)) if a.port() == port));
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    conn.write(&payload).unwrap();
    conn.end();
    assert_eq!(read_exact(&rx, payload.len()), payload);
    assert!(matches!(next(&rx), Ev::End));
    assert!(matches!(next(&rx), Ev::Close(false)));
    assert_eq!(conn.stats().bytes_written, payload.len() as u64);
    assert_eq!(conn.stats().bytes_read, payload.len() as u64);
    // Writing after close fails with a code.
    assert_eq!(conn.write(b"x").unwrap_err().code, "ERR_SOCKET_CLOSED");
    peer.join().unwrap();
}

#[test]
fn half_close_both_ways() {
    let (l, port) = std_listener();
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(b"from peer").unwrap();
        s.shutdown(Shutdown::Write).unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap();
        buf
    });
    let (conn, rx) = connected(port, StreamOptions::default());
    assert_eq!(read_exact(&rx, 9), b"from peer");
    assert!(matches!(next(&rx), Ev::End));
    // The peer ended; we may still write.
    conn.write(b"after your end").unwrap();
    conn.end();
    assert!(matches!(next(&rx), Ev::Close(false)));
    assert_eq!(peer.join().unwrap(), b"after your end");
}

#[test]
fn we_end_peer_still_writes() {
    let (l, port) = std_listener();
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).unwrap(); // our FIN
        s.write_all(b"reply after FIN").unwrap();
    });
    let (conn, rx) = connected(port, StreamOptions::default());
    conn.write(b"q").unwrap();
    conn.end();
    assert_eq!(conn.write(b"more").unwrap_err().code, "ERR_STREAM_WRITE_AFTER_END");
    assert_eq!(read_exact(&rx, 15), b"reply after FIN");
    assert!(matches!(next(&rx), Ev::End));
    assert!(matches!(next(&rx), Ev::Close(false)));
    peer.join().unwrap();
}

#[test]
fn refused() {
    let (l, port) = std_listener();
    drop(l);
    let (_conn, rx) = connect_to(port, StreamOptions::default());
    match next(&rx) {
        Ev::Error(e) => {
            assert_eq!(e.code, "ECONNREFUSED");
            assert_eq!(e.syscall, "connect");
            assert_eq!(e.port, Some(port));
        }
        other => panic!("expected an error, got {other:?}"),
    }
    assert!(matches!(next(&rx), Ev::Close(true)));
}

#[test]
fn idle_timeout_fires_once_and_keeps_the_stream() {
    let (l, port) = std_listener();
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut b = [0u8; 2];
        s.read_exact(&mut b).unwrap();
        s.write_all(&b).unwrap();
        s
    });
    let opts = StreamOptions { idle_timeout: Some(Duration::from_millis(100)), ..Default::default() };
    let (conn, rx) = connected(port, opts);
    let t0 = Instant::now();
    assert!(matches!(next(&rx), Ev::Timeout));
    assert!(t0.elapsed() >= Duration::from_millis(80));
    // As in Node, it does not fire again without activity.
    assert!(matches!(rx.recv_timeout(Duration::from_millis(300)), Err(RecvTimeoutError::Timeout)));
    conn.write(b"ok").unwrap();
    assert_eq!(read_exact(&rx, 2), b"ok");
    // Activity re-arms it.
    assert!(matches!(next(&rx), Ev::Timeout));
    conn.destroy();
    assert!(matches!(next(&rx), Ev::Close(false)));
    drop(peer.join().unwrap());
}

#[derive(Debug)]
enum SEv {
    Conn(AcceptedSocket),
    Drop,
    // Read through `Debug` when a test fails.
    #[allow(dead_code)]
    Error(NetError),
    Close,
}

struct SChan(Mutex<Sender<SEv>>);

impl ServerEvents for SChan {
    fn on_connection(&self, a: AcceptedSocket) {
        let _ = self.0.lock().unwrap().send(SEv::Conn(a));
    }
    fn on_drop(&self, _remote: Option<SocketAddress>) {
        let _ = self.0.lock().unwrap().send(SEv::Drop);
    }
    fn on_error(&self, err: NetError) {
        let _ = self.0.lock().unwrap().send(SEv::Error(err));
    }
    fn on_close(&self) {
        let _ = self.0.lock().unwrap().send(SEv::Close);
    }
}

fn server(max: Option<usize>) -> (Arc<TcpServer>, Receiver<SEv>, u16) {
    let (tx, rx) = channel();
    let opts = ListenOptions { host: "127.0.0.1".into(), max_connections: max, ..Default::default() };
    let srv = TcpServer::bind(&opts, Arc::new(SChan(Mutex::new(tx)))).unwrap();
    srv.start();
    let port = srv.local_addr().port();
    (srv, rx, port)
}

fn accept(rx: &Receiver<SEv>) -> (Arc<TcpConn>, Receiver<Ev>) {
    match rx.recv_timeout(WAIT).unwrap() {
        SEv::Conn(a) => {
            let (ev, erx) = events();
            let c = TcpConn::accepted(a.sock, Some(a.guard), &StreamOptions::default(), ev);
            c.start();
            (c, erx)
        }
        other => panic!("expected a connection, got {other:?}"),
    }
}

#[test]
fn server_echo_and_addrinuse() {
    let (srv, rx, port) = server(None);
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (conn, erx) = accept(&rx);
    client.write_all(b"ping").unwrap();
    assert_eq!(read_exact(&erx, 4), b"ping");
    conn.write(b"pong").unwrap();
    let mut b = [0u8; 4];
    client.read_exact(&mut b).unwrap();
    assert_eq!(&b, b"pong");
    let (tx2, _rx2) = channel();
    let again = ListenOptions { host: "127.0.0.1".into(), port, ..Default::default() };
    assert_eq!(TcpServer::bind(&again, Arc::new(SChan(Mutex::new(tx2)))).unwrap_err().code, "EADDRINUSE");
    conn.destroy();
    srv.close();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), SEv::Close));
}

#[test]
fn max_connections_drops_the_excess() {
    let (srv, rx, port) = server(Some(1));
    let _a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (conn, _erx) = accept(&rx);
    let mut b = TcpStream::connect(("127.0.0.1", port)).unwrap();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), SEv::Drop));
    b.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 1];
    // Closed by the server: EOF or a reset.
    assert!(matches!(b.read(&mut buf), Ok(0) | Err(_)));
    assert_eq!(srv.connections(), 1);
    conn.destroy();
    srv.close();
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), SEv::Close));
}

#[test]
fn graceful_close_completes_when_the_last_connection_closes() {
    let (srv, rx, port) = server(None);
    let mut client = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (conn, erx) = accept(&rx);
    srv.close();
    // Not accepting any more: refused at once.
    assert_eq!(TcpStream::connect(("127.0.0.1", port)).unwrap_err().kind(), std::io::ErrorKind::ConnectionRefused);
    // The existing connection still works, and close waits for it.
    client.write_all(b"still").unwrap();
    assert_eq!(read_exact(&erx, 5), b"still");
    assert!(matches!(rx.recv_timeout(Duration::from_millis(200)), Err(RecvTimeoutError::Timeout)));
    client.shutdown(Shutdown::Write).unwrap();
    assert!(matches!(next(&erx), Ev::End));
    conn.end();
    assert!(matches!(next(&erx), Ev::Close(false)));
    assert!(matches!(rx.recv_timeout(WAIT).unwrap(), SEv::Close));
    assert_eq!(srv.connections(), 0);
}

#[test]
fn write_backpressure_and_drain() {
    let (l, port) = std_listener();
    let (go_tx, go_rx) = channel::<()>();
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        go_rx.recv().unwrap();
        let mut n = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match s.read(&mut buf).unwrap() {
                0 => return n,
                k => n += k,
            }
        }
    });
    let hwm = 64 * 1024;
    let (conn, rx) = connected(port, StreamOptions { high_water_mark: hwm, ..Default::default() });
    let chunk = vec![7u8; 256 * 1024];
    let mut total = 0usize;
    let mut queued = 0;
    // The peer does not read: kernel buffers fill, then the queue passes the mark.
    for _ in 0..200 {
        queued = conn.write(&chunk).unwrap();
        total += chunk.len();
        if queued >= hwm {
            break;
        }
    }
    assert!(queued >= hwm, "the queue never reached the high-water mark");
    assert_eq!(conn.buffered(), queued);
    assert!(matches!(rx.recv_timeout(Duration::from_millis(100)), Err(RecvTimeoutError::Timeout)));
    go_tx.send(()).unwrap();
    assert!(matches!(next(&rx), Ev::Drain));
    assert_eq!(conn.buffered(), 0);
    conn.end();
    assert_eq!(peer.join().unwrap(), total);
}

#[test]
fn pause_resume_and_read_window() {
    let (l, port) = std_listener();
    const TOTAL: usize = 4 * 1024 * 1024;
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.write_all(&vec![1u8; TOTAL]).unwrap();
        s
    });
    let window = 128 * 1024;
    let opts = StreamOptions { read_window: window, read_chunk: 64 * 1024, ..Default::default() };
    let (conn, rx) = connected(port, opts);
    // Keep every credit: reading stops once the window is used up.
    let mut held = Vec::new();
    let mut got = 0usize;
    loop {
        match rx.recv_timeout(Duration::from_millis(300)) {
            Ok(Ev::Data(d, c)) => {
                got += d.len();
                held.push(c);
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => break,
        }
    }
    assert!(got >= window, "read {got} bytes, less than the window");
    assert!(got < window + 64 * 1024, "read {got} bytes: the window of {window} was not honoured");
    // Returning the credits lets reading continue.
    held.clear();
    let more = match next(&rx) {
        Ev::Data(d, _) => d.len(),
        other => panic!("unexpected {other:?}"),
    };
    got += more;
    // Paused: nothing more arrives, whatever the window.
    conn.pause();
    while let Ok(ev) = rx.recv_timeout(Duration::from_millis(200)) {
        if let Ev::Data(d, _) = ev {
            got += d.len(); // reads already under way when we paused
        }
    }
    assert!(matches!(rx.recv_timeout(Duration::from_millis(200)), Err(RecvTimeoutError::Timeout)));
    assert!(got < TOTAL);
    conn.resume();
    got += read_exact(&rx, TOTAL - got).len();
    assert_eq!(got, TOTAL);
    assert_eq!(conn.stats().bytes_read, TOTAL as u64);
    conn.destroy();
    assert!(matches!(next(&rx), Ev::Close(false)));
    drop(peer.join().unwrap());
}

#[test]
fn destroy_closes_the_descriptor_at_once() {
    // The owner (a JS handle) may keep the TcpConn alive long after it is closed: the
    // socket must be closed anyway, so the peer sees EOF.
    let (l, port) = std_listener();
    let (conn, rx) = connected(port, StreamOptions::default());
    let (mut s, _) = l.accept().unwrap();
    conn.destroy();
    assert!(matches!(next(&rx), Ev::Close(false)));
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut b = [0u8; 1];
    assert_eq!(s.read(&mut b).unwrap(), 0);
    drop(conn);
}

#[test]
fn a_failed_write_still_delivers_what_the_peer_sent_before_closing() {
    // Reading is paused, so the peer's last bytes and its FIN wait unread. A write then
    // makes the peer answer with a reset, and the next one fails (EPIPE): the bytes the
    // peer sent come first, then the error.
    let (l, port) = std_listener();
    let (go, wait) = channel::<()>();
    let peer = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        wait.recv().unwrap();
        s.write_all(b"bye\n").unwrap();
    });
    let (conn, rx) = connected(port, StreamOptions::default());
    conn.pause();
    // A pause applies from the task's next wait: wake it (set_timeout does) so the read
    // it was already waiting for is dropped.
    conn.set_timeout(None);
    thread::sleep(Duration::from_millis(50));
    go.send(()).unwrap();
    peer.join().unwrap();
    thread::sleep(Duration::from_millis(200));
    let mut got = Vec::new();
    let err = 'outer: {
        for _ in 0..40 {
            let _ = conn.write(b"x");
            while let Ok(ev) = rx.recv_timeout(Duration::from_millis(50)) {
                match ev {
                    Ev::Data(d, _) => got.extend_from_slice(&d),
                    Ev::Error(e) => break 'outer e,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        panic!("no write error");
    };
    assert!(matches!(err.code, "EPIPE" | "ECONNRESET"), "{err}");
    assert_eq!(got, b"bye\n");
    assert!(matches!(next(&rx), Ev::Close(true)));
}
