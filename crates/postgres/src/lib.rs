//! Sans-IO PostgreSQL frontend/backend protocol 3.0 codec.
//!
//! This crate contains no networking code. A connection encodes client messages with the
//! functions in [`frontend`] into a buffer it owns, feeds every socket read to a
//! [`backend::Decoder`] and takes [`backend::Message`]s out of it, answers authentication
//! requests with [`auth`] (MD5, SCRAM-SHA-256, SCRAM-SHA-256-PLUS), and turns DataRows
//! into the [`types`] row tape that the TypeScript side reads without parsing.
//!
//! Errors carry stable codes: [`PgProtocolError::code`] (`ERR_PG_PROTOCOL`,
//! `ERR_PG_LIMIT`, `ERR_PG_AUTH_UNSUPPORTED`), [`frontend::EncodeError::code`]
//! (`ERR_PG_ENCODE`) and [`auth::ScramError::code`] (`ERR_PG_AUTH`).
#![deny(missing_docs)]
#![warn(unreachable_pub)]

pub mod auth;
pub mod backend;
mod error;
pub mod frontend;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod types;

pub use backend::{Decoder, Limits, Message};
pub use error::PgProtocolError;
pub use types::{Format, RowTape};
