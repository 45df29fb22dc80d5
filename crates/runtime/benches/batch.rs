//! The event bridge's queue: cost per event of push + batched drain, one producer thread
//! and one consumer, against a plain channel as the point of comparison.

use std::sync::Arc;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use iocrate_runtime::BatchQueue;

const N: u64 = 100_000;

fn batch_queue(c: &mut Criterion) {
    let mut g = c.benchmark_group("bridge-queue");
    g.throughput(Throughput::Elements(N));
    g.bench_function("BatchQueue push+drain (1 producer)", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let q = Arc::new(BatchQueue::new());
                let p = q.clone();
                let t0 = Instant::now();
                let h = std::thread::spawn(move || {
                    for i in 0..N {
                        p.push(i);
                    }
                });
                let mut got = 0u64;
                while got < N {
                    got += q.drain().len() as u64;
                }
                h.join().unwrap();
                total += t0.elapsed();
            }
            total
        })
    });
    g.bench_function("std mpsc send+recv (1 producer)", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let (tx, rx) = std::sync::mpsc::channel();
                let t0 = Instant::now();
                let h = std::thread::spawn(move || {
                    for i in 0..N {
                        tx.send(i).unwrap();
                    }
                });
                let mut got = 0u64;
                while got < N {
                    rx.recv().unwrap();
                    got += 1;
                }
                h.join().unwrap();
                total += t0.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, batch_queue);
criterion_main!(benches);
