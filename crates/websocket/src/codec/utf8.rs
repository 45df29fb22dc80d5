//! Incremental UTF-8 validation for fragmented text messages (RFC 6455 §8.1).
//!
//! A text message may be split into fragments at any byte, even inside a code point, yet
//! an endpoint should fail the connection as soon as the data it has seen can no longer be
//! the start of valid UTF-8 (Autobahn 6.4.x "fail fast"). The validator keeps at most 3
//! bytes of an incomplete trailing sequence (`carry`) between calls.
//!
//! Each call first completes the carried code point from the new bytes, then runs
//! `std::str::from_utf8` (SIMD-fast in std) over the rest. When `from_utf8` stops with
//! `error_len() == None` the input ended inside a sequence whose bytes so far are a valid
//! prefix: std checks the restricted second-byte ranges (E0 A0..BF, ED 80..9F, F0 90..BF,
//! F4 80..8F) before it asks for more input, so e.g. `F4 90`, `ED A0` (a surrogate) and
//! `E0 80` (overlong) are reported at once, not at message end.

/// Validates UTF-8 fed in arbitrary pieces; see the module docs.
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    carry: [u8; 4],
    carry_len: usize,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub fn new() -> Self {
        Self::default()
    }

    /// Validates the next piece. `Err` as soon as the bytes so far cannot start valid UTF-8.
    #[allow(clippy::result_unit_err)]
    pub fn feed(&mut self, mut data: &[u8]) -> Result<(), ()> {
        if self.carry_len > 0 {
            // Complete the carried code point (its length is fixed by its first byte).
            let need = match self.carry[0] {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            let take = (need - self.carry_len).min(data.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&data[..take]);
            self.carry_len += take;
            data = &data[take..];
            match std::str::from_utf8(&self.carry[..self.carry_len]) {
                Ok(_) => self.carry_len = 0,
                Err(e) if e.error_len().is_none() => return Ok(()), // still a valid prefix, data is empty
                Err(_) => return Err(()),
            }
        }
        match std::str::from_utf8(data) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                let tail = &data[e.valid_up_to()..];
                self.carry[..tail.len()].copy_from_slice(tail);
                self.carry_len = tail.len();
                Ok(())
            }
            Err(_) => Err(()),
        }
    }

    /// Ends the message: `Err` if it stopped inside a code point. Resets the validator.
    #[allow(clippy::result_unit_err)]
    pub fn finish(&mut self) -> Result<(), ()> {
        let complete = self.carry_len == 0;
        self.carry_len = 0;
        if complete {
            Ok(())
        } else {
            Err(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_split_everywhere(bytes: &[u8]) {
        let whole = std::str::from_utf8(bytes).is_ok();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let mut v = Utf8Validator::new();
                let ok = v.feed(&bytes[..i]).is_ok()
                    && v.feed(&bytes[i..j]).is_ok()
                    && v.feed(&bytes[j..]).is_ok()
                    && v.finish().is_ok();
                assert_eq!(ok, whole, "{bytes:x?} split at {i},{j}");
            }
        }
    }

    #[test]
    fn agrees_with_std_at_every_split() {
        // Autobahn 6.2.x / 6.3.x: valid and invalid sequences split anywhere.
        let cases: &[&[u8]] = &[
            "Hello-µ@ßöäüàá-UTF-8!!".as_bytes(),
            "κόσμε".as_bytes(),
            &[0xf0, 0x9f, 0x98, 0x80, 0x41],
            &[0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65],
            &[0xf4, 0x90, 0x80, 0x80],
            &[0xc0, 0xaf],
            &[0xe0, 0x80, 0xaf],
            &[0xf8, 0x88, 0x80, 0x80, 0x80],
            &[0xef, 0xbf, 0xbf],
            &[0xf4, 0x8f, 0xbf, 0xbf],
            &[0xe2, 0x82],
            &[0x80],
        ];
        for c in cases {
            check_split_everywhere(c);
        }
    }

    #[test]
    fn fails_fast_on_invalid_prefix() {
        // Autobahn 6.4.1/6.4.2: the fragment that makes the sequence invalid fails at once.
        for bad in [&[0xf4u8, 0x90][..], &[0xed, 0xa0], &[0xe0, 0x80], &[0xc0], &[0xf5], &[0xff]] {
            let mut v = Utf8Validator::new();
            assert!(v.feed(b"ok").is_ok());
            assert!(v.feed(bad).is_err(), "{bad:x?}");
            // Same when the bad byte arrives in a later piece.
            let mut v = Utf8Validator::new();
            if bad.len() == 2 {
                assert!(v.feed(&bad[..1]).is_ok());
                assert!(v.feed(&bad[1..]).is_err(), "{bad:x?}");
            }
        }
        // 6.4.1: "κόσμε" + F4 90 80 80 fails on the fragment that has F4 90.
        let mut v = Utf8Validator::new();
        assert!(v.feed("κόσμε".as_bytes()).is_ok());
        assert!(v.feed(&[0xf4]).is_ok());
        assert!(v.feed(&[0x90]).is_err());
    }

    #[test]
    fn incomplete_at_end_fails_on_finish() {
        let mut v = Utf8Validator::new();
        assert!(v.feed(&[0xe2, 0x82]).is_ok());
        assert!(v.finish().is_err());
        assert!(v.feed(b"a").is_ok());
        assert!(v.finish().is_ok());
    }
}
