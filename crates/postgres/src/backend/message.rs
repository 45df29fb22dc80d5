//! Backend message values and the parser of one message body.

use std::borrow::Cow;

use crate::error::PgProtocolError;
use crate::types::Format;

/// One backend message. Strings and payloads borrow the decoder's buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Message<'a> {
    /// `R` code 0: authentication succeeded.
    AuthenticationOk,
    /// `R` code 3: send the password in clear text.
    AuthenticationCleartextPassword,
    /// `R` code 5: send `md5` + hex(md5(hex(md5(password + user)) + salt)).
    AuthenticationMd5Password {
        /// The 4-byte salt.
        salt: [u8; 4],
    },
    /// `R` code 10: start SASL with one of these mechanisms.
    AuthenticationSasl {
        /// Mechanism names, in the server's order of preference.
        mechanisms: Vec<&'a str>,
    },
    /// `R` code 11: a SASL challenge.
    AuthenticationSaslContinue {
        /// Mechanism-specific data (SCRAM's server-first-message).
        data: &'a [u8],
    },
    /// `R` code 12: SASL outcome data.
    AuthenticationSaslFinal {
        /// Mechanism-specific data (SCRAM's server-final-message).
        data: &'a [u8],
    },
    /// `K`: the key to cancel this session's queries with.
    BackendKeyData {
        /// Backend process id.
        process_id: i32,
        /// Secret key (4 bytes in protocol 3.0, up to 256 in 3.2).
        secret_key: &'a [u8],
    },
    /// `S`: a run-time parameter's current value.
    ParameterStatus {
        /// Parameter name.
        name: &'a str,
        /// Its value.
        value: &'a str,
    },
    /// `Z`: the server is ready for a new query cycle.
    ReadyForQuery {
        /// The transaction status.
        status: TransactionStatus,
    },
    /// `T`: the columns of the rows that follow.
    RowDescription(RowDescription<'a>),
    /// `D`: one row.
    DataRow(DataRow<'a>),
    /// `C`: a command finished.
    CommandComplete {
        /// The command tag, e.g. `SELECT 3` or `INSERT 0 1`.
        tag: &'a str,
    },
    /// `I`: the query string was empty.
    EmptyQueryResponse,
    /// `E`: an error.
    ErrorResponse(ErrorFields<'a>),
    /// `N`: a notice.
    NoticeResponse(ErrorFields<'a>),
    /// `1`: Parse done.
    ParseComplete,
    /// `2`: Bind done.
    BindComplete,
    /// `3`: Close done.
    CloseComplete,
    /// `n`: the statement or portal returns no rows.
    NoData,
    /// `s`: Execute reached its row limit.
    PortalSuspended,
    /// `t`: the parameter types of a prepared statement.
    ParameterDescription {
        /// Parameter type OIDs.
        type_oids: Vec<u32>,
    },
    /// `G`: COPY FROM STDIN started; send CopyData.
    CopyInResponse(CopyResponse),
    /// `H`: COPY TO STDOUT started; CopyData follows.
    CopyOutResponse(CopyResponse),
    /// `W`: COPY BOTH started (streaming replication).
    CopyBothResponse(CopyResponse),
    /// `d`: COPY payload.
    CopyData(&'a [u8]),
    /// `c`: COPY finished.
    CopyDone,
    /// `A`: a LISTEN notification.
    NotificationResponse {
        /// Process id of the notifying backend.
        process_id: i32,
        /// The channel.
        channel: &'a str,
        /// The payload.
        payload: &'a str,
    },
    /// `v`: the server does not support the requested minor version or options.
    NegotiateProtocolVersion {
        /// Newest minor protocol version the server supports.
        newest_minor: i32,
        /// Protocol options (`_pq_.*`) the server did not recognise.
        unrecognized: Vec<&'a str>,
    },
    /// `V`: result of a (legacy) function call.
    FunctionCallResponse {
        /// The result value, `None` for NULL.
        result: Option<&'a [u8]>,
    },
}

impl Message<'_> {
    /// The message's name in the PostgreSQL documentation, e.g. `DataRow`.
    pub fn name(&self) -> &'static str {
        match self {
            Message::AuthenticationOk => "AuthenticationOk",
            Message::AuthenticationCleartextPassword => "AuthenticationCleartextPassword",
            Message::AuthenticationMd5Password { .. } => "AuthenticationMD5Password",
            Message::AuthenticationSasl { .. } => "AuthenticationSASL",
            Message::AuthenticationSaslContinue { .. } => "AuthenticationSASLContinue",
            Message::AuthenticationSaslFinal { .. } => "AuthenticationSASLFinal",
            Message::BackendKeyData { .. } => "BackendKeyData",
            Message::ParameterStatus { .. } => "ParameterStatus",
            Message::ReadyForQuery { .. } => "ReadyForQuery",
            Message::RowDescription(_) => "RowDescription",
            Message::DataRow(_) => "DataRow",
            Message::CommandComplete { .. } => "CommandComplete",
            Message::EmptyQueryResponse => "EmptyQueryResponse",
            Message::ErrorResponse(_) => "ErrorResponse",
            Message::NoticeResponse(_) => "NoticeResponse",
            Message::ParseComplete => "ParseComplete",
            Message::BindComplete => "BindComplete",
            Message::CloseComplete => "CloseComplete",
            Message::NoData => "NoData",
            Message::PortalSuspended => "PortalSuspended",
            Message::ParameterDescription { .. } => "ParameterDescription",
            Message::CopyInResponse(_) => "CopyInResponse",
            Message::CopyOutResponse(_) => "CopyOutResponse",
            Message::CopyBothResponse(_) => "CopyBothResponse",
            Message::CopyData(_) => "CopyData",
            Message::CopyDone => "CopyDone",
            Message::NotificationResponse { .. } => "NotificationResponse",
            Message::NegotiateProtocolVersion { .. } => "NegotiateProtocolVersion",
            Message::FunctionCallResponse { .. } => "FunctionCallResponse",
        }
    }
}

/// The transaction status in ReadyForQuery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionStatus {
    /// `I`: not in a transaction block.
    Idle,
    /// `T`: in a transaction block.
    InTransaction,
    /// `E`: in a failed transaction block (queries are rejected until it ends).
    Failed,
}

/// The columns of a result set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowDescription<'a> {
    /// One entry per column.
    pub fields: Vec<Field<'a>>,
}

/// One column of a RowDescription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// Column name.
    pub name: &'a str,
    /// OID of the table the column comes from, or 0.
    pub table_oid: u32,
    /// Attribute number of the column in that table, or 0.
    pub column_attr: i16,
    /// OID of the column's data type.
    pub type_oid: u32,
    /// `pg_type.typlen` (negative for variable width).
    pub type_len: i16,
    /// Type modifier (`pg_attribute.atttypmod`), type-specific.
    pub type_mod: i32,
    /// Format of the values (known only after Bind; text in Describe-statement results).
    pub format: Format,
}

/// One row: `len()` cells, each `None` for NULL or the value's bytes. Validated when
/// decoded, so iterating cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataRow<'a> {
    len: usize,
    /// The cells, after the column count.
    body: &'a [u8],
}

impl<'a> DataRow<'a> {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the row has no cells.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The cells in column order.
    pub fn iter(&self) -> DataRowIter<'a> {
        DataRowIter { left: self.len, rest: self.body }
    }
}

impl<'a> IntoIterator for DataRow<'a> {
    type Item = Option<&'a [u8]>;
    type IntoIter = DataRowIter<'a>;
    fn into_iter(self) -> DataRowIter<'a> {
        self.iter()
    }
}

/// Iterator over the cells of a [`DataRow`].
#[derive(Debug, Clone)]
pub struct DataRowIter<'a> {
    left: usize,
    rest: &'a [u8],
}

impl<'a> Iterator for DataRowIter<'a> {
    type Item = Option<&'a [u8]>;
    fn next(&mut self) -> Option<Option<&'a [u8]>> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let len = i32::from_be_bytes(self.rest[..4].try_into().unwrap());
        self.rest = &self.rest[4..];
        if len < 0 {
            return Some(None);
        }
        let (cell, rest) = self.rest.split_at(len as usize);
        self.rest = rest;
        Some(Some(cell))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for DataRowIter<'_> {}

/// The fields of an ErrorResponse or NoticeResponse. Text is decoded as UTF-8, invalid
/// sequences replaced (messages sent before `client_encoding` applies may not be UTF-8).
/// Unknown field codes are ignored, as the protocol asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorFields<'a> {
    /// `S`: ERROR, FATAL, PANIC, WARNING, NOTICE, DEBUG, INFO or LOG (maybe localized).
    pub severity: Option<Cow<'a, str>>,
    /// `V`: the severity, never localized (PostgreSQL 9.6+).
    pub severity_nonlocalized: Option<Cow<'a, str>>,
    /// `C`: the SQLSTATE code.
    pub code: Option<Cow<'a, str>>,
    /// `M`: the primary message.
    pub message: Option<Cow<'a, str>>,
    /// `D`: detail.
    pub detail: Option<Cow<'a, str>>,
    /// `H`: hint.
    pub hint: Option<Cow<'a, str>>,
    /// `P`: 1-based character position in the query string (decimal).
    pub position: Option<Cow<'a, str>>,
    /// `p`: position in an internally generated command (decimal).
    pub internal_position: Option<Cow<'a, str>>,
    /// `q`: the internally generated command.
    pub internal_query: Option<Cow<'a, str>>,
    /// `W`: context (call stack traceback).
    pub where_: Option<Cow<'a, str>>,
    /// `s`: schema name.
    pub schema: Option<Cow<'a, str>>,
    /// `t`: table name.
    pub table: Option<Cow<'a, str>>,
    /// `c`: column name.
    pub column: Option<Cow<'a, str>>,
    /// `d`: data type name.
    pub data_type: Option<Cow<'a, str>>,
    /// `n`: constraint name.
    pub constraint: Option<Cow<'a, str>>,
    /// `F`: source file that reported the error.
    pub file: Option<Cow<'a, str>>,
    /// `L`: source line (decimal).
    pub line: Option<Cow<'a, str>>,
    /// `R`: source routine.
    pub routine: Option<Cow<'a, str>>,
}

/// The body of CopyInResponse, CopyOutResponse and CopyBothResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResponse {
    /// Overall format: text (rows are lines) or binary.
    pub format: Format,
    /// Per-column formats (all text when `format` is text).
    pub column_formats: Vec<Format>,
}

/// Errors on a type byte that no backend message uses.
pub(super) fn check_tag(tag: u8) -> Result<(), PgProtocolError> {
    match tag {
        b'R' | b'K' | b'S' | b'Z' | b'T' | b'D' | b'C' | b'I' | b'E' | b'N' | b'1' | b'2' | b'3' | b'n' | b's'
        | b't' | b'G' | b'H' | b'W' | b'd' | b'c' | b'A' | b'v' | b'V' => Ok(()),
        t => Err(PgProtocolError::UnknownMessage(t)),
    }
}

/// A cursor over one message body.
struct Body<'a> {
    b: &'a [u8],
    msg: &'static str,
}

impl<'a> Body<'a> {
    fn err(&self, why: &'static str) -> PgProtocolError {
        PgProtocolError::Malformed { msg: self.msg, why }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PgProtocolError> {
        if self.b.len() < n {
            return Err(self.err("truncated"));
        }
        let (a, rest) = self.b.split_at(n);
        self.b = rest;
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, PgProtocolError> {
        Ok(self.take(1)?[0])
    }

    fn i16(&mut self) -> Result<i16, PgProtocolError> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().unwrap()))
    }

    fn i32(&mut self) -> Result<i32, PgProtocolError> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().unwrap()))
    }

    fn count(&mut self) -> Result<usize, PgProtocolError> {
        // Counts are Int16 on the wire but PostgreSQL reads them unsigned (up to 65535).
        Ok(self.i16()? as u16 as usize)
    }

    fn cbytes(&mut self) -> Result<&'a [u8], PgProtocolError> {
        match memchr::memchr(0, self.b) {
            Some(i) => {
                let s = &self.b[..i];
                self.b = &self.b[i + 1..];
                Ok(s)
            }
            None => Err(self.err("string without NUL terminator")),
        }
    }

    fn cstr(&mut self) -> Result<&'a str, PgProtocolError> {
        let b = self.cbytes()?;
        std::str::from_utf8(b).map_err(|_| self.err("string is not valid UTF-8"))
    }

    fn format(&mut self, v: i16) -> Result<Format, PgProtocolError> {
        match v {
            0 => Ok(Format::Text),
            1 => Ok(Format::Binary),
            _ => Err(self.err("format code is neither 0 nor 1")),
        }
    }

    fn end<T>(&self, v: T) -> Result<T, PgProtocolError> {
        if self.b.is_empty() {
            Ok(v)
        } else {
            Err(self.err("trailing bytes"))
        }
    }
}

/// Parses the body (after the length) of a message of type `tag`.
pub(super) fn parse(tag: u8, body: &[u8]) -> Result<Message<'_>, PgProtocolError> {
    let name = match tag {
        b'R' => "Authentication",
        b'K' => "BackendKeyData",
        b'S' => "ParameterStatus",
        b'Z' => "ReadyForQuery",
        b'T' => "RowDescription",
        b'D' => "DataRow",
        b'C' => "CommandComplete",
        b'E' => "ErrorResponse",
        b'N' => "NoticeResponse",
        b't' => "ParameterDescription",
        b'G' | b'H' | b'W' => "CopyResponse",
        b'A' => "NotificationResponse",
        b'v' => "NegotiateProtocolVersion",
        b'V' => "FunctionCallResponse",
        _ => "empty",
    };
    let mut r = Body { b: body, msg: name };
    let m = match tag {
        b'R' => return auth(r),
        b'K' => {
            let process_id = r.i32()?;
            let secret_key = r.take(r.b.len())?;
            if !(4..=256).contains(&secret_key.len()) {
                return Err(r.err("secret key must be 4 to 256 bytes"));
            }
            Message::BackendKeyData { process_id, secret_key }
        }
        b'S' => Message::ParameterStatus { name: r.cstr()?, value: r.cstr()? },
        b'Z' => Message::ReadyForQuery {
            status: match r.u8()? {
                b'I' => TransactionStatus::Idle,
                b'T' => TransactionStatus::InTransaction,
                b'E' => TransactionStatus::Failed,
                _ => return Err(r.err("transaction status is not I, T or E")),
            },
        },
        b'T' => {
            let n = r.count()?;
            // Each field takes at least 19 bytes: refuse a count the body cannot hold
            // before allocating for it.
            if n * 19 > r.b.len() {
                return Err(r.err("truncated"));
            }
            let mut fields = Vec::with_capacity(n);
            for _ in 0..n {
                let name = r.cstr()?;
                let table_oid = r.i32()? as u32;
                let column_attr = r.i16()?;
                let type_oid = r.i32()? as u32;
                let type_len = r.i16()?;
                let type_mod = r.i32()?;
                let f = r.i16()?;
                let format = r.format(f)?;
                fields.push(Field { name, table_oid, column_attr, type_oid, type_len, type_mod, format });
            }
            Message::RowDescription(RowDescription { fields })
        }
        b'D' => {
            let n = r.count()?;
            let cells = r.b;
            for _ in 0..n {
                let len = r.i32()?;
                if len >= 0 {
                    r.take(len as usize)?;
                } else if len != -1 {
                    return Err(r.err("negative cell length other than -1"));
                }
            }
            r.end(())?;
            Message::DataRow(DataRow { len: n, body: cells })
        }
        b'C' => Message::CommandComplete { tag: r.cstr()? },
        b'E' => Message::ErrorResponse(error_fields(&mut r)?),
        b'N' => Message::NoticeResponse(error_fields(&mut r)?),
        b't' => {
            let n = r.count()?;
            let oids = r.take(n * 4)?;
            Message::ParameterDescription {
                type_oids: oids.chunks_exact(4).map(|c| u32::from_be_bytes(c.try_into().unwrap())).collect(),
            }
        }
        b'G' | b'H' | b'W' => {
            let f = r.u8()?;
            let format = r.format(i16::from(f))?;
            let n = r.count()?;
            let raw = r.take(n * 2)?;
            let mut column_formats = Vec::with_capacity(n);
            for c in raw.chunks_exact(2) {
                column_formats.push(r.format(i16::from_be_bytes([c[0], c[1]]))?);
            }
            if format == Format::Text && column_formats.contains(&Format::Binary) {
                return Err(r.err("binary column in a text-format COPY"));
            }
            let c = CopyResponse { format, column_formats };
            match tag {
                b'G' => Message::CopyInResponse(c),
                b'H' => Message::CopyOutResponse(c),
                _ => Message::CopyBothResponse(c),
            }
        }
        b'd' => return Ok(Message::CopyData(body)),
        b'A' => Message::NotificationResponse { process_id: r.i32()?, channel: r.cstr()?, payload: r.cstr()? },
        b'v' => {
            let newest_minor = r.i32()?;
            let n = r.i32()?;
            if n < 0 || n as usize > r.b.len() {
                return Err(r.err("bad option count"));
            }
            let mut unrecognized = Vec::with_capacity(n as usize);
            for _ in 0..n {
                unrecognized.push(r.cstr()?);
            }
            Message::NegotiateProtocolVersion { newest_minor, unrecognized }
        }
        b'V' => {
            let len = r.i32()?;
            let result = match len {
                -1 => None,
                n if n >= 0 => Some(r.take(n as usize)?),
                _ => return Err(r.err("negative length other than -1")),
            };
            Message::FunctionCallResponse { result }
        }
        _ => {
            let m = match tag {
                b'I' => Message::EmptyQueryResponse,
                b'1' => Message::ParseComplete,
                b'2' => Message::BindComplete,
                b'3' => Message::CloseComplete,
                b'n' => Message::NoData,
                b's' => Message::PortalSuspended,
                b'c' => Message::CopyDone,
                t => return Err(PgProtocolError::UnknownMessage(t)),
            };
            r.msg = m.name();
            m
        }
    };
    r.end(m)
}

fn auth(mut r: Body<'_>) -> Result<Message<'_>, PgProtocolError> {
    let code = r.i32()?;
    let m = match code {
        0 => Message::AuthenticationOk,
        3 => Message::AuthenticationCleartextPassword,
        5 => Message::AuthenticationMd5Password { salt: r.take(4)?.try_into().unwrap() },
        10 => {
            let mut mechanisms = Vec::new();
            loop {
                let m = r.cstr()?;
                if m.is_empty() {
                    break;
                }
                mechanisms.push(m);
            }
            if mechanisms.is_empty() {
                return Err(r.err("SASL request without mechanisms"));
            }
            Message::AuthenticationSasl { mechanisms }
        }
        11 => return Ok(Message::AuthenticationSaslContinue { data: r.b }),
        12 => return Ok(Message::AuthenticationSaslFinal { data: r.b }),
        2 => return Err(PgProtocolError::UnsupportedAuthentication("KerberosV5")),
        6 => return Err(PgProtocolError::UnsupportedAuthentication("SCM credential")),
        7 | 8 => return Err(PgProtocolError::UnsupportedAuthentication("GSSAPI")),
        9 => return Err(PgProtocolError::UnsupportedAuthentication("SSPI")),
        c => return Err(PgProtocolError::UnknownAuthentication(c)),
    };
    r.end(m)
}

fn error_fields<'a>(r: &mut Body<'a>) -> Result<ErrorFields<'a>, PgProtocolError> {
    let mut f = ErrorFields::default();
    loop {
        let code = r.u8()?;
        if code == 0 {
            return Ok(f);
        }
        let v = Some(String::from_utf8_lossy(r.cbytes()?));
        match code {
            b'S' => f.severity = v,
            b'V' => f.severity_nonlocalized = v,
            b'C' => f.code = v,
            b'M' => f.message = v,
            b'D' => f.detail = v,
            b'H' => f.hint = v,
            b'P' => f.position = v,
            b'p' => f.internal_position = v,
            b'q' => f.internal_query = v,
            b'W' => f.where_ = v,
            b's' => f.schema = v,
            b't' => f.table = v,
            b'c' => f.column = v,
            b'd' => f.data_type = v,
            b'n' => f.constraint = v,
            b'F' => f.file = v,
            b'L' => f.line = v,
            b'R' => f.routine = v,
            _ => {}
        }
    }
}
