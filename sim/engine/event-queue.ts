/**
 * The pending-event set, seen by the simulator as opaque slot numbers keyed by (time, seq).
 * `seq` is the scheduling order, unique per event, so (time, seq) is a strict total order and events
 * at the same time run in the order they were scheduled.
 *
 * Two implementations exist so the choice is made by measurement (`npm run bench:engine`):
 * - QuaternaryHeapQueue: a 4-ary heap on typed arrays, keys stored inline (the default);
 * - FastPriorityQueueQueue: fastpriorityqueue over small records (the reference).
 */
export interface EventQueue {
  readonly size: number;
  push(time: number, seq: number, slot: number): void;
  /** Time of the earliest event; only valid when size > 0. */
  peekTime(): number;
  /** Removes the earliest event and returns its slot; only valid when size > 0. */
  pop(): number;
  clear(): void;
}

export type QueueKind = 'heap4' | 'fastpriorityqueue';
