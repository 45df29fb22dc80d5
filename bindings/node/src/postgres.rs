//! `@iocrate/postgres`: the PostgreSQL protocol codec (crates/postgres) on the JS thread.
//! Node's socket does the I/O; each read is handed to [`PgWire::feed`], which decodes
//! every complete backend message into one *event tape* (below) — data rows already
//! turned into typed cells — so a read costs one call into Rust however many rows it
//! carries. Frontend messages are encoded here too, one call per query.
//!
//! Event tape: per message, its type byte, then (little-endian; `str` = u32 length + UTF-8):
//! - `R` auth: u8 kind — 0 ok, 3 cleartext, 5 md5 + 4 salt bytes, 10 SASL + str of
//!   mechanisms joined by `,`, 11 SASL continue + str data, 12 SASL final + str data
//! - `K` i32 pid, str secret · `S` str name, str value · `Z` u8 status (`I`/`T`/`E`)
//! - `T` u16 columns, per column: str name, u32 type oid, u32 table oid, i16 attribute
//! - `D` u32 byte length of the cells, then the cells (row tape of crates/postgres)
//! - `C` str tag · `I` · `1` · `2` · `3` · `n` · `s` (no body)
//! - `E` / `N` u8 count, then (u8 field code, str value) pairs
//! - `t` u16 count, u32 oids · `G`/`H`/`W` u8 format, u16 count, u8 formats
//! - `d` str data · `c` · `A` i32 pid, str channel, str payload

use iocrate_postgres::auth::{md5_password, Scram};
use iocrate_postgres::backend::{Decoder, Limits, Message};
use iocrate_postgres::frontend as fe;
use iocrate_postgres::types::{Format, RowTape};
use napi::bindgen_prelude::{Buffer, BufferSlice, Either};
use napi_derive::napi;

use crate::error::ErrorInfo;

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s);
}

fn fmt_byte(f: Format) -> u8 {
    f as u8
}

/// One connection's protocol state on the JS thread: the backend decoder and the row
/// tape of the current result.
#[napi]
pub struct PgWire {
    decoder: Decoder,
    rows: Option<RowTape>,
    failed: Option<ErrorInfo>,
    completed: Option<Vec<u8>>,
}

fn encode_err(e: fe::EncodeError) -> ErrorInfo {
    ErrorInfo::new(e.code(), e.to_string())
}

/// Runs a frontend encoder into a new Buffer, or describes its error.
fn encoded(f: impl FnOnce(&mut Vec<u8>) -> Result<(), fe::EncodeError>) -> Either<Buffer, ErrorInfo> {
    let mut b = Vec::new();
    match f(&mut b) {
        Ok(()) => Either::A(b.into()),
        Err(e) => Either::B(encode_err(e)),
    }
}

/// Bind (text parameters; Buffers as binary; result formats a byte per column) + Describe
/// portal + Execute [+ Sync]: the part of a query cycle after Parse.
fn bind_cycle(
    b: &mut Vec<u8>,
    stmt: &str,
    params: &[Param],
    result_formats: Option<&[u8]>,
    max_rows: u32,
    sync: bool,
) -> Result<(), fe::EncodeError> {
    let formats: Vec<Format> =
        params.iter().map(|p| if matches!(p, Some(Either::B(_))) { Format::Binary } else { Format::Text }).collect();
    let values: Vec<Option<&[u8]>> = params
        .iter()
        .map(|p| match p {
            None => None,
            Some(Either::A(s)) => Some(s.as_bytes()),
            Some(Either::B(buf)) => Some(&buf[..]),
        })
        .collect();
    let all_text = formats.iter().all(|f| *f == Format::Text);
    let results: Vec<Format> = result_formats
        .map(|f| f.iter().map(|&x| if x == 1 { Format::Binary } else { Format::Text }).collect())
        .unwrap_or_default();
    fe::bind(b, "", stmt, if all_text { &[] } else { &formats }, &values, &results)?;
    fe::describe_portal(b, "")?;
    fe::execute(b, "", max_rows)?;
    if sync {
        fe::sync(b);
    }
    Ok(())
}

#[napi]
impl PgWire {
    /// A decoder; `maxMessage` bounds one backend message (default 1 GiB − 1).
    #[napi(constructor)]
    pub fn new(max_message: Option<u32>) -> Self {
        let mut l = Limits::default();
        if let Some(m) = max_message {
            l.max_message = m as usize;
        }
        PgWire { decoder: Decoder::new(l), rows: None, failed: None, completed: None }
    }

    /// Feeds one read. Returns the event tape of the complete messages (`null` if none),
    /// or an error description (`ERR_PG_PROTOCOL` / `ERR_PG_LIMIT`) after which the wire
    /// only repeats it; `takeCompleted()` then gives the events decoded before the error.
    #[napi]
    pub fn feed(&mut self, data: BufferSlice) -> Either<Option<Buffer>, ErrorInfo> {
        if let Some(e) = &self.failed {
            return Either::B(e.clone());
        }
        self.decoder.feed(&data);
        let mut out = Vec::with_capacity(data.len() + 64);
        loop {
            let msg = match self.decoder.next() {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    let info = ErrorInfo::new(e.code(), e.to_string());
                    self.failed = Some(info.clone());
                    self.completed = if out.is_empty() { None } else { Some(out) };
                    return Either::B(info);
                }
            };
            if let Err(e) = encode_event(&msg, &mut self.rows, &mut out) {
                let info = ErrorInfo::new(e.0, e.1);
                self.failed = Some(info.clone());
                self.completed = if out.is_empty() { None } else { Some(out) };
                return Either::B(info);
            }
        }
        if out.is_empty() {
            Either::A(None)
        } else {
            Either::A(Some(out.into()))
        }
    }

    /// After `feed()` reported an error: the events decoded before it.
    #[napi]
    pub fn take_completed(&mut self) -> Option<Buffer> {
        self.completed.take().map(Into::into)
    }

    /// Bytes held for an incomplete message.
    #[napi]
    pub fn buffered(&self) -> u32 {
        self.decoder.buffered() as u32
    }
}

fn encode_event(
    msg: &Message<'_>,
    rows: &mut Option<RowTape>,
    out: &mut Vec<u8>,
) -> Result<(), (&'static str, String)> {
    match msg {
        Message::AuthenticationOk => out.extend_from_slice(&[b'R', 0]),
        Message::AuthenticationCleartextPassword => out.extend_from_slice(&[b'R', 3]),
        Message::AuthenticationMd5Password { salt } => {
            out.extend_from_slice(&[b'R', 5]);
            out.extend_from_slice(salt);
        }
        Message::AuthenticationSasl { mechanisms } => {
            out.extend_from_slice(&[b'R', 10]);
            put_str(out, mechanisms.join(",").as_bytes());
        }
        Message::AuthenticationSaslContinue { data } => {
            out.extend_from_slice(&[b'R', 11]);
            put_str(out, data);
        }
        Message::AuthenticationSaslFinal { data } => {
            out.extend_from_slice(&[b'R', 12]);
            put_str(out, data);
        }
        Message::BackendKeyData { process_id, secret_key } => {
            out.push(b'K');
            out.extend_from_slice(&process_id.to_le_bytes());
            put_str(out, secret_key);
        }
        Message::ParameterStatus { name, value } => {
            out.push(b'S');
            put_str(out, name.as_bytes());
            put_str(out, value.as_bytes());
        }
        Message::ReadyForQuery { status } => {
            use iocrate_postgres::backend::TransactionStatus as T;
            *rows = None;
            out.push(b'Z');
            out.push(match status {
                T::Idle => b'I',
                T::InTransaction => b'T',
                T::Failed => b'E',
            });
        }
        Message::RowDescription(desc) => {
            *rows = Some(RowTape::new(desc));
            out.push(b'T');
            out.extend_from_slice(&(desc.fields.len() as u16).to_le_bytes());
            for f in &desc.fields {
                put_str(out, f.name.as_bytes());
                out.extend_from_slice(&f.type_oid.to_le_bytes());
                out.extend_from_slice(&f.table_oid.to_le_bytes());
                out.extend_from_slice(&f.column_attr.to_le_bytes());
            }
        }
        Message::DataRow(row) => {
            let Some(tape) = rows.as_ref() else {
                return Err(("ERR_PG_PROTOCOL", "DataRow without a RowDescription".into()));
            };
            out.push(b'D');
            let at = out.len();
            out.extend_from_slice(&[0; 4]);
            if let Err(e) = tape.append_row(row, out) {
                // Leave only whole events behind (append_row rolled its cells back).
                out.truncate(at - 1);
                return Err((e.code(), e.to_string()));
            }
            let n = (out.len() - at - 4) as u32;
            out[at..at + 4].copy_from_slice(&n.to_le_bytes());
        }
        Message::CommandComplete { tag } => {
            // The result is over: a DataRow now would belong to no RowDescription.
            *rows = None;
            out.push(b'C');
            put_str(out, tag.as_bytes());
        }
        Message::EmptyQueryResponse => {
            *rows = None;
            out.push(b'I')
        }
        Message::ErrorResponse(f) | Message::NoticeResponse(f) => {
            if matches!(msg, Message::ErrorResponse(_)) {
                *rows = None;
            }
            out.push(if matches!(msg, Message::ErrorResponse(_)) { b'E' } else { b'N' });
            let fields: [(u8, &Option<std::borrow::Cow<'_, str>>); 18] = [
                (b'S', &f.severity),
                (b'V', &f.severity_nonlocalized),
                (b'C', &f.code),
                (b'M', &f.message),
                (b'D', &f.detail),
                (b'H', &f.hint),
                (b'P', &f.position),
                (b'p', &f.internal_position),
                (b'q', &f.internal_query),
                (b'W', &f.where_),
                (b's', &f.schema),
                (b't', &f.table),
                (b'c', &f.column),
                (b'd', &f.data_type),
                (b'n', &f.constraint),
                (b'F', &f.file),
                (b'L', &f.line),
                (b'R', &f.routine),
            ];
            let present: Vec<_> = fields.iter().filter_map(|(c, v)| v.as_ref().map(|v| (*c, v))).collect();
            out.push(present.len() as u8);
            for (c, v) in present {
                out.push(c);
                put_str(out, v.as_bytes());
            }
        }
        Message::ParseComplete => out.push(b'1'),
        Message::BindComplete => out.push(b'2'),
        Message::CloseComplete => out.push(b'3'),
        Message::NoData => {
            *rows = None;
            out.push(b'n')
        }
        Message::PortalSuspended => out.push(b's'),
        Message::ParameterDescription { type_oids } => {
            out.push(b't');
            out.extend_from_slice(&(type_oids.len() as u16).to_le_bytes());
            for o in type_oids {
                out.extend_from_slice(&o.to_le_bytes());
            }
        }
        Message::CopyInResponse(c) | Message::CopyOutResponse(c) | Message::CopyBothResponse(c) => {
            out.push(match msg {
                Message::CopyInResponse(_) => b'G',
                Message::CopyOutResponse(_) => b'H',
                _ => b'W',
            });
            out.push(fmt_byte(c.format));
            out.extend_from_slice(&(c.column_formats.len() as u16).to_le_bytes());
            for f in &c.column_formats {
                out.push(fmt_byte(*f));
            }
        }
        Message::CopyData(d) => {
            out.push(b'd');
            put_str(out, d);
        }
        Message::CopyDone => out.push(b'c'),
        Message::NotificationResponse { process_id, channel, payload } => {
            out.push(b'A');
            out.extend_from_slice(&process_id.to_le_bytes());
            put_str(out, channel.as_bytes());
            put_str(out, payload.as_bytes());
        }
        // Nothing for JS to do: we ask for protocol 3.0 without options.
        Message::NegotiateProtocolVersion { .. } | Message::FunctionCallResponse { .. } => {}
    }
    Ok(())
}

/// Reused encoding buffer of `bindInto` (JS thread only; a Mutex to be Sync).
static SCRATCH: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// A query parameter: text (`string`), binary bytea (`Buffer`) or NULL.
type Param = Option<Either<String, BufferSlice<'static>>>;

/// Frontend messages, encoded. Each returns the bytes to write, or an error description.
#[napi]
pub struct PgEncode;

#[napi]
impl PgEncode {
    /// StartupMessage (protocol 3.0) with `user`, `database` and other parameters.
    #[napi]
    pub fn startup(params: Vec<Vec<String>>) -> Either<Buffer, ErrorInfo> {
        let pairs: Vec<(&str, &str)> =
            params.iter().filter(|p| p.len() == 2).map(|p| (p[0].as_str(), p[1].as_str())).collect();
        encoded(|b| fe::startup(b, &pairs))
    }

    /// SSLRequest.
    #[napi]
    pub fn ssl_request() -> Buffer {
        let mut b = Vec::new();
        fe::ssl_request(&mut b);
        b.into()
    }

    /// CancelRequest (sent on a new connection).
    #[napi]
    pub fn cancel_request(pid: i32, secret: BufferSlice) -> Either<Buffer, ErrorInfo> {
        encoded(|b| fe::cancel_request(b, pid, &secret))
    }

    /// PasswordMessage: cleartext, or md5 when `md5Salt` is given.
    #[napi]
    pub fn password(user: String, password: String, md5_salt: Option<BufferSlice>) -> Either<Buffer, ErrorInfo> {
        let mut b = Vec::new();
        let r = match md5_salt {
            Some(s) if s.len() == 4 => {
                let salt = [s[0], s[1], s[2], s[3]];
                fe::password(&mut b, md5_password(user.as_bytes(), password.as_bytes(), salt).as_bytes())
            }
            _ => fe::password(&mut b, password.as_bytes()),
        };
        match r {
            Ok(()) => Either::A(b.into()),
            Err(e) => Either::B(encode_err(e)),
        }
    }

    /// Simple Query.
    #[napi]
    pub fn query(sql: String) -> Either<Buffer, ErrorInfo> {
        encoded(|b| fe::query(b, &sql))
    }

    /// One extended-protocol query cycle: [Parse `stmt` `sql` if `sql` is given] + Bind
    /// (text parameters; Buffers as binary) + Describe portal + Execute (`maxRows`, 0 = all)
    /// [+ Sync unless `sync` is false]. Results in text format, or per column as
    /// `resultFormats` says (a byte per column: 1 binary, 0 text; see `pgBinaryFormats`).
    #[napi]
    pub fn extended(
        stmt: String,
        sql: Option<String>,
        params: Vec<Param>,
        max_rows: u32,
        sync: bool,
        result_formats: Option<BufferSlice>,
    ) -> Either<Buffer, ErrorInfo> {
        let mut b = Vec::with_capacity(64 + sql.as_ref().map_or(0, |s| s.len()));
        let r = (|| {
            if let Some(sql) = &sql {
                fe::parse(&mut b, &stmt, sql, &[])?;
            }
            bind_cycle(&mut b, &stmt, &params, result_formats.as_deref(), max_rows, sync)
        })();
        match r {
            Ok(()) => Either::A(b.into()),
            Err(e) => Either::B(encode_err(e)),
        }
    }

    /// Like `extended` without Parse (a prepared statement), written into `target` at
    /// `offset` instead of a new Buffer: one Buffer per write, not one per query. Returns
    /// the bytes written, or minus the bytes needed when `target` is too small (nothing is
    /// written then), or an error description.
    #[napi]
    pub fn bind_into(
        mut target: BufferSlice,
        offset: u32,
        stmt: String,
        params: Vec<Param>,
        result_formats: Option<BufferSlice>,
    ) -> Either<f64, ErrorInfo> {
        let mut b = std::mem::take(&mut *SCRATCH.lock().unwrap());
        b.clear();
        let r = bind_cycle(&mut b, &stmt, &params, result_formats.as_deref(), 0, true);
        let out = match r {
            Err(e) => Either::B(encode_err(e)),
            Ok(()) => {
                let at = offset as usize;
                if at + b.len() > target.len() {
                    Either::A(-(b.len() as f64))
                } else {
                    target[at..at + b.len()].copy_from_slice(&b);
                    Either::A(b.len() as f64)
                }
            }
        };
        *SCRATCH.lock().unwrap() = b;
        out
    }

    /// Execute `maxRows` more rows of the unnamed portal (after PortalSuspended), then Flush
    /// — or Sync when `sync`.
    #[napi]
    pub fn execute_more(max_rows: u32, sync: bool) -> Either<Buffer, ErrorInfo> {
        encoded(|b| fe::execute(b, "", max_rows).map(|_| if sync { fe::sync(b) } else { fe::flush(b) }))
    }

    /// Flush.
    #[napi]
    pub fn flush() -> Buffer {
        let mut b = Vec::new();
        fe::flush(&mut b);
        b.into()
    }

    /// Sync.
    #[napi]
    pub fn sync() -> Buffer {
        let mut b = Vec::new();
        fe::sync(&mut b);
        b.into()
    }

    /// Close statement `name` (+ Sync).
    #[napi]
    pub fn close_statement(name: String) -> Either<Buffer, ErrorInfo> {
        encoded(|b| fe::close_statement(b, &name).map(|_| fe::sync(b)))
    }

    /// CopyData.
    #[napi]
    pub fn copy_data(data: BufferSlice) -> Either<Buffer, ErrorInfo> {
        encoded(|b| {
            b.reserve(data.len() + 5);
            fe::copy_data(b, &data)
        })
    }

    /// CopyDone.
    #[napi]
    pub fn copy_done() -> Buffer {
        let mut b = Vec::new();
        fe::copy_done(&mut b);
        b.into()
    }

    /// CopyFail.
    #[napi]
    pub fn copy_fail(message: String) -> Either<Buffer, ErrorInfo> {
        encoded(|b| fe::copy_fail(b, &message))
    }

    /// Terminate.
    #[napi]
    pub fn terminate() -> Buffer {
        let mut b = Vec::new();
        fe::terminate(&mut b);
        b.into()
    }
}

/// A SCRAM-SHA-256(-PLUS) exchange. Give the server's DER certificate over TLS: with
/// SCRAM-SHA-256-PLUS offered, the exchange is bound to the TLS session.
#[napi]
pub struct PgScram {
    scram: Scram,
}

/// The result format to ask for per column of these types: 1 (binary) where the codec
/// decodes the binary form, else 0 (text).
#[napi]
pub fn pg_binary_formats(type_oids: Vec<u32>) -> Buffer {
    type_oids.iter().map(|&o| u8::from(iocrate_postgres::types::binary_result_supported(o))).collect::<Vec<u8>>().into()
}

/// Starts a SCRAM exchange, picking the mechanism from the server's comma-separated list.
#[napi]
pub fn pg_scram_start(
    mechanisms: String,
    password: String,
    server_cert_der: Option<BufferSlice>,
) -> Either<PgScram, ErrorInfo> {
    let mechs: Vec<&str> = mechanisms.split(',').filter(|s| !s.is_empty()).collect();
    match Scram::for_mechanisms(&mechs, password.as_bytes(), server_cert_der.as_deref()) {
        Ok(scram) => Either::A(PgScram { scram }),
        Err(e) => Either::B(ErrorInfo::new(e.code(), e.to_string())),
    }
}

#[napi]
impl PgScram {
    /// SASLInitialResponse, encoded.
    #[napi]
    pub fn client_first(&mut self) -> Either<Buffer, ErrorInfo> {
        let (mech, data) = self.scram.client_first();
        let mut b = Vec::new();
        match fe::sasl_initial_response(&mut b, mech, &data) {
            Ok(()) => Either::A(b.into()),
            Err(e) => Either::B(encode_err(e)),
        }
    }

    /// SASLResponse to the server-first message, encoded.
    #[napi]
    pub fn server_first(&mut self, data: BufferSlice) -> Either<Buffer, ErrorInfo> {
        match self.scram.server_first(&data) {
            Ok(reply) => {
                let mut b = Vec::new();
                match fe::sasl_response(&mut b, &reply) {
                    Ok(()) => Either::A(b.into()),
                    Err(e) => Either::B(encode_err(e)),
                }
            }
            Err(e) => Either::B(ErrorInfo::new(e.code(), e.to_string())),
        }
    }

    /// Checks the server's signature; an error description when it does not verify.
    #[napi]
    pub fn server_final(&mut self, data: BufferSlice) -> Option<ErrorInfo> {
        self.scram.server_final(&data).err().map(|e| ErrorInfo::new(e.code(), e.to_string()))
    }
}
