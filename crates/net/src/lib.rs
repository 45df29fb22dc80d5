//! TCP and UDP drivers for iocrate.
//!
//! There is no wire protocol at this layer, so there is no sans-IO codec: this crate is
//! the tokio driver every protocol sits on. It owns sockets, write queues, read flow
//! control and timers, and reports what happens through [`StreamEvents`] (for streams)
//! and [`udp::DatagramEvents`] (for datagrams). The napi binding implements those traits
//! by pushing onto its event bridge; tests implement them with channels.
//!
//! Writes are designed for a caller on another thread (the JS thread): [`tcp::TcpConn::write`]
//! first tries the socket directly, without waking the runtime, and queues only what the
//! kernel did not take.
#![warn(missing_docs)]
#![warn(unreachable_pub)]

mod addr;
mod error;
mod flow;
mod scratch;
mod settings;
mod stream;
pub mod tcp;
mod transport;
pub mod udp;

pub use addr::{Family, SocketAddress};
pub use error::{errno_code, NetError};
pub use flow::{Credit, ReadFlow};
pub use scratch::read_with_scratch;
pub use settings::StreamSettings;
pub use stream::{ConnectOptions, ListenOptions, StreamEvents, StreamOps, StreamOptions, StreamStats};
pub use transport::{linger, Transport};
