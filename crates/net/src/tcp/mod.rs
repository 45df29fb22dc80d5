//! TCP and Unix domain stream sockets.
//!
//! [`TcpConn`] is one connected stream (outgoing or accepted) driven by one task;
//! [`TcpServer`] is a listener with an accept loop, connection counting for
//! `maxConnections` and a graceful close. [`Sock`] is the raw socket both share, also
//! used by the TLS driver.

mod conn;
mod server;
mod sock;

pub use conn::TcpConn;
pub use server::{AcceptedSocket, ConnGuard, ServerEvents, TcpServer};
pub use sock::{connect_sock, Sock};
