import type { EventQueue, QueueKind } from './event-queue.ts';
import { QuaternaryHeapQueue } from './quaternary-heap-queue.ts';
import { FastPriorityQueueQueue } from './fast-priority-queue-queue.ts';
import { RadixHeapQueue } from './radix-heap-queue.ts';
import { RandomStreams, type RandomStream } from './random.ts';
import type { Nanos } from './time.ts';

/**
 * An event handler. It receives the record it was scheduled with, so hot paths schedule a shared
 * function with a per-event record instead of allocating a closure per event.
 */
export type Handler<T = any> = (data: T, sim: Simulator) => void;

/** Identifies one scheduled event for `cancel`. Stale handles (event already ran) are harmless. */
export type EventHandle = number;

// A handle packs (generation, slot): a slot is reused after its event runs, and the generation tells
// a stale handle from the slot's current event. 2^25 slots is 33M events pending at once.
const SLOT_BITS = 2 ** 25;

export interface SimulatorOptions {
  seed?: string | number;
  queue?: QueueKind;
}

/**
 * The discrete-event core: a clock in integer nanoseconds and a pending-event set ordered by
 * (time, scheduling order). Like ns-3's Simulator and SimPy's Environment, it knows nothing of what
 * the events mean. Event records live in slot arrays reused through a free list, so a steady-state
 * run allocates nothing per event.
 */
export class Simulator {
  /** Current simulated time in nanoseconds. */
  now: Nanos = 0;
  /** Events executed so far. */
  executed = 0;
  readonly streams: RandomStreams;

  private readonly queue: EventQueue;
  private handlers: (Handler | null)[] = [];
  private data: unknown[] = [];
  private gens: Float64Array = new Float64Array(1024);
  private free: Int32Array = new Int32Array(1024);
  private freeCount = 0;
  private slotCount = 0;
  private seq = 0;
  private live = 0;
  private stopped = false;

  constructor(options: SimulatorOptions = {}) {
    this.streams = new RandomStreams(options.seed ?? 1);
    const kind = options.queue ?? 'radix';
    this.queue = kind === 'heap4' ? new QuaternaryHeapQueue() : kind === 'fastpriorityqueue' ? new FastPriorityQueueQueue() : new RadixHeapQueue();
  }

  /** The named random stream (same object for the same name; see RandomStreams). */
  rng(name: string): RandomStream {
    return this.streams.get(name);
  }

  /** Events scheduled and neither run nor cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Schedules `handler(data)` after `delay` ns (0 runs after the events already due now). */
  schedule<T>(delay: Nanos, handler: Handler<T>, data?: T): EventHandle {
    if (!(delay >= 0)) throw new RangeError(`schedule: delay must be >= 0 ns, got ${delay}`);
    return this.insert(this.now + delay, handler, data);
  }

  /** Schedules `handler(data)` at absolute time `time` (not in the past). */
  scheduleAt<T>(time: Nanos, handler: Handler<T>, data?: T): EventHandle {
    if (!(time >= this.now)) throw new RangeError(`scheduleAt: time ${time} is before now (${this.now})`);
    return this.insert(time, handler, data);
  }

  /**
   * Cancels a pending event; returns false if it already ran or was cancelled. The queue entry stays
   * and is discarded when it reaches the front (lazy deletion keeps cancel O(1)).
   */
  cancel(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    if (slot >= this.slotCount || this.gens[slot] !== gen || this.handlers[slot] === null) return false;
    this.handlers[slot] = null;
    this.data[slot] = undefined;
    this.live--;
    return true;
  }

  /** True while the event is pending. */
  isPending(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    return slot < this.slotCount && this.gens[slot] === gen && this.handlers[slot] !== null;
  }

  /**
   * Runs events in order. With `until`, runs every event at time <= until and leaves the clock at
   * `until`; without it, runs until no event is pending. `stop()` ends the run after the current event.
   */
  run(until: Nanos = Infinity): void {
    this.stopped = false;
    const queue = this.queue;
    const handlers = this.handlers;
    const data = this.data;
    while (queue.size > 0) {
      const t = queue.peekTime();
      if (t > until) break;
      const slot = queue.pop();
      const handler = handlers[slot]!;
      // Release the slot before running, so the handler's own schedule() can reuse it.
      this.gens[slot]!++;
      this.free[this.freeCount++] = slot;
      if (handler === null) continue; // cancelled
      const d = data[slot];
      handlers[slot] = null;
      data[slot] = undefined;
      this.live--;
      this.now = t;
      this.executed++;
      handler(d, this);
      if (this.stopped) return;
    }
    if (until !== Infinity && this.now < until) this.now = until;
  }

  /** Runs for `duration` ns from now. */
  runFor(duration: Nanos): void {
    this.run(this.now + duration);
  }

  /** Ends the current run after the event being executed. */
  stop(): void {
    this.stopped = true;
  }

  private insert(time: Nanos, handler: Handler, data: unknown): EventHandle {
    let slot: number;
    if (this.freeCount > 0) slot = this.free[--this.freeCount]!;
    else {
      slot = this.slotCount++;
      if (slot >= this.gens.length) this.growSlots();
      if (slot >= SLOT_BITS) throw new RangeError('more than 2^25 events pending at once');
      this.handlers.push(null);
      this.data.push(undefined);
    }
    this.handlers[slot] = handler;
    this.data[slot] = data;
    this.live++;
    this.queue.push(time, this.seq++, slot);
    return this.gens[slot]! * SLOT_BITS + slot;
  }

  private growSlots(): void {
    const g = new Float64Array(this.gens.length * 2);
    g.set(this.gens);
    this.gens = g;
    const f = new Int32Array(this.free.length * 2);
    f.set(this.free);
    this.free = f;
  }
}
