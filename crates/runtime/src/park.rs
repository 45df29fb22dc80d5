//! Deferring cross-thread wake-ups until a worker goes idle.
//!
//! Waking the JS thread costs a system call and, when both threads share a core, context
//! switches. A worker that reads from many sockets in one turn should wake JS once, after
//! the turn, not once per socket. [`defer_to_park`] remembers a wake-up on the calling
//! worker thread; the worker runs it just before it parks (the runtime's
//! `on_thread_park` hook), or earlier through [`run_deferred`]. On a thread that is not a
//! runtime worker there is no park to wait for: the caller is told to wake now.

use std::cell::{Cell, RefCell};
use std::sync::Arc;

/// A wake-up to run when the worker goes idle.
pub trait OnPark: Send + Sync {
    /// Runs the wake-up.
    fn on_park(&self);
}

thread_local! {
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
    static DEFERRED: RefCell<Vec<Arc<dyn OnPark>>> = const { RefCell::new(Vec::new()) };
}

/// Marks the current thread as a runtime worker (called from `on_thread_start`).
pub(crate) fn mark_worker() {
    IS_WORKER.with(|w| w.set(true));
}

/// Remembers `wake` until this worker parks. Returns `false`, remembering nothing, on a
/// thread that is not a runtime worker: the caller must wake now.
pub fn defer_to_park(wake: Arc<dyn OnPark>) -> bool {
    if !IS_WORKER.with(|w| w.get()) {
        return false;
    }
    DEFERRED.with(|d| d.borrow_mut().push(wake));
    true
}

/// Runs every wake-up deferred on this thread (the park hook; also safe to call early).
pub fn run_deferred() {
    let list = DEFERRED.with(|d| std::mem::take(&mut *d.borrow_mut()));
    for w in list {
        w.on_park();
    }
}
