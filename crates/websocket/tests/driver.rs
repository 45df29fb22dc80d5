//! The tokio driver over real loopback TCP: staged direct writes and their ordering with
//! the connection task's own output, a peer that stops reading, the close handshake and
//! protocol errors. The peer is a plain tokio socket with our codec in the client role.
#![cfg(feature = "tokio")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use iocrate_net::tcp::Sock;
use iocrate_net::Credit;
use iocrate_websocket::codec::{Config, Decoder, Encoder, Message, Role};
use iocrate_websocket::driver::{flush_staged, run, Settings, WsConn, WsError, WsEvents};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Log {
    messages: Mutex<Vec<(bool, Bytes)>>,
    errors: Mutex<Vec<WsError>>,
    closed: Mutex<Option<(u16, Bytes, bool)>>,
    drains: Mutex<usize>,
}

impl WsEvents for Log {
    fn on_message(&self, text: bool, data: Bytes, _credit: Credit) {
        self.messages.lock().unwrap().push((text, data));
    }
    fn on_drain(&self) {
        *self.drains.lock().unwrap() += 1;
    }
    fn on_error(&self, err: WsError) {
        self.errors.lock().unwrap().push(err);
    }
    fn on_close(&self, code: u16, reason: Bytes, clean: bool) {
        *self.closed.lock().unwrap() = Some((code, reason, clean));
    }
}

/// A server connection driven by `run` (direct writes enabled) and the raw peer socket.
async fn pair(settings: Settings) -> (Arc<WsConn>, Arc<Log>, TcpStream, tokio::task::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let peer = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    let sock = Arc::new(Sock::Tcp(s));
    let conn = WsConn::new(1, None, &settings);
    conn.enable_direct(sock.clone(), usize::MAX);
    let log = Arc::new(Log::default());
    let task = tokio::spawn(run(
        sock,
        Bytes::new(),
        b"PREFACE\n".to_vec(),
        Config::new(Role::Server),
        Arc::new(settings),
        conn.clone(),
        log.clone(),
        None,
    ));
    (conn, log, peer, task)
}

/// Reads the preface, then decodes server frames until `n` messages are in.
async fn read_messages(peer: &mut TcpStream, buf: &mut BytesMut, n: usize) -> Vec<Message> {
    let mut dec = Decoder::new(&Config::new(Role::Client));
    let mut out = Vec::new();
    while out.len() < n {
        while let Some(m) = dec.decode(buf).expect("valid frames") {
            out.push(m);
        }
        if out.len() >= n {
            break;
        }
        let mut chunk = vec![0u8; 64 * 1024];
        let got =
            tokio::time::timeout(Duration::from_secs(5), peer.read(&mut chunk)).await.expect("data in time").unwrap();
        assert!(got > 0, "EOF after {} messages", out.len());
        buf.extend_from_slice(&chunk[..got]);
    }
    out
}

async fn read_preface(peer: &mut TcpStream) -> BytesMut {
    let mut buf = BytesMut::new();
    while !buf.starts_with(b"PREFACE\n") {
        let mut chunk = vec![0u8; 4096];
        let n = peer.read(&mut chunk).await.unwrap();
        assert!(n > 0);
        buf.extend_from_slice(&chunk[..n]);
    }
    let _ = buf.split_to(8);
    buf
}

async fn settle() {
    tokio::time::sleep(Duration::from_millis(30)).await;
}

#[tokio::test]
async fn staged_sends_go_out_in_order_after_the_preface_and_mix_with_queued_control_frames() {
    let (conn, _log, mut peer, _task) = pair(Settings::default()).await;
    // Sent before the task wrote its preface: they must not overtake it.
    for i in 0..10 {
        conn.send_slice(false, format!("early {i}").as_bytes()).unwrap();
    }
    flush_staged();
    let mut buf = read_preface(&mut peer).await;
    settle().await;
    // Now the direct path: staged, then a ping (queued for the task), then more staged.
    for i in 0..50 {
        conn.send_slice(i % 2 == 0, format!("direct {i}").as_bytes()).unwrap();
    }
    conn.ping(Bytes::from_static(b"p")).unwrap();
    for i in 50..100 {
        conn.send(true, Bytes::from(format!("direct {i}"))).unwrap();
    }
    flush_staged();
    let got = read_messages(&mut peer, &mut buf, 111).await;
    let mut texts = Vec::new();
    let mut pings = 0;
    for m in got {
        match m {
            Message::Text(b) | Message::Binary(b) => texts.push(String::from_utf8(b.to_vec()).unwrap()),
            Message::Ping(p) => {
                assert_eq!(&p[..], b"p");
                pings += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let want: Vec<String> =
        (0..10).map(|i| format!("early {i}")).chain((0..100).map(|i| format!("direct {i}"))).collect();
    assert_eq!(texts, want);
    assert_eq!(pings, 1);
    assert_eq!(conn.buffered(), 0);
}

#[tokio::test]
async fn a_peer_that_stops_reading_moves_the_rest_to_the_task_and_nothing_is_lost() {
    let settings = Settings { high_water_mark: 64 * 1024, ..Settings::default() };
    let (conn, log, mut peer, _task) = pair(settings).await;
    let mut buf = read_preface(&mut peer).await;
    settle().await;
    // Far more than the socket buffers take while the peer does not read.
    let chunk = vec![7u8; 256 * 1024];
    for _ in 0..64 {
        conn.send_slice(false, &chunk).unwrap();
        flush_staged();
    }
    settle().await;
    assert!(conn.buffered() > 1024 * 1024, "buffered {}", conn.buffered());
    let got = read_messages(&mut peer, &mut buf, 64).await;
    assert!(got.iter().all(|m| matches!(m, Message::Binary(b) if b.len() == chunk.len() && b.iter().all(|&x| x == 7))));
    for _ in 0..100 {
        if conn.buffered() == 0 && *log.drains.lock().unwrap() > 0 {
            break;
        }
        settle().await;
    }
    assert_eq!(conn.buffered(), 0);
    assert!(*log.drains.lock().unwrap() >= 1);
}

#[tokio::test]
async fn close_handshake_started_by_the_server_and_messages_from_the_peer() {
    let (conn, log, mut peer, task) = pair(Settings::default()).await;
    let mut buf = read_preface(&mut peer).await;
    let mut enc = Encoder::new(&Config::new(Role::Client));
    let mut out = BytesMut::new();
    enc.text(b"hello", &mut out);
    enc.binary(&[1, 2, 3], &mut out);
    peer.write_all(&out).await.unwrap();
    for _ in 0..100 {
        if log.messages.lock().unwrap().len() == 2 {
            break;
        }
        settle().await;
    }
    assert_eq!(
        *log.messages.lock().unwrap(),
        vec![(true, Bytes::from_static(b"hello")), (false, Bytes::from_static(&[1, 2, 3]))]
    );
    conn.send_slice(true, b"bye soon").unwrap();
    conn.close(Some(4000), "done".into()).unwrap();
    assert!(conn.send_slice(true, b"too late").is_err());
    flush_staged();
    let got = read_messages(&mut peer, &mut buf, 2).await;
    assert_eq!(got[0], Message::Text(Bytes::from_static(b"bye soon")));
    assert!(matches!(&got[1], Message::Close(Some(f)) if f.code == 4000 && f.reason == "done"));
    out.clear();
    enc.close(Some(4000), "", &mut out);
    peer.write_all(&out).await.unwrap();
    // The server closes the TCP connection first.
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), peer.read_to_end(&mut rest)).await.unwrap().unwrap();
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    let closed = log.closed.lock().unwrap().clone();
    assert_eq!(closed, Some((4000, Bytes::new(), true)));
}

#[tokio::test]
async fn a_protocol_error_sends_its_close_code_and_reports_once() {
    let (_conn, log, mut peer, task) = pair(Settings::default()).await;
    let mut buf = read_preface(&mut peer).await;
    // An unmasked frame from a client: 1002.
    peer.write_all(&[0x81, 0x02, b'h', b'i']).await.unwrap();
    let got = read_messages(&mut peer, &mut buf, 1).await;
    assert!(matches!(&got[0], Message::Close(Some(f)) if f.code == 1002));
    tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
    let errors = log.errors.lock().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].code, "ERR_WEBSOCKET_PROTOCOL");
    assert_eq!(errors[0].close_code, Some(1002));
    assert_eq!(log.closed.lock().unwrap().as_ref().map(|c| (c.0, c.2)), Some((1002, false)));
}
