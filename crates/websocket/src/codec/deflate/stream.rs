//! The permessage-deflate compressor and decompressor (RFC 7692 §7.2).
//!
//! A compressed message is raw DEFLATE (no zlib header) ended with a sync flush, whose
//! trailing empty stored block `00 00 ff ff` is removed by the sender (§7.2.1) and
//! appended again by the receiver before inflating the last fragment (§7.2.2).
//!
//! With context takeover, one zlib stream spans all messages of a direction, so a later
//! message may refer back to an earlier one (RFC 7692 §7.2.3.2: the second "Hello"
//! becomes `f2 00 11 00 00`). With `*_no_context_takeover` the stream is reset after each
//! message.
//!
//! The inflater never trusts the compression ratio: output is produced in steps of at
//! most [`STEP`] bytes into the caller's buffer and the call fails with
//! [`InflateError::TooBig`] as soon as more than `limit` bytes came out, so a "zip bomb"
//! costs at most `limit + STEP` bytes of memory and proportional CPU.

use bytes::BytesMut;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Output step of both directions.
const STEP: usize = 32 * 1024;
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    /// Not valid DEFLATE data (close code 1007).
    #[error("invalid compressed data")]
    BadData,
    /// Inflates to more than the allowed size (close code 1009).
    #[error("decompressed message too big")]
    TooBig,
}

/// Compresses the messages of one direction.
pub struct Deflater {
    c: Compress,
    no_context_takeover: bool,
}

impl std::fmt::Debug for Deflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflater").field("no_context_takeover", &self.no_context_takeover).finish()
    }
}

impl Deflater {
    /// A compressor at zlib `level` (0..=9) with a window of `window_bits` (9..=15; 8 is
    /// raised to 9, so callers limited to 8 must not compress: see
    /// [`super::send_window_bits`]). `no_context_takeover`: reset after every message.
    pub fn new(level: u32, window_bits: u8, no_context_takeover: bool) -> Self {
        let c = Compress::new_with_window_bits(Compression::new(level.min(9)), false, window_bits.clamp(9, 15));
        Self { c, no_context_takeover }
    }

    /// Appends the compressed form of a whole message to `out` (the payload of its frame).
    pub fn compress(&mut self, payload: &[u8], out: &mut BytesMut) {
        self.compress_fragment(payload, true, out);
    }

    /// Appends the compressed form of one fragment of a message; `fin` on the last one.
    /// Each fragment is sync-flushed, so it can be sent at once.
    pub fn compress_fragment(&mut self, payload: &[u8], fin: bool, out: &mut BytesMut) {
        let start = out.len();
        let mut input = payload;
        loop {
            let room = (input.len() + input.len() / 64 + 64).min(STEP);
            let at = out.len();
            out.resize(at + room, 0);
            let (in0, out0) = (self.c.total_in(), self.c.total_out());
            let res = self.c.compress(input, &mut out[at..], FlushCompress::Sync);
            let consumed = (self.c.total_in() - in0) as usize;
            let produced = (self.c.total_out() - out0) as usize;
            out.truncate(at + produced);
            input = &input[consumed..];
            // Errors are impossible with valid parameters and a non-empty output buffer;
            // BufError only means "nothing left to flush".
            if res.is_err() || (input.is_empty() && produced < room) {
                break;
            }
        }
        if fin {
            if out[start..].ends_with(&TAIL) {
                // §7.2.1: remove the 4 octets of the trailing empty stored block.
                out.truncate(out.len() - 4);
            } else if out.len() == start {
                // The previous fragment already flushed everything and its 00 00 ff ff was
                // sent. One 0x00 byte plus the receiver's appended 00 00 ff ff makes
                // another (byte-aligned, hence 5-byte) empty stored block.
                out.extend_from_slice(&[0x00]);
            }
            if self.no_context_takeover {
                self.c.reset();
            }
        }
    }
}

/// Decompresses the messages of one direction.
pub struct Inflater {
    d: Decompress,
    no_context_takeover: bool,
    /// The peer ended the DEFLATE stream (a BFINAL block, RFC 7692 §7.2.3.4): the rest of
    /// this message is padding and the next one starts a new stream.
    ended: bool,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater").field("no_context_takeover", &self.no_context_takeover).finish()
    }
}

impl Inflater {
    /// A decompressor; `no_context_takeover`: the peer resets after every message, so we
    /// may too. The window is always 15 bits, which accepts data from any smaller window.
    pub fn new(no_context_takeover: bool) -> Self {
        Self { d: Decompress::new(false), no_context_takeover, ended: false }
    }

    /// Inflates the next fragment of a compressed message, appending at most `limit`
    /// bytes to `out` (more → [`InflateError::TooBig`]); `fin` on the message's last
    /// fragment. After an error the inflater is unusable (the connection must fail).
    pub fn decompress(
        &mut self,
        input: &[u8],
        fin: bool,
        out: &mut BytesMut,
        limit: usize,
    ) -> Result<(), InflateError> {
        let mut produced = 0;
        self.run(input, out, limit, &mut produced)?;
        if fin {
            self.run(&TAIL, out, limit, &mut produced)?;
            if self.no_context_takeover || self.ended {
                self.d.reset(false);
            }
            self.ended = false;
        }
        Ok(())
    }

    fn run(
        &mut self,
        mut input: &[u8],
        out: &mut BytesMut,
        limit: usize,
        produced: &mut usize,
    ) -> Result<(), InflateError> {
        while !self.ended {
            // One byte more than allowed is enough to tell "too big".
            let room = (limit - *produced + 1).min(STEP);
            let at = out.len();
            out.resize(at + room, 0);
            let (in0, out0) = (self.d.total_in(), self.d.total_out());
            let status = self.d.decompress(input, &mut out[at..], FlushDecompress::None);
            let consumed = (self.d.total_in() - in0) as usize;
            let n = (self.d.total_out() - out0) as usize;
            out.truncate(at + n);
            input = &input[consumed..];
            *produced += n;
            if *produced > limit {
                return Err(InflateError::TooBig);
            }
            match status {
                Err(_) => return Err(InflateError::BadData),
                Ok(Status::StreamEnd) => self.ended = true,
                // Done when all input is in and the output was not filled (nothing pending).
                Ok(_) if input.is_empty() && n < room => break,
                Ok(_) if consumed == 0 && n == 0 => break,
                Ok(_) => {}
            }
        }
        Ok(())
    }
}
