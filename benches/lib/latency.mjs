// Latency histogram of the bench clients: 0.1 µs buckets up to 100 ms, O(1) per record (no sort in the hot
// path). Percentiles are bucket middles, never past the largest sample.
const BUCKET_US = 0.1;

export class LatencyHistogram {
  #hist = new Uint32Array(1_000_001); // last bucket: >= 100 ms
  #n = 0;
  #sum = 0;
  #max = 0;

  /** Records one sample, in ms. */
  record(ms) {
    const i = Math.floor((ms * 1000) / BUCKET_US);
    this.#hist[i < this.#hist.length ? i : this.#hist.length - 1]++;
    this.#n++;
    this.#sum += ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** Forgets every sample. */
  reset() {
    this.#hist.fill(0);
    this.#n = this.#sum = this.#max = 0;
  }

  /** `{ n, avg, p50, p90, p99, max }` in ms (4 decimals) of the samples so far, then resets; null without any. */
  take() {
    if (!this.#n) return null;
    const want = [0.5, 0.9, 0.99].map((q) => Math.max(1, Math.ceil(this.#n * q)));
    const got = [];
    let acc = 0;
    for (let i = 0, w = 0; i < this.#hist.length && w < want.length; i++) {
      acc += this.#hist[i];
      while (w < want.length && acc >= want[w]) {
        // The bucket middle, in ms, but never past the largest sample (the top bucket's middle can be above it,
        // and a p99 above the max is nonsense).
        got.push(Math.min(((i + 0.5) * BUCKET_US) / 1000, this.#max));
        w++;
      }
    }
    const r4 = (x) => Math.round(x * 1e4) / 1e4;
    const out = { n: this.#n, avg: r4(this.#sum / this.#n), p50: r4(got[0]), p90: r4(got[1]), p99: r4(got[2]), max: r4(this.#max) };
    this.reset();
    return out;
  }
}
