use std::time::Duration;

use crate::addr::SocketAddress;

use crate::error::NetError;
use crate::flow::Credit;

/// What a byte stream (TCP, Unix or TLS) reports to its owner.
///
/// Calls come from the runtime's worker threads, in order, one at a time per stream.
/// Implementations must not block: the binding pushes each call onto its event bridge.
pub trait StreamEvents: Send + Sync + 'static {
    /// An outgoing connection is established (and, for TLS, the handshake is done).
    fn on_connect(&self);
    /// Bytes arrived. Keep `credit` alive until the consumer has taken the bytes: while
    /// the stream's read window is used up, no more is read.
    fn on_data(&self, data: Vec<u8>, credit: Credit);
    /// The peer ended its side (EOF). The stream may still be written to.
    fn on_end(&self);
    /// The write queue that had reached the high-water mark has drained.
    fn on_drain(&self);
    /// No activity for the configured idle time. Nothing is closed: as in Node, the
    /// owner decides.
    fn on_timeout(&self);
    /// The stream failed; [`StreamEvents::on_close`] follows.
    fn on_error(&self, err: NetError);
    /// The stream is closed and its resources released. Always the last call.
    fn on_close(&self, had_error: bool);
    /// Native forwarding was requested and reading has stopped: every chunk read before
    /// has been reported. The owner calls `start_forward` once it has passed those on.
    fn on_forward_ready(&self) {}
    /// After `end()`: everything queued was written and the write side is shut (FIN
    /// sent; for TLS after `close_notify`). Not called when the stream closes first.
    fn on_shutdown(&self) {}
}

/// Byte counters of a stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes read from the socket (plaintext for TLS).
    pub bytes_read: u64,
    /// Bytes accepted for writing (plaintext for TLS).
    pub bytes_written: u64,
}

/// Settings of one connected stream.
#[derive(Debug, Clone)]
pub struct StreamOptions {
    /// Disable Nagle's algorithm (Node's `setNoDelay`); on by default, as in Node.
    pub no_delay: bool,
    /// TCP keep-alive with this initial delay, if set.
    pub keep_alive: Option<Duration>,
    /// Idle timeout reported through [`StreamEvents::on_timeout`].
    pub idle_timeout: Option<Duration>,
    /// Queued bytes at which `write` reports backpressure and a drain event is owed.
    pub high_water_mark: usize,
    /// Bytes delivered to the consumer but not yet taken, beyond which reading pauses.
    pub read_window: usize,
    /// Largest single read.
    pub read_chunk: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            no_delay: true,
            keep_alive: None,
            idle_timeout: None,
            high_water_mark: 64 * 1024,
            read_window: 1024 * 1024,
            read_chunk: 64 * 1024,
        }
    }
}

/// How to connect.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Host name or IP address (ignored with `path`).
    pub host: String,
    /// Port (ignored with `path`).
    pub port: u16,
    /// Unix domain socket path.
    pub path: Option<String>,
    /// Local address to bind before connecting.
    pub local_address: Option<String>,
    /// Local port to bind before connecting.
    pub local_port: Option<u16>,
    /// Give up connecting after this long (`ETIMEDOUT`).
    pub connect_timeout: Option<Duration>,
    /// Settings for the connected stream.
    pub stream: StreamOptions,
}

/// How to listen.
#[derive(Debug, Clone, Default)]
pub struct ListenOptions {
    /// Address to bind; empty means all interfaces (`::` with IPv4 mapped, or `0.0.0.0`).
    pub host: String,
    /// Port; 0 picks a free one.
    pub port: u16,
    /// Unix domain socket path instead of host and port.
    pub path: Option<String>,
    /// Listen backlog (default 511, as Node).
    pub backlog: Option<u32>,
    /// Accept only IPv6 on an IPv6 address.
    pub ipv6_only: bool,
    /// Set `SO_REUSEPORT`.
    pub reuse_port: bool,
    /// Close connections beyond this many at once (Node's `maxConnections`).
    pub max_connections: Option<usize>,
    /// Settings for accepted streams.
    pub stream: StreamOptions,
}

/// The commands every connected byte stream (TCP, Unix, TLS) takes from its owner, from
/// any thread. The binding drives every kind of stream through this one interface.
pub trait StreamOps: Send + Sync {
    /// Queues bytes (writing directly when nothing is queued); returns the bytes still
    /// queued. At or above the high-water mark a drain event is owed.
    fn write(&self, data: &[u8]) -> Result<usize, NetError>;
    /// Ends the write side once the queue is flushed.
    fn end(&self);
    /// Closes now, dropping queued bytes.
    fn destroy(&self);
    /// Stops reading.
    fn pause(&self);
    /// Resumes reading.
    fn resume(&self);
    /// Sets or clears `TCP_NODELAY`.
    fn set_no_delay(&self, on: bool) -> Result<(), NetError>;
    /// Enables TCP keep-alive with an initial delay, or disables it.
    fn set_keep_alive(&self, delay: Option<Duration>) -> Result<(), NetError>;
    /// Sets the idle timeout (`None` disables it).
    fn set_timeout(&self, t: Option<Duration>);
    /// Bytes queued, not yet taken by the kernel.
    fn buffered(&self) -> usize;
    /// Byte counters.
    fn stats(&self) -> StreamStats;
    /// The local address, once connected.
    fn local_addr(&self) -> Option<SocketAddress>;
    /// The remote address, once connected.
    fn peer_addr(&self) -> Option<SocketAddress>;
}

/// Implements [`StreamOps`] by delegating to inherent methods of the same names.
#[macro_export]
macro_rules! delegate_stream_ops {
    ($t:ty) => {
        impl $crate::StreamOps for $t {
            fn write(&self, data: &[u8]) -> Result<usize, $crate::NetError> {
                <$t>::write(self, data)
            }
            fn end(&self) {
                <$t>::end(self)
            }
            fn destroy(&self) {
                <$t>::destroy(self)
            }
            fn pause(&self) {
                <$t>::pause(self)
            }
            fn resume(&self) {
                <$t>::resume(self)
            }
            fn set_no_delay(&self, on: bool) -> Result<(), $crate::NetError> {
                <$t>::set_no_delay(self, on)
            }
            fn set_keep_alive(&self, delay: Option<std::time::Duration>) -> Result<(), $crate::NetError> {
                <$t>::set_keep_alive(self, delay)
            }
            fn set_timeout(&self, t: Option<std::time::Duration>) {
                <$t>::set_timeout(self, t)
            }
            fn buffered(&self) -> usize {
                <$t>::buffered(self)
            }
            fn stats(&self) -> $crate::StreamStats {
                <$t>::stats(self)
            }
            fn local_addr(&self) -> Option<$crate::SocketAddress> {
                <$t>::local_addr(self)
            }
            fn peer_addr(&self) -> Option<$crate::SocketAddress> {
                <$t>::peer_addr(self)
            }
        }
    };
}
