//! Deferred wake-ups run when a worker goes idle (own process: it starts the runtime).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use iocrate_runtime::{defer_to_park, OnPark};

struct Count(AtomicUsize);
impl OnPark for Count {
    fn on_park(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn defers_only_on_workers_and_runs_on_park() {
    let c = Arc::new(Count(AtomicUsize::new(0)));
    // Not a worker: nothing is deferred, the caller must wake now.
    assert!(!defer_to_park(c.clone()));
    let c2 = c.clone();
    let seen_before_park = iocrate_runtime::handle().block_on(async move {
        iocrate_runtime::spawn(async move {
            assert!(defer_to_park(c2.clone()));
            c2.0.load(Ordering::SeqCst)
        })
        .await
        .unwrap()
    });
    assert_eq!(seen_before_park, 0, "deferred, not run inline");
    for _ in 0..200 {
        if c.0.load(Ordering::SeqCst) == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(c.0.load(Ordering::SeqCst), 1, "ran once when the worker parked");
}
