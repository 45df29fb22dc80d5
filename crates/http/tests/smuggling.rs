//! Wire-level tests: request-smuggling attacks are rejected and never yield a second
//! request; valid traffic parses the same whether fed at once or byte by byte.

use bytes::BytesMut;
use iocrate_http::{
    Client, Connection, Error, Event, Framing, Headers, Limits, Request, RequestTarget, Response, Server,
};

type ServerEvent = Event<Request>;

/// Feeds `input` to a fresh server in one go; returns events and the final error.
fn server_once(input: &[u8], limits: Limits) -> (Vec<ServerEvent>, Option<Error>, Connection<Server>) {
    let mut conn = Connection::<Server>::new(limits);
    let mut buf = BytesMut::from(input);
    let (events, err) = drain(&mut conn, &mut buf);
    (events, err, conn)
}

fn drain(conn: &mut Connection<Server>, buf: &mut BytesMut) -> (Vec<ServerEvent>, Option<Error>) {
    let mut events = Vec::new();
    loop {
        match conn.poll_event(buf) {
            Ok(Some(ev)) => events.push(ev),
            Ok(None) => return (events, None),
            Err(e) => return (events, Some(e)),
        }
    }
}

/// Feeds `input` one byte at a time; data events are merged so that split points do not matter.
fn server_bytewise(input: &[u8], limits: Limits) -> (Vec<ServerEvent>, Option<Error>) {
    let mut conn = Connection::<Server>::new(limits);
    let mut buf = BytesMut::new();
    let mut events = Vec::new();
    for &b in input {
        buf.extend_from_slice(&[b]);
        let (evs, err) = drain(&mut conn, &mut buf);
        events.extend(evs);
        if err.is_some() {
            return (merge(events), err);
        }
    }
    (merge(events), None)
}

fn merge(events: Vec<ServerEvent>) -> Vec<ServerEvent> {
    let mut out: Vec<ServerEvent> = Vec::new();
    for ev in events {
        if let (Some(Event::Data(prev)), Event::Data(d)) = (out.last_mut(), &ev) {
            let mut joined = BytesMut::from(&prev[..]);
            joined.extend_from_slice(d);
            *prev = joined.freeze();
            continue;
        }
        out.push(ev);
    }
    out
}

fn heads(events: &[ServerEvent]) -> usize {
    events.iter().filter(|e| matches!(e, Event::Head(_))).count()
}

/// (name, raw request, expected error). Each is followed by a smuggled second request.
const ATTACKS: &[(&str, &[u8], Error)] = &[
    (
        "CL.TE",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        Error::ContentLengthWithTransferEncoding,
    ),
    (
        "TE.CL",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n",
        Error::ContentLengthWithTransferEncoding,
    ),
    (
        "TE.TE xchunked",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n",
        Error::UnsupportedTransferCoding,
    ),
    (
        "TE.TE chunked, identity",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
        Error::UnsupportedTransferCoding,
    ),
    (
        "TE.TE two header lines",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: cow\r\n\r\n",
        Error::UnsupportedTransferCoding,
    ),
    (
        "TE.TE final gzip",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        Error::ChunkedNotFinal,
    ),
    (
        "TE.TE space before colon",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
        Error::WhitespaceBeforeColon,
    ),
    (
        "TE.TE vertical tab",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n\r\n",
        Error::InvalidHeaderValue,
    ),
    (
        "TE.TE obs-fold",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
        Error::ObsFold,
    ),
    (
        "TE in HTTP/1.0",
        b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        Error::TransferEncodingInHttp10,
    ),
    (
        "duplicate CL",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n",
        Error::DuplicateContentLength,
    ),
    (
        "duplicate identical CL",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\nhello",
        Error::DuplicateContentLength,
    ),
    ("signed CL", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", Error::InvalidContentLength),
    (
        "overflowing CL",
        b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
        Error::InvalidContentLength,
    ),
    (
        "negative chunk size",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n",
        Error::InvalidChunkSize,
    ),
    (
        "overflowing chunk size",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\n",
        Error::ChunkSizeOverflow,
    ),
    (
        "0x chunk size",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
        Error::InvalidChunkSize,
    ),
    (
        "chunk size with bare LF",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n",
        Error::BareLf,
    ),
    (
        "missing CRLF after chunk data",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n",
        Error::MissingChunkCrlf,
    ),
    (
        "oversized chunk extension",
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        Error::ChunkExtensionTooLong,
    ),
    ("bare LF in head", b"GET / HTTP/1.1\nHost: a\r\n\r\n", Error::BareLf),
    ("bare LF after field", b"GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n", Error::BareLf),
    ("bare CR in field", b"GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n", Error::BareCr),
    ("obs-fold", b"GET / HTTP/1.1\r\nHost: a\r\nX: y\r\n z\r\n\r\n", Error::ObsFold),
    ("NUL in value", b"GET / HTTP/1.1\r\nHost: a\x00b\r\n\r\n", Error::InvalidHeaderValue),
    ("NUL in name", b"GET / HTTP/1.1\r\nHo\x00st: a\r\n\r\n", Error::InvalidHeaderName),
    ("HTTP/2.0 on h1", b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Error::UnsupportedVersion),
    ("missing Host", b"GET / HTTP/1.1\r\n\r\n", Error::InvalidHost),
    ("asterisk with GET", b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", Error::InvalidTarget),
];

const SMUGGLED: &[u8] = b"GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

fn small_limits() -> Limits {
    Limits { max_chunk_ext_bytes: 32, ..Limits::default() }
}

#[test]
fn attacks_are_rejected_and_nothing_follows() {
    for (name, raw, want) in ATTACKS {
        let input = [*raw, SMUGGLED].concat();
        for (events, err) in [
            {
                let (ev, err, conn) = server_once(&input, small_limits());
                assert!(conn.must_close(), "{name}: must_close");
                (ev, err)
            },
            server_bytewise(&input, small_limits()),
        ] {
            assert_eq!(err.as_ref(), Some(want), "{name}: events {events:?}");
            assert!(heads(&events) <= 1, "{name}: second request produced: {events:?}");
            assert!(!events.iter().any(|e| matches!(e, Event::Head(r) if r.target.as_str() == "/smuggled")), "{name}");
        }
    }
}

#[test]
fn errors_stick_and_map_to_statuses() {
    let (_, err, mut conn) = server_once(b"GET / HTTP/1.1\nHost: a\r\n\r\n", Limits::default());
    assert_eq!(err, Some(Error::BareLf));
    let mut more = BytesMut::from(SMUGGLED);
    assert_eq!(conn.poll_event(&mut more), Err(Error::BareLf));
    // The server may still answer the error.
    let mut out = Vec::new();
    conn.write_response(&Response::new(400), Framing::None, &mut out).unwrap();
    assert_eq!(out, b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

    let limits = Limits { max_header_count: 3, max_header_bytes: 200, max_request_line: 64, ..Limits::default() };
    let cases: &[(&[u8], u16)] = &[
        (&b"GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"[..], 431),
        (&[&b"GET / HTTP/1.1\r\nHost: a\r\nA: "[..], &[b'x'; 300], b"\r\n\r\n"].concat(), 431),
        (&[&b"GET / HTTP/1.1\r\nHost: a\r\nA: "[..], &[b'x'; 300]].concat(), 431),
        (&[&b"GET /"[..], &[b'x'; 100], b" HTTP/1.1\r\n\r\n"].concat(), 414),
        (&[&b"GET /"[..], &[b'x'; 100]].concat(), 414),
        (&b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"[..], 505),
        (&b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: br, chunked\r\n\r\n"[..], 501),
        (&b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"[..], 501),
    ];
    for (raw, status) in cases {
        let input = [*raw, SMUGGLED].concat();
        let (events, err, conn) = server_once(&input, limits.clone());
        assert_eq!(err.map(|e| e.status()), Some(*status), "{:?}", String::from_utf8_lossy(raw));
        assert_eq!(heads(&events), 0);
        assert!(conn.must_close());
    }
    let body_limit = Limits { max_body_bytes: Some(4), ..Limits::default() };
    for raw in [
        &b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"[..],
        b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
    ] {
        let (_, err, _) = server_once(raw, body_limit.clone());
        assert_eq!(err.map(|e| e.status()), Some(413));
    }
}

/// Valid traffic used by the one-shot vs byte-at-a-time comparison.
const VALID: &[&[u8]] = &[
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"\r\nGET /x?y=1 HTTP/1.1\r\nHost: a\r\nX-Case: KeEp\r\n\r\n",
    b"POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n5;name=\"v a\";x\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 42\r\nX-More: b\r\n\r\n",
    b"PUT /e HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET http://a/b HTTP/1.0\r\n\r\n",
    b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\nPOST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nz",
    b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x05hello",
    b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n\x16\x03\x01",
    b"BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n",
];

#[test]
fn bytewise_matches_oneshot() {
    for raw in VALID.iter().chain(ATTACKS.iter().map(|a| &a.1)) {
        let (once, err_once, _) = server_once(raw, small_limits());
        let (bytewise, err_bytewise) = server_bytewise(raw, small_limits());
        assert_eq!(merge(once), bytewise, "{:?}", String::from_utf8_lossy(raw));
        assert_eq!(err_once, err_bytewise);
    }
}

#[test]
fn pipelined_requests_in_order() {
    let (events, err, mut conn) = server_once(VALID[7], Limits::default());
    assert_eq!(err, None);
    let targets: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Head(r) => Some(r.target.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(targets, ["/1", "/2", "/3"]);
    assert_eq!(events.iter().filter(|e| matches!(e, Event::End(_))).count(), 3);
    // Answered in order; each response is framed for its own request.
    let mut out = Vec::new();
    for body in [&b"one"[..], b"two", b"three"] {
        conn.write_response(&Response::new(200), Framing::Length(body.len() as u64), &mut out).unwrap();
        conn.write_body(body, &mut out).unwrap();
        conn.write_end(&Headers::new(), &mut out).unwrap();
    }
    assert!(!conn.must_close());
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK\r\nContent-Length: ").count(), 3);
    assert!(text.ends_with("\r\n\r\nthree"));
    let mut empty = BytesMut::new();
    assert_eq!(
        conn.write_response(&Response::new(200), Framing::None, &mut Vec::new()).unwrap_err().to_string(),
        "no request to respond to"
    );
    assert_eq!(conn.poll_event(&mut empty), Ok(None));
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let (events, err, _) = server_once(VALID[3], Limits::default());
    assert_eq!(err, None);
    let events = merge(events);
    assert!(matches!(&events[0], Event::Head(r) if r.method == "POST"));
    assert_eq!(events[1], Event::Data("hello world".into()));
    let Event::End(trailers) = &events[2] else { panic!("{events:?}") };
    assert_eq!(trailers.get("x-checksum"), Some(&b"42"[..]));
    assert_eq!(trailers.len(), 2);
}

#[test]
fn expect_continue() {
    let (events, err, mut conn) = server_once(VALID[4], Limits::default());
    assert_eq!(err, None);
    assert!(matches!(events[0], Event::Head(_)));
    assert_eq!(events[1], Event::ExpectContinue);
    assert_eq!(events[2], Event::Data("ok".into()));
    let mut out = Vec::new();
    conn.write_continue(&mut out).unwrap();
    assert_eq!(out, b"HTTP/1.1 100 Continue\r\n\r\n");
    // Without a body there is nothing to continue.
    let (events, _, _) = server_once(b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", Limits::default());
    assert!(!events.contains(&Event::ExpectContinue));
    // Rejecting before the body was read closes the connection.
    let mut conn = Connection::<Server>::new(Limits::default());
    let mut buf =
        BytesMut::from(&b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n"[..]);
    drain(&mut conn, &mut buf);
    let mut out = Vec::new();
    conn.write_response(&Response::new(417), Framing::None, &mut out).unwrap();
    assert!(conn.must_close());
    assert!(String::from_utf8(out).unwrap().contains("Connection: close\r\n"));
}

fn respond(conn: &mut Connection<Server>, res: Response) -> String {
    let mut out = Vec::new();
    conn.write_response(&res, Framing::Length(2), &mut out).unwrap();
    conn.write_body(b"hi", &mut out).unwrap();
    conn.write_end(&Headers::new(), &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn keep_alive_and_close() {
    let cases: &[(&[u8], bool, Option<&str>)] = &[
        (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", false, None),
        (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", true, Some("Connection: close")),
        (b"GET / HTTP/1.0\r\n\r\n", true, Some("Connection: close")),
        (b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false, Some("Connection: keep-alive")),
    ];
    for (raw, close, header) in cases {
        let input = [*raw, SMUGGLED].concat();
        let (events, err, mut conn) = server_once(&input, Limits::default());
        assert_eq!(err, None);
        // A closing request stops parsing: the bytes after it are never read.
        assert_eq!(heads(&events), if *close { 1 } else { 2 }, "{:?}", String::from_utf8_lossy(raw));
        let text = respond(&mut conn, Response::new(200));
        assert_eq!(conn.must_close(), *close);
        if let Some(h) = header {
            assert!(text.contains(h), "{text}");
        }
    }
    // The server itself may decide to close.
    let (_, _, mut conn) = server_once(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", Limits::default());
    respond(&mut conn, Response::new(200).header("Connection", "close"));
    assert!(conn.must_close());
    // ...and then a pipelined request already in the buffer is not parsed.
    let mut buf = BytesMut::from(SMUGGLED);
    assert_eq!(conn.poll_event(&mut buf), Ok(None));
    assert_eq!(buf.len(), SMUGGLED.len());
}

#[test]
fn upgrade_and_connect_hand_off_leftover() {
    for (raw, status, leftover) in [(VALID[8], 101, &b"\x81\x05hello"[..]), (VALID[9], 200, &b"\x16\x03\x01"[..])] {
        let mut conn = Connection::<Server>::new(Limits::default());
        let mut buf = BytesMut::from(raw);
        let (events, err) = drain(&mut conn, &mut buf);
        assert_eq!(err, None);
        assert_eq!(heads(&events), 1);
        // Paused: the leftover bytes stay untouched until the response decides.
        assert_eq!(&buf[..], leftover);
        let mut out = Vec::new();
        let mut res = Response::new(status);
        if status == 101 {
            res = res.header("Upgrade", "websocket").header("Connection", "Upgrade");
        }
        conn.write_response(&res, Framing::None, &mut out).unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("Content-Length"));
        assert_eq!(conn.poll_event(&mut buf), Ok(Some(Event::Upgrade(leftover.to_vec().into()))));
        assert_eq!(conn.poll_event(&mut buf), Ok(None));
        assert!(conn.must_close());
    }
    // A declined upgrade continues as HTTP with the next pipelined request.
    let input = [&b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c\r\n\r\n"[..], SMUGGLED].concat();
    let (events, _, mut conn) = server_once(&input, Limits::default());
    assert_eq!(heads(&events), 1);
    respond(&mut conn, Response::new(200));
    let mut buf = BytesMut::from(SMUGGLED);
    let (events, _) = drain(&mut conn, &mut buf);
    assert_eq!(heads(&events), 1);
}

/// Drives a client codec against a server codec in memory (STYLE §8).
struct Pair {
    client: Connection<Client>,
    server: Connection<Server>,
    to_server: BytesMut,
    to_client: BytesMut,
}

impl Pair {
    fn new() -> Self {
        Self {
            client: Connection::new(Limits::default()),
            server: Connection::new(Limits::default()),
            to_server: BytesMut::new(),
            to_client: BytesMut::new(),
        }
    }

    fn send(&mut self, req: Request, framing: Framing, body: &[u8], trailers: &Headers) {
        let mut out = Vec::new();
        self.client.write_request(&req, framing, &mut out).unwrap();
        self.client.write_body(body, &mut out).unwrap();
        self.client.write_end(trailers, &mut out).unwrap();
        self.to_server.extend_from_slice(&out);
    }

    fn server_events(&mut self) -> Vec<Event<Request>> {
        merge(drain(&mut self.server, &mut self.to_server).0)
    }

    fn respond(&mut self, res: Response, framing: Framing, body: &[u8], trailers: &Headers) {
        let mut out = Vec::new();
        self.server.write_response(&res, framing, &mut out).unwrap();
        self.server.write_body(body, &mut out).unwrap();
        self.server.write_end(trailers, &mut out).unwrap();
        self.to_client.extend_from_slice(&out);
    }

    fn client_events(&mut self) -> Vec<Event<Response>> {
        let mut out = Vec::new();
        while let Some(ev) = self.client.poll_event(&mut self.to_client).unwrap() {
            out.push(ev);
        }
        out
    }
}

#[test]
fn pair_round_trips() {
    let mut p = Pair::new();
    let mut trailers = Headers::new();
    trailers.push("X-Sum", "7");
    p.send(Request::new("POST", "/up").header("Host", "a"), Framing::Chunked, b"data", &trailers);
    p.send(Request::new("HEAD", "/h").header("Host", "a"), Framing::None, b"", &Headers::new());
    p.send(Request::new("GET", "/n").header("Host", "a"), Framing::None, b"", &Headers::new());
    let evs = p.server_events();
    assert_eq!(heads(&evs), 3);
    assert!(evs.contains(&Event::Data("data".into())));
    assert!(evs.contains(&Event::End(trailers.clone())));

    p.respond(Response::new(200), Framing::Chunked, b"chunky", &trailers);
    p.respond(Response::new(200), Framing::Length(10), b"dropped!!!", &Headers::new());
    p.respond(Response::new(304), Framing::None, b"", &Headers::new());
    let evs = p.client_events();
    let statuses: Vec<u16> = evs
        .iter()
        .filter_map(|e| match e {
            Event::Head(r) => Some(r.status),
            _ => None,
        })
        .collect();
    assert_eq!(statuses, [200, 200, 304]);
    assert_eq!(evs[1], Event::Data("chunky".into()));
    assert_eq!(evs[2], Event::End(trailers));
    // HEAD and 304: no body, even though the HEAD response announced 10 bytes.
    assert!(matches!(&evs[3], Event::Head(r) if r.headers.get("content-length") == Some(&b"10"[..])));
    assert_eq!(evs[4], Event::End(Headers::new()));
    assert_eq!(evs[6], Event::End(Headers::new()));
    assert!(!p.client.must_close() && !p.server.must_close());
}

#[test]
fn client_reads_response_framings() {
    let cases: &[(&str, &[u8], &[u8], bool)] = &[
        ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc", b"abc", false),
        ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", b"abc", false),
        ("GET", b"HTTP/1.1 200 OK\r\n\r\nuntil close", b"until close", true),
        ("GET", b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n", b"", false),
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"", false),
        ("GET", b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nz", b"z", true),
    ];
    for (method, raw, body, close) in cases {
        let mut c = Connection::<Client>::new(Limits::default());
        c.write_request(&Request::new(method, "/").header("Host", "a"), Framing::None, &mut Vec::new()).unwrap();
        c.write_end(&Headers::new(), &mut Vec::new()).unwrap();
        let mut buf = BytesMut::from(*raw);
        let mut got = Vec::new();
        let mut ended = false;
        for round in 0..2 {
            if round == 1 {
                c.handle_eof();
            }
            while let Some(ev) = c.poll_event(&mut buf).unwrap() {
                match ev {
                    Event::Data(d) => got.extend_from_slice(&d),
                    Event::End(_) => ended = true,
                    _ => {}
                }
            }
            if ended {
                break;
            }
        }
        assert!(ended, "{:?}", String::from_utf8_lossy(raw));
        assert_eq!(&got, body);
        assert_eq!(c.must_close(), *close, "{:?}", String::from_utf8_lossy(raw));
    }
}

#[test]
fn client_interim_and_connect() {
    let mut c = Connection::<Client>::new(Limits::default());
    let mut out = Vec::new();
    c.write_request(&Request::new("CONNECT", "a:443").header("Host", "a:443"), Framing::None, &mut out).unwrap();
    assert_eq!(out, b"CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n");
    let mut buf = BytesMut::from(&b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n\x16\x03"[..]);
    assert!(matches!(c.poll_event(&mut buf), Ok(Some(Event::Head(r))) if r.status == 100));
    assert!(matches!(c.poll_event(&mut buf), Ok(Some(Event::Head(r))) if r.status == 200));
    assert_eq!(c.poll_event(&mut buf), Ok(Some(Event::Upgrade("\x16\x03".into()))));
    assert!(c.must_close());
    // An unsolicited response is an error.
    let mut c = Connection::<Client>::new(Limits::default());
    let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\n\r\n"[..]);
    assert_eq!(c.poll_event(&mut buf), Err(Error::UnexpectedResponse));
}

#[test]
fn serialising_checks() {
    let mut c = Connection::<Client>::new(Limits::default());
    let mut out = Vec::new();
    let bad = Request::new("GET", "/").header("X", "a\r\nInjected: 1");
    assert!(c.write_request(&bad, Framing::None, &mut out).is_err());
    let framed = Request::new("POST", "/").header("Content-Length", "1");
    assert!(c.write_request(&framed, Framing::None, &mut out).is_err());
    assert!(out.is_empty());
    assert_eq!(RequestTarget::parse("GET", "*"), Err(Error::InvalidTarget));
    // Chunked towards an HTTP/1.0 client falls back to close-delimited.
    let (_, _, mut s) = server_once(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", Limits::default());
    s.write_response(&Response::new(200), Framing::Chunked, &mut out).unwrap();
    s.write_body(b"abc", &mut out).unwrap();
    s.write_end(&Headers::new(), &mut out).unwrap();
    assert_eq!(out, b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc");
    assert!(s.must_close());
}

#[test]
fn pipelined_close_only_closes_after_its_own_response() {
    let cases: &[&[u8]] = &[
        b"GET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        b"GET /b HTTP/1.0\r\n\r\n",
        b"POST /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    ];
    for b in cases {
        let input = [&b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"[..], b, SMUGGLED].concat();
        let (events, err, mut conn) = server_once(&input, Limits::default());
        assert_eq!(err, None);
        // Reading stops for good after B's head: the smuggled request is never parsed.
        assert_eq!(heads(&events), 2, "{:?}", String::from_utf8_lossy(b));
        assert_eq!(events.iter().filter(|e| matches!(e, Event::End(_))).count(), 2);
        let mut rest = BytesMut::from(SMUGGLED);
        assert_eq!(conn.poll_event(&mut rest), Ok(None));
        // A's response keeps the connection alive.
        let a = respond(&mut conn, Response::new(200));
        assert!(!a.contains("Connection: close"), "{a}");
        assert!(!conn.must_close());
        // B's response closes it.
        let b_text = respond(&mut conn, Response::new(200));
        assert!(b_text.contains("Connection: close"), "{b_text}");
        assert!(conn.must_close());
        assert_eq!(
            conn.write_response(&Response::new(200), Framing::None, &mut Vec::new()).unwrap_err().to_string(),
            "connection is closed"
        );
        assert_eq!(conn.poll_event(&mut rest), Ok(None));
        assert_eq!(rest.len(), SMUGGLED.len());
    }
    // A that itself asks to close still closes, and B is never parsed.
    let input = [&b"GET /a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"[..], SMUGGLED].concat();
    let (events, _, mut conn) = server_once(&input, Limits::default());
    assert_eq!(heads(&events), 1);
    assert!(respond(&mut conn, Response::new(200)).contains("Connection: close"));
    assert!(conn.must_close());
}

#[test]
fn maximal_head_byte_by_byte_is_linear() {
    let limits = Limits::default();
    let mut head = b"GET /big HTTP/1.1\r\nHost: a\r\n".to_vec();
    // A few long lines and one very long one, so both line-by-line and in-line rescans would show.
    for i in 0..20 {
        head.extend_from_slice(format!("X-Field-{i}: {}\r\n", "v".repeat(200)).as_bytes());
    }
    let name = b"X-Long: ";
    let pad = limits.max_header_bytes - head.len() - name.len() - 4;
    head.extend_from_slice(name);
    head.extend(std::iter::repeat_n(b'w', pad));
    head.extend_from_slice(b"\r\n\r\n");
    assert_eq!(head.len(), limits.max_header_bytes);
    let (once, err_once, _) = server_once(&head, limits.clone());
    assert_eq!(err_once, None);
    assert_eq!(heads(&once), 1);
    let t = std::time::Instant::now();
    let (bytewise, err_bytewise) = server_bytewise(&head, limits.clone());
    let elapsed = t.elapsed();
    assert_eq!(merge(once), bytewise);
    assert_eq!(err_bytewise, None);
    assert!(elapsed < std::time::Duration::from_secs(1), "{elapsed:?}");
    // One byte more is too large, whichever way it arrives.
    let too_big = [&head[..head.len() - 4], b"w\r\n\r\n"].concat();
    assert_eq!(server_once(&too_big, limits.clone()).1, Some(Error::HeadTooLarge));
    assert_eq!(server_bytewise(&too_big, limits).1, Some(Error::HeadTooLarge));
}
