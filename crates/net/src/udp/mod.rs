//! UDP sockets.
//!
//! [`UdpEndpoint`] is one bound UDP socket driven by one task on the iocrate runtime.
//! Binding is synchronous, so `EADDRINUSE` and friends come back at once. The task reads
//! many datagrams per readiness (up to [`UdpOptions::batch_size`]) and hands each batch
//! to [`DatagramEvents::on_messages`] as one buffer plus per-datagram metadata, so the
//! binding can cross to JS once per wake-up rather than once per datagram.
//!
//! A datagram larger than [`UdpOptions::max_message_size`] is never silently cut: it is
//! delivered with [`RecvMeta::truncated`] set and followed by a warning carrying
//! [`TRUNCATED_CODE`].
//!
//! Sends run on the caller's thread (the JS thread) with a direct non-blocking
//! `sendto`; only when the kernel buffer is full is the datagram queued for the task,
//! and its outcome reported later through [`DatagramEvents::on_sent`].

mod endpoint;
mod sockopt;

use std::net::SocketAddr;

pub use endpoint::{SendOutcome, UdpEndpoint};
pub use sockopt::{interface_index, Membership};

use crate::error::NetError;
use crate::flow::Credit;

/// The code of the warning that reports a truncated datagram.
pub const TRUNCATED_CODE: &str = "ERR_IOCRATE_DGRAM_TRUNCATED";

/// The largest UDP payload over IPv4 (65535 − 8 byte UDP header − 20 byte IP header).
pub const MAX_UDP_PAYLOAD_V4: usize = 65507;

/// What a UDP endpoint reports to its owner.
///
/// Calls come from the runtime's worker threads, in order, one at a time per endpoint.
/// Implementations must not block.
pub trait DatagramEvents: Send + Sync + 'static {
    /// Datagrams arrived. Keep `credit` alive until the consumer has taken them: while the
    /// endpoint's read window is used up, no more is read.
    fn on_messages(&self, batch: RecvBatch, credit: Credit);
    /// Something worth telling but not fatal, such as a truncated datagram
    /// (code [`TRUNCATED_CODE`]).
    fn on_warning(&self, warning: NetError);
    /// Datagrams queued because the kernel buffer was full have been sent or have failed:
    /// `(token, bytes sent or error)` in the order they were queued.
    fn on_sent(&self, done: Vec<(u64, Result<usize, NetError>)>);
    /// A receive error (for example `ECONNREFUSED` after an ICMP port unreachable on a
    /// connected socket). The endpoint stays open, as Node's does.
    fn on_error(&self, err: NetError);
    /// The endpoint is closed and its socket released. Always the last call.
    fn on_close(&self);
}

/// Metadata of one received datagram inside a [`RecvBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// Bytes of this datagram in [`RecvBatch::data`] (after any truncation).
    pub len: usize,
    /// The datagram's size on the wire, when the OS reports it (Linux); else `len`.
    pub size: usize,
    /// The sender.
    pub from: SocketAddr,
    /// Whether the datagram was larger than the receive buffer and was cut.
    pub truncated: bool,
}

/// Datagrams read in one wake-up: payloads back to back in `data`, described in order
/// by `meta`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecvBatch {
    /// All payloads, concatenated.
    pub data: Vec<u8>,
    /// One entry per datagram, in arrival order.
    pub meta: Vec<RecvMeta>,
}

impl RecvBatch {
    /// Iterates over `(payload, meta)` pairs.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &RecvMeta)> + '_ {
        let mut off = 0;
        self.meta.iter().map(move |m| {
            let d = &self.data[off..off + m.len];
            off += m.len;
            (d, m)
        })
    }

    /// Number of datagrams.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether the batch holds no datagram.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }
}

/// How to bind a UDP endpoint.
#[derive(Debug, Clone)]
pub struct UdpOptions {
    /// `false` for `udp4`, `true` for `udp6`.
    pub ipv6: bool,
    /// Local IP address; empty means all interfaces (`0.0.0.0` or `::`).
    pub address: String,
    /// Local port; 0 picks a free one.
    pub port: u16,
    /// Set `SO_REUSEADDR` (Node's `reuseAddr`).
    pub reuse_addr: bool,
    /// Set `SO_REUSEPORT` (Node's `reusePort`).
    pub reuse_port: bool,
    /// Set `IPV6_V6ONLY` (udp6 only): no IPv4-mapped traffic.
    pub ipv6_only: bool,
    /// `SO_RCVBUF` in bytes.
    pub recv_buffer_size: Option<usize>,
    /// `SO_SNDBUF` in bytes.
    pub send_buffer_size: Option<usize>,
    /// Receive buffer per datagram; a larger datagram is cut and reported truncated.
    pub max_message_size: usize,
    /// Most datagrams read per wake-up (one [`DatagramEvents::on_messages`] call).
    pub batch_size: usize,
    /// Bytes delivered but not yet consumed beyond which reading pauses.
    pub read_window: usize,
}

impl Default for UdpOptions {
    fn default() -> Self {
        UdpOptions {
            ipv6: false,
            address: String::new(),
            port: 0,
            reuse_addr: false,
            reuse_port: false,
            ipv6_only: false,
            recv_buffer_size: None,
            send_buffer_size: None,
            max_message_size: 65535,
            batch_size: 64,
            read_window: 4 * 1024 * 1024,
        }
    }
}
