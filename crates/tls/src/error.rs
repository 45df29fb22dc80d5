//! rustls errors → Node-style [`NetError`]s with stable `ERR_IOCRATE_TLS_*` codes.

use iocrate_net::NetError;
use rustls::{CertificateError, Error};

/// The stable codes this crate reports.
pub mod codes {
    /// The peer's chain does not lead to a trusted root (or a signature is bad).
    pub const CERT_UNTRUSTED: &str = "ERR_IOCRATE_TLS_CERT_UNTRUSTED";
    /// The peer's certificate does not name the host (or IP address) connected to.
    pub const HOSTNAME_MISMATCH: &str = "ERR_IOCRATE_TLS_HOSTNAME_MISMATCH";
    /// The peer's certificate has expired or is not yet valid.
    pub const CERT_EXPIRED: &str = "ERR_IOCRATE_TLS_CERT_EXPIRED";
    /// The peer sent a fatal TLS alert.
    pub const ALERT: &str = "ERR_IOCRATE_TLS_ALERT";
    /// The handshake failed (garbage, bad records, no common parameters, timeout).
    pub const HANDSHAKE: &str = "ERR_IOCRATE_TLS_HANDSHAKE";
    /// Certificates, keys or options could not be used.
    pub const BAD_CONFIG: &str = "ERR_IOCRATE_TLS_BAD_CONFIG";
}

/// Maps a rustls error to a [`NetError`] with one of the [`codes`].
pub fn map_tls_error(err: &Error) -> NetError {
    let code = match err {
        Error::InvalidCertificate(ce) => match ce {
            CertificateError::UnknownIssuer
            | CertificateError::BadSignature
            | CertificateError::UnhandledCriticalExtension
            | CertificateError::Revoked
            | CertificateError::InvalidPurpose
            | CertificateError::BadEncoding => codes::CERT_UNTRUSTED,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                codes::HOSTNAME_MISMATCH
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => codes::CERT_EXPIRED,
            _ => codes::CERT_UNTRUSTED,
        },
        Error::AlertReceived(_) => codes::ALERT,
        _ => codes::HANDSHAKE,
    };
    let message = match err {
        Error::AlertReceived(a) => format!("the peer sent the TLS alert {}", alert_name(a)),
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "the peer's certificate is not signed by a trusted certificate authority (unknown issuer)".to_string()
        }
        other => format!("TLS: {other}"),
    };
    NetError::new(code, "handshake", message)
}

/// The alert's name in RFC 8446 spelling (`handshake_failure`, `bad_certificate`, …).
fn alert_name(a: &rustls::AlertDescription) -> String {
    // rustls' Debug is CamelCase (`HandshakeFailure`); print it in the RFC's snake_case.
    let dbg = format!("{a:?}");
    let mut out = String::new();
    for (i, ch) in dbg.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A configuration error.
pub(crate) fn bad_config(message: impl Into<String>) -> NetError {
    NetError::new(codes::BAD_CONFIG, "tls", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_codes() {
        assert_eq!(
            map_tls_error(&Error::InvalidCertificate(CertificateError::UnknownIssuer)).code,
            codes::CERT_UNTRUSTED
        );
        assert_eq!(
            map_tls_error(&Error::InvalidCertificate(CertificateError::NotValidForName)).code,
            codes::HOSTNAME_MISMATCH
        );
        assert_eq!(map_tls_error(&Error::InvalidCertificate(CertificateError::Expired)).code, codes::CERT_EXPIRED);
        let e = map_tls_error(&Error::AlertReceived(rustls::AlertDescription::HandshakeFailure));
        assert_eq!(e.code, codes::ALERT);
        assert!(e.message.contains("handshake_failure"), "{}", e.message);
        assert_eq!(
            map_tls_error(&Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType)).code,
            codes::HANDSHAKE
        );
    }
}
