//! Payload masking (RFC 6455 §5.3).
//!
//! Masking XORs octet `i` of the payload with octet `i % 4` of the 32-bit key, so it is its
//! own inverse: the same function masks (client encoder) and unmasks (server decoder, in
//! place in the receive buffer). `offset` is the position of `buf[0]` in the payload, which
//! lets a caller mask a payload in pieces.
//!
//! Speed matters here because every byte a client sends goes through it. The bulk runs on
//! 8-byte words: the key is rotated by `offset`, repeated twice into a `u64`, and each
//! 8-byte chunk is loaded with `from_ne_bytes`, XORed and stored back. Byte order does not
//! matter because the key word is built in the same native order as the data word, and
//! `chunks_exact_mut` with `from_ne_bytes` is alignment-safe without `unsafe` (the compiler
//! emits unaligned loads, and usually vectorises the loop). The tail (< 8 bytes) is done
//! bytewise; it starts at a multiple of 8, hence of 4, so the rotated key lines up.

/// XORs `buf` with the masking `key`, where `buf[0]` is octet `offset` of the payload.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let k = [key[offset % 4], key[(offset + 1) % 4], key[(offset + 2) % 4], key[(offset + 3) % 4]];
    let word = u64::from_ne_bytes([k[0], k[1], k[2], k[3], k[0], k[1], k[2], k[3]]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(w) ^ word).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= k[i % 4];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
        for (i, b) in buf.iter_mut().enumerate() {
            *b ^= key[(offset + i) % 4];
        }
    }

    #[test]
    fn matches_bytewise_for_all_lengths_offsets_and_alignments() {
        let key = [0x37, 0xfa, 0x21, 0x3d];
        let data: Vec<u8> = (0..100u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..8 {
            for len in 0..(data.len() - start) {
                for offset in 0..8 {
                    let mut a = data[start..start + len].to_vec();
                    let mut b = a.clone();
                    apply_mask(&mut a, key, offset);
                    bytewise(&mut b, key, offset);
                    assert_eq!(a, b, "start {start} len {len} offset {offset}");
                    // Unaligned slice of a larger buffer.
                    let mut c = data.clone();
                    apply_mask(&mut c[start..start + len], key, offset);
                    assert_eq!(&c[start..start + len], &b[..]);
                }
            }
        }
    }

    #[test]
    fn rfc_example_and_involution() {
        // RFC 6455 §5.7: masked "Hello".
        let mut p = *b"Hello";
        apply_mask(&mut p, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(p, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        apply_mask(&mut p, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(&p, b"Hello");
    }

    #[test]
    fn in_pieces_equals_whole() {
        let key = [1, 2, 3, 4];
        let data: Vec<u8> = (0..=255).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        let mut pieces = data.clone();
        let (a, rest) = pieces.split_at_mut(13);
        let (b, c) = rest.split_at_mut(50);
        apply_mask(a, key, 0);
        apply_mask(b, key, 13);
        apply_mask(c, key, 63);
        assert_eq!(whole, pieces);
    }
}
