//! `@iocrate/datagram`: UDP sockets.
//!
//! Received datagrams cross to JS in batches: one MESSAGE event per wake-up of the
//! reader, whose payload is `[data, meta, addresses]`: `data` one `Buffer` with every
//! payload back to back; `meta` a `Uint32Array` of four words per datagram `[length,
//! port, addressIndex, flags]` (flags: bit 0 truncated, bit 1 IPv6); `addresses` the
//! distinct sender addresses of the batch as strings. JS builds the `rinfo` objects,
//! so Rust creates three values per batch instead of several per datagram.
//!
//! Sends return at once: a number ≥ 0 is the bytes the kernel took; a negative number
//! `-(token + 1)` means the datagram was queued (kernel buffer full) and its outcome
//! comes later in a DRAIN event whose payload is `[token, bytesOrError, …]`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use iocrate_net::udp::{DatagramEvents, Membership, RecvBatch, SendOutcome, UdpEndpoint, UdpOptions};
use iocrate_net::{Credit, NetError};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::bridge::{kind, Bridge, Payload, Sink};
use crate::error::ErrorInfo;
use crate::net::AddressInfo;

/// Bind options from JS.
#[napi(object)]
#[derive(Default)]
pub struct RawUdpOptions {
    /// `true` for `udp6`.
    pub ipv6: Option<bool>,
    /// Local IP address (absent or empty: all interfaces).
    pub address: Option<String>,
    /// Local port (0 or absent: any).
    pub port: Option<u32>,
    /// `SO_REUSEADDR`.
    pub reuse_addr: Option<bool>,
    /// `SO_REUSEPORT`.
    pub reuse_port: Option<bool>,
    /// `IPV6_V6ONLY`.
    pub ipv6_only: Option<bool>,
    /// `SO_RCVBUF` in bytes.
    pub recv_buffer_size: Option<u32>,
    /// `SO_SNDBUF` in bytes.
    pub send_buffer_size: Option<u32>,
    /// Receive buffer per datagram; larger datagrams are reported truncated.
    pub max_message_size: Option<u32>,
    /// Most datagrams per MESSAGE event.
    pub batch_size: Option<u32>,
    /// Bytes delivered but not yet consumed beyond which reading pauses.
    pub read_window: Option<u32>,
}

impl From<RawUdpOptions> for UdpOptions {
    fn from(r: RawUdpOptions) -> Self {
        let d = UdpOptions::default();
        UdpOptions {
            ipv6: r.ipv6.unwrap_or(false),
            address: r.address.unwrap_or_default(),
            port: r.port.unwrap_or(0) as u16,
            reuse_addr: r.reuse_addr.unwrap_or(false),
            reuse_port: r.reuse_port.unwrap_or(false),
            ipv6_only: r.ipv6_only.unwrap_or(false),
            recv_buffer_size: r.recv_buffer_size.map(|v| v as usize),
            send_buffer_size: r.send_buffer_size.map(|v| v as usize),
            max_message_size: r.max_message_size.map_or(d.max_message_size, |v| v as usize),
            batch_size: r.batch_size.map_or(d.batch_size, |v| v as usize),
            read_window: r.read_window.map_or(d.read_window, |v| v as usize),
        }
    }
}

struct UdpSink(Sink);

/// Builds `[data, meta, addresses]` on the JS thread.
fn batch_value(env: &Env, batch: RecvBatch, credit: Credit) -> Result<sys::napi_value> {
    let mut meta = Vec::with_capacity(batch.meta.len() * 4);
    // Distinct (ip, IPv6 scope) pairs; a batch usually has one or a few senders.
    let mut addrs: Vec<(IpAddr, u32)> = Vec::new();
    for m in &batch.meta {
        let key = match m.from {
            SocketAddr::V4(a) => (IpAddr::V4(*a.ip()), 0),
            SocketAddr::V6(a) => (IpAddr::V6(*a.ip()), a.scope_id()),
        };
        let idx = match addrs.iter().position(|a| *a == key) {
            Some(i) => i,
            None => {
                addrs.push(key);
                addrs.len() - 1
            }
        };
        let flags = u32::from(m.truncated) | (u32::from(m.from.is_ipv6()) << 1);
        meta.extend_from_slice(&[m.len as u32, u32::from(m.from.port()), idx as u32, flags]);
    }
    let names: Vec<String> =
        addrs.iter().map(|(ip, scope)| if *scope != 0 { format!("{ip}%{scope}") } else { ip.to_string() }).collect();
    let mut arr = env.create_array(3)?;
    arr.set(0, Buffer::from(batch.data))?;
    arr.set(1, Uint32Array::new(meta))?;
    arr.set(2, names)?;
    drop(credit);
    unsafe { Array::to_napi_value(env.raw(), arr) }
}

impl DatagramEvents for UdpSink {
    fn on_messages(&self, batch: RecvBatch, credit: Credit) {
        self.0.push(kind::MESSAGE, Payload::Lazy(Box::new(move |env| batch_value(env, batch, credit))));
    }
    fn on_warning(&self, w: NetError) {
        self.0.push(kind::WARNING, Payload::Error(w.into()));
    }
    fn on_sent(&self, done: Vec<(u64, std::result::Result<usize, NetError>)>) {
        self.0.push(
            kind::DRAIN,
            Payload::Lazy(Box::new(move |env| {
                let mut arr = env.create_array((done.len() * 2) as u32)?;
                for (i, (token, r)) in done.into_iter().enumerate() {
                    let i = (i * 2) as u32;
                    arr.set(i, token as f64)?;
                    match r {
                        Ok(n) => arr.set(i + 1, n as f64)?,
                        Err(e) => arr.set(i + 1, ErrorInfo::from(e))?,
                    }
                }
                unsafe { Array::to_napi_value(env.raw(), arr) }
            })),
        );
    }
    fn on_error(&self, e: NetError) {
        self.0.push(kind::ERROR, Payload::Error(e.into()));
    }
    fn on_close(&self) {
        self.0.push(kind::CLOSE, Payload::None);
    }
}

fn einval(what: &str, v: &str) -> ErrorInfo {
    ErrorInfo { syscall: None, ..ErrorInfo::new("EINVAL", format!("invalid {what} {v:?}")) }
}

/// Parses an IP (IPv6 may carry `%scope`) and port into a socket address.
fn target(address: &str, port: u32) -> std::result::Result<SocketAddr, ErrorInfo> {
    if port > 65535 {
        return Err(einval("port", &port.to_string()));
    }
    let (ip, scope) = match address.split_once('%') {
        Some((ip, sc)) => (ip, Some(sc)),
        None => (address, None),
    };
    let ip: IpAddr = ip.parse().map_err(|_| einval("IP address", address))?;
    Ok(match (ip, scope) {
        (IpAddr::V6(v6), Some(sc)) => {
            let idx = iocrate_net::udp::interface_index(sc).ok_or_else(|| einval("interface", sc))?;
            SocketAddr::V6(std::net::SocketAddrV6::new(v6, port as u16, 0, idx))
        }
        (ip, _) => SocketAddr::new(ip, port as u16),
    })
}

fn membership(
    group: String,
    iface: Option<String>,
    source: Option<String>,
) -> std::result::Result<Membership, ErrorInfo> {
    let g: IpAddr = group.parse().map_err(|_| einval("multicast group", &group))?;
    let source = match source {
        Some(s) => Some(s.parse::<IpAddr>().map_err(|_| einval("source address", &s))?),
        None => None,
    };
    Ok(Membership { group: g, interface: iface.filter(|s| !s.is_empty()), source })
}

fn done(r: std::result::Result<(), NetError>) -> Option<ErrorInfo> {
    r.err().map(Into::into)
}

/// A bound UDP socket. Events: MESSAGE (a batch), WARNING (truncation), DRAIN (queued
/// sends finished), ERROR (receive errors; the socket stays open), CLOSE.
#[napi]
pub struct UdpHandle {
    ep: Arc<UdpEndpoint>,
    id: u32,
}

#[napi]
impl UdpHandle {
    /// The id events for this socket carry.
    #[napi(getter)]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Sends one datagram to `address:port`, or to the connected peer when `address` is
    /// absent. Returns bytes sent (≥ 0), `-(token + 1)` when queued, or an error.
    #[napi]
    pub fn send(&self, data: BufferSlice, address: Option<String>, port: Option<u32>) -> Either<f64, ErrorInfo> {
        let to = match address {
            Some(a) => match target(&a, port.unwrap_or(0)) {
                Ok(t) => Some(t),
                Err(e) => return Either::B(e),
            },
            None => None,
        };
        match self.ep.send(&data, to) {
            Ok(SendOutcome::Sent(n)) => Either::A(n as f64),
            Ok(SendOutcome::Queued(t)) => Either::A(-(t as f64) - 1.0),
            Err(e) => Either::B(e.into()),
        }
    }

    /// `[datagrams, bytes]` queued in Rust waiting for the kernel.
    #[napi]
    pub fn queued(&self) -> Vec<f64> {
        let (n, b) = self.ep.queued();
        vec![n as f64, b as f64]
    }

    /// Associates the socket with one peer.
    #[napi]
    pub fn connect(&self, address: String, port: u32) -> Option<ErrorInfo> {
        match target(&address, port) {
            Ok(t) => done(self.ep.connect(t)),
            Err(e) => Some(e),
        }
    }

    /// Dissolves the association.
    #[napi]
    pub fn disconnect(&self) -> Option<ErrorInfo> {
        done(self.ep.disconnect())
    }

    /// The bound address.
    #[napi]
    pub fn local_address(&self) -> AddressInfo {
        self.ep.local_addr().into()
    }

    /// The connected peer, if any.
    #[napi]
    pub fn remote_address(&self) -> Option<AddressInfo> {
        self.ep.peer_addr().map(Into::into)
    }

    /// `SO_BROADCAST`.
    #[napi]
    pub fn set_broadcast(&self, on: bool) -> Option<ErrorInfo> {
        done(self.ep.set_broadcast(on))
    }

    /// Unicast TTL / hop limit.
    #[napi]
    pub fn set_ttl(&self, ttl: u32) -> Option<ErrorInfo> {
        done(self.ep.set_ttl(ttl))
    }

    /// Multicast TTL / hop limit.
    #[napi]
    pub fn set_multicast_ttl(&self, ttl: u32) -> Option<ErrorInfo> {
        done(self.ep.set_multicast_ttl(ttl))
    }

    /// Multicast loopback.
    #[napi]
    pub fn set_multicast_loopback(&self, on: bool) -> Option<ErrorInfo> {
        done(self.ep.set_multicast_loopback(on))
    }

    /// Outgoing multicast interface.
    #[napi]
    pub fn set_multicast_interface(&self, iface: String) -> Option<ErrorInfo> {
        done(self.ep.set_multicast_interface(&iface))
    }

    /// Joins a group (source-specific when `source` is given).
    #[napi]
    pub fn add_membership(&self, group: String, iface: Option<String>, source: Option<String>) -> Option<ErrorInfo> {
        match membership(group, iface, source) {
            Ok(m) => done(self.ep.add_membership(&m)),
            Err(e) => Some(e),
        }
    }

    /// Leaves a group.
    #[napi]
    pub fn drop_membership(&self, group: String, iface: Option<String>, source: Option<String>) -> Option<ErrorInfo> {
        match membership(group, iface, source) {
            Ok(m) => done(self.ep.drop_membership(&m)),
            Err(e) => Some(e),
        }
    }

    /// Sets `SO_RCVBUF`.
    #[napi]
    pub fn set_recv_buffer_size(&self, n: u32) -> Option<ErrorInfo> {
        done(self.ep.set_recv_buffer_size(n as usize))
    }

    /// `SO_RCVBUF` as the kernel reports it.
    #[napi]
    pub fn recv_buffer_size(&self) -> Either<f64, ErrorInfo> {
        match self.ep.recv_buffer_size() {
            Ok(n) => Either::A(n as f64),
            Err(e) => Either::B(e.into()),
        }
    }

    /// Sets `SO_SNDBUF`.
    #[napi]
    pub fn set_send_buffer_size(&self, n: u32) -> Option<ErrorInfo> {
        done(self.ep.set_send_buffer_size(n as usize))
    }

    /// `SO_SNDBUF` as the kernel reports it.
    #[napi]
    pub fn send_buffer_size(&self) -> Either<f64, ErrorInfo> {
        match self.ep.send_buffer_size() {
            Ok(n) => Either::A(n as f64),
            Err(e) => Either::B(e.into()),
        }
    }

    /// Stops reading.
    #[napi]
    pub fn pause(&self) {
        self.ep.pause();
    }

    /// Resumes reading.
    #[napi]
    pub fn resume(&self) {
        self.ep.resume();
    }

    /// Closes; CLOSE follows.
    #[napi]
    pub fn close(&self) {
        self.ep.close();
    }
}

/// Creates and binds a UDP socket (synchronously, so `EADDRINUSE` is known at once) and
/// starts reading.
#[napi]
pub fn udp_bind(bridge: &Bridge, options: RawUdpOptions) -> Either<UdpHandle, ErrorInfo> {
    let sink = Sink::new(&bridge.inner);
    let id = sink.id;
    match UdpEndpoint::bind(&options.into(), Arc::new(UdpSink(sink))) {
        Ok(ep) => {
            bridge.inner.track(&ep);
            Either::A(UdpHandle { ep, id })
        }
        Err(e) => Either::B(e.into()),
    }
}
