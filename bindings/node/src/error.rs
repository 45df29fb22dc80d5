//! Errors crossing to JS: a plain object the TS layer turns into a typed `Error`.

use iocrate_net::NetError;
use napi_derive::napi;

/// A Node-style error description. The TS facade builds the `Error` (with a JS stack).
#[napi(object)]
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// `ECONNREFUSED`, `ERR_IOCRATE_TLS_CERT_UNTRUSTED`, …
    pub code: String,
    /// Negative OS error number, as Node reports it.
    pub errno: Option<i32>,
    /// The failed operation.
    pub syscall: Option<String>,
    /// Human-readable detail.
    pub message: String,
    /// The address involved.
    pub address: Option<String>,
    /// The port involved.
    pub port: Option<u32>,
    /// Marks the object as an error description.
    pub is_error_info: bool,
}

impl From<NetError> for ErrorInfo {
    fn from(e: NetError) -> Self {
        ErrorInfo {
            message: e.to_string(),
            code: e.code.to_string(),
            errno: e.errno.map(|n| -n),
            syscall: Some(e.syscall.to_string()),
            address: e.address,
            port: e.port.map(u32::from),
            is_error_info: true,
        }
    }
}

impl ErrorInfo {
    /// An error with an iocrate code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ErrorInfo {
            code: code.to_string(),
            errno: None,
            syscall: None,
            message: message.into(),
            address: None,
            port: None,
            is_error_info: true,
        }
    }
}
