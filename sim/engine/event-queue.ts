/**
 * The pending-event set, seen by the simulator as opaque slot numbers keyed by (time, seq).
 * `seq` is the scheduling order, unique per event and increasing with each push, so (time, seq) is a
 * strict total order and events at the same time run in the order they were scheduled. Times pushed
 * are never before the time of the last pop (the simulator's `now`), which a monotone queue may use.
 *
 * Implementations, chosen by measurement (`npm run bench:engine`); all give the same order:
 * - RadixHeapQueue: a radix heap keyed by the bit pattern of the time, O(1) per push and amortized
 *   O(1) per pop whatever the number pending (the default);
 * - QuaternaryHeapQueue: a 4-ary heap on typed arrays, keys stored inline;
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
  /**
   * Keeps only the events whose slot `keep` accepts, order unchanged, in O(size): how the simulator
   * drops cancelled events once they outnumber the live ones (see Simulator.cancel).
   */
  retain(keep: (slot: number) => boolean): void;
}

export type QueueKind = 'radix' | 'heap4' | 'fastpriorityqueue';
