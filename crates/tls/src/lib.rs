//! TLS for iocrate: rustls (ring provider) over the iocrate-net TCP driver.
//!
//! - [`config`] turns JS-shaped options ([`ClientOptions`], [`ServerOptions`]) into rustls
//!   configurations: PEM certificates and keys, SNI, ALPN, client authentication,
//!   protocol versions, session resumption and `SSLKEYLOGFILE`. Client configurations
//!   are cached by their options so resumption works across connects.
//! - [`TlsConn`] drives one TLS stream over a socket and reports through the same
//!   [`iocrate_net::StreamEvents`] trait as `TcpConn`.
//! - [`record`] is the I/O-free heart of the driver (ciphertext in, plaintext out); the
//!   fuzz targets call it directly.
//! - [`fuzzing`] holds the entry points of the fuzz targets.
//! - [`CertInfo`] describes a peer certificate the way Node's `getPeerCertificate()` does.
//!
//! The ring provider is always passed explicitly, so no process-wide default provider
//! is needed.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod cert;
pub mod config;
mod conn;
mod error;
pub mod fuzzing;
mod out;
pub mod record;
mod transport;

pub use cert::CertInfo;
pub use config::{ClientOptions, ClientSetup, KeyPair, ServerOptions, TlsVersion};
pub use conn::{TlsConn, TlsInfo};
pub use error::{codes, map_tls_error};
/// The rustls version this crate is built on (for `ServerConfig`/`ClientConfig` types).
pub use rustls;
pub use transport::{tls_error_of, tls_io_error, TlsTransport, MAX_PENDING};
