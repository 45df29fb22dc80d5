//! [`Out`]: where rustls writes ciphertext, shared by [`crate::TlsConn`] and
//! [`crate::TlsTransport`].

use std::io::{self, IoSlice, Write};

use iocrate_net::tcp::Sock;

/// Writes ciphertext from rustls: to the socket directly while nothing is queued, into
/// the queue otherwise. Never refuses bytes, so rustls always drains completely; a
/// socket error is recorded in `err` and the bytes are dropped.
pub(crate) struct Out<'a> {
    pub(crate) sock: &'a Sock,
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) out_off: &'a mut usize,
    pub(crate) err: &'a mut Option<io::Error>,
}
impl Write for Out<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(b)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total: usize = bufs.iter().map(|b| b.len()).sum();
        if self.err.is_some() {
            return Ok(total);
        }
        let mut skip = 0;
        if *self.out_off >= self.out.len() {
            self.out.clear();
            *self.out_off = 0;
            match self.sock.try_write_vectored(bufs) {
                Ok(n) => skip = n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    *self.err = Some(e);
                    return Ok(total);
                }
            }
        }
        for b in bufs {
            if skip >= b.len() {
                skip -= b.len();
                continue;
            }
            self.out.extend_from_slice(&b[skip..]);
            skip = 0;
        }
        Ok(total)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
