/**
 * The time-weighted average of a gauge (conntrack table size, queue length, pods ready): each value
 * counts for as long as it held. `set` is called at each change with the current simulated time.
 */
export class TimeWeighted {
  private area = 0;
  private last: number;
  private value: number;
  private readonly start: number;
  max: number;

  constructor(now = 0, initial = 0) {
    this.start = now;
    this.last = now;
    this.value = initial;
    this.max = initial;
  }

  get current(): number {
    return this.value;
  }

  set(now: number, value: number): void {
    this.area += this.value * (now - this.last);
    this.last = now;
    this.value = value;
    if (value > this.max) this.max = value;
  }

  add(now: number, delta: number): void {
    this.set(now, this.value + delta);
  }

  /** The average from construction until `now`; the current value when no time has passed. */
  mean(now: number): number {
    const span = now - this.start;
    if (span <= 0) return this.value;
    return (this.area + this.value * (now - this.last)) / span;
  }
}
