//! Peer certificate details in the shape of Node's `getPeerCertificate()`.

use std::fmt::Write as _;

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};
use x509_parser::time::ASN1Time;

/// One certificate, described as Node describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject attributes in order, with Node's short names (`CN`, `O`, `OU`, `C`, …).
    pub subject: Vec<(String, String)>,
    /// Issuer attributes, as `subject`.
    pub issuer: Vec<(String, String)>,
    /// Subject alternative names in Node's format: `DNS:a.example, IP Address:127.0.0.1`.
    pub subjectaltname: Option<String>,
    /// Start of validity in OpenSSL's format: `Jan  1 00:00:00 2020 GMT`.
    pub valid_from: String,
    /// End of validity, same format.
    pub valid_to: String,
    /// SHA-256 of the DER, as colon-separated upper-case hex.
    pub fingerprint256: String,
    /// SHA-1 of the DER, as colon-separated upper-case hex.
    pub fingerprint: String,
    /// Serial number, upper-case hex.
    pub serial_number: String,
    /// Whether the certificate is a CA (basic constraints).
    pub ca: bool,
}

impl CertInfo {
    /// Parses a DER certificate; `None` when it does not parse.
    pub fn from_der(der: &[u8]) -> Option<Self> {
        let (_, cert) = X509Certificate::from_der(der).ok()?;
        let san = cert.subject_alternative_name().ok().flatten().map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|g| match g {
                    GeneralName::DNSName(d) => Some(format!("DNS:{d}")),
                    GeneralName::IPAddress(b) => ip_text(b).map(|ip| format!("IP Address:{ip}")),
                    GeneralName::RFC822Name(e) => Some(format!("email:{e}")),
                    GeneralName::URI(u) => Some(format!("URI:{u}")),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join(", ")
        });
        let ca = cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca);
        Some(CertInfo {
            subject: name_pairs(cert.subject()),
            issuer: name_pairs(cert.issuer()),
            subjectaltname: san,
            valid_from: openssl_time(&cert.validity().not_before),
            valid_to: openssl_time(&cert.validity().not_after),
            fingerprint256: colon_hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref()),
            fingerprint: colon_hex(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, der).as_ref()),
            serial_number: serial_hex(cert.raw_serial()),
            ca,
        })
    }
}

/// The serial number as Node prints it (OpenSSL's `BN_bn2hex`): upper-case hex of the
/// value, without the leading zero byte DER adds to keep a number with its top bit set
/// positive.
fn serial_hex(raw: &[u8]) -> String {
    let start = raw.iter().position(|&b| b != 0).unwrap_or(raw.len());
    if start == raw.len() {
        return "0".to_string();
    }
    raw[start..].iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02X}");
        s
    })
}

fn ip_text(b: &[u8]) -> Option<String> {
    match b.len() {
        4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
        16 => {
            let a: [u8; 16] = b.try_into().ok()?;
            // Node (OpenSSL) prints IPv6 SANs uncompressed: `0:0:0:0:0:0:0:1`.
            let ip = std::net::Ipv6Addr::from(a);
            Some(ip.segments().iter().map(|s| format!("{s:X}")).collect::<Vec<_>>().join(":"))
        }
        _ => None,
    }
}

fn name_pairs(name: &X509Name<'_>) -> Vec<(String, String)> {
    let registry = x509_parser::objects::oid_registry();
    name.iter_attributes()
        .map(|a| {
            let oid = a.attr_type();
            let key = match oid.to_id_string().as_str() {
                "2.5.4.3" => "CN".to_string(),
                "2.5.4.6" => "C".to_string(),
                "2.5.4.7" => "L".to_string(),
                "2.5.4.8" => "ST".to_string(),
                "2.5.4.10" => "O".to_string(),
                "2.5.4.11" => "OU".to_string(),
                "1.2.840.113549.1.9.1" => "emailAddress".to_string(),
                other => registry.get(oid).map(|e| e.sn().to_string()).unwrap_or_else(|| other.to_string()),
            };
            let value = a.as_str().map(str::to_string).unwrap_or_else(|_| colon_hex(a.attr_value().data));
            (key, value)
        })
        .collect()
}

fn openssl_time(t: &ASN1Time) -> String {
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let d = t.to_datetime();
    format!(
        "{} {:>2} {:02}:{:02}:{:02} {} GMT",
        MONTHS[(u8::from(d.month()) - 1) as usize],
        d.day(),
        d.hour(),
        d.minute(),
        d.second(),
        d.year()
    )
}

fn colon_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect::<Vec<_>>().join(":")
}

#[cfg(test)]
mod tests {
    use super::serial_hex;

    #[test]
    fn serial_numbers_print_like_node() {
        // A DER INTEGER with its top bit set carries a leading zero byte; Node drops it.
        assert_eq!(serial_hex(&[0x00, 0x9C, 0x73, 0x0A]), "9C730A");
        assert_eq!(serial_hex(&[0x01, 0x02]), "0102");
        assert_eq!(serial_hex(&[0x00]), "0");
    }
}
