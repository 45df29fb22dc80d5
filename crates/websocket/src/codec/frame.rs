//! Frame header parse and encode (RFC 6455 §5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```
//!
//! Parsing is stateless: the decoder re-parses the header (at most 14 bytes) on every call
//! until the whole frame is buffered, so there is no "header read, payload pending" state
//! to get wrong. Only the checks that depend on the header alone live here (opcode, 64-bit
//! length top bit); role-, extension- and message-dependent rules are in the decoder.

use bytes::{BufMut, BytesMut};

use super::ProtocolError;

/// Frame opcode (RFC 6455 §5.2, §11.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCode {
    /// 0x0: continues a fragmented data message.
    Continuation,
    /// 0x1: first frame of a text message.
    Text,
    /// 0x2: first frame of a binary message.
    Binary,
    /// 0x8: connection close.
    Close,
    /// 0x9: ping.
    Ping,
    /// 0xA: pong.
    Pong,
}

impl OpCode {
    /// Decodes the 4-bit opcode; `None` for the reserved values (3-7, B-F).
    pub fn from_u8(v: u8) -> Option<OpCode> {
        Some(match v {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xa,
        }
    }

    /// Close, Ping and Pong: at most 125 bytes of payload, never fragmented (§5.5).
    pub fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// RSV1: "per-message compressed" when permessage-deflate is negotiated (RFC 7692 §6).
    pub rsv1: bool,
    /// RSV2: no extension of ours defines it.
    pub rsv2: bool,
    /// RSV3: no extension of ours defines it.
    pub rsv3: bool,
    /// The frame's opcode.
    pub opcode: OpCode,
    /// The masking key, present iff the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
    /// Length of the header itself (2 to 14 bytes).
    pub header_len: usize,
}

/// Parses a frame header from the start of `buf`. `Ok(None)` = need more bytes.
pub fn parse_header(buf: &[u8]) -> Result<Option<FrameHeader>, ProtocolError> {
    let [b0, b1, ..] = *buf else { return Ok(None) };
    let opcode = OpCode::from_u8(b0 & 0x0f).ok_or(ProtocolError::new(1002, "reserved opcode"))?;
    let masked = b1 & 0x80 != 0;
    let (payload_len, mut at) = match b1 & 0x7f {
        126 => {
            let Some(b) = buf.get(2..4) else { return Ok(None) };
            (u64::from(u16::from_be_bytes([b[0], b[1]])), 4)
        }
        127 => {
            let Some(b) = buf.get(2..10) else { return Ok(None) };
            let len = u64::from_be_bytes(b.try_into().expect("8 bytes"));
            // §5.2: "the most significant bit MUST be 0".
            if len >> 63 != 0 {
                return Err(ProtocolError::new(1002, "64-bit payload length with the top bit set"));
            }
            (len, 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = if masked {
        let Some(k) = buf.get(at..at + 4) else { return Ok(None) };
        at += 4;
        Some([k[0], k[1], k[2], k[3]])
    } else {
        None
    };
    Ok(Some(FrameHeader {
        fin: b0 & 0x80 != 0,
        rsv1: b0 & 0x40 != 0,
        rsv2: b0 & 0x20 != 0,
        rsv3: b0 & 0x10 != 0,
        opcode,
        mask,
        payload_len,
        header_len: at,
    }))
}

/// Appends a frame header with the shortest length encoding (§5.2: "the minimal number of
/// bytes MUST be used").
pub fn encode_header(out: &mut BytesMut, fin: bool, rsv1: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: usize) {
    out.reserve(14);
    out.put_u8(u8::from(fin) << 7 | u8::from(rsv1) << 6 | opcode.as_u8());
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.put_u8(m | len as u8);
    } else if len <= 0xffff {
        out.put_u8(m | 126);
        out.put_u16(len as u16);
    } else {
        out.put_u8(m | 127);
        out.put_u64(len as u64);
    }
    if let Some(k) = mask {
        out.put_slice(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7: unmasked "Hello", masked "Hello", 256-byte and 64 KiB binary.
        let h = parse_header(&[0x81, 0x05, 0x48]).unwrap().unwrap();
        assert_eq!((h.fin, h.opcode, h.mask, h.payload_len, h.header_len), (true, OpCode::Text, None, 5, 2));
        let h = parse_header(&[0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]).unwrap().unwrap();
        assert_eq!((h.mask, h.payload_len, h.header_len), (Some([0x37, 0xfa, 0x21, 0x3d]), 5, 6));
        let h = parse_header(&[0x82, 0x7e, 0x01, 0x00]).unwrap().unwrap();
        assert_eq!((h.opcode, h.payload_len, h.header_len), (OpCode::Binary, 256, 4));
        let h = parse_header(&[0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]).unwrap().unwrap();
        assert_eq!((h.payload_len, h.header_len), (65536, 10));
        let h = parse_header(&[0x01, 0x03]).unwrap().unwrap();
        assert_eq!((h.fin, h.opcode), (false, OpCode::Text));
    }

    #[test]
    fn incomplete_headers_need_more() {
        let full = [0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(parse_header(&full[..cut]), Ok(None), "cut {cut}");
        }
        assert!(parse_header(&full).unwrap().is_some());
    }

    #[test]
    fn rejects_reserved_opcodes_and_huge_lengths() {
        // Autobahn 4.1.x / 4.2.x: reserved non-control and control opcodes.
        for op in [3u8, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf] {
            assert_eq!(parse_header(&[0x80 | op, 0]).unwrap_err().code, 1002);
        }
        let e = parse_header(&[0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.code, 1002);
    }

    #[test]
    fn encode_round_trips_with_minimal_lengths() {
        for (len, hl) in [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let mut out = BytesMut::new();
                encode_header(&mut out, true, true, OpCode::Binary, mask, len);
                let h = parse_header(&out).unwrap().unwrap();
                let extra = if mask.is_some() { 4 } else { 0 };
                assert_eq!(h.header_len, hl + extra);
                assert_eq!(out.len(), hl + extra);
                assert_eq!(
                    (h.fin, h.rsv1, h.opcode, h.mask, h.payload_len),
                    (true, true, OpCode::Binary, mask, len as u64)
                );
            }
        }
    }
}
