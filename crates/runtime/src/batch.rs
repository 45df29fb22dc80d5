//! The queue behind the event bridge: many producers, one consumer that drains in batches.
//!
//! Producers (runtime workers) [`BatchQueue::push`] events; only the push that finds no
//! drain scheduled returns `true`, and that caller schedules one (the binding calls its
//! threadsafe function). The consumer (the JS thread) calls [`BatchQueue::drain`], which
//! clears the flag *before* taking the events: a push racing with the drain either lands
//! in this batch or schedules the next one, so no event is ever stranded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Push {
    /// The queue needs a drain scheduled (first event since the last drain).
    Scheduled,
    /// A drain is already scheduled; this many events wait.
    Queued(usize),
}

/// A multi-producer queue drained in batches, with a "drain scheduled" flag.
#[derive(Debug)]
pub struct BatchQueue<T> {
    events: Mutex<Vec<T>>,
    scheduled: AtomicBool,
}

impl<T> Default for BatchQueue<T> {
    fn default() -> Self {
        BatchQueue { events: Mutex::new(Vec::new()), scheduled: AtomicBool::new(false) }
    }
}

impl<T> BatchQueue<T> {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an event. [`Push::Scheduled`] tells the caller to schedule a drain.
    pub fn push(&self, ev: T) -> Push {
        let n = {
            let mut q = self.events.lock().unwrap_or_else(|e| e.into_inner());
            q.push(ev);
            q.len()
        };
        if self.scheduled.swap(true, Ordering::AcqRel) {
            Push::Queued(n)
        } else {
            Push::Scheduled
        }
    }

    /// Takes every queued event (in push order) and re-arms scheduling.
    pub fn drain(&self) -> Vec<T> {
        self.scheduled.store(false, Ordering::Release);
        std::mem::take(&mut *self.events.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no event waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn only_first_push_schedules_until_drained() {
        let q = BatchQueue::new();
        assert_eq!(q.push(1), Push::Scheduled);
        assert_eq!(q.push(2), Push::Queued(2));
        assert_eq!(q.drain(), vec![1, 2]);
        assert_eq!(q.push(3), Push::Scheduled);
        assert_eq!(q.drain(), vec![3]);
        assert!(q.drain().is_empty());
    }

    #[test]
    fn no_event_is_stranded_under_contention() {
        let q = Arc::new(BatchQueue::new());
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let q = q.clone();
                std::thread::spawn(move || {
                    let mut schedules = 0;
                    for i in 0..50_000u32 {
                        if q.push((p, i)) == Push::Scheduled {
                            schedules += 1;
                        }
                    }
                    schedules
                })
            })
            .collect();
        let mut got = Vec::new();
        let mut drains = 0;
        while got.len() < 200_000 {
            let b = q.drain();
            if !b.is_empty() {
                drains += 1;
            }
            got.extend(b);
        }
        let schedules: usize = producers.into_iter().map(|h| h.join().unwrap()).sum();
        got.extend(q.drain());
        assert_eq!(got.len(), 200_000);
        // Per producer, order is preserved.
        for p in 0..4 {
            let seq: Vec<u32> = got.iter().filter(|e| e.0 == p).map(|e| e.1).collect();
            assert!(seq.windows(2).all(|w| w[0] < w[1]));
        }
        assert!(schedules >= 1 && drains >= 1);
    }
}
