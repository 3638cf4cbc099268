/** A monotonically increasing count (packets sent, connections failed, syncs run). */
export class Counter {
  value = 0;
  add(n = 1): void {
    this.value += n;
  }
  merge(other: Counter): void {
    this.value += other.value;
  }
}
