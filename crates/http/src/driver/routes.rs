//! The Rust-side route table: exact method + path → a static response, answered without
//! calling the handler. Also the cached `Date` value every response carries.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use crate::Headers;

/// A response served entirely in Rust. `Content-Length` and `Date` are added by the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticResponse {
    /// The status code.
    pub status: u16,
    /// Header fields (no `Content-Length`/`Transfer-Encoding`: the driver frames the body).
    pub headers: Headers,
    /// The body.
    pub body: Bytes,
}

impl StaticResponse {
    /// A response with this status and body and no headers.
    pub fn new(status: u16, body: impl Into<Bytes>) -> Self {
        Self { status, headers: Headers::new(), body: body.into() }
    }

    /// Adds a header and returns `self`.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push(name, value);
        self
    }
}

/// Exact method + request-target → [`StaticResponse`]. The target is compared as it
/// appears on the request line, query included.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    map: HashMap<(String, String), Arc<StaticResponse>>,
}

impl Routes {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a route and returns `self`.
    pub fn route(mut self, method: &str, path: &str, res: StaticResponse) -> Self {
        self.insert(method, path, res);
        self
    }

    /// Adds (or replaces) a route.
    pub fn insert(&mut self, method: &str, path: &str, res: StaticResponse) {
        self.map.insert((method.to_owned(), path.to_owned()), Arc::new(res));
    }

    /// The route for this method and target, if any.
    pub fn get(&self, method: &str, target: &str) -> Option<&Arc<StaticResponse>> {
        if self.map.is_empty() {
            return None;
        }
        // Borrowed lookup without allocating: HashMap<(String, String)> cannot take
        // (&str, &str), so scan when small and allocate otherwise.
        if self.map.len() <= 8 {
            return self.map.iter().find(|((m, p), _)| m == method && p == target).map(|(_, v)| v);
        }
        self.map.get(&(method.to_owned(), target.to_owned()))
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

thread_local! {
    static DATE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// The current `Date` header value (IMF-fixdate), formatted at most once per second per thread.
pub(crate) fn http_date() -> [u8; 29] {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    DATE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            *c = (secs, format_date(secs));
        }
        c.1
    })
}

fn format_date(secs: u64) -> [u8; 29] {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let days = secs / 86400;
    let rem = secs % 86400;
    let (h, m, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    // Civil-from-days (Howard Hinnant), for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let mo = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(mo <= 2);
    let s = format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(mo - 1) as usize],
        y,
        h,
        m,
        s
    );
    let mut out = [0u8; 29];
    out.copy_from_slice(&s.as_bytes()[..29]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_imf_fixdate() {
        assert_eq!(&format_date(0), b"Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(&format_date(784_111_777), b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(&format_date(1_709_210_096), b"Thu, 29 Feb 2024 12:34:56 GMT");
        assert_eq!(http_date().len(), 29);
    }

    #[test]
    fn exact_match_only() {
        let mut r = Routes::new().route("GET", "/a", StaticResponse::new(200, "a"));
        assert!(r.get("GET", "/a").is_some());
        assert!(r.get("GET", "/a?x").is_none());
        assert!(r.get("POST", "/a").is_none());
        for i in 0..10 {
            r.insert("GET", &format!("/{i}"), StaticResponse::new(200, ""));
        }
        assert_eq!(r.get("GET", "/a").unwrap().body, "a");
        assert!(r.get("GET", "/9").is_some());
        assert_eq!(r.len(), 11);
    }
}
