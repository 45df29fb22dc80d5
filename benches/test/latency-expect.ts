// One check of a bench client's latency summary, shared by the suites' client tests.
import { expect } from 'vitest';

/** The summary `LatencyHistogram` reports (benches/lib/latency.mjs), as a client sends it. */
export interface LatencySummary {
  n: number;
  avg: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Samples were taken, and the percentiles are positive and ordered. */
export function expectLatencySummary(lat: LatencySummary): void {
  expect(lat.n).toBeGreaterThan(0);
  expect(lat.p50).toBeGreaterThan(0);
  expect(lat.p50).toBeLessThanOrEqual(lat.p90);
  expect(lat.p90).toBeLessThanOrEqual(lat.p99);
  expect(lat.p99).toBeLessThanOrEqual(lat.max);
}
