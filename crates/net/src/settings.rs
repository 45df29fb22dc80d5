//! Socket options and the idle timer, shared by the stream drivers (TCP and TLS).
//!
//! The owner may change options before the socket exists (they are applied when it is
//! installed) and at any time from any thread. The idle timeout behaves as Node's:
//! it fires once after the configured time without activity, then stays quiet until
//! there is activity (or a new timeout) again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::NetError;
use crate::stream::StreamOptions;
use crate::tcp::Sock;

fn millis(d: Option<Duration>) -> u64 {
    d.map_or(0, |d| d.as_millis().max(1) as u64)
}

/// Options and idle-timer state of one stream.
#[derive(Debug)]
pub struct StreamSettings {
    no_delay: AtomicBool,
    keep_alive_ms: AtomicU64,
    timeout_ms: AtomicU64,
    epoch: Instant,
    last_activity_ms: AtomicU64,
    /// The timeout fired and has not been re-armed by activity.
    timed_out: AtomicBool,
}

impl StreamSettings {
    /// Settings from the stream's options.
    pub fn new(opts: &StreamOptions) -> Self {
        StreamSettings {
            no_delay: AtomicBool::new(opts.no_delay),
            keep_alive_ms: AtomicU64::new(millis(opts.keep_alive)),
            timeout_ms: AtomicU64::new(millis(opts.idle_timeout)),
            epoch: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
            timed_out: AtomicBool::new(false),
        }
    }

    /// Applies the options to a socket that has just connected (best effort).
    pub fn apply(&self, sock: &Sock) {
        let _ = sock.set_no_delay(self.no_delay.load(Ordering::Relaxed));
        let ka = self.keep_alive_ms.load(Ordering::Relaxed);
        if ka > 0 {
            let _ = sock.set_keep_alive(Some(Duration::from_millis(ka)));
        }
    }

    /// Sets `TCP_NODELAY`, now if the socket exists and when it is installed otherwise.
    pub fn set_no_delay(&self, sock: Option<&Sock>, on: bool) -> Result<(), NetError> {
        self.no_delay.store(on, Ordering::Relaxed);
        match sock {
            Some(s) => s.set_no_delay(on).map_err(|e| NetError::io("setsockopt", &e)),
            None => Ok(()),
        }
    }

    /// Enables keep-alive with an initial delay, or disables it.
    pub fn set_keep_alive(&self, sock: Option<&Sock>, delay: Option<Duration>) -> Result<(), NetError> {
        self.keep_alive_ms.store(millis(delay), Ordering::Relaxed);
        match sock {
            Some(s) => s.set_keep_alive(delay).map_err(|e| NetError::io("setsockopt", &e)),
            None => Ok(()),
        }
    }

    /// Sets the idle timeout (`None` disables it) and re-arms it. The driver must be woken
    /// to pick up the new deadline.
    pub fn set_timeout(&self, t: Option<Duration>) {
        self.timeout_ms.store(millis(t), Ordering::Relaxed);
        self.touch();
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Records activity. Returns `true` when this re-armed a timeout that had fired: the
    /// driver, which then waits without a deadline, must be woken.
    pub fn touch(&self) -> bool {
        self.last_activity_ms.store(self.now_ms(), Ordering::Relaxed);
        self.timed_out.load(Ordering::Relaxed) && self.timed_out.swap(false, Ordering::Relaxed)
    }

    /// When the idle timeout is due, if it is set and armed.
    pub fn idle_deadline(&self) -> Option<tokio::time::Instant> {
        let timeout_ms = self.timeout_ms.load(Ordering::Relaxed);
        if timeout_ms == 0 || self.timed_out.load(Ordering::Relaxed) {
            return None;
        }
        let due = self.last_activity_ms.load(Ordering::Relaxed) + timeout_ms;
        Some(tokio::time::Instant::from_std(self.epoch + Duration::from_millis(due)))
    }

    /// Called when the deadline passed: `true` when the stream really was idle that long
    /// (report the timeout; it stays quiet until activity re-arms it).
    pub fn idle_expired(&self) -> bool {
        let timeout_ms = self.timeout_ms.load(Ordering::Relaxed);
        let idle = self.now_ms().saturating_sub(self.last_activity_ms.load(Ordering::Relaxed));
        if timeout_ms > 0 && idle >= timeout_ms && !self.timed_out.swap(true, Ordering::Relaxed) {
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_once_then_rearms_on_activity() {
        let s =
            StreamSettings::new(&StreamOptions { idle_timeout: Some(Duration::from_millis(1)), ..Default::default() });
        assert!(s.idle_deadline().is_some());
        std::thread::sleep(Duration::from_millis(5));
        assert!(s.idle_expired());
        assert!(s.idle_deadline().is_none(), "quiet after firing");
        assert!(!s.idle_expired(), "fires once");
        assert!(s.touch(), "activity re-arms");
        assert!(s.idle_deadline().is_some());
        s.set_timeout(None);
        assert!(s.idle_deadline().is_none());
    }
}
