//! The frontend side: functions appending encoded client messages to a caller-owned
//! buffer. Each fallible function leaves the buffer unchanged when it returns an error.

use crate::types::Format;

/// Protocol version 3.0, as sent in StartupMessage.
pub const PROTOCOL_VERSION: i32 = 3 << 16;

/// Why a message could not be encoded ([`EncodeError::code`] is `ERR_PG_ENCODE`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string the protocol sends NUL-terminated contains a NUL byte.
    #[error("{0} contains a NUL byte")]
    Nul(&'static str),
    /// The message would be longer than `i32::MAX` bytes.
    #[error("message longer than i32::MAX bytes")]
    TooLong,
    /// More than 65535 parameters, formats or type OIDs.
    #[error("too many {0} (at most 65535)")]
    TooMany(&'static str),
    /// A value outside the range the protocol allows.
    #[error("{0} out of range")]
    OutOfRange(&'static str),
}

impl EncodeError {
    /// Stable error code: `ERR_PG_ENCODE`.
    pub fn code(&self) -> &'static str {
        "ERR_PG_ENCODE"
    }
}

type Result<T = ()> = std::result::Result<T, EncodeError>;

/// Writes a message: type byte (none for startup-phase messages), length, then `body`;
/// on error the buffer is truncated back to where it was.
fn message(buf: &mut Vec<u8>, tag: Option<u8>, body: impl FnOnce(&mut Vec<u8>) -> Result) -> Result {
    let start = buf.len();
    if let Some(t) = tag {
        buf.push(t);
    }
    let len_at = buf.len();
    buf.extend_from_slice(&[0; 4]);
    let res = body(buf).and_then(|()| i32::try_from(buf.len() - len_at).map_err(|_| EncodeError::TooLong));
    match res {
        Ok(len) => {
            buf[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            Ok(())
        }
        Err(e) => {
            buf.truncate(start);
            Err(e)
        }
    }
}

fn cstr(buf: &mut Vec<u8>, what: &'static str, s: &[u8]) -> Result {
    if memchr::memchr(0, s).is_some() {
        return Err(EncodeError::Nul(what));
    }
    buf.extend_from_slice(s);
    buf.push(0);
    Ok(())
}

fn count(buf: &mut Vec<u8>, what: &'static str, n: usize) -> Result {
    let n = u16::try_from(n).map_err(|_| EncodeError::TooMany(what))?;
    buf.extend_from_slice(&n.to_be_bytes());
    Ok(())
}

fn formats(buf: &mut Vec<u8>, what: &'static str, f: &[Format]) -> Result {
    count(buf, what, f.len())?;
    for f in f {
        buf.extend_from_slice(&(*f as i16).to_be_bytes());
    }
    Ok(())
}

/// StartupMessage (protocol 3.0) with these parameters (`user` is required by the server;
/// `database`, `application_name`, `client_encoding`, `options`, …).
pub fn startup(buf: &mut Vec<u8>, params: &[(&str, &str)]) -> Result {
    message(buf, None, |b| {
        b.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
        for (k, v) in params {
            if k.is_empty() {
                return Err(EncodeError::OutOfRange("empty startup parameter name"));
            }
            cstr(b, "startup parameter name", k.as_bytes())?;
            cstr(b, "startup parameter value", v.as_bytes())?;
        }
        b.push(0);
        Ok(())
    })
}

/// SSLRequest. The server answers with one byte: read it with
/// [`ssl_response`](crate::backend::ssl_response).
pub fn ssl_request(buf: &mut Vec<u8>) {
    buf.extend_from_slice(&8i32.to_be_bytes());
    buf.extend_from_slice(&80877103i32.to_be_bytes());
}

/// CancelRequest for the session with this BackendKeyData (sent on a new connection).
/// `secret` is 4 bytes in protocol 3.0 (up to 256 in 3.2).
pub fn cancel_request(buf: &mut Vec<u8>, process_id: i32, secret: &[u8]) -> Result {
    if !(4..=256).contains(&secret.len()) {
        return Err(EncodeError::OutOfRange("cancel secret length"));
    }
    message(buf, None, |b| {
        b.extend_from_slice(&80877102i32.to_be_bytes());
        b.extend_from_slice(&process_id.to_be_bytes());
        b.extend_from_slice(secret);
        Ok(())
    })
}

/// PasswordMessage with a cleartext or MD5-hashed password
/// ([`md5_password`](crate::auth::md5_password)).
pub fn password(buf: &mut Vec<u8>, password: &[u8]) -> Result {
    message(buf, Some(b'p'), |b| cstr(b, "password", password))
}

/// SASLInitialResponse: the chosen mechanism and its initial data (SCRAM's client-first-message).
pub fn sasl_initial_response(buf: &mut Vec<u8>, mechanism: &str, data: &[u8]) -> Result {
    message(buf, Some(b'p'), |b| {
        cstr(b, "SASL mechanism", mechanism.as_bytes())?;
        let n = i32::try_from(data.len()).map_err(|_| EncodeError::TooLong)?;
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(data);
        Ok(())
    })
}

/// SASLResponse (SCRAM's client-final-message).
pub fn sasl_response(buf: &mut Vec<u8>, data: &[u8]) -> Result {
    message(buf, Some(b'p'), |b| {
        b.extend_from_slice(data);
        Ok(())
    })
}

/// Query (simple query protocol): one or more `;`-separated statements.
pub fn query(buf: &mut Vec<u8>, sql: &str) -> Result {
    message(buf, Some(b'Q'), |b| cstr(b, "query", sql.as_bytes()))
}

/// Parse: prepare `sql` as statement `name` (`""` is the unnamed statement). `param_oids`
/// may be shorter than the parameter count; 0 leaves a type to the server.
pub fn parse(buf: &mut Vec<u8>, name: &str, sql: &str, param_oids: &[u32]) -> Result {
    message(buf, Some(b'P'), |b| {
        cstr(b, "statement name", name.as_bytes())?;
        cstr(b, "query", sql.as_bytes())?;
        count(b, "parameter types", param_oids.len())?;
        for o in param_oids {
            b.extend_from_slice(&o.to_be_bytes());
        }
        Ok(())
    })
}

/// Bind: create `portal` from statement `stmt` with these parameter values (`None` is
/// NULL). `param_formats` is empty (all text), one format for all, or one per parameter;
/// `result_formats` likewise per result column.
pub fn bind(
    buf: &mut Vec<u8>,
    portal: &str,
    stmt: &str,
    param_formats: &[Format],
    params: &[Option<&[u8]>],
    result_formats: &[Format],
) -> Result {
    if param_formats.len() > 1 && param_formats.len() != params.len() {
        return Err(EncodeError::OutOfRange("parameter format count"));
    }
    message(buf, Some(b'B'), |b| {
        cstr(b, "portal name", portal.as_bytes())?;
        cstr(b, "statement name", stmt.as_bytes())?;
        formats(b, "parameter formats", param_formats)?;
        count(b, "parameters", params.len())?;
        for p in params {
            match p {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    let n = i32::try_from(v.len()).map_err(|_| EncodeError::TooLong)?;
                    b.extend_from_slice(&n.to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        formats(b, "result formats", result_formats)
    })
}

fn named(buf: &mut Vec<u8>, tag: u8, kind: u8, what: &'static str, name: &str) -> Result {
    message(buf, Some(tag), |b| {
        b.push(kind);
        cstr(b, what, name.as_bytes())
    })
}

/// Describe a prepared statement: ParameterDescription, then RowDescription or NoData.
pub fn describe_statement(buf: &mut Vec<u8>, name: &str) -> Result {
    named(buf, b'D', b'S', "statement name", name)
}

/// Describe a portal: RowDescription or NoData.
pub fn describe_portal(buf: &mut Vec<u8>, name: &str) -> Result {
    named(buf, b'D', b'P', "portal name", name)
}

/// Close a prepared statement.
pub fn close_statement(buf: &mut Vec<u8>, name: &str) -> Result {
    named(buf, b'C', b'S', "statement name", name)
}

/// Close a portal.
pub fn close_portal(buf: &mut Vec<u8>, name: &str) -> Result {
    named(buf, b'C', b'P', "portal name", name)
}

/// Execute `portal`, returning at most `max_rows` rows (0: no limit; at most `i32::MAX`).
pub fn execute(buf: &mut Vec<u8>, portal: &str, max_rows: u32) -> Result {
    let max = i32::try_from(max_rows).map_err(|_| EncodeError::OutOfRange("max_rows"))?;
    message(buf, Some(b'E'), |b| {
        cstr(b, "portal name", portal.as_bytes())?;
        b.extend_from_slice(&max.to_be_bytes());
        Ok(())
    })
}

fn empty(buf: &mut Vec<u8>, tag: u8) {
    buf.push(tag);
    buf.extend_from_slice(&4i32.to_be_bytes());
}

/// Sync: end of an extended-query cycle; the server answers ReadyForQuery.
pub fn sync(buf: &mut Vec<u8>) {
    empty(buf, b'S');
}

/// Flush: ask the server to send what it has buffered.
pub fn flush(buf: &mut Vec<u8>) {
    empty(buf, b'H');
}

/// CopyData: COPY FROM STDIN payload.
pub fn copy_data(buf: &mut Vec<u8>, data: &[u8]) -> Result {
    message(buf, Some(b'd'), |b| {
        b.extend_from_slice(data);
        Ok(())
    })
}

/// CopyDone: end of COPY FROM STDIN data.
pub fn copy_done(buf: &mut Vec<u8>) {
    empty(buf, b'c');
}

/// CopyFail: abort COPY FROM STDIN with this message.
pub fn copy_fail(buf: &mut Vec<u8>, msg: &str) -> Result {
    message(buf, Some(b'f'), |b| cstr(b, "CopyFail message", msg.as_bytes()))
}

/// Terminate: close the session.
pub fn terminate(buf: &mut Vec<u8>) {
    empty(buf, b'X');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_bytes() {
        let mut b = Vec::new();
        startup(&mut b, &[("user", "u"), ("database", "d")]).unwrap();
        let mut want = Vec::new();
        want.extend_from_slice(&27i32.to_be_bytes());
        want.extend_from_slice(&[0, 3, 0, 0]);
        want.extend_from_slice(b"user\0u\0database\0d\0\0");
        assert_eq!(b, want);
        assert_eq!(startup(&mut b, &[("user", "a\0b")]), Err(EncodeError::Nul("startup parameter value")));
        assert_eq!(startup(&mut b, &[("", "x")]), Err(EncodeError::OutOfRange("empty startup parameter name")));
        assert_eq!(b, want, "a failed encode leaves the buffer unchanged");
    }

    #[test]
    fn fixed_messages() {
        let mut b = Vec::new();
        ssl_request(&mut b);
        assert_eq!(b, [0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f]);
        b.clear();
        cancel_request(&mut b, 7, &[1, 2, 3, 4]).unwrap();
        assert_eq!(b, [0, 0, 0, 16, 4, 0xd2, 0x16, 0x2e, 0, 0, 0, 7, 1, 2, 3, 4]);
        assert!(cancel_request(&mut b, 7, &[1]).is_err());
        b.clear();
        sync(&mut b);
        flush(&mut b);
        copy_done(&mut b);
        terminate(&mut b);
        assert_eq!(b, b"S\0\0\0\x04H\0\0\0\x04c\0\0\0\x04X\0\0\0\x04");
    }

    #[test]
    fn query_and_password() {
        let mut b = Vec::new();
        query(&mut b, "SELECT 1").unwrap();
        assert_eq!(b, b"Q\0\0\0\x0dSELECT 1\0");
        assert_eq!(query(&mut b, "a\0"), Err(EncodeError::Nul("query")));
        b.clear();
        password(&mut b, b"pw").unwrap();
        assert_eq!(b, b"p\0\0\0\x07pw\0");
        assert!(password(&mut b, b"p\0w").is_err());
        b.clear();
        sasl_initial_response(&mut b, "SCRAM-SHA-256", b"n,,n=,r=x").unwrap();
        assert_eq!(b, b"p\0\0\0\x1fSCRAM-SHA-256\0\0\0\0\x09n,,n=,r=x");
        b.clear();
        sasl_response(&mut b, b"c=biws").unwrap();
        assert_eq!(b, b"p\0\0\0\x0ac=biws");
    }

    #[test]
    fn extended_protocol() {
        let mut b = Vec::new();
        parse(&mut b, "s1", "SELECT $1", &[23]).unwrap();
        assert_eq!(b, b"P\0\0\0\x17s1\0SELECT $1\0\0\x01\0\0\0\x17");
        b.clear();
        bind(&mut b, "", "s1", &[Format::Binary], &[Some(&[0, 0, 0, 5]), None], &[Format::Text, Format::Binary])
            .unwrap();
        let want: &[u8] = b"B\0\0\0\x20\0s1\0\0\x01\0\x01\0\x02\0\0\0\x04\0\0\0\x05\xff\xff\xff\xff\0\x02\0\0\0\x01";
        assert_eq!(b, want);
        assert_eq!(
            bind(&mut b, "", "", &[Format::Text, Format::Text], &[None], &[]),
            Err(EncodeError::OutOfRange("parameter format count"))
        );
        assert!(bind(&mut b, "p\0", "", &[], &[], &[]).is_err());
        assert_eq!(b, want);
        let many = vec![None; 65536];
        assert_eq!(bind(&mut b, "", "", &[], &many, &[]), Err(EncodeError::TooMany("parameters")));
        assert_eq!(parse(&mut b, "", "", &vec![0; 65536]), Err(EncodeError::TooMany("parameter types")));
        b.clear();
        describe_statement(&mut b, "s").unwrap();
        describe_portal(&mut b, "").unwrap();
        close_statement(&mut b, "s").unwrap();
        close_portal(&mut b, "p").unwrap();
        assert_eq!(b, b"D\0\0\0\x07Ss\0D\0\0\0\x06P\0C\0\0\0\x07Ss\0C\0\0\0\x07Pp\0");
        b.clear();
        execute(&mut b, "", 10).unwrap();
        assert_eq!(b, b"E\0\0\0\x09\0\0\0\0\x0a");
        assert_eq!(execute(&mut b, "", u32::MAX), Err(EncodeError::OutOfRange("max_rows")));
    }

    #[test]
    fn copy() {
        let mut b = Vec::new();
        copy_data(&mut b, b"1\t2\n").unwrap();
        copy_fail(&mut b, "no").unwrap();
        assert_eq!(b, b"d\0\0\0\x081\t2\nf\0\0\0\x07no\0");
        assert_eq!(copy_fail(&mut b, "\0"), Err(EncodeError::Nul("CopyFail message")));
        assert_eq!(EncodeError::TooLong.code(), "ERR_PG_ENCODE");
    }
}
