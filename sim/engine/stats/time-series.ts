/**
 * A metric over simulated time, in fixed intervals (e.g. failed connections per second during churn,
 * conntrack occupancy). `sum` series add what happened in each interval (counts, then rates);
 * `last` series keep the latest value seen in the interval (gauges sampled at their changes).
 * Intervals with no observation are emitted as 0 for `sum` and carry the previous value for `last`.
 */
export type SeriesKind = 'sum' | 'last';

export interface SeriesPoint {
  /** Start of the interval, ns. */
  t: number;
  value: number;
}

export class TimeSeries {
  private readonly values: number[] = [];
  private readonly seen: boolean[] = [];

  constructor(
    readonly name: string,
    readonly intervalNs: number,
    readonly kind: SeriesKind = 'sum',
  ) {
    if (!(intervalNs > 0)) throw new RangeError(`TimeSeries ${name}: interval must be > 0`);
  }

  record(now: number, value: number): void {
    const i = Math.floor(now / this.intervalNs);
    while (this.values.length <= i) {
      this.values.push(0);
      this.seen.push(false);
    }
    if (this.kind === 'sum') this.values[i]! += value;
    else this.values[i] = value;
    this.seen[i] = true;
  }

  /** Points from 0 up to (not including) the interval that contains `until`, if given. */
  points(until?: number): SeriesPoint[] {
    const n = until === undefined ? this.values.length : Math.ceil(until / this.intervalNs);
    const out: SeriesPoint[] = [];
    let carry = 0;
    for (let i = 0; i < n; i++) {
      let v = i < this.values.length ? this.values[i]! : 0;
      if (this.kind === 'last') {
        if (i < this.seen.length && this.seen[i]) carry = v;
        else v = carry;
      }
      out.push({ t: i * this.intervalNs, value: v });
    }
    return out;
  }
}
