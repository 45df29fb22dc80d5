//! A per-thread read buffer, so idle connections hold no read buffer of their own.
//!
//! A connection reads into its worker thread's scratch buffer and hands out an
//! exact-size copy for small reads; for large reads the scratch buffer itself is handed
//! out (no copy) and the thread gets a fresh one. 10,000 idle connections therefore cost
//! no read memory at all, where a buffer per connection would cost 640 MB.

use std::cell::RefCell;
use std::io;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `read` (a non-blocking read appending to the buffer it is given) with this
/// thread's scratch buffer of at least `size` bytes of capacity, and returns what was
/// read. An empty result means end of stream.
pub fn read_with_scratch(size: usize, read: impl FnOnce(&mut Vec<u8>) -> io::Result<usize>) -> io::Result<Vec<u8>> {
    SCRATCH.with(|cell| {
        // A nested call (a transport reading through the scratch buffer inside a driver
        // that does too) gets a buffer of its own instead of a panic.
        let Ok(mut buf) = cell.try_borrow_mut() else {
            let mut own = Vec::with_capacity(size);
            read(&mut own)?;
            return Ok(own);
        };
        buf.clear();
        if buf.capacity() < size {
            buf.reserve(size);
        }
        let n = read(&mut buf)?;
        if n <= size / 4 {
            let out = buf[..n].to_vec();
            buf.clear();
            Ok(out)
        } else {
            let cap = buf.capacity();
            Ok(std::mem::replace(&mut *buf, Vec::with_capacity(cap)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_reads_are_copied_big_reads_are_handed_over() {
        let small = read_with_scratch(1024, |b| {
            b.extend_from_slice(b"hi");
            Ok(2)
        })
        .unwrap();
        assert_eq!(small, b"hi");
        assert!(small.capacity() < 1024);
        let big = read_with_scratch(1024, |b| {
            b.extend_from_slice(&[1u8; 900]);
            Ok(900)
        })
        .unwrap();
        assert_eq!(big.len(), 900);
        let eof = read_with_scratch(1024, |_| Ok(0)).unwrap();
        assert!(eof.is_empty());
        assert!(read_with_scratch(1024, |_| Err(io::ErrorKind::WouldBlock.into())).is_err());
    }
}
