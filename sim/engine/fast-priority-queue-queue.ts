import FastPriorityQueue from 'fastpriorityqueue';
import type { EventQueue } from './event-queue.ts';

interface Entry {
  time: number;
  seq: number;
  slot: number;
}

const before = (a: Entry, b: Entry): boolean => a.time < b.time || (a.time === b.time && a.seq < b.seq);

/**
 * The reference queue: fastpriorityqueue (an implicit 4-ary heap of object references) over one
 * small record per event. Kept to measure the default against (`npm run bench:engine`).
 */
export class FastPriorityQueueQueue implements EventQueue {
  private readonly q = new FastPriorityQueue<Entry>(before);
  get size(): number {
    return this.q.size;
  }
  push(time: number, seq: number, slot: number): void {
    this.q.add({ time, seq, slot });
  }
  peekTime(): number {
    return this.q.peek()!.time;
  }
  pop(): number {
    return this.q.poll()!.slot;
  }
  clear(): void {
    while (!this.q.isEmpty()) this.q.poll();
  }
  retain(keep: (slot: number) => boolean): void {
    // removeMany polls every entry and re-adds the kept ones: O(n log n), fine for the reference queue.
    this.q.removeMany((e) => !keep(e.slot));
  }
}
