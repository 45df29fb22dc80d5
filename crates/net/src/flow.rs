use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Read-side flow control shared by a connection's reader and its consumer.
///
/// The reader stops reading while the consumer has paused it or while more than the
/// window's worth of bytes have been delivered but not yet taken by the consumer
/// ([`Credit`]s still alive). This bounds what sits in the event bridge's queue.
#[derive(Debug)]
pub struct ReadFlow {
    in_flight: AtomicUsize,
    window: usize,
    paused: AtomicBool,
    /// Set while bytes are forwarded natively to a stream whose queue is full.
    blocked: AtomicBool,
    wake: Notify,
}

impl ReadFlow {
    /// A flow with the given window in bytes.
    pub fn new(window: usize) -> Arc<Self> {
        Arc::new(ReadFlow {
            in_flight: AtomicUsize::new(0),
            window: window.max(1),
            paused: AtomicBool::new(false),
            blocked: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// Whether the reader may read now.
    pub fn may_read(&self) -> bool {
        !self.paused.load(Ordering::Acquire)
            && !self.blocked.load(Ordering::Acquire)
            && self.in_flight.load(Ordering::Acquire) < self.window
    }

    /// Waits until the reader may read.
    pub async fn ready(&self) {
        loop {
            let notified = self.wake.notified();
            if self.may_read() {
                return;
            }
            notified.await;
        }
    }

    /// Stops reading (the consumer's buffer is full).
    pub fn pause(&self) {
        self.paused.store(true, Ordering::Release);
    }

    /// Resumes reading.
    pub fn resume(&self) {
        self.paused.store(false, Ordering::Release);
        self.wake.notify_waiters();
    }

    /// Stops reading because the stream this one forwards to is full.
    pub fn block(&self) {
        self.blocked.store(true, Ordering::Release);
    }

    /// Resumes reading after [`ReadFlow::block`].
    pub fn unblock(&self) {
        if self.blocked.swap(false, Ordering::AcqRel) {
            self.wake.notify_waiters();
        }
    }

    /// Whether the consumer paused reading.
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::Acquire)
    }

    /// Accounts for `n` bytes handed to the consumer; they count until the credit drops.
    pub fn take(self: &Arc<Self>, n: usize) -> Credit {
        self.in_flight.fetch_add(n, Ordering::AcqRel);
        Credit { flow: Some(self.clone()), n }
    }

    /// Bytes delivered and not yet consumed.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

/// Bytes delivered to the consumer; dropping the credit returns them to the window.
#[derive(Debug)]
pub struct Credit {
    flow: Option<Arc<ReadFlow>>,
    n: usize,
}

impl Credit {
    /// A credit that accounts for nothing.
    pub fn none() -> Self {
        Credit { flow: None, n: 0 }
    }
}

impl Drop for Credit {
    fn drop(&mut self) {
        if let Some(f) = self.flow.take() {
            let before = f.in_flight.fetch_sub(self.n, Ordering::AcqRel);
            if before >= f.window && before - self.n < f.window {
                f.wake.notify_waiters();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_blocks_until_credit_drops() {
        let f = ReadFlow::new(10);
        assert!(f.may_read());
        let c = f.take(12);
        assert!(!f.may_read());
        drop(c);
        assert!(f.may_read());
        f.pause();
        assert!(!f.may_read());
        f.resume();
        assert!(f.may_read());
    }
}
