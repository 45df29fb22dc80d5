//! The server side of the opening handshake (RFC 6455 §4.2), on a request the HTTP
//! server handed over (`iocrate_http::driver::Handler::on_upgrade`).
//!
//! [`check`] validates the request and computes everything the answer needs
//! ([`Upgrade`]); the application may then look at it (origin, subprotocols) and either
//! accept ([`Upgrade::response`] gives the `101`, [`Upgrade::config`] the codec settings)
//! or refuse ([`refusal`]).

use std::io;
use std::time::Duration;

use iocrate_http::Request;
use iocrate_net::Transport;

use crate::codec::deflate::{negotiate, parse_extensions, DeflateConfig, DeflateParams};
use crate::codec::handshake::{accept_key, parse_protocols, validate_key};
use crate::codec::{Config, Limits, Role};

/// What a server accepts.
#[derive(Debug, Clone, Default)]
pub struct ServerConfig {
    /// Only requests for this path (query ignored) are upgraded.
    pub path: Option<String>,
    /// Offer permessage-deflate to clients that ask for it.
    pub deflate: Option<DeflateConfig>,
    /// Frame and message limits.
    pub limits: Limits,
}

/// A valid upgrade request, not answered yet.
#[derive(Debug, Clone)]
pub struct Upgrade {
    /// `Sec-WebSocket-Accept` for the answer.
    pub accept: String,
    /// The subprotocols the client offered, in its order.
    pub protocols: Vec<String>,
    /// The negotiated permessage-deflate parameters and the extension header value.
    pub deflate: Option<(DeflateParams, String)>,
    /// The `Origin` header, if any.
    pub origin: Option<String>,
}

/// A request that cannot be upgraded: the status to answer with and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status (400, 404, 426 …).
    pub status: u16,
    /// Why, for the response body.
    pub reason: &'static str,
}

/// Whether this request asks for a WebSocket (`Upgrade: websocket`); the full check is
/// [`check`].
pub fn is_websocket(req: &Request) -> bool {
    req.headers.has_token("upgrade", "websocket")
}

/// The request path without its query.
pub fn path_of(req: &Request) -> &str {
    let t = req.target.as_str();
    t.split('?').next().unwrap_or(t)
}

/// Validates an upgrade request (RFC 6455 §4.2.1) and negotiates its extensions.
pub fn check(req: &Request, cfg: &ServerConfig) -> Result<Upgrade, Refusal> {
    if let Some(p) = &cfg.path {
        if path_of(req) != p {
            return Err(Refusal { status: 400, reason: "no WebSocket endpoint at this path" });
        }
    }
    if req.method != "GET" {
        return Err(Refusal { status: 400, reason: "a WebSocket handshake must be a GET request" });
    }
    if !req.headers.has_token("upgrade", "websocket") || !req.headers.has_token("connection", "upgrade") {
        return Err(Refusal { status: 400, reason: "missing Upgrade: websocket or Connection: upgrade" });
    }
    match req.headers.get("sec-websocket-version") {
        Some(v) if trim(v) == b"13" => {}
        _ => return Err(Refusal { status: 426, reason: "unsupported Sec-WebSocket-Version (13 is supported)" }),
    }
    let mut keys = req.headers.get_all("sec-websocket-key");
    let key = match (keys.next(), keys.next()) {
        (Some(k), None) => std::str::from_utf8(trim(k)).unwrap_or(""),
        _ => "",
    };
    if !validate_key(key) {
        return Err(Refusal { status: 400, reason: "missing or invalid Sec-WebSocket-Key" });
    }
    let mut protocols = Vec::new();
    for v in req.headers.get_all("sec-websocket-protocol") {
        let v = std::str::from_utf8(v).map_err(|_| bad_protocols())?;
        protocols.extend(parse_protocols(v).map_err(|_| bad_protocols())?);
    }
    let mut deflate = None;
    if let Some(dcfg) = &cfg.deflate {
        let mut offers = Vec::new();
        for v in req.headers.get_all("sec-websocket-extensions") {
            let v = std::str::from_utf8(v).map_err(|_| bad_extensions())?;
            offers.extend(parse_extensions(v).map_err(|_| bad_extensions())?);
        }
        deflate = negotiate(&offers, dcfg);
    }
    let origin = req.headers.get("origin").map(|v| String::from_utf8_lossy(v).into_owned());
    Ok(Upgrade { accept: accept_key(key), protocols, deflate, origin })
}

fn bad_protocols() -> Refusal {
    Refusal { status: 400, reason: "invalid Sec-WebSocket-Protocol" }
}

fn bad_extensions() -> Refusal {
    Refusal { status: 400, reason: "invalid Sec-WebSocket-Extensions" }
}

fn trim(v: &[u8]) -> &[u8] {
    v.trim_ascii()
}

impl Upgrade {
    /// The `101 Switching Protocols` answer, choosing `protocol` (which must be one the
    /// client offered) and adding `extra` header lines.
    pub fn response(&self, protocol: Option<&str>, extra: &[(String, String)]) -> Vec<u8> {
        let mut r = Vec::with_capacity(160);
        r.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n");
        r.extend_from_slice(b"Sec-WebSocket-Accept: ");
        r.extend_from_slice(self.accept.as_bytes());
        r.extend_from_slice(b"\r\n");
        if let Some(p) = protocol {
            r.extend_from_slice(b"Sec-WebSocket-Protocol: ");
            r.extend_from_slice(p.as_bytes());
            r.extend_from_slice(b"\r\n");
        }
        if let Some((_, ext)) = &self.deflate {
            r.extend_from_slice(b"Sec-WebSocket-Extensions: ");
            r.extend_from_slice(ext.as_bytes());
            r.extend_from_slice(b"\r\n");
        }
        for (n, v) in extra {
            if valid_header(n, v) {
                r.extend_from_slice(n.as_bytes());
                r.extend_from_slice(b": ");
                r.extend_from_slice(v.as_bytes());
                r.extend_from_slice(b"\r\n");
            }
        }
        r.extend_from_slice(b"\r\n");
        r
    }

    /// Codec settings for the accepted connection.
    pub fn config(&self, cfg: &ServerConfig) -> Config {
        let dcfg = cfg.deflate.unwrap_or_default();
        Config {
            role: Role::Server,
            limits: cfg.limits,
            deflate: self.deflate.as_ref().map(|(p, _)| *p),
            deflate_level: dcfg.level,
            deflate_threshold: dcfg.threshold,
        }
    }

    /// The window bits for frames this server compresses, when deflate was negotiated.
    pub fn deflate_window(&self) -> Option<u8> {
        self.deflate.as_ref().map(|(p, _)| p.server_max_window_bits)
    }
}

fn valid_header(name: &str, value: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
        && !value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

/// An HTTP error answer refusing an upgrade (`Connection: close`).
pub fn refusal(status: u16, reason: &str) -> Vec<u8> {
    let phrase = iocrate_http::reason_phrase(status);
    let mut r = format!(
        "HTTP/1.1 {status} {phrase}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
        reason.len()
    );
    if status == 426 {
        r.push_str("Sec-WebSocket-Version: 13\r\n");
    }
    r.push_str("\r\n");
    r.push_str(reason);
    r.into_bytes()
}

/// Writes `bytes` and closes the transport gracefully (a refusal).
pub async fn write_and_close<T: Transport>(io: T, bytes: &[u8]) {
    let _ = tokio::time::timeout(Duration::from_secs(5), write_all(&io, bytes)).await;
    // Give the peer a moment to read the answer before the socket goes.
    iocrate_net::linger(&io, Duration::from_millis(500)).await;
}

/// Writes all of `bytes` (and flushes a TLS transport).
pub async fn write_all<T: Transport>(io: &T, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        match io.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => io.writable().await?,
            Err(e) => return Err(e),
        }
    }
    while io.has_pending_output() {
        match io.flush() {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => io.writable().await?,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
