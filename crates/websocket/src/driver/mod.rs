//! The tokio driver: connections ([`conn`]), the server handshake on a request handed over
//! by the HTTP server ([`server`]), the client handshake ([`client`]) and pub/sub fan-out
//! ([`topics`]).

pub mod client;
pub mod conn;
pub mod server;
pub mod topics;

pub use client::{connect, ClientRequest, ConnectError, Handshake};
pub use conn::{flush_staged, run, status, Closed, DirectWrite, Settings, WsConn, WsError, WsEvents};
pub use server::{check, is_websocket, path_of, refusal, write_and_close, Refusal, ServerConfig, Upgrade};
pub use topics::{Published, Topics};
