//! `@iocrate/tls`: TLS client and server streams over TCP (rustls, ring provider).
//!
//! Events of a TLS `StreamHandle` are those of a TCP one, with one difference: CONNECT
//! means "the TLS handshake has completed", on both sides. A server's CONNECTION event
//! carries the `StreamHandle` as soon as the TCP connection is accepted; the TS layer waits
//! for that handle's CONNECT (→ `'secureConnection'`) or ERROR (→ `'tlsClientError'`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use iocrate_net::tcp::{AcceptedSocket, ServerEvents};
use iocrate_net::{ConnectOptions, ListenOptions, NetError, StreamEvents, StreamOptions};
use iocrate_tls::config::{client_config, server_config};
use iocrate_tls::{CertInfo, ClientOptions, KeyPair, ServerOptions, TlsConn, TlsInfo, TlsVersion};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bridge::{Bridge, Sink};
use crate::error::ErrorInfo;
use crate::net::{listen_with, RawConnectOptions, RawListenOptions, ServerHandle, ServerSink};
use crate::stream::{Conn, StreamHandle};

/// TLS client options from JS (PEM as Buffers).
#[napi(object)]
pub struct RawTlsConnectOptions {
    /// Where to connect.
    pub tcp: RawConnectOptions,
    /// Name to send as SNI and to verify the certificate against (DNS name or IP).
    pub servername: Option<String>,
    /// Trusted CAs (PEM); absent: the system roots.
    pub ca: Option<Vec<Buffer>>,
    /// Client certificate chain (PEM).
    pub cert: Option<Buffer>,
    /// Client private key (PEM).
    pub key: Option<Buffer>,
    /// ALPN protocols to offer.
    pub alpn_protocols: Option<Vec<String>>,
    /// `TLSv1.2` or `TLSv1.3`.
    pub min_version: Option<String>,
    /// `TLSv1.2` or `TLSv1.3`.
    pub max_version: Option<String>,
    /// Accept any server certificate (the outcome is still reported).
    pub dangerously_disable_certificate_verification: Option<bool>,
    /// Fail the handshake after this many ms (0 or absent: no limit).
    pub handshake_timeout_ms: Option<u32>,
}

/// A certificate and key for one SNI name.
#[napi(object)]
pub struct RawSniEntry {
    /// Server name (`a.example.com` or `*.example.com`).
    pub name: String,
    /// Certificate chain (PEM).
    pub cert: Buffer,
    /// Private key (PEM).
    pub key: Buffer,
}

/// TLS server options from JS.
#[napi(object)]
pub struct RawTlsServerOptions {
    /// Where to listen.
    pub listen: RawListenOptions,
    /// Default certificate chain (PEM).
    pub cert: Option<Buffer>,
    /// Default private key (PEM).
    pub key: Option<Buffer>,
    /// Certificates per SNI name.
    pub sni: Option<Vec<RawSniEntry>>,
    /// CAs for client certificates (PEM).
    pub ca: Option<Vec<Buffer>>,
    /// ALPN protocols accepted, preferred first.
    pub alpn_protocols: Option<Vec<String>>,
    /// `TLSv1.2` or `TLSv1.3`.
    pub min_version: Option<String>,
    /// `TLSv1.2` or `TLSv1.3`.
    pub max_version: Option<String>,
    /// Ask for a client certificate.
    pub request_cert: Option<bool>,
    /// With `requestCert`: refuse clients without a valid certificate.
    pub reject_unauthorized: Option<bool>,
    /// Fail handshakes after this many ms (0 or absent: no limit).
    pub handshake_timeout_ms: Option<u32>,
}

/// A peer certificate, parsed.
#[napi(object)]
pub struct PeerCertificate {
    /// Subject attributes (`CN`, `O`, …).
    pub subject: HashMap<String, String>,
    /// Issuer attributes.
    pub issuer: HashMap<String, String>,
    /// `DNS:a, IP Address:1.2.3.4`.
    pub subjectaltname: Option<String>,
    /// `Jan  1 00:00:00 2020 GMT`.
    #[napi(js_name = "valid_from")]
    pub valid_from: String,
    /// `Jan  1 00:00:00 2030 GMT`.
    #[napi(js_name = "valid_to")]
    pub valid_to: String,
    /// SHA-1 fingerprint, `AA:BB:…`.
    pub fingerprint: String,
    /// SHA-256 fingerprint, `AA:BB:…`.
    pub fingerprint256: String,
    /// Serial number, upper-case hex.
    pub serial_number: String,
    /// Whether it is a CA certificate.
    pub ca: bool,
    /// The DER bytes.
    pub raw: Buffer,
}

/// The negotiated cipher.
#[napi(object)]
pub struct CipherInfo {
    /// IANA name (`TLS_AES_128_GCM_SHA256`).
    pub name: String,
    /// IANA name, as Node's `standardName`.
    pub standard_name: String,
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
}

fn map_pairs(v: Vec<(String, String)>) -> HashMap<String, String> {
    let mut m: HashMap<String, String> = HashMap::new();
    for (k, val) in v {
        m.entry(k)
            .and_modify(|e| {
                e.push('\n');
                e.push_str(&val);
            })
            .or_insert(val);
    }
    m
}

fn version(v: &Option<String>) -> std::result::Result<Option<TlsVersion>, NetError> {
    v.as_deref().map(TlsVersion::parse).transpose()
}

fn alpn(v: Option<Vec<String>>) -> Vec<Vec<u8>> {
    v.unwrap_or_default().into_iter().map(String::into_bytes).collect()
}

fn pems(v: Option<Vec<Buffer>>) -> Option<Vec<Vec<u8>>> {
    v.map(|l| l.into_iter().map(|b| b.to_vec()).collect())
}

fn key_pair(cert: Option<Buffer>, key: Option<Buffer>) -> std::result::Result<Option<KeyPair>, NetError> {
    match (cert, key) {
        (Some(c), Some(k)) => Ok(Some(KeyPair { cert: c.to_vec(), key: k.to_vec() })),
        (None, None) => Ok(None),
        _ => Err(NetError::new(iocrate_tls::codes::BAD_CONFIG, "tls", "cert and key must be given together")),
    }
}

fn ms(v: Option<u32>) -> Option<Duration> {
    v.filter(|&v| v > 0).map(|v| Duration::from_millis(v as u64))
}

fn js_err(e: NetError) -> ErrorInfo {
    e.into()
}

impl StreamHandle {
    /// The TLS session's state, once the handshake is done; `None` for TCP streams.
    fn tls_info(&self) -> Option<&TlsInfo> {
        match &self.conn {
            Conn::Tls(c) => c.info(),
            Conn::Tcp(_) => None,
        }
    }
}

/// What a TLS handshake settled (nothing on a TCP stream).
#[napi]
impl StreamHandle {
    /// The negotiated ALPN protocol, once the handshake is done.
    #[napi]
    pub fn alpn_protocol(&self) -> Option<String> {
        self.tls_info()?.alpn.as_ref().map(|a| String::from_utf8_lossy(a).into_owned())
    }

    /// `TLSv1.2` or `TLSv1.3`, once the handshake is done.
    #[napi]
    pub fn protocol(&self) -> Option<String> {
        self.tls_info()?.protocol.map(str::to_string)
    }

    /// The negotiated cipher suite.
    #[napi]
    pub fn cipher(&self) -> Option<CipherInfo> {
        let i = self.tls_info()?;
        let name = i.cipher.clone()?;
        Some(CipherInfo { standard_name: name.clone(), name, version: i.protocol.unwrap_or("").to_string() })
    }

    /// The peer's certificate chain (DER), end-entity first.
    #[napi]
    pub fn peer_certificates(&self) -> Vec<Buffer> {
        self.tls_info().map(|i| i.peer_certs.iter().map(|c| Buffer::from(c.clone())).collect()).unwrap_or_default()
    }

    /// Certificate `index` of the peer's chain (0: the peer's own), parsed.
    #[napi]
    pub fn peer_certificate(&self, index: Option<u32>) -> Option<PeerCertificate> {
        let der = self.tls_info()?.peer_certs.get(index.unwrap_or(0) as usize)?.clone();
        let c = CertInfo::from_der(&der)?;
        Some(PeerCertificate {
            subject: map_pairs(c.subject),
            issuer: map_pairs(c.issuer),
            subjectaltname: c.subjectaltname,
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            fingerprint: c.fingerprint,
            fingerprint256: c.fingerprint256,
            serial_number: c.serial_number,
            ca: c.ca,
            raw: der.into(),
        })
    }

    /// Whether the session was resumed.
    #[napi]
    pub fn is_session_reused(&self) -> bool {
        self.tls_info().is_some_and(|i| i.session_reused)
    }

    /// Server: the SNI name the client sent. Client: the name verified against.
    #[napi]
    pub fn servername(&self) -> Option<String> {
        self.tls_info()?.servername.clone()
    }

    /// Whether the peer's certificate was verified (server: a client certificate was
    /// presented and verified).
    #[napi]
    pub fn authorized(&self) -> bool {
        self.tls_info().is_some_and(|i| i.authorized)
    }

    /// Why `authorized()` is false.
    #[napi]
    pub fn authorization_error(&self) -> Option<ErrorInfo> {
        self.tls_info()?.authorization_error.clone().map(js_err)
    }
}

fn client_options(o: &mut RawTlsConnectOptions) -> std::result::Result<ClientOptions, NetError> {
    Ok(ClientOptions {
        ca: pems(o.ca.take()),
        identity: key_pair(o.cert.take(), o.key.take())?,
        alpn: alpn(o.alpn_protocols.take()),
        min_version: version(&o.min_version)?,
        max_version: version(&o.max_version)?,
        dangerously_disable_certificate_verification: o.dangerously_disable_certificate_verification.unwrap_or(false),
    })
}

/// Starts a TLS connection. Events: CONNECT once the handshake is done, or ERROR then
/// CLOSE. Bad options come back at once as an error description.
#[napi]
pub fn tls_connect(bridge: &Bridge, options: RawTlsConnectOptions) -> Either<StreamHandle, ErrorInfo> {
    tls_connect_with(bridge, options, |sink| Arc::new(sink))
}

/// [`tls_connect`] with the stream's events reported by what `events` builds around the sink
/// (a protocol decoder, for the database drivers).
pub(crate) fn tls_connect_with(
    bridge: &Bridge,
    mut options: RawTlsConnectOptions,
    events: impl FnOnce(Sink) -> Arc<dyn StreamEvents>,
) -> Either<StreamHandle, ErrorInfo> {
    let opts = match client_options(&mut options) {
        Ok(o) => o,
        Err(e) => return Either::B(e.into()),
    };
    let setup = match client_config(&opts) {
        Ok(s) => s,
        Err(e) => return Either::B(e.into()),
    };
    let hs = ms(options.handshake_timeout_ms);
    let name = options.servername.take().filter(|s| !s.is_empty());
    let tcp: ConnectOptions = options.tcp.into();
    let name = name.unwrap_or_else(|| if tcp.host.is_empty() { "localhost".to_string() } else { tcp.host.clone() });
    if let Err(e) = iocrate_tls::config::server_name(&name) {
        return Either::B(e.into());
    }
    let sink = Sink::new(&bridge.inner);
    let id = sink.id;
    let conn = TlsConn::connect(tcp, setup, &name, hs, events(sink));
    bridge.inner.track(&conn);
    Either::A(StreamHandle::new(Conn::Tls(conn), id))
}

pub(crate) fn server_options(o: &mut RawTlsServerOptions) -> std::result::Result<ServerOptions, NetError> {
    let mut sni = Vec::new();
    for e in o.sni.take().unwrap_or_default() {
        sni.push((e.name, KeyPair { cert: e.cert.to_vec(), key: e.key.to_vec() }));
    }
    let request_cert = o.request_cert.unwrap_or(false);
    Ok(ServerOptions {
        identity: key_pair(o.cert.take(), o.key.take())?,
        sni,
        alpn: alpn(o.alpn_protocols.take()),
        min_version: version(&o.min_version)?,
        max_version: version(&o.max_version)?,
        request_cert,
        require_cert: request_cert && o.reject_unauthorized.unwrap_or(true),
        ca: pems(o.ca.take()),
    })
}

/// Binds and listens (synchronously); bad certificates or options come back at once as
/// an error description. Call `start()` to accept.
#[napi]
pub fn tls_listen(bridge: &Bridge, mut options: RawTlsServerOptions) -> Either<ServerHandle, ErrorInfo> {
    let config = match server_options(&mut options).and_then(|o| server_config(&o)) {
        Ok(c) => c,
        Err(e) => return Either::B(e.into()),
    };
    let handshake_timeout = ms(options.handshake_timeout_ms);
    let listen: ListenOptions = options.listen.into();
    let make = |sink, stream: StreamOptions| -> Arc<dyn ServerEvents> {
        let accept = move |a: AcceptedSocket, events| {
            Conn::Tls(TlsConn::accept(a.sock, Some(a.guard), &config, &stream, handshake_timeout, events))
        };
        Arc::new(ServerSink { sink, accept })
    };
    match listen_with(&bridge.inner, listen, make) {
        Ok((server, id)) => Either::A(ServerHandle { server, id }),
        Err(e) => Either::B(e.into()),
    }
}
