include!("openssl_peers.rs");
#[test]
fn dbg_serve() {
    let (_server, port, conns) = serve(ServerOptions { identity: Some(pair("server")), ..Default::default() });
    std::fs::write("/tmp/dbg_port", port.to_string()).unwrap();
    let (conn, rx) = conns.recv_timeout(Duration::from_secs(30)).unwrap();
    let seen = echo_with(conn.clone(), rx, true).join().unwrap();
    eprintln!("SEEN {seen:?}");
}
