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
// a stale handle from the slot's current event. 2^25 slots is 33M events pending at once; generations
// wrap at 2^28 so a handle stays an exact integer (< 2^53): a handle kept across 2^28 reuses of its
// slot could alias a later event, which no model does.
const SLOT_BITS = 2 ** 25;
const GEN_MASK = 2 ** 28 - 1;

/** The latest time an event may have: 2^53 - 1 ns (about 104 days), the last exact integer. */
const MAX_TIME = Number.MAX_SAFE_INTEGER;

const show = (x: number) => (Object.is(x, -0) ? '-0' : String(x));

/**
 * The time contract (docs/design.md: time is an integer number of nanoseconds): a broken one is a
 * programming error in a model, so a RangeError naming what was wrong, not an input error.
 */
function badDelay(what: string, delay: number, now: number): RangeError {
  const why =
    typeof delay !== 'number' ? `a number of ns, got ${typeof delay}`
    : Number.isNaN(delay) ? 'a number of ns, got NaN'
    : delay < 0 ? `>= 0 ns, got ${show(delay)}`
    : !Number.isFinite(delay) ? `finite, got ${delay}`
    : Math.floor(delay) !== delay ? `a whole number of ns, got ${delay} (round it where it is drawn)`
    : `at most ${MAX_TIME - now} ns from now (${now}) so the time stays an exact integer (<= 2^53 - 1), got ${delay}`;
  return new RangeError(`${what}: delay must be ${why}`);
}

function badTime(time: number, now: number): RangeError {
  const why =
    typeof time !== 'number' ? `a number of ns, got ${typeof time}`
    : Number.isNaN(time) ? 'a number of ns, got NaN'
    : time < now ? `not before now (${now}), got ${show(time)}`
    : !Number.isFinite(time) ? `finite, got ${time}`
    : Math.floor(time) !== time ? `a whole number of ns, got ${time}`
    : `at most 2^53 - 1 ns (${MAX_TIME}), got ${time}`;
  return new RangeError(`scheduleAt: time must be ${why}`);
}

/**
 * Cancelled events are dropped from the queue (compacted) once they outnumber the live ones and
 * there are at least this many: below it the queue is small anyway and a compaction per few cancels
 * would cost more than the entries it frees.
 */
const COMPACT_AT_LEAST = 1024;

export interface SimulatorOptions {
  seed?: string | number;
  queue?: QueueKind;
  /**
   * Drop cancelled events from the queue once they outnumber the live ones (default true). Off, a
   * cancelled event keeps its queue entry and slot until its time comes (for measuring the difference).
   */
  compactCancelled?: boolean;
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
  // Per slot: handler (null when free or cancelled), data, generation. All four arrays double together
  // (growSlots); the JS arrays are filled when made, so they stay packed and are never grown by push,
  // whose 1.5x steps leave about twice the final size behind as garbage (measured: docs/benchmarks.md).
  private handlers: (Handler | null)[] = new Array<Handler | null>(1024).fill(null);
  private data: unknown[] = new Array<unknown>(1024).fill(undefined);
  private gens: Int32Array = new Int32Array(1024);
  private free: Int32Array = new Int32Array(1024);
  private freeCount = 0;
  private slotCount = 0;
  private seq = 0;
  private live = 0;
  private stopped = false;
  private readonly compactCancelled: boolean;
  /** Compactions so far (for tests and the cancel benchmark). */
  compactions = 0;

  constructor(options: SimulatorOptions = {}) {
    this.streams = new RandomStreams(options.seed ?? 1);
    this.compactCancelled = options.compactCancelled ?? true;
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
    const time = this.now + delay;
    // One comparison chain on the hot path: NaN fails `>= 0`, a fraction fails the floor test,
    // Infinity and times past 2^53 ns fail the last (where integers stop being exact). Its cost
    // against `delay >= 0` alone is within noise (docs/benchmarks.md).
    if (!(delay >= 0 && Math.floor(delay) === delay && time <= MAX_TIME)) throw badDelay('schedule', delay, this.now);
    const slot = this.insert(time, handler, data);
    return this.gens[slot]! * SLOT_BITS + slot;
  }

  /** Schedules `handler(data)` at absolute time `time` (not in the past). */
  scheduleAt<T>(time: Nanos, handler: Handler<T>, data?: T): EventHandle {
    if (!(time >= this.now && Math.floor(time) === time && time <= MAX_TIME)) throw badTime(time, this.now);
    const slot = this.insert(time, handler, data);
    return this.gens[slot]! * SLOT_BITS + slot;
  }

  /** Entries in the event queue, cancelled ones included (see cancel). */
  get queued(): number {
    return this.queue.size;
  }

  /**
   * Cancels a pending event; returns false if it already ran or was cancelled. The queue entry stays
   * and is discarded when it reaches the front (lazy deletion keeps cancel O(1)), until cancelled
   * entries outnumber live ones: then the queue is compacted, O(queue) for at least as many cancels,
   * so O(1) amortized. Without it a model that re-arms a long timer on every packet (conntrack's
   * timeouts, kube-proxy's sync runner) would hold one entry per re-arm until each old time came:
   * compaction at least doubles the re-arm rate and keeps memory to the live timers
   * (`npm run bench:engine -- --rearm`; figures in docs/benchmarks.md).
   */
  cancel(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS;
    const gen = (handle - slot) / SLOT_BITS;
    if (slot >= this.slotCount || this.gens[slot] !== gen || this.handlers[slot] === null) return false;
    this.handlers[slot] = null;
    this.data[slot] = undefined;
    this.live--;
    const cancelled = this.queue.size - this.live;
    if (cancelled > this.live && cancelled >= COMPACT_AT_LEAST && this.compactCancelled) this.compact();
    return true;
  }

  /** Drops every cancelled entry from the queue and frees its slot for reuse. */
  private compact(): void {
    const handlers = this.handlers;
    const gens = this.gens;
    const free = this.free;
    this.queue.retain((slot) => {
      if (handlers[slot] !== null) return true;
      gens[slot] = (gens[slot]! + 1) & GEN_MASK; // a stale handle to this slot stays stale after reuse
      free[this.freeCount++] = slot;
      return false;
    });
    this.compactions++;
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
    while (queue.size > 0) {
      const t = queue.peekTime();
      if (t > until) break;
      const slot = queue.pop();
      // The slot arrays are read through `this`: a handler's schedule() may have grown them.
      const handlers = this.handlers;
      const handler = handlers[slot]!;
      // Release the slot before running, so the handler's own schedule() can reuse it.
      this.gens[slot] = (this.gens[slot]! + 1) & GEN_MASK;
      this.free[this.freeCount++] = slot;
      if (handler === null) continue; // cancelled
      const data = this.data;
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

  /**
   * Stores the event and queues it; returns its slot. The handle is made by the caller
   * (schedule/scheduleAt) from the slot: a slot is a small integer, while a handle passes 2^31 and
   * would be boxed as a heap number when returned from a call V8 did not inline (one allocation per
   * event: docs/benchmarks.md).
   */
  private insert(time: Nanos, handler: Handler, data: unknown): number {
    const slot = this.freeCount > 0 ? this.free[--this.freeCount]! : this.newSlot();
    this.handlers[slot] = handler;
    this.data[slot] = data;
    this.live++;
    this.queue.push(time, this.seq++, slot);
    return slot;
  }

  private newSlot(): number {
    const slot = this.slotCount++;
    if (slot >= SLOT_BITS) throw new RangeError('more than 2^25 events pending at once');
    if (slot >= this.gens.length) this.growSlots();
    return slot;
  }

  private growSlots(): void {
    const n = this.gens.length;
    const h = new Array<Handler | null>(n * 2).fill(null);
    const d = new Array<unknown>(n * 2).fill(undefined);
    for (let i = 0; i < n; i++) {
      h[i] = this.handlers[i]!;
      d[i] = this.data[i];
    }
    this.handlers = h;
    this.data = d;
    const g = new Int32Array(n * 2);
    g.set(this.gens);
    this.gens = g;
    const f = new Int32Array(this.free.length * 2);
    f.set(this.free);
    this.free = f;
  }
}
