import type { EventQueue } from './event-queue.ts';

/**
 * A 4-ary min-heap over struct-of-arrays storage: times and sequence numbers live inline in
 * Float64Arrays in heap order, so a sift compares numbers in adjacent memory instead of chasing
 * pointers to event objects. A 4-ary heap is half as deep as a binary one and its four children share
 * a cache line or two, which is what matters once a million pending events no longer fit in cache.
 * Nothing is allocated per push or pop; the arrays double when full.
 */
export class QuaternaryHeapQueue implements EventQueue {
  private times: Float64Array;
  private seqs: Float64Array;
  private slots: Int32Array;
  size = 0;

  constructor(initialCapacity = 1024) {
    this.times = new Float64Array(initialCapacity);
    this.seqs = new Float64Array(initialCapacity);
    this.slots = new Int32Array(initialCapacity);
  }

  push(time: number, seq: number, slot: number): void {
    if (this.size === this.times.length) this.grow();
    const times = this.times;
    const seqs = this.seqs;
    const slots = this.slots;
    let i = this.size++;
    // Sift up: move parents down until the new key's place is found.
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pt = times[p]!;
      if (pt < time || (pt === time && seqs[p]! < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[p]!;
      slots[i] = slots[p]!;
      i = p;
    }
    times[i] = time;
    seqs[i] = seq;
    slots[i] = slot;
  }

  peekTime(): number {
    return this.times[0]!;
  }

  pop(): number {
    const top = this.slots[0]!;
    const n = --this.size;
    if (n === 0) return top;
    // Sift the last element down from the root.
    this.siftDown(0, this.times[n]!, this.seqs[n]!, this.slots[n]!, n);
    return top;
  }

  clear(): void {
    this.size = 0;
  }

  retain(keep: (slot: number) => boolean): void {
    const times = this.times;
    const seqs = this.seqs;
    const slots = this.slots;
    let w = 0;
    for (let i = 0; i < this.size; i++) {
      if (!keep(slots[i]!)) continue;
      times[w] = times[i]!;
      seqs[w] = seqs[i]!;
      slots[w++] = slots[i]!;
    }
    this.size = w;
    // Floyd's heap construction: sift down every parent, last first. (time, seq) keys are unique,
    // so the pop order is the same as before.
    for (let i = (w - 2) >> 2; i >= 0; i--) this.siftDown(i, times[i]!, seqs[i]!, slots[i]!, w);
  }

  private siftDown(i: number, t: number, s: number, sl: number, n: number): void {
    const times = this.times;
    const seqs = this.seqs;
    const slots = this.slots;
    for (;;) {
      const c = (i << 2) + 1;
      if (c >= n) break;
      let m = c;
      let mt = times[c]!;
      let ms = seqs[c]!;
      const end = c + 4 < n ? c + 4 : n;
      for (let k = c + 1; k < end; k++) {
        const kt = times[k]!;
        if (kt < mt || (kt === mt && seqs[k]! < ms)) {
          m = k;
          mt = kt;
          ms = seqs[k]!;
        }
      }
      if (t < mt || (t === mt && s < ms)) break;
      times[i] = mt;
      seqs[i] = ms;
      slots[i] = slots[m]!;
      i = m;
    }
    times[i] = t;
    seqs[i] = s;
    slots[i] = sl;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const t = new Float64Array(cap);
    t.set(this.times);
    const s = new Float64Array(cap);
    s.set(this.seqs);
    const sl = new Int32Array(cap);
    sl.set(this.slots);
    this.times = t;
    this.seqs = s;
    this.slots = sl;
  }
}
