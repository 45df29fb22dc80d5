//! Password authentication: MD5 ([`md5_password`]) and the SCRAM-SHA-256 /
//! SCRAM-SHA-256-PLUS client ([`Scram`], RFC 5802, RFC 7677; channel binding
//! `tls-server-end-point`, RFC 5929).
//!
//! # Theory of operation
//!
//! A SCRAM exchange is three steps, each one method: [`Scram::client_first`] gives the
//! mechanism and SASLInitialResponse data; the server's AuthenticationSASLContinue data
//! goes to [`Scram::server_first`], which returns the SASLResponse data; the
//! AuthenticationSASLFinal data goes to [`Scram::server_final`], which verifies the
//! server's signature (only then has the *server* proven it knows the password). Calling
//! a step out of order is an error. PostgreSQL ignores the SCRAM user name (it uses the
//! startup `user`), so the client sends `n=` with an empty name, as libpq does.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use md5::{Digest as _, Md5};
use sha2::{Sha256, Sha384, Sha512};

/// `md5` followed by the hex of md5(hex(md5(password ‖ user)) ‖ salt): the reply to
/// AuthenticationMD5Password.
pub fn md5_password(user: &[u8], password: &[u8], salt: [u8; 4]) -> String {
    let inner = hex(&Md5::new().chain_update(password).chain_update(user).finalize());
    let outer = Md5::new().chain_update(inner.as_bytes()).chain_update(salt).finalize();
    format!("md5{}", hex(&outer))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SCRAM mechanism without channel binding.
pub const SCRAM_SHA_256: &str = "SCRAM-SHA-256";
/// The SCRAM mechanism with channel binding.
pub const SCRAM_SHA_256_PLUS: &str = "SCRAM-SHA-256-PLUS";

/// What the client says about channel binding (the GS2 header's first field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelBinding {
    /// `n`: the client does not do channel binding (no TLS). Mechanism SCRAM-SHA-256.
    None,
    /// `y`: the client could bind but the server did not offer SCRAM-SHA-256-PLUS. A server
    /// that does support it then fails the exchange, which detects a downgrade by a man
    /// in the middle. Mechanism SCRAM-SHA-256.
    NotOfferedByServer,
    /// `p=tls-server-end-point`: bind to the TLS session with this data, the hash of the
    /// server's DER certificate ([`tls_server_end_point`]). Mechanism SCRAM-SHA-256-PLUS.
    TlsServerEndPoint(Vec<u8>),
}

/// Why a SCRAM step failed ([`ScramError::code`] is `ERR_PG_AUTH`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScramError {
    /// A step was called out of order.
    #[error("SCRAM step called out of order")]
    State,
    /// The server's message does not follow RFC 5802's grammar.
    #[error("malformed SCRAM server message: {0}")]
    Malformed(&'static str),
    /// The server's nonce does not extend the client's.
    #[error("SCRAM server nonce does not start with the client nonce")]
    Nonce,
    /// The iteration count is 0 or above the limit.
    #[error("SCRAM iteration count {0} out of range (1 to {max})", max = MAX_ITERATIONS)]
    Iterations(u64),
    /// The server sent `e=…`.
    #[error("SCRAM server error: {0}")]
    Server(String),
    /// The server's signature is wrong: it does not know the password (or the channel differs).
    #[error("SCRAM server signature does not verify")]
    Signature,
    /// None of the server's mechanisms can be used with this channel binding.
    #[error("no usable SASL mechanism (server offers {0})")]
    NoMechanism(String),
    /// The certificate could not be parsed, or its signature algorithm is unknown.
    #[error("cannot derive tls-server-end-point data: {0}")]
    Certificate(&'static str),
    /// The OS random source failed.
    #[error("no randomness for the SCRAM nonce")]
    Random,
}

impl ScramError {
    /// Stable error code: `ERR_PG_AUTH`.
    pub fn code(&self) -> &'static str {
        "ERR_PG_AUTH"
    }
}

/// Highest iteration count accepted from a server (PostgreSQL's default is 4096): a
/// hostile server could otherwise make the client hash for hours.
pub const MAX_ITERATIONS: u32 = 10_000_000;

/// A SCRAM-SHA-256(-PLUS) client exchange.
#[derive(Debug, Clone)]
pub struct Scram {
    password: Vec<u8>,
    channel_binding: ChannelBinding,
    user: String,
    nonce: String,
    state: State,
}

#[derive(Debug, Clone)]
enum State {
    Start,
    /// client-first-message-bare sent.
    First {
        bare: String,
    },
    /// client-final sent; expecting this server signature.
    Final {
        server_signature: [u8; 32],
    },
    Done,
}

/// The parsed server-first-message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerFirst<'a> {
    /// Combined nonce (`r=`).
    pub nonce: &'a str,
    /// Decoded salt (`s=`).
    pub salt: Vec<u8>,
    /// Iteration count (`i=`).
    pub iterations: u32,
}

impl Scram {
    /// A new exchange for `password` (SASLprep-normalized where possible) with a random
    /// 18-byte nonce.
    pub fn new(password: &[u8], channel_binding: ChannelBinding) -> Result<Scram, ScramError> {
        let mut raw = [0u8; 18];
        getrandom::fill(&mut raw).map_err(|_| ScramError::Random)?;
        Ok(Scram::with_nonce("", password, channel_binding, &B64.encode(raw)))
    }

    /// Picks the mechanism from the server's list: SCRAM-SHA-256-PLUS when the server
    /// offers it and `server_cert_der` (the TLS server's certificate) is given; otherwise
    /// SCRAM-SHA-256 with `y` (TLS but no PLUS offered) or `n` (no TLS).
    pub fn for_mechanisms(
        mechanisms: &[&str],
        password: &[u8],
        server_cert_der: Option<&[u8]>,
    ) -> Result<Scram, ScramError> {
        let plus = mechanisms.contains(&SCRAM_SHA_256_PLUS);
        let plain = mechanisms.contains(&SCRAM_SHA_256);
        let cb = match server_cert_der {
            Some(cert) if plus => ChannelBinding::TlsServerEndPoint(tls_server_end_point(cert)?),
            Some(_) if plain => ChannelBinding::NotOfferedByServer,
            None if plain => ChannelBinding::None,
            _ => return Err(ScramError::NoMechanism(mechanisms.join(", "))),
        };
        Scram::new(password, cb)
    }

    /// An exchange with a fixed user name and nonce (RFC test vectors, fuzzing). Never use
    /// a fixed nonce against a real server.
    #[doc(hidden)]
    pub fn with_nonce(user: &str, password: &[u8], channel_binding: ChannelBinding, nonce: &str) -> Scram {
        Scram {
            password: saslprep(password),
            channel_binding,
            user: user.replace('=', "=3D").replace(',', "=2C"),
            nonce: nonce.to_string(),
            state: State::Start,
        }
    }

    /// The mechanism this exchange uses.
    pub fn mechanism(&self) -> &'static str {
        match self.channel_binding {
            ChannelBinding::TlsServerEndPoint(_) => SCRAM_SHA_256_PLUS,
            _ => SCRAM_SHA_256,
        }
    }

    fn gs2_header(&self) -> &'static str {
        match self.channel_binding {
            ChannelBinding::None => "n,,",
            ChannelBinding::NotOfferedByServer => "y,,",
            ChannelBinding::TlsServerEndPoint(_) => "p=tls-server-end-point,,",
        }
    }

    /// The mechanism and the client-first-message (SASLInitialResponse data).
    pub fn client_first(&mut self) -> (&'static str, Vec<u8>) {
        let bare = format!("n={},r={}", self.user, self.nonce);
        let msg = format!("{}{bare}", self.gs2_header());
        self.state = State::First { bare };
        (self.mechanism(), msg.into_bytes())
    }

    /// Takes the server-first-message (AuthenticationSASLContinue data); returns the
    /// client-final-message (SASLResponse data).
    pub fn server_first(&mut self, data: &[u8]) -> Result<Vec<u8>, ScramError> {
        let State::First { bare } = &self.state else { return Err(ScramError::State) };
        let sf = parse_server_first(data)?;
        if !sf.nonce.starts_with(&self.nonce) || sf.nonce.len() == self.nonce.len() {
            return Err(ScramError::Nonce);
        }
        let mut cbind = self.gs2_header().as_bytes().to_vec();
        if let ChannelBinding::TlsServerEndPoint(d) = &self.channel_binding {
            cbind.extend_from_slice(d);
        }
        let without_proof = format!("c={},r={}", B64.encode(cbind), sf.nonce);
        let server_first = std::str::from_utf8(data).expect("checked by the parser");
        let auth_message = format!("{bare},{server_first},{without_proof}");

        let salted = pbkdf2_sha256(&self.password, &sf.salt, sf.iterations);
        let client_key = hmac(&salted, b"Client Key");
        let stored_key: [u8; 32] = Sha256::digest(client_key).into();
        let client_signature = hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key.iter().zip(client_signature).map(|(a, b)| a ^ b).collect();
        let server_key = hmac(&salted, b"Server Key");
        let server_signature = hmac(&server_key, auth_message.as_bytes());

        self.state = State::Final { server_signature };
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Takes the server-final-message (AuthenticationSASLFinal data) and verifies the
    /// server's signature.
    pub fn server_final(&mut self, data: &[u8]) -> Result<(), ScramError> {
        let State::Final { server_signature } = &self.state else { return Err(ScramError::State) };
        let got = parse_server_final(data)?;
        // Constant-time compare: the signature is a secret-derived value.
        let diff = got.iter().zip(server_signature).fold(got.len() ^ 32, |acc, (a, b)| acc | usize::from(a ^ b));
        if diff != 0 {
            return Err(ScramError::Signature);
        }
        self.state = State::Done;
        Ok(())
    }
}

/// Parses a server-first-message: `[m=…,]r=nonce,s=salt,i=count[,extensions]`.
pub fn parse_server_first(data: &[u8]) -> Result<ServerFirst<'_>, ScramError> {
    let s = std::str::from_utf8(data).map_err(|_| ScramError::Malformed("not UTF-8"))?;
    let mut parts = s.split(',');
    let mut attr = |name: char| -> Result<&str, ScramError> {
        let p = parts.next().ok_or(ScramError::Malformed("missing attribute"))?;
        if p.starts_with("m=") {
            return Err(ScramError::Malformed("mandatory extension not supported"));
        }
        p.strip_prefix(name).and_then(|p| p.strip_prefix('=')).ok_or(ScramError::Malformed("unexpected attribute"))
    };
    let nonce = attr('r')?;
    if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
        return Err(ScramError::Malformed("invalid nonce"));
    }
    let salt = B64.decode(attr('s')?).map_err(|_| ScramError::Malformed("salt is not base64"))?;
    let i = attr('i')?;
    if i.is_empty() || !i.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScramError::Malformed("iteration count is not a number"));
    }
    let n: u64 = i.parse().unwrap_or(u64::MAX);
    if n == 0 || n > u64::from(MAX_ITERATIONS) {
        return Err(ScramError::Iterations(n));
    }
    Ok(ServerFirst { nonce, salt, iterations: n as u32 })
}

/// Parses a server-final-message: `v=signature` (decoded) or `e=error` (an error).
pub fn parse_server_final(data: &[u8]) -> Result<Vec<u8>, ScramError> {
    let s = std::str::from_utf8(data).map_err(|_| ScramError::Malformed("not UTF-8"))?;
    let first = s.split(',').next().unwrap_or("");
    if let Some(e) = first.strip_prefix("e=") {
        return Err(ScramError::Server(e.to_string()));
    }
    let v = first.strip_prefix("v=").ok_or(ScramError::Malformed("missing verifier"))?;
    B64.decode(v).map_err(|_| ScramError::Malformed("verifier is not base64"))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA-256 with one output block: SCRAM's Hi().
fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let key = Hmac::<Sha256>::new_from_slice(password).expect("HMAC takes any key length");
    let mut m = key.clone();
    m.update(salt);
    m.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = m.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut m = key.clone();
        m.update(&u);
        u = m.finalize().into_bytes().into();
        for (o, x) in out.iter_mut().zip(u) {
            *o ^= x;
        }
    }
    out
}

/// SASLprep (RFC 4013) as PostgreSQL applies it to SCRAM passwords: ASCII passes
/// unchanged; otherwise non-ASCII spaces map to space, "commonly mapped to nothing"
/// characters are dropped, the result is NFKC-normalized, and if it then holds a
/// prohibited character (controls, private use, surrogates, non-characters, …) or the
/// input is not UTF-8, the raw bytes are used, as PostgreSQL does.
pub fn saslprep(password: &[u8]) -> Vec<u8> {
    use unicode_normalization::UnicodeNormalization as _;
    if password.is_ascii() {
        return password.to_vec();
    }
    let Ok(s) = std::str::from_utf8(password) else { return password.to_vec() };
    let mapped: String =
        s.chars().filter(|c| !mapped_to_nothing(*c)).map(|c| if non_ascii_space(c) { ' ' } else { c }).nfkc().collect();
    if mapped.is_empty() || mapped.chars().any(prohibited) {
        return password.to_vec();
    }
    mapped.into_bytes()
}

/// RFC 3454 table B.1.
fn mapped_to_nothing(c: char) -> bool {
    matches!(c as u32, 0xAD | 0x34F | 0x1806 | 0x180B..=0x180D | 0x200B..=0x200D | 0x2060 | 0xFE00..=0xFE0F | 0xFEFF)
}

/// RFC 3454 table C.1.2.
fn non_ascii_space(c: char) -> bool {
    matches!(c as u32, 0xA0 | 0x1680 | 0x2000..=0x200B | 0x202F | 0x205F | 0x3000)
}

/// RFC 3454 tables C.1.2 and C.2 to C.9 (C.3 to C.7 ranges; C.8/C.9 formatting marks).
fn prohibited(c: char) -> bool {
    let u = c as u32;
    non_ascii_space(c)
        || u < 0x20
        || (0x7F..=0x9F).contains(&u)
        || matches!(u, 0x6DD | 0x70F | 0x180E | 0x200C | 0x200D | 0x2028 | 0x2029 | 0xFEFF)
        || (0x2060..=0x2063).contains(&u)
        || (0x206A..=0x206F).contains(&u)
        || (0xFFF9..=0xFFFD).contains(&u)
        || (0x1D173..=0x1D17A).contains(&u)
        || (0xE000..=0xF8FF).contains(&u)
        || (0xF0000..=0x10FFFF).contains(&u)
        || (0xFDD0..=0xFDEF).contains(&u)
        || (u & 0xFFFE) == 0xFFFE
        || matches!(u, 0x340 | 0x341 | 0x200E | 0x200F | 0x202A..=0x202E)
        || (0xE0001..=0xE007F).contains(&u)
}

/// The `tls-server-end-point` channel-binding data (RFC 5929 §4.1) for a server's DER
/// certificate: its hash with the hash function of its signature algorithm, SHA-256 when
/// that is MD5 or SHA-1 (or has no hash of its own, like Ed25519).
pub fn tls_server_end_point(cert_der: &[u8]) -> Result<Vec<u8>, ScramError> {
    use x509_parser::prelude::*;
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|_| ScramError::Certificate("not a DER certificate"))?;
    let alg = &cert.signature_algorithm;
    let oid = alg.algorithm.to_id_string();
    let hash = match oid.as_str() {
        // sha384WithRSAEncryption, ecdsa-with-SHA384
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => 384,
        // sha512WithRSAEncryption, ecdsa-with-SHA512
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => 512,
        // RSASSA-PSS: the hash is in the parameters.
        "1.2.840.113549.1.1.10" => match cert.signature_algorithm.parameters.as_ref().map(|p| p.as_bytes()) {
            Some(p) if contains(p, &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02]) => 384,
            Some(p) if contains(p, &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03]) => 512,
            _ => 256,
        },
        // md5/sha1/sha256 with RSA or ECDSA, Ed25519 and anything else: SHA-256.
        _ => 256,
    };
    Ok(match hash {
        384 => Sha384::digest(cert_der).to_vec(),
        512 => Sha512::digest(cert_der).to_vec(),
        _ => Sha256::digest(cert_der).to_vec(),
    })
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677 §3.
    const CLIENT_NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    const CLIENT_FINAL: &str =
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    const SERVER_FINAL: &str = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    #[test]
    fn rfc7677_vector() {
        let mut s = Scram::with_nonce("user", b"pencil", ChannelBinding::None, CLIENT_NONCE);
        let (mech, first) = s.client_first();
        assert_eq!(mech, "SCRAM-SHA-256");
        assert_eq!(first, b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert_eq!(s.server_first(SERVER_FIRST.as_bytes()).unwrap(), CLIENT_FINAL.as_bytes());
        s.server_final(SERVER_FINAL.as_bytes()).unwrap();
        assert_eq!(s.server_final(SERVER_FINAL.as_bytes()), Err(ScramError::State));
    }

    #[test]
    fn bad_server_messages() {
        let fresh = || {
            let mut s = Scram::with_nonce("user", b"pencil", ChannelBinding::None, CLIENT_NONCE);
            s.client_first();
            s
        };
        let mut s = fresh();
        s.server_first(SERVER_FIRST.as_bytes()).unwrap();
        assert_eq!(s.server_final(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="), Err(ScramError::Signature));
        assert_eq!(fresh().server_final(SERVER_FINAL.as_bytes()), Err(ScramError::State));
        assert_eq!(s.server_final(b"e=invalid-proof"), Err(ScramError::Server("invalid-proof".into())));
        assert_eq!(fresh().server_first(b"r=other,s=QQ==,i=1"), Err(ScramError::Nonce));
        assert_eq!(fresh().server_first(b"r=rOprNGfwEbeRWgbNEkqO,s=QQ==,i=1"), Err(ScramError::Nonce));
        assert_eq!(fresh().server_first(b"r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=0"), Err(ScramError::Iterations(0)));
        assert_eq!(
            fresh().server_first(b"r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=99999999999999999999"),
            Err(ScramError::Iterations(u64::MAX))
        );
        assert!(matches!(fresh().server_first(b"m=x,r=a,s=QQ==,i=1"), Err(ScramError::Malformed(_))));
        assert!(matches!(fresh().server_first(b"r=rOprNGfwEbeRWgbNEkqOx,s=!!,i=1"), Err(ScramError::Malformed(_))));
        assert!(matches!(fresh().server_first(b"r=rOprNGfwEbeRWgbNEkqOx,i=1"), Err(ScramError::Malformed(_))));
        assert!(matches!(fresh().server_first(b"\xff"), Err(ScramError::Malformed(_))));
        // Extensions after i= are allowed.
        assert!(fresh().server_first(b"r=rOprNGfwEbeRWgbNEkqOx,s=QQ==,i=1,x=y").is_ok());
    }

    #[test]
    fn channel_binding_headers() {
        let mut s = Scram::with_nonce("", b"pw", ChannelBinding::NotOfferedByServer, "abc");
        assert_eq!(s.client_first(), ("SCRAM-SHA-256", b"y,,n=,r=abc".to_vec()));
        let fin = s.server_first(b"r=abcdef,s=QQ==,i=2").unwrap();
        assert!(fin.starts_with(b"c=eSws,r=abcdef,p="), "{}", String::from_utf8_lossy(&fin));
        let mut s = Scram::with_nonce("", b"pw", ChannelBinding::TlsServerEndPoint(vec![1, 2, 3]), "abc");
        assert_eq!(s.client_first(), ("SCRAM-SHA-256-PLUS", b"p=tls-server-end-point,,n=,r=abc".to_vec()));
        let fin = s.server_first(b"r=abcdef,s=QQ==,i=2").unwrap();
        let c = format!("c={},", B64.encode(b"p=tls-server-end-point,,\x01\x02\x03"));
        assert!(fin.starts_with(c.as_bytes()));
    }

    #[test]
    fn mechanism_choice() {
        let s = Scram::for_mechanisms(&["SCRAM-SHA-256"], b"pw", None).unwrap();
        assert_eq!(s.channel_binding, ChannelBinding::None);
        let s = Scram::for_mechanisms(&["SCRAM-SHA-256"], b"pw", Some(b"x")).unwrap();
        assert_eq!(s.channel_binding, ChannelBinding::NotOfferedByServer);
        assert!(matches!(
            Scram::for_mechanisms(&["SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"], b"pw", Some(b"not a cert")),
            Err(ScramError::Certificate(_))
        ));
        assert!(matches!(Scram::for_mechanisms(&["SCRAM-SHA-256-PLUS"], b"pw", None), Err(ScramError::NoMechanism(_))));
        let a = Scram::new(b"pw", ChannelBinding::None).unwrap();
        let b = Scram::new(b"pw", ChannelBinding::None).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_eq!(a.nonce.len(), 24);
    }

    #[test]
    fn end_point_hash_follows_signature() {
        // The fuzz corpus has a test certificate (ECDSA or RSA with SHA-256).
        let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/certs/server.pem")).unwrap();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = B64.decode(b64).unwrap();
        let h = tls_server_end_point(&der).unwrap();
        assert_eq!(h, Sha256::digest(&der).to_vec());
        let s = Scram::for_mechanisms(&["SCRAM-SHA-256-PLUS"], b"pw", Some(&der)).unwrap();
        assert_eq!(s.mechanism(), "SCRAM-SHA-256-PLUS");
    }

    #[test]
    fn md5_vector() {
        // python3 -c "import hashlib;i=hashlib.md5(b'postgrespostgres').hexdigest();
        //   print('md5'+hashlib.md5(i.encode()+bytes([1,2,3,4])).hexdigest())"
        assert_eq!(md5_password(b"postgres", b"postgres", [1, 2, 3, 4]), MD5_POSTGRES);
    }
    const MD5_POSTGRES: &str = "md568be9ed08db75f318087ab337aaea044";

    #[test]
    fn saslprep_cases() {
        assert_eq!(saslprep(b"pencil"), b"pencil");
        // U+00A0 no-break space maps to space; U+00AD soft hyphen is dropped.
        assert_eq!(saslprep("a\u{a0}b\u{ad}c".as_bytes()), b"a bc");
        // NFKC: U+2168 ROMAN NUMERAL NINE -> "IX"; U+00AA -> "a".
        assert_eq!(saslprep("\u{2168}\u{aa}".as_bytes()), b"IXa");
        // Prohibited (private use) and invalid UTF-8: raw bytes.
        assert_eq!(saslprep("a\u{e000}".as_bytes()), "a\u{e000}".as_bytes());
        assert_eq!(saslprep(b"\xff\xfe"), b"\xff\xfe");
    }
}
