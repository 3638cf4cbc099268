/**
 * A log-linear histogram of non-negative values (latencies in ns, sizes), in the manner of
 * HdrHistogram: each power of two is split into 128 equal sub-buckets, so every bucket is at most
 * 1/128 of its lower bound wide and a percentile read at the bucket's midpoint is within 0.4% of the
 * exact value, from fractions of a nanosecond to days. The bucket index comes straight from the
 * IEEE-754 bits (exponent and top 7 mantissa bits): no logarithm per record.
 *
 * Histograms with the same layout merge by adding counts, so percentiles over replications (or over
 * nodes) are exact merges, not averages of percentiles.
 */
const SUB_BITS = 7;
const SUB = 1 << SUB_BITS;
/** Smallest distinguished value: 2^-10 ns. Anything below (including 0) lands in bucket 0. */
const MIN_EXP = -10;
/** Largest: 2^54 ns (208 days) and beyond clamp into the last bucket. */
const MAX_EXP = 54;
const BUCKETS = (MAX_EXP - MIN_EXP) * SUB;

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
// Index of the high word of a double in u32 (little-endian on every platform Node supports here).
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

function bucketOf(v: number): number {
  if (!(v >= 2 ** MIN_EXP)) return 0;
  f64[0] = v;
  const hi = u32[HI]!;
  const exp = ((hi >>> 20) & 0x7ff) - 1023;
  if (exp >= MAX_EXP) return BUCKETS - 1;
  const mant = (hi >>> (20 - SUB_BITS)) & (SUB - 1);
  return (exp - MIN_EXP) * SUB + mant;
}

function lowerBound(b: number): number {
  const exp = Math.floor(b / SUB) + MIN_EXP;
  const mant = b % SUB;
  return 2 ** exp * (1 + mant / SUB);
}

/** The bucket a value falls in (for figures kept per bucket beside a histogram, e.g. sim/run/connect-setup.ts). */
export function bucketIndex(v: number): number {
  return bucketOf(v);
}

/** The lowest value of bucket b. */
export function bucketLowerBound(b: number): number {
  return lowerBound(b);
}

const NO_COUNTS = new Float64Array(0);

export class Histogram {
  /**
   * Counts of buckets `lo` .. `lo + counts.length - 1`: a window grown, a power of two (SUB buckets)
   * at a time, over the buckets recorded so far. A latency histogram spans a few powers of two, so
   * a few KB instead of all 8,192 buckets (64 KB), which matters for one histogram per node on
   * 5,000 nodes (ProgrammingLatency). Buckets outside the window hold 0.
   */
  private counts: Float64Array = NO_COUNTS;
  private lo = 0;
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  record(v: number, times = 1): void {
    if (!(v >= 0)) throw new RangeError(`Histogram.record: value must be >= 0, got ${v}`);
    const b = bucketOf(v);
    let i = b - this.lo;
    if (i < 0 || i >= this.counts.length) i = this.cover(b, b + 1) + b;
    this.counts[i]! += times;
    this.count += times;
    this.sum += v * times;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Grows the window to hold buckets [from, to); returns the new offset of bucket 0 (-lo). */
  private cover(from: number, to: number): number {
    const len = this.counts.length;
    const lo = len === 0 ? from : Math.min(this.lo, from);
    const hi = len === 0 ? to : Math.max(this.lo + len, to);
    const start = lo - (lo % SUB);
    const end = Math.min(BUCKETS, hi + ((SUB - (hi % SUB)) % SUB));
    if (start !== this.lo || end - start !== len) {
      const next = new Float64Array(end - start);
      if (len > 0) next.set(this.counts, this.lo - start);
      this.counts = next;
      this.lo = start;
    }
    return -this.lo;
  }

  /** The count of bucket b (0 outside the recorded window). */
  countAt(b: number): number {
    return this.counts[b - this.lo] ?? 0;
  }

  /** Every bucket's count, all 8,192 of them (dense, for comparing histograms). */
  bucketCounts(): Float64Array {
    const all = new Float64Array(BUCKETS);
    all.set(this.counts, this.lo);
    return all;
  }

  get mean(): number {
    return this.count ? this.sum / this.count : NaN;
  }

  /**
   * The q-quantile (0 <= q <= 1) by nearest rank: the value at rank ceil(q * n) of the sorted
   * observations, read as its bucket's midpoint and kept within [min, max]. NaN when empty.
   */
  percentile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= rank) {
        const b = this.lo + i;
        const mid = b === 0 ? 0 : (lowerBound(b) + lowerBound(b + 1)) / 2;
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  merge(o: Histogram): void {
    const n = o.counts.length;
    if (n > 0) {
      const shift = this.cover(o.lo, o.lo + n) + o.lo;
      for (let i = 0; i < n; i++) if (o.counts[i]) this.counts[shift + i]! += o.counts[i]!;
    }
    this.count += o.count;
    this.sum += o.sum;
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
  }
}
