//! The client side of the opening handshake (RFC 6455 §4.1): connect (TCP or TLS, through
//! any [`Connector`]), send the upgrade request, validate the `101` answer, and hand back
//! the transport with the bytes read past the answer.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use iocrate_http::client::{Connector, Origin};
use iocrate_http::{parse_response, Headers, Response};
use iocrate_net::{NetError, Transport};

use super::conn::WsError;
use super::server::write_all;
use crate::codec::deflate::{accept_response, offer, DeflateConfig, DeflateParams};
use crate::codec::handshake::{accept_key, generate_key};
use crate::codec::{Config, Limits, Role};

/// Most bytes of a handshake answer's head.
const MAX_HEAD: usize = 16 * 1024;

/// What to connect to and how.
#[derive(Debug, Clone)]
pub struct ClientRequest {
    /// Scheme (`http` for `ws:`, `https` for `wss:`), host and port.
    pub origin: Origin,
    /// Path and query.
    pub target: String,
    /// Subprotocols to offer, in preference order.
    pub protocols: Vec<String>,
    /// Extra request header fields (`Origin`, `Authorization`, cookies …).
    pub headers: Vec<(String, String)>,
    /// Offer permessage-deflate.
    pub deflate: Option<DeflateConfig>,
    /// Frame and message limits for the connection.
    pub limits: Limits,
    /// The whole handshake (connect, TLS, upgrade) must finish within this.
    pub handshake_timeout: Duration,
}

/// The server's accepted answer.
#[derive(Debug)]
pub struct Handshake {
    /// The subprotocol the server chose.
    pub protocol: Option<String>,
    /// The extensions in effect (`Sec-WebSocket-Extensions` as answered).
    pub extensions: Option<String>,
    /// The answer's header fields.
    pub headers: Headers,
    /// Codec settings for the connection.
    pub config: Config,
    /// Window bits for frames we compress, when deflate was negotiated.
    pub deflate_window: Option<u8>,
}

/// Why a connection attempt failed.
#[derive(Debug)]
pub enum ConnectError {
    /// Connecting or the TLS handshake failed.
    Net(NetError),
    /// The server's answer was not a valid WebSocket handshake.
    Handshake(WsError),
}

impl From<NetError> for ConnectError {
    fn from(e: NetError) -> Self {
        ConnectError::Net(e)
    }
}

fn bad(code: &'static str, msg: impl Into<String>) -> ConnectError {
    ConnectError::Handshake(WsError::new(code, msg))
}

/// Connects and performs the opening handshake.
pub async fn connect<C: Connector>(
    connector: &C,
    req: &ClientRequest,
) -> Result<(C::Stream, Bytes, Handshake), ConnectError> {
    match tokio::time::timeout(req.handshake_timeout, handshake(connector, req)).await {
        Ok(r) => r,
        Err(_) => Err(bad(
            "ERR_WEBSOCKET_HANDSHAKE_TIMEOUT",
            format!("the opening handshake took longer than {} ms", req.handshake_timeout.as_millis()),
        )),
    }
}

async fn handshake<C: Connector>(
    connector: &C,
    req: &ClientRequest,
) -> Result<(C::Stream, Bytes, Handshake), ConnectError> {
    let io = connector.connect(&req.origin).await?;
    let mut nonce = [0u8; 16];
    getrandom::fill(&mut nonce).map_err(|e| bad("ERR_WEBSOCKET_RANDOM", e.to_string()))?;
    let key = generate_key(nonce);
    let offered = req.deflate;
    let head = request_head(req, &key, offered.as_ref().map(offer));
    write_all(&io, &head).await.map_err(|e| io_err(&req.origin, e))?;

    // Read the answer's head.
    let mut buf: Vec<u8> = Vec::new();
    let limits = iocrate_http::Limits::default();
    let (res, used) = loop {
        if let Some(found) = parse_response(&buf, &limits)
            .map_err(|e| bad("ERR_WEBSOCKET_HANDSHAKE", format!("invalid handshake answer: {e}")))?
        {
            break found;
        }
        if buf.len() > MAX_HEAD {
            return Err(bad("ERR_WEBSOCKET_HANDSHAKE", "handshake answer head too large"));
        }
        io.readable().await.map_err(|e| io_err(&req.origin, e))?;
        match io.read_chunk(8 * 1024) {
            Ok(v) if v.is_empty() => {
                return Err(bad("ERR_WEBSOCKET_HANDSHAKE", "the server closed the connection during the handshake"))
            }
            Ok(v) => buf.extend_from_slice(&v),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(io_err(&req.origin, e)),
        }
    };
    let hs = validate(&res, &key, req, offered.as_ref())?;
    let rest = Bytes::copy_from_slice(&buf[used..]);
    Ok((io, rest, hs))
}

fn io_err(origin: &Origin, e: io::Error) -> ConnectError {
    ConnectError::Net(NetError::io("read", &e).at(origin.host.clone(), origin.port))
}

fn request_head(req: &ClientRequest, key: &str, extensions: Option<String>) -> Vec<u8> {
    let mut h = String::with_capacity(256);
    h.push_str("GET ");
    h.push_str(if req.target.is_empty() { "/" } else { &req.target });
    h.push_str(" HTTP/1.1\r\nHost: ");
    h.push_str(&req.origin.host_header());
    h.push_str("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
    h.push_str(key);
    h.push_str("\r\n");
    if !req.protocols.is_empty() {
        h.push_str("Sec-WebSocket-Protocol: ");
        h.push_str(&req.protocols.join(", "));
        h.push_str("\r\n");
    }
    if let Some(e) = extensions {
        h.push_str("Sec-WebSocket-Extensions: ");
        h.push_str(&e);
        h.push_str("\r\n");
    }
    for (n, v) in &req.headers {
        h.push_str(n);
        h.push_str(": ");
        h.push_str(v);
        h.push_str("\r\n");
    }
    h.push_str("\r\n");
    h.into_bytes()
}

fn validate(
    res: &Response,
    key: &str,
    req: &ClientRequest,
    offered: Option<&DeflateConfig>,
) -> Result<Handshake, ConnectError> {
    if res.status != 101 {
        return Err(ConnectError::Handshake(WsError {
            code: "ERR_WEBSOCKET_HANDSHAKE",
            message: format!("unexpected server response: {}", res.status),
            close_code: None,
        }));
    }
    let h = &res.headers;
    if !h.has_token("upgrade", "websocket") {
        return Err(bad("ERR_WEBSOCKET_HANDSHAKE", "the answer lacks Upgrade: websocket"));
    }
    if !h.has_token("connection", "upgrade") {
        return Err(bad("ERR_WEBSOCKET_HANDSHAKE", "the answer lacks Connection: upgrade"));
    }
    let expect = accept_key(key);
    match h.get("sec-websocket-accept") {
        Some(v) if v.trim_ascii() == expect.as_bytes() => {}
        _ => return Err(bad("ERR_WEBSOCKET_HANDSHAKE", "invalid Sec-WebSocket-Accept")),
    }
    let protocol = match h.get("sec-websocket-protocol") {
        None => None,
        Some(v) => {
            let p = String::from_utf8_lossy(v).trim().to_string();
            if !req.protocols.contains(&p) {
                return Err(bad("ERR_WEBSOCKET_HANDSHAKE", format!("the server chose a subprotocol not offered: {p}")));
            }
            Some(p)
        }
    };
    let mut deflate: Option<DeflateParams> = None;
    let mut extensions = None;
    let values: Vec<&[u8]> = h.get_all("sec-websocket-extensions").collect();
    if !values.is_empty() {
        let joined = values.iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect::<Vec<_>>().join(", ");
        let Some(cfg) = offered else {
            return Err(bad(
                "ERR_WEBSOCKET_HANDSHAKE",
                format!("the server accepted an extension not offered: {joined}"),
            ));
        };
        let params = accept_response(&joined, cfg)
            .map_err(|e| bad("ERR_WEBSOCKET_HANDSHAKE", format!("invalid Sec-WebSocket-Extensions: {e}")))?;
        deflate = Some(params);
        extensions = Some(joined);
    }
    let dcfg = offered.copied().unwrap_or_default();
    let deflate_window = deflate.as_ref().map(|p| p.client_max_window_bits);
    Ok(Handshake {
        protocol,
        extensions,
        headers: res.headers.clone(),
        config: Config {
            role: Role::Client,
            limits: req.limits,
            deflate,
            deflate_level: dcfg.level,
            deflate_threshold: dcfg.threshold,
        },
        deflate_window,
    })
}
