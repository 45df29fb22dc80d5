use std::io;

/// A socket error in Node's shape: an errno-style `code`, the `syscall` that failed and,
/// where known, the address involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{syscall} {code}{}: {message}", address_suffix(.address, .port))]
pub struct NetError {
    /// Node-style code: `ECONNREFUSED`, `EADDRINUSE`, `ETIMEDOUT`, …
    pub code: &'static str,
    /// The OS error number (positive), when the error came from the OS.
    pub errno: Option<i32>,
    /// The operation: `connect`, `listen`, `read`, `write`, `bind`, `send`, …
    pub syscall: &'static str,
    /// Human-readable detail.
    pub message: String,
    /// The address involved, if any.
    pub address: Option<String>,
    /// The port involved, if any.
    pub port: Option<u16>,
}

fn address_suffix(address: &Option<String>, port: &Option<u16>) -> String {
    match (address, port) {
        (Some(a), Some(p)) if *p != 0 => format!(" {a}:{p}"),
        (Some(a), _) => format!(" {a}"),
        _ => String::new(),
    }
}

impl NetError {
    /// Wraps an I/O error from `syscall`.
    pub fn io(syscall: &'static str, err: &io::Error) -> Self {
        // A transport (TLS) hands its typed errors through `io::Error`: keep them as they are.
        if let Some(inner) = err.get_ref().and_then(|i| i.downcast_ref::<NetError>()) {
            return inner.clone();
        }
        NetError {
            code: errno_code(err),
            errno: err.raw_os_error(),
            syscall,
            message: strip_os_suffix(&err.to_string()),
            address: None,
            port: None,
        }
    }

    /// An error with a given code and message.
    pub fn new(code: &'static str, syscall: &'static str, message: impl Into<String>) -> Self {
        NetError { code, errno: None, syscall, message: message.into(), address: None, port: None }
    }

    /// A write that failed because the peer closed or reset the connection (EPIPE,
    /// ECONNRESET): what the peer sent before may still be queued, unread.
    pub fn is_write_to_closed_peer(&self) -> bool {
        self.syscall == "write" && matches!(self.code, "EPIPE" | "ECONNRESET")
    }

    /// Attaches the address involved.
    pub fn at(mut self, address: impl Into<String>, port: u16) -> Self {
        self.address = Some(address.into());
        self.port = Some(port);
        self
    }
}

fn strip_os_suffix(s: &str) -> String {
    // "Connection refused (os error 111)" -> "Connection refused"
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// The Node-style code of an I/O error (`ECONNRESET`, …), from the OS error number where
/// there is one and from the error kind otherwise.
pub fn errno_code(err: &io::Error) -> &'static str {
    #[cfg(unix)]
    if let Some(n) = err.raw_os_error() {
        if let Some(c) = unix_errno_name(n) {
            return c;
        }
    }
    use io::ErrorKind::*;
    match err.kind() {
        ConnectionRefused => "ECONNREFUSED",
        ConnectionReset => "ECONNRESET",
        ConnectionAborted => "ECONNABORTED",
        NotConnected => "ENOTCONN",
        AddrInUse => "EADDRINUSE",
        AddrNotAvailable => "EADDRNOTAVAIL",
        BrokenPipe => "EPIPE",
        TimedOut => "ETIMEDOUT",
        PermissionDenied => "EACCES",
        NotFound => "ENOENT",
        AlreadyExists => "EEXIST",
        InvalidInput => "EINVAL",
        HostUnreachable => "EHOSTUNREACH",
        NetworkUnreachable => "ENETUNREACH",
        NetworkDown => "ENETDOWN",
        WouldBlock => "EAGAIN",
        Interrupted => "EINTR",
        UnexpectedEof => "EOF",
        OutOfMemory => "ENOMEM",
        _ => "EIO",
    }
}

#[cfg(unix)]
fn unix_errno_name(n: i32) -> Option<&'static str> {
    // Linux numbering; other Unixes fall back to the error kind for numbers that differ.
    #[cfg(target_os = "linux")]
    let name = match n {
        1 => "EPERM",
        2 => "ENOENT",
        4 => "EINTR",
        5 => "EIO",
        9 => "EBADF",
        11 => "EAGAIN",
        12 => "ENOMEM",
        13 => "EACCES",
        17 => "EEXIST",
        22 => "EINVAL",
        23 => "ENFILE",
        24 => "EMFILE",
        32 => "EPIPE",
        90 => "EMSGSIZE",
        92 => "ENOPROTOOPT",
        97 => "EAFNOSUPPORT",
        98 => "EADDRINUSE",
        99 => "EADDRNOTAVAIL",
        100 => "ENETDOWN",
        101 => "ENETUNREACH",
        103 => "ECONNABORTED",
        104 => "ECONNRESET",
        105 => "ENOBUFS",
        107 => "ENOTCONN",
        110 => "ETIMEDOUT",
        111 => "ECONNREFUSED",
        113 => "EHOSTUNREACH",
        _ => return None,
    };
    #[cfg(not(target_os = "linux"))]
    let name = match n {
        24 => "EMFILE",
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_net_error_inside_an_io_error_is_kept() {
        let typed = NetError::new("ERR_IOCRATE_TLS_ALERT", "read", "received fatal alert: CertificateRequired");
        let e = io::Error::new(io::ErrorKind::InvalidData, typed.clone());
        assert_eq!(NetError::io("write", &e), typed);
        assert!(!typed.is_write_to_closed_peer());
        assert!(NetError::io("write", &io::Error::from_raw_os_error(32)).is_write_to_closed_peer());
        assert!(!NetError::io("read", &io::Error::from_raw_os_error(104)).is_write_to_closed_peer());
    }

    #[test]
    fn maps_kinds_and_errnos() {
        let e = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(errno_code(&e), "ECONNREFUSED");
        #[cfg(target_os = "linux")]
        assert_eq!(errno_code(&io::Error::from_raw_os_error(98)), "EADDRINUSE");
        let ne = NetError::io("connect", &io::Error::from_raw_os_error(111)).at("127.0.0.1", 9);
        assert_eq!(ne.code, "ECONNREFUSED");
        assert_eq!(ne.to_string(), "connect ECONNREFUSED 127.0.0.1:9: Connection refused");
    }
}
