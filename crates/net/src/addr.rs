use std::fmt;
use std::net::SocketAddr;

/// An address family, as Node names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// A Unix domain socket path.
    Unix,
}

impl Family {
    /// Node's name for the family: `IPv4`, `IPv6` or `unix`.
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
            Family::Unix => "unix",
        }
    }
}

/// The local or remote end of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketAddress {
    /// An IP address and port.
    Inet(SocketAddr),
    /// A Unix domain socket path (empty for an unnamed socket).
    Unix(String),
}

impl SocketAddress {
    /// The family of the address.
    pub fn family(&self) -> Family {
        match self {
            SocketAddress::Inet(SocketAddr::V4(_)) => Family::Ipv4,
            SocketAddress::Inet(SocketAddr::V6(_)) => Family::Ipv6,
            SocketAddress::Unix(_) => Family::Unix,
        }
    }

    /// The IP address as text (without brackets), or the path.
    pub fn host(&self) -> String {
        match self {
            SocketAddress::Inet(a) => a.ip().to_string(),
            SocketAddress::Unix(p) => p.clone(),
        }
    }

    /// The port, 0 for Unix sockets.
    pub fn port(&self) -> u16 {
        match self {
            SocketAddress::Inet(a) => a.port(),
            SocketAddress::Unix(_) => 0,
        }
    }

    pub(crate) fn from_unix(a: &tokio::net::unix::SocketAddr) -> Self {
        SocketAddress::Unix(a.as_pathname().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default())
    }
}

impl fmt::Display for SocketAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocketAddress::Inet(a) => a.fmt(f),
            SocketAddress::Unix(p) => f.write_str(p),
        }
    }
}
