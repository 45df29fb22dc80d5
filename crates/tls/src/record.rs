//! The I/O-free step of the driver: ciphertext in, plaintext and state changes out.
//!
//! [`process_incoming`] is what [`crate::TlsConn`] runs on every read, and what the fuzz
//! targets (`fuzz/fuzz_targets/tls_*.rs`) and the corpus replay test feed with arbitrary
//! bytes. It never touches a socket: whatever rustls wants to send in reply (handshake
//! messages, alerts) stays queued in the connection for the caller to write.

use std::io::{self, Read};
use std::sync::Arc;

use rustls::{ClientConnection, Connection, ServerConnection};

use crate::config::{server_name, ClientSetup};

/// What one call of [`process_incoming`] produced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Incoming {
    /// Plaintext bytes appended to the output buffer.
    pub plaintext: usize,
    /// The peer sent `close_notify`: no more plaintext will come.
    pub peer_closed: bool,
}

/// Feeds ciphertext into `conn`, appending any decrypted plaintext to `plain`.
///
/// Errors are fatal for the connection; rustls has then queued an alert for the peer.
pub fn process_incoming(
    conn: &mut Connection,
    mut data: &[u8],
    plain: &mut Vec<u8>,
) -> Result<Incoming, rustls::Error> {
    let mut out = Incoming::default();
    // Never call read_tls with an empty slice: rustls takes a 0-byte read as EOF.
    while !data.is_empty() {
        match conn.read_tls(&mut data) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(rustls::Error::General(format!("reading TLS records: {e}"))),
        }
        conn.process_new_packets()?;
        drain_plaintext(conn, plain, &mut out);
    }
    Ok(out)
}

/// Tells `conn` the transport reached EOF and collects what plaintext remains.
/// `peer_closed` is false when the peer closed without `close_notify`.
pub fn process_eof(conn: &mut Connection, plain: &mut Vec<u8>) -> Result<Incoming, rustls::Error> {
    let mut out = Incoming::default();
    let _ = conn.read_tls(&mut &[][..]);
    conn.process_new_packets()?;
    drain_plaintext(conn, plain, &mut out);
    Ok(out)
}

fn drain_plaintext(conn: &mut Connection, plain: &mut Vec<u8>, out: &mut Incoming) {
    let before = plain.len();
    match conn.reader().read_to_end(plain) {
        Ok(_) => out.peer_closed = true,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        // Transport EOF without close_notify; the caller knows it saw EOF.
        Err(_) => {}
    }
    out.plaintext += plain.len() - before;
}

/// A fresh client connection for `setup`, with an unlimited plaintext buffer (the driver
/// does its own backpressure accounting).
pub fn new_client(setup: &ClientSetup, name: &str) -> Result<Connection, iocrate_net::NetError> {
    let mut c =
        ClientConnection::new(setup.config.clone(), server_name(name)?).map_err(|e| crate::map_tls_error(&e))?;
    c.set_buffer_limit(None);
    Ok(Connection::Client(c))
}

/// A fresh server connection for `config`.
pub fn new_server(config: &Arc<rustls::ServerConfig>) -> Result<Connection, iocrate_net::NetError> {
    let mut c = ServerConnection::new(config.clone()).map_err(|e| crate::map_tls_error(&e))?;
    c.set_buffer_limit(None);
    Ok(Connection::Server(c))
}

/// Drains everything `conn` wants to send into `out` (used by tests and fuzz targets).
pub fn drain_outgoing(conn: &mut Connection, out: &mut Vec<u8>) {
    while conn.wants_write() {
        if conn.write_tls(out).is_err() {
            break;
        }
    }
}
