//! Options → rustls configurations.
//!
//! Every builder passes the ring provider explicitly, so no process-wide default
//! provider is needed (and none is installed). Client configurations are cached by
//! their options: rustls keeps resumption state (session tickets, TLS 1.2 session ids)
//! inside the config, so reusing it for identical options makes a second connect to the
//! same server resume. Server configurations carry an in-memory session cache and a
//! ticketer, so both TLS 1.2 session ids and TLS 1.3 tickets work.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use iocrate_net::NetError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::{ClientHello, ResolvesServerCert, ServerSessionMemoryCache, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme, SupportedProtocolVersion,
};

use crate::error::bad_config;

/// A TLS protocol version, as Node names them (`TLSv1.2`, `TLSv1.3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TlsVersion {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

impl TlsVersion {
    /// Parses Node's name (`TLSv1.2`, `TLSv1.3`).
    pub fn parse(s: &str) -> Result<Self, NetError> {
        match s {
            "TLSv1.2" => Ok(TlsVersion::Tls12),
            "TLSv1.3" => Ok(TlsVersion::Tls13),
            other => Err(bad_config(format!("unsupported TLS version {other:?}: expected 'TLSv1.2' or 'TLSv1.3'"))),
        }
    }
}

/// A certificate chain and its private key, both PEM.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyPair {
    /// PEM certificates: the end-entity certificate first, then intermediates.
    pub cert: Vec<u8>,
    /// PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key: Vec<u8>,
}

/// What a client connection needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientOptions {
    /// Trusted CA certificates (PEM, each entry may hold several). `None`: the system
    /// roots, or the bundled Mozilla roots when the system has none.
    pub ca: Option<Vec<Vec<u8>>>,
    /// A client certificate to present when the server asks for one.
    pub identity: Option<KeyPair>,
    /// ALPN protocols to offer, most preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// Lowest version to negotiate.
    pub min_version: Option<TlsVersion>,
    /// Highest version to negotiate.
    pub max_version: Option<TlsVersion>,
    /// Accept any server certificate. The outcome of the normal verification is still
    /// computed and reported, but does not stop the connection.
    pub dangerously_disable_certificate_verification: bool,
}

/// What a server needs to know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ServerOptions {
    /// The default certificate and key.
    pub identity: Option<KeyPair>,
    /// Certificates per server name (SNI); `*.example.com` matches one label.
    pub sni: Vec<(String, KeyPair)>,
    /// ALPN protocols the server accepts, most preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// Lowest version to negotiate.
    pub min_version: Option<TlsVersion>,
    /// Highest version to negotiate.
    pub max_version: Option<TlsVersion>,
    /// Ask clients for a certificate.
    pub request_cert: bool,
    /// Refuse clients without a valid certificate (with `request_cert`).
    pub require_cert: bool,
    /// CAs client certificates must chain to (PEM). `None`: the system roots.
    pub ca: Option<Vec<Vec<u8>>>,
}

/// A client configuration and what the driver needs beside it.
#[derive(Debug, Clone)]
pub struct ClientSetup {
    /// The rustls configuration (shared by every connect with the same options).
    pub config: Arc<ClientConfig>,
    /// With verification disabled: the verifier that would have been used, so the
    /// outcome can still be reported (`authorized`, `authorizationError`).
    pub report_verifier: Option<Arc<WebPkiServerVerifier>>,
}

/// The ring provider, shared.
pub fn provider() -> Arc<CryptoProvider> {
    static P: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    P.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

fn versions(
    min: Option<TlsVersion>,
    max: Option<TlsVersion>,
) -> Result<Vec<&'static SupportedProtocolVersion>, NetError> {
    let min = min.unwrap_or(TlsVersion::Tls12);
    let max = max.unwrap_or(TlsVersion::Tls13);
    let v: Vec<_> = [(TlsVersion::Tls12, &rustls::version::TLS12), (TlsVersion::Tls13, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(t, _)| *t >= min && *t <= max)
        .map(|(_, v)| v)
        .collect();
    if v.is_empty() {
        return Err(bad_config("minVersion is above maxVersion: no TLS version left to negotiate"));
    }
    Ok(v)
}

/// Parses every certificate in a PEM bundle.
pub fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, NetError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_config(format!("{what}: invalid PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(bad_config(format!("{what}: no PEM certificate found (expected -----BEGIN CERTIFICATE-----)")));
    }
    Ok(certs)
}

/// Parses a PEM private key (PKCS#8, PKCS#1 or SEC1).
pub fn parse_key(pem: &[u8]) -> Result<PrivateKeyDer<'static>, NetError> {
    PrivateKeyDer::from_pem_slice(pem)
        .map_err(|e| bad_config(format!("key: no usable PEM private key (PKCS#8, RSA or EC): {e}")))
}

/// Loads a certificate chain and key into a signing identity, checking they match.
pub fn certified_key(pair: &KeyPair) -> Result<Arc<CertifiedKey>, NetError> {
    let certs = parse_certs(&pair.cert, "cert")?;
    let key = parse_key(&pair.key)?;
    CertifiedKey::from_der(certs, key, &provider()).map(Arc::new).map_err(|e| bad_config(format!("cert/key: {e}")))
}

fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut store = RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
            }
            Arc::new(store)
        })
        .clone()
}

fn roots(ca: &Option<Vec<Vec<u8>>>) -> Result<Arc<RootCertStore>, NetError> {
    let Some(list) = ca else { return Ok(system_roots()) };
    let mut store = RootCertStore::empty();
    for pem in list {
        for c in parse_certs(pem, "ca")? {
            store.add(c).map_err(|e| bad_config(format!("ca: {e}")))?;
        }
    }
    Ok(Arc::new(store))
}

/// Builds (or takes from the cache) the client configuration for `opts`.
pub fn client_config(opts: &ClientOptions) -> Result<ClientSetup, NetError> {
    static CACHE: Mutex<Option<HashMap<u64, (ClientOptions, ClientSetup)>>> = Mutex::new(None);
    let mut h = DefaultHasher::new();
    opts.hash(&mut h);
    let key = h.finish();
    if let Some((o, s)) = CACHE.lock().unwrap_or_else(|e| e.into_inner()).as_ref().and_then(|m| m.get(&key)) {
        if o == opts {
            return Ok(s.clone());
        }
    }
    let setup = build_client_config(opts)?;
    let mut guard = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let map = guard.get_or_insert_with(HashMap::new);
    if map.len() >= 64 {
        map.clear();
    }
    map.insert(key, (opts.clone(), setup.clone()));
    Ok(setup)
}

/// Builds a client configuration without the cache (the fuzz targets use this).
pub fn build_client_config(opts: &ClientOptions) -> Result<ClientSetup, NetError> {
    let p = provider();
    let verifier = WebPkiServerVerifier::builder_with_provider(roots(&opts.ca)?, p.clone())
        .build()
        .map_err(|e| bad_config(format!("ca: {e}")))?;
    let builder = ClientConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&versions(opts.min_version, opts.max_version)?)
        .map_err(|e| bad_config(e.to_string()))?;
    let (builder, report_verifier) = if opts.dangerously_disable_certificate_verification {
        (builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(p))), Some(verifier))
    } else {
        (builder.with_webpki_verifier(verifier), None)
    };
    let mut config = match &opts.identity {
        Some(pair) => {
            let ck = certified_key(pair)?;
            builder
                .with_client_auth_cert(ck.cert.clone(), parse_key(&pair.key)?)
                .map_err(|e| bad_config(format!("cert/key: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = opts.alpn.clone();
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(ClientSetup { config: Arc::new(config), report_verifier })
}

/// Builds a server configuration.
pub fn server_config(opts: &ServerOptions) -> Result<Arc<ServerConfig>, NetError> {
    let p = provider();
    let default = opts.identity.as_ref().map(certified_key).transpose()?;
    let mut by_name = HashMap::new();
    for (name, pair) in &opts.sni {
        by_name.insert(name.trim_end_matches('.').to_ascii_lowercase(), certified_key(pair)?);
    }
    if default.is_none() && by_name.is_empty() {
        return Err(bad_config("a TLS server needs a certificate and key (cert/key or sni)"));
    }
    let builder = ServerConfig::builder_with_provider(p.clone())
        .with_protocol_versions(&versions(opts.min_version, opts.max_version)?)
        .map_err(|e| bad_config(e.to_string()))?;
    let builder = if opts.request_cert {
        let mut vb = WebPkiClientVerifier::builder_with_provider(roots(&opts.ca)?, p.clone());
        if !opts.require_cert {
            vb = vb.allow_unauthenticated();
        }
        builder.with_client_cert_verifier(vb.build().map_err(|e| bad_config(format!("ca: {e}")))?)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder.with_cert_resolver(Arc::new(SniResolver { default, by_name }));
    config.alpn_protocols = opts.alpn.clone();
    config.session_storage = ServerSessionMemoryCache::new(4096);
    config.ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| bad_config(format!("ticketer: {e}")))?;
    config.key_log = Arc::new(rustls::KeyLogFile::new());
    Ok(Arc::new(config))
}

/// Parses a server name for the client: a DNS name or an IP address.
pub fn server_name(name: &str) -> Result<ServerName<'static>, NetError> {
    let n = name.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(n.to_string()).map_err(|_| bad_config(format!("invalid servername {name:?}")))
}

/// Picks the certificate by SNI: exact name, then a `*.` wildcard entry, then the default.
#[derive(Debug)]
struct SniResolver {
    default: Option<Arc<CertifiedKey>>,
    by_name: HashMap<String, Arc<CertifiedKey>>,
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = hello.server_name() {
            let name = name.to_ascii_lowercase();
            if let Some(k) = self.by_name.get(&name) {
                return Some(k.clone());
            }
            if let Some((_, rest)) = name.split_once('.') {
                if let Some(k) = self.by_name.get(&format!("*.{rest}")) {
                    return Some(k.clone());
                }
            }
        }
        self.default.clone()
    }
}

/// Accepts every server certificate (signatures of the handshake are still checked).
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_pem_and_versions() {
        let e = certified_key(&KeyPair { cert: b"nope".to_vec(), key: b"nope".to_vec() }).unwrap_err();
        assert_eq!(e.code, crate::codes::BAD_CONFIG);
        let e = build_client_config(&ClientOptions {
            min_version: Some(TlsVersion::Tls13),
            max_version: Some(TlsVersion::Tls12),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.code, crate::codes::BAD_CONFIG);
        assert!(server_config(&ServerOptions::default()).is_err());
        assert!(TlsVersion::parse("TLSv1.1").is_err());
    }

    #[test]
    fn caches_identical_client_configs() {
        let a = client_config(&ClientOptions::default()).unwrap();
        let b = client_config(&ClientOptions::default()).unwrap();
        assert!(Arc::ptr_eq(&a.config, &b.config));
        let c = client_config(&ClientOptions { alpn: vec![b"h2".to_vec()], ..Default::default() }).unwrap();
        assert!(!Arc::ptr_eq(&a.config, &c.config));
    }
}
