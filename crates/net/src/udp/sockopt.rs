//! Socket creation and options for UDP, through `socket2`.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use super::UdpOptions;
use crate::error::NetError;

/// A multicast membership to join or leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The multicast group.
    pub group: IpAddr,
    /// The interface: an IPv4 address for IPv4 groups, or an IPv6 address with an
    /// interface scope (`::%eth0`, `::%2`) for IPv6 groups. `None` lets the OS choose.
    pub interface: Option<String>,
    /// For source-specific multicast: the only sender accepted.
    pub source: Option<IpAddr>,
}

fn einval(syscall: &'static str, msg: impl Into<String>) -> NetError {
    let mut e = NetError::io(syscall, &io::Error::from_raw_os_error(22));
    e.message = msg.into();
    e
}

/// Parses an IP address, accepting a `%scope` suffix on IPv6 (Node's `fe80::1%eth0`).
pub(crate) fn parse_ip(s: &str, syscall: &'static str) -> Result<(IpAddr, u32), NetError> {
    let (ip, scope) = match s.split_once('%') {
        Some((ip, scope)) => (ip, Some(scope)),
        None => (s, None),
    };
    let ip: IpAddr = ip.parse().map_err(|_| einval(syscall, format!("invalid IP address {s:?}")))?;
    let scope = match scope {
        Some(sc) if ip.is_ipv6() => {
            interface_index(sc).ok_or_else(|| einval(syscall, format!("unknown interface {sc:?}")))?
        }
        Some(_) => return Err(einval(syscall, format!("a scope is only valid on IPv6 addresses: {s:?}"))),
        None => 0,
    };
    Ok((ip, scope))
}

/// The index of a network interface, given by number or (on Linux) by name.
pub fn interface_index(name: &str) -> Option<u32> {
    if let Ok(n) = name.parse::<u32>() {
        return Some(n);
    }
    #[cfg(target_os = "linux")]
    {
        if name.contains('/') || name.contains("..") {
            return None;
        }
        std::fs::read_to_string(format!("/sys/class/net/{name}/ifindex")).ok()?.trim().parse().ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

/// Builds the socket address for `host:port`, with the IPv6 scope if given.
pub(crate) fn socket_addr(host: &str, port: u16, ipv6: bool, syscall: &'static str) -> Result<SocketAddr, NetError> {
    if host.is_empty() {
        let ip: IpAddr = if ipv6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() };
        return Ok(SocketAddr::new(ip, port));
    }
    let (ip, scope) = parse_ip(host, syscall).map_err(|e| e.at(host, port))?;
    Ok(match ip {
        IpAddr::V4(v4) => SocketAddr::new(v4.into(), port),
        IpAddr::V6(v6) => SocketAddr::V6(std::net::SocketAddrV6::new(v6, port, 0, scope)),
    })
}

/// Creates, configures and binds the socket (non-blocking).
pub(crate) fn bind_socket(opts: &UdpOptions) -> Result<(Socket, SocketAddr), NetError> {
    let addr = socket_addr(&opts.address, opts.port, opts.ipv6, "bind")?;
    if addr.is_ipv6() != opts.ipv6 {
        let fam = if opts.ipv6 { "udp6" } else { "udp4" };
        return Err(einval("bind", format!("address {} does not fit a {fam} socket", opts.address))
            .at(opts.address.clone(), opts.port));
    }
    let at = |e: io::Error| NetError::io("bind", &e).at(addr.ip().to_string(), addr.port());
    let domain = if opts.ipv6 { Domain::IPV6 } else { Domain::IPV4 };
    let sock = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(at)?;
    if opts.reuse_addr {
        sock.set_reuse_address(true).map_err(at)?;
    }
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if opts.reuse_port {
        sock.set_reuse_port(true).map_err(at)?;
    }
    if opts.ipv6 {
        sock.set_only_v6(opts.ipv6_only).map_err(at)?;
    }
    if let Some(n) = opts.recv_buffer_size {
        sock.set_recv_buffer_size(n).map_err(at)?;
    }
    if let Some(n) = opts.send_buffer_size {
        sock.set_send_buffer_size(n).map_err(at)?;
    }
    sock.set_nonblocking(true).map_err(at)?;
    sock.bind(&addr.into()).map_err(at)?;
    let local = sock.local_addr().ok().and_then(|a| a.as_socket()).unwrap_or(addr);
    Ok((sock, local))
}

fn v4_iface(iface: Option<&str>) -> Result<Ipv4Addr, NetError> {
    match iface {
        None | Some("") => Ok(Ipv4Addr::UNSPECIFIED),
        Some(s) => s.parse().map_err(|_| einval("setsockopt", format!("invalid IPv4 interface address {s:?}"))),
    }
}

fn v6_iface(iface: Option<&str>) -> Result<u32, NetError> {
    match iface {
        None | Some("") => Ok(0),
        Some(s) => match s.split_once('%') {
            Some((_, scope)) => {
                interface_index(scope).ok_or_else(|| einval("setsockopt", format!("unknown interface {scope:?}")))
            }
            None => interface_index(s)
                .or_else(|| s.parse::<Ipv6Addr>().ok().map(|_| 0))
                .ok_or_else(|| einval("setsockopt", format!("invalid IPv6 interface {s:?}"))),
        },
    }
}

/// Joins (`join`) or leaves a multicast group.
pub(crate) fn membership(sock: SockRef<'_>, m: &Membership, join: bool, ipv6: bool) -> Result<(), NetError> {
    let io_err = |e: io::Error| NetError::io("setsockopt", &e);
    let iface = m.interface.as_deref();
    match (m.group, m.source) {
        (IpAddr::V4(g), None) if !ipv6 => {
            let i = v4_iface(iface)?;
            if join { sock.join_multicast_v4(&g, &i) } else { sock.leave_multicast_v4(&g, &i) }.map_err(io_err)
        }
        (IpAddr::V4(g), Some(IpAddr::V4(src))) if !ipv6 => {
            let i = v4_iface(iface)?;
            #[cfg(not(any(target_os = "openbsd", target_os = "redox", target_os = "fuchsia")))]
            return if join { sock.join_ssm_v4(&src, &g, &i) } else { sock.leave_ssm_v4(&src, &g, &i) }.map_err(io_err);
            #[allow(unreachable_code)]
            Err(NetError::new("ENOSYS", "setsockopt", "source-specific multicast is not supported here"))
        }
        (IpAddr::V6(g), None) if ipv6 => {
            let i = v6_iface(iface)?;
            if join { sock.join_multicast_v6(&g, i) } else { sock.leave_multicast_v6(&g, i) }.map_err(io_err)
        }
        (IpAddr::V6(_), Some(_)) if ipv6 => {
            Err(NetError::new("ENOSYS", "setsockopt", "IPv6 source-specific multicast is not supported yet"))
        }
        _ => Err(einval("setsockopt", "the group (and source) must be of the socket's address family")),
    }
}

/// Sets the outgoing multicast interface.
pub(crate) fn multicast_interface(sock: SockRef<'_>, iface: &str, ipv6: bool) -> Result<(), NetError> {
    let io_err = |e: io::Error| NetError::io("setsockopt", &e);
    if ipv6 {
        sock.set_multicast_if_v6(v6_iface(Some(iface))?).map_err(io_err)
    } else {
        sock.set_multicast_if_v4(&v4_iface(Some(iface))?).map_err(io_err)
    }
}

/// Connects the socket to AF_UNSPEC, which dissolves the association.
pub(crate) fn disconnect(sock: SockRef<'_>) -> io::Result<()> {
    // SAFETY: an all-zero storage is a valid sockaddr with family AF_UNSPEC; the length
    // covers sa_family and stays within the storage.
    let unspec = unsafe { socket2::SockAddr::new(socket2::SockAddrStorage::zeroed(), 16) };
    match sock.connect(&unspec) {
        // BSDs and macOS answer AF_UNSPEC with EAFNOSUPPORT after disconnecting.
        Err(e) if e.raw_os_error() == Some(47) || e.raw_os_error() == Some(97) => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_addresses_and_scopes() {
        assert_eq!(socket_addr("", 5, false, "bind").unwrap(), "0.0.0.0:5".parse().unwrap());
        assert_eq!(socket_addr("", 5, true, "bind").unwrap(), "[::]:5".parse().unwrap());
        assert_eq!(socket_addr("::1%1", 5, true, "bind").unwrap().to_string(), "[::1%1]:5");
        assert_eq!(socket_addr("nonsense", 5, false, "bind").unwrap_err().code, "EINVAL");
        assert!(parse_ip("1.2.3.4%1", "bind").is_err());
        assert_eq!(interface_index("7"), Some(7));
        #[cfg(target_os = "linux")]
        assert!(interface_index("lo").is_some());
        assert_eq!(interface_index("../x"), None);
    }
}
