//! The iocrate Node.js addon: thin `#[napi]` glue over the iocrate crates.
//!
//! One file per JS module. Logic lives in the crates; this crate converts options,
//! forwards commands and pushes events onto the [`bridge`].
#![deny(clippy::all)]
// Under `cargo test` the #[napi] registrations are compiled out, leaving the glue unused.
#![cfg_attr(test, allow(dead_code))]

mod bridge;
mod error;
mod http;
mod http_client;
mod net;
mod postgres;
mod redis;
mod runtime;
mod stream;
mod tls;
mod udp;
mod websocket;
