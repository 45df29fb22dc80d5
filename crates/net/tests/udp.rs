//! UDP endpoint against real sockets on 127.0.0.1 and ::1.

use std::net::{SocketAddr, UdpSocket as StdUdp};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iocrate_net::udp::{DatagramEvents, Membership, RecvBatch, SendOutcome, UdpEndpoint, UdpOptions, TRUNCATED_CODE};
use iocrate_net::{Credit, NetError, SocketAddress};

#[derive(Debug)]
enum Ev {
    Messages(RecvBatch),
    Warning(NetError),
    Sent(Vec<(u64, Result<usize, NetError>)>),
    Error(NetError),
    Close,
}

struct Chan(Mutex<Sender<Ev>>);

impl DatagramEvents for Chan {
    fn on_messages(&self, batch: RecvBatch, _credit: Credit) {
        let _ = self.0.lock().unwrap().send(Ev::Messages(batch));
    }
    fn on_warning(&self, w: NetError) {
        let _ = self.0.lock().unwrap().send(Ev::Warning(w));
    }
    fn on_sent(&self, done: Vec<(u64, Result<usize, NetError>)>) {
        let _ = self.0.lock().unwrap().send(Ev::Sent(done));
    }
    fn on_error(&self, e: NetError) {
        let _ = self.0.lock().unwrap().send(Ev::Error(e));
    }
    fn on_close(&self) {
        let _ = self.0.lock().unwrap().send(Ev::Close);
    }
}

fn bind(opts: UdpOptions) -> (Arc<UdpEndpoint>, Receiver<Ev>) {
    let (tx, rx) = channel();
    (UdpEndpoint::bind(&opts, Arc::new(Chan(Mutex::new(tx)))).expect("bind"), rx)
}

fn v4() -> UdpOptions {
    UdpOptions { address: "127.0.0.1".into(), ..Default::default() }
}

fn v6() -> UdpOptions {
    UdpOptions { ipv6: true, address: "::1".into(), ..Default::default() }
}

fn addr(ep: &UdpEndpoint) -> SocketAddr {
    match ep.local_addr() {
        SocketAddress::Inet(a) => a,
        other => panic!("not inet: {other:?}"),
    }
}

fn next(rx: &Receiver<Ev>) -> Ev {
    rx.recv_timeout(Duration::from_secs(5)).expect("event within 5 s")
}

fn next_messages(rx: &Receiver<Ev>) -> RecvBatch {
    loop {
        match next(rx) {
            Ev::Messages(b) => return b,
            Ev::Sent(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn echo_roundtrip(opts: UdpOptions, peer_bind: &str) {
    let (ep, rx) = bind(opts);
    let peer = StdUdp::bind(peer_bind).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    peer.send_to(b"hello", addr(&ep)).unwrap();
    let b = next_messages(&rx);
    let (data, meta) = b.iter().next().unwrap();
    assert_eq!(data, b"hello");
    assert_eq!(meta.from, peer.local_addr().unwrap());
    assert!(!meta.truncated);
    assert_eq!(ep.send(b"world", Some(meta.from)).unwrap(), SendOutcome::Sent(5));
    let mut buf = [0u8; 16];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"world");
    assert_eq!(from, addr(&ep));
    ep.close();
    assert!(matches!(next(&rx), Ev::Close));
}

#[test]
fn roundtrip_ipv4() {
    echo_roundtrip(v4(), "127.0.0.1:0");
}

#[test]
fn roundtrip_ipv6() {
    echo_roundtrip(v6(), "[::1]:0");
}

#[test]
fn bind_conflict_is_reported_at_once() {
    let (ep, _rx) = bind(v4());
    let port = addr(&ep).port();
    let err = UdpEndpoint::bind(&UdpOptions { port, ..v4() }, Arc::new(Chan(Mutex::new(channel().0)))).unwrap_err();
    assert_eq!(err.code, "EADDRINUSE");
    assert_eq!(err.syscall, "bind");
    // With SO_REUSEADDR on both (Linux allows sharing a UDP port then).
    let (a, _ra) = bind(UdpOptions { reuse_addr: true, ..v4() });
    let p = addr(&a).port();
    assert!(UdpEndpoint::bind(
        &UdpOptions { port: p, reuse_addr: true, ..v4() },
        Arc::new(Chan(Mutex::new(channel().0)))
    )
    .is_ok());
    // Family mismatch.
    let e = UdpEndpoint::bind(&UdpOptions { address: "::1".into(), ..v4() }, Arc::new(Chan(Mutex::new(channel().0))))
        .unwrap_err();
    assert_eq!(e.code, "EINVAL");
}

#[test]
fn truncated_datagram_is_flagged_and_warned() {
    let (ep, rx) = bind(UdpOptions { max_message_size: 100, ..v4() });
    let peer = StdUdp::bind("127.0.0.1:0").unwrap();
    peer.send_to(&[7u8; 300], addr(&ep)).unwrap();
    peer.send_to(&[8u8; 100], addr(&ep)).unwrap();
    let mut metas = Vec::new();
    let mut warnings = Vec::new();
    while metas.len() < 2 || warnings.is_empty() {
        match next(&rx) {
            Ev::Messages(b) => {
                for (d, m) in b.iter() {
                    assert_eq!(d.len(), m.len);
                    metas.push(*m);
                }
            }
            Ev::Warning(w) => warnings.push(w),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(metas[0].truncated);
    assert_eq!(metas[0].len, 100);
    #[cfg(target_os = "linux")]
    assert_eq!(metas[0].size, 300);
    assert!(!metas[1].truncated, "exactly maxMessageSize is not truncated");
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].code, TRUNCATED_CODE);
    assert!(warnings[0].message.contains("300"), "{}", warnings[0].message);
}

#[test]
fn oversized_send_is_emsgsize() {
    let (ep, _rx) = bind(v4());
    let to = addr(&ep);
    let err = ep.send(&vec![0u8; 70_000], Some(to)).unwrap_err();
    assert_eq!(err.code, "EMSGSIZE");
    assert_eq!(err.syscall, "send");
    assert_eq!(ep.send(&vec![0u8; 65_507], Some(to)).unwrap(), SendOutcome::Sent(65_507));
}

#[test]
fn send_after_close_fails() {
    let (ep, rx) = bind(v4());
    let to = addr(&ep);
    ep.close();
    assert_eq!(ep.send(b"x", Some(to)).unwrap_err().code, "ERR_SOCKET_CLOSED");
    assert!(matches!(next(&rx), Ev::Close));
    ep.close();
    assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "close is reported once");
}

#[test]
fn batches_many_datagrams() {
    let (ep, rx) = bind(UdpOptions { recv_buffer_size: Some(4 << 20), ..v4() });
    let to = addr(&ep);
    // Pause so the datagrams pile up in the kernel buffer, then read them in batches.
    ep.pause();
    std::thread::sleep(Duration::from_millis(50));
    let peer = StdUdp::bind("127.0.0.1:0").unwrap();
    let total = 2000u32;
    for i in 0..total {
        peer.send_to(&i.to_be_bytes(), to).unwrap();
    }
    ep.resume();
    let mut got = 0u32;
    let mut calls = 0;
    let deadline = Instant::now() + Duration::from_secs(5);
    while got < total && Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(Ev::Messages(b)) => {
                assert!(b.len() <= 64);
                for (d, _) in b.iter() {
                    assert_eq!(u32::from_be_bytes(d.try_into().unwrap()), got, "in order on loopback");
                    got += 1;
                }
                calls += 1;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => break,
        }
    }
    assert!(got > total * 9 / 10, "got {got} of {total}");
    assert!(calls * 8 < got, "{calls} deliveries for {got} datagrams: not batched");
}

#[test]
fn connect_and_disconnect() {
    let (ep, rx) = bind(v4());
    let peer = StdUdp::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let other = StdUdp::bind("127.0.0.1:0").unwrap();
    let before = addr(&ep);
    ep.connect(peer.local_addr().unwrap()).unwrap();
    assert_eq!(ep.peer_addr(), Some(SocketAddress::Inet(peer.local_addr().unwrap())));
    assert!(matches!(ep.send(b"to-peer", None).unwrap(), SendOutcome::Sent(7)));
    let mut buf = [0u8; 16];
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"to-peer");
    // A connected socket ignores other senders.
    other.send_to(b"stranger", addr(&ep)).unwrap();
    peer.send_to(b"friend", addr(&ep)).unwrap();
    let b = next_messages(&rx);
    assert_eq!(b.iter().next().unwrap().0, b"friend");
    ep.disconnect().unwrap();
    assert_eq!(ep.peer_addr(), None);
    assert_eq!(addr(&ep), before, "disconnect keeps the bound address");
    other.send_to(b"stranger2", addr(&ep)).unwrap();
    let b = next_messages(&rx);
    assert_eq!(b.iter().next().unwrap().0, b"stranger2");
}

#[test]
fn connected_send_to_closed_port_reports_econnrefused() {
    let (ep, rx) = bind(v4());
    let gone = StdUdp::bind("127.0.0.1:0").unwrap();
    let to = gone.local_addr().unwrap();
    drop(gone);
    ep.connect(to).unwrap();
    ep.send(b"a", None).unwrap();
    // The ICMP error shows up on the next receive (or the next send).
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut seen = false;
    while Instant::now() < deadline && !seen {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ev::Error(e)) => {
                assert_eq!(e.code, "ECONNREFUSED");
                seen = true;
            }
            Ok(other) => panic!("unexpected {other:?}"),
            Err(_) => {
                if let Err(e) = ep.send(b"a", None) {
                    assert_eq!(e.code, "ECONNREFUSED");
                    seen = true;
                }
            }
        }
    }
    assert!(seen);
    assert!(!ep.is_closed(), "the socket stays open");
}

#[test]
fn options_and_buffer_sizes() {
    let (ep, _rx) = bind(UdpOptions { recv_buffer_size: Some(256 * 1024), send_buffer_size: Some(128 * 1024), ..v4() });
    assert!(ep.recv_buffer_size().unwrap() >= 256 * 1024);
    assert!(ep.send_buffer_size().unwrap() >= 128 * 1024);
    ep.set_recv_buffer_size(300_000).unwrap();
    assert!(ep.recv_buffer_size().unwrap() >= 300_000);
    ep.set_broadcast(true).unwrap();
    ep.set_ttl(12).unwrap();
    ep.set_multicast_ttl(3).unwrap();
    ep.set_multicast_loopback(true).unwrap();
    ep.set_multicast_interface("127.0.0.1").unwrap();
    assert_eq!(ep.set_ttl(0).unwrap_err().code, "EINVAL");
    let (e6, _r6) = bind(v6());
    e6.set_ttl(20).unwrap();
    e6.set_multicast_ttl(2).unwrap();
    e6.set_multicast_loopback(false).unwrap();
}

#[test]
fn multicast_membership_on_loopback() {
    let (ep, rx) = bind(UdpOptions { address: "0.0.0.0".into(), reuse_addr: true, ..Default::default() });
    let group: std::net::IpAddr = "239.255.42.99".parse().unwrap();
    let m = Membership { group, interface: Some("127.0.0.1".into()), source: None };
    ep.add_membership(&m).unwrap();
    // Joining twice is EADDRINUSE, as in Node.
    assert_eq!(ep.add_membership(&m).unwrap_err().code, "EADDRINUSE");
    ep.set_multicast_interface("127.0.0.1").unwrap();
    ep.set_multicast_loopback(true).unwrap();
    let port = addr(&ep).port();
    let _ = ep.send(b"mc", Some(SocketAddr::new(group, port)));
    // Delivery depends on the sandbox's routing for 239/8 on lo; accept either.
    match rx.recv_timeout(Duration::from_millis(500)) {
        Ok(Ev::Messages(b)) => assert_eq!(b.iter().next().unwrap().0, b"mc"),
        Ok(other) => panic!("unexpected {other:?}"),
        Err(_) => eprintln!("multicast not routed on loopback here; membership calls succeeded"),
    }
    ep.drop_membership(&m).unwrap();
    assert_eq!(ep.drop_membership(&m).unwrap_err().code, "EADDRNOTAVAIL");
    // Source-specific.
    let ssm = Membership {
        group: "232.1.1.1".parse().unwrap(),
        interface: Some("127.0.0.1".into()),
        source: Some("127.0.0.1".parse().unwrap()),
    };
    ep.add_membership(&ssm).unwrap();
    ep.drop_membership(&ssm).unwrap();
    // Wrong family.
    let bad = Membership { group: "ff02::1".parse().unwrap(), interface: None, source: None };
    assert_eq!(ep.add_membership(&bad).unwrap_err().code, "EINVAL");
}

#[test]
fn multicast_membership_ipv6() {
    let (ep, _rx) = bind(UdpOptions { ipv6: true, address: "::".into(), ..Default::default() });
    let m = Membership { group: "ff02::1:3".parse().unwrap(), interface: Some("lo".into()), source: None };
    match ep.add_membership(&m) {
        Ok(()) => ep.drop_membership(&m).unwrap(),
        // Some sandboxes have no IPv6 multicast on lo.
        Err(e) => assert!(["EADDRNOTAVAIL", "ENODEV", "EINVAL"].contains(&e.code) || e.errno == Some(19), "{e}"),
    }
}

#[test]
fn queues_when_kernel_buffer_is_full_and_reports_outcomes() {
    let (ep, rx) = bind(UdpOptions { send_buffer_size: Some(4096), ..v4() });
    let (sink, srx) = bind(UdpOptions { recv_buffer_size: Some(1 << 20), ..v4() });
    let to = addr(&sink);
    let mut queued = Vec::new();
    for _ in 0..2000 {
        match ep.send(&[1u8; 1200], Some(to)).unwrap() {
            SendOutcome::Queued(t) => queued.push(t),
            SendOutcome::Sent(n) => assert_eq!(n, 1200),
        }
    }
    if queued.is_empty() {
        eprintln!("the kernel never pushed back; queue path not exercised");
        return;
    }
    let mut done = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while done.len() < queued.len() && Instant::now() < deadline {
        if let Ok(Ev::Sent(d)) = rx.recv_timeout(Duration::from_millis(200)) {
            for (t, r) in d {
                assert_eq!(r.unwrap(), 1200);
                done.push(t);
            }
        }
    }
    assert_eq!(done, queued, "every queued datagram reported, in order");
    assert_eq!(ep.queued(), (0, 0));
    drop(srx);
}
