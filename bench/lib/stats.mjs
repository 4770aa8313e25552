// Small statistics helpers: percentiles of a sample and medians across runs.

/** Percentile (0..100) of an unsorted numeric array, nearest-rank. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

/** {p50, p99, p999} in the unit of the samples. Sorts a copy. */
export function latencySummary(samples) {
  const sorted = Float64Array.from(samples).sort();
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), p999: percentile(sorted, 99.9), n: sorted.length };
}

export function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Median of each numeric field over several run results (objects of the same shape);
 * non-numeric fields are taken from the first run. Nested objects are handled recursively.
 */
export function medianOf(runs) {
  if (runs.length === 0) return {};
  const out = {};
  for (const key of Object.keys(runs[0])) {
    const values = runs.map((r) => r[key]);
    if (typeof values[0] === 'number') out[key] = median(values);
    else if (values[0] && typeof values[0] === 'object' && !Array.isArray(values[0])) out[key] = medianOf(values);
    else out[key] = values[0];
  }
  return out;
}

/** Growable Float64Array for latency samples, so long runs do not allocate per sample. */
export class Samples {
  constructor(capacity = 1 << 16) {
    this.buf = new Float64Array(capacity);
    this.length = 0;
  }

  push(x) {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }

  values() {
    return this.buf.subarray(0, this.length);
  }
}
