import type { EventQueue } from './event-queue.ts';
import { QuaternaryHeapQueue } from './quaternary-heap-queue.ts';

/**
 * Keys are split into 16 hexadecimal digits (4 bits). Bucket 16p + d holds the keys whose highest
 * digit differing from `last` is digit p and has the value d there (d is then greater than `last`'s
 * digit, so never 0 at the same p); bucket 0 holds keys equal to `last`. Ordered by index, buckets
 * are ordered by key. Wider digits mean fewer moves per event for more buckets to keep track of
 * (measured in the hold model: docs/benchmarks.md).
 */
const BUCKETS = 256;
const WORDS = BUCKETS / 32;
/**
 * A lowest bucket of at most this many events is sorted into the run instead of being spread: with
 * few pending events the low buckets hold one or two events each, and spreading them costs a refill
 * per event. Chosen by measurement (docs/benchmarks.md).
 */
const SORT_AT_MOST = 32;
/** An event is put into the run only if at most this many run events are later than it (see `side`). */
const SHIFT_AT_MOST = 64;
/** A run array above this many events is let go when it empties (it only grows that large with mass ties). */
const RUN_SHRINK_ABOVE = 1 << 16;
/** Events per chunk of the bucket pool, as a power of two (see `times`). */
const CHUNK_BITS = 7;

/**
 * A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan, "Faster algorithms for the shortest path
 * problem", JACM 1990): a monotone priority queue, which is exactly what a simulator's pending set
 * is, since nothing is ever scheduled before `now`. Keys are the IEEE-754 bit patterns of the event
 * times: for times >= 0 the 64-bit pattern orders like the number, so integer and fractional times
 * both work, unconverted. An event sits in the bucket of the highest digit in which its key differs
 * from `last`; a push is an append, O(1). When the run (bucket 0) is empty, the lowest non-empty
 * bucket is either sorted into the run, if small, or spread: its least key becomes `last` and its
 * events move to lower buckets. An event only ever moves to lower buckets, at most 16 times and in
 * practice two or three, each move a sequential copy within typed arrays. Unlike a heap, the cost
 * per event does not grow with the number pending; unlike a calendar queue (ns-3's
 * CalendarScheduler) it needs no bucket width tuned to the spacing of event times, which in svcsim
 * spans nanosecond packet hops to minute-long timers.
 *
 * Memory: buckets 1..255 are FIFO lists of fixed-size chunks taken from one shared pool (struct of
 * arrays: a Float64Array of times, an Int32Array of slots, 12 bytes per event), and a spread returns
 * each chunk to the pool as soon as it has been read. So the pool holds the events pending plus at
 * most one part-filled chunk per bucket, and nothing is allocated in steady state. (Per-bucket
 * arrays that double would hold up to 8x the events pending, since every bucket fills and empties in
 * turn as `last` advances; letting them go when emptied still left about 3x plus garbage, over the
 * memory target for the 1e6 hold model: docs/benchmarks.md.)
 *
 * Order among equal times needs no sequence numbers: every bucket is a FIFO in scheduling order.
 * A push appends the newest event; a bucket is refilled only when it is empty (the events spread out
 * of the lowest non-empty bucket land in strictly lower, hence empty, buckets), and then receives a
 * subsequence of a list already in scheduling order; the run is sorted stably and takes later events
 * after every event at or before their time.
 *
 * Events before `last` are rare but legal: a short delay while the run spans a few ns, or an event
 * scheduled after `peekTime` looked ahead and the simulator stopped short (run(until)). They go into
 * the run at their place if few run events are later, or in front of the run, or else into a small
 * 4-ary heap (`side`) merged with the run at pop; it is empty in steady state.
 */
export class RadixHeapQueue implements EventQueue {
  size = 0;
  /**
   * [0]: the key last taken out (or the least key, once peeked); every key in the buckets is >= it.
   * Kept in typed arrays, with its bit pattern in `lastBits` ([0] low word, [1] high word), so these
   * hot fields never change representation (a field that goes from small integer to double costs
   * V8 a deoptimization of everything that inlined it).
   */
  private readonly last = new Float64Array(1);
  private readonly lastBits = new Int32Array(this.last.buffer);

  /**
   * The chunk pool: chunk c holds events (c << chunkBits) ... + chunkSize - 1, times in `times`
   * (whose bit patterns `timeBits` views: [2i] low word, [2i + 1] high word) and slots in `slots`;
   * `next[c]` is the following chunk of its bucket, or of the free list.
   */
  private times: Float64Array;
  private timeBits: Int32Array;
  private slots: Int32Array;
  private next: Int32Array;
  /** Chunks handed out so far (the pool's high-water mark); chunks past it have never been used. */
  private used = 0;
  /** Head of the list of returned chunks, -1 when empty. */
  private freeChunk = -1;
  private readonly chunkBits: number;
  private readonly chunkMask: number;

  /** Per bucket: events, and first and last chunk. Bucket 0 is unused here (the run has its own arrays). */
  private readonly len = new Int32Array(BUCKETS);
  private readonly first = new Int32Array(BUCKETS);
  private readonly tail = new Int32Array(BUCKETS);

  /**
   * The run: events in (time, scheduling order), all at or before `last` and so before every event
   * in the buckets; popped from `head` on. Contiguous, since events before `last` are inserted into it.
   */
  private runTimes: Float64Array = new Float64Array(64);
  private runSlots: Int32Array = new Int32Array(64);
  private head = 0;
  private runLen = 0;

  /** Non-empty buckets (bucket b is bit b % 32 of word b / 32) and non-zero words, to find the lowest in O(1). */
  private readonly mask = new Int32Array(WORDS);
  private summary = 0;
  /**
   * Events before `last` that did not go into the run: a 4-ary heap on (time, seq), empty in steady
   * state. While it holds any, every event before `last` goes to it (so a tie with the run is always
   * the run's first); it is drained before the run is refilled, as all its events are before `last`.
   */
  private side: QuaternaryHeapQueue | null = null;
  private sideSize = 0;
  private readonly probe = new Float64Array(1);
  private readonly probeBits = new Int32Array(this.probe.buffer);

  /**
   * @param initialChunks chunks the pool starts with (it doubles when full)
   * @param chunkBits log2 of the events per chunk (small values let tests cross chunk boundaries)
   */
  constructor(initialChunks = 64, chunkBits = CHUNK_BITS) {
    this.chunkBits = chunkBits;
    this.chunkMask = (1 << chunkBits) - 1;
    const n = Math.max(1, initialChunks);
    this.times = new Float64Array(n << chunkBits);
    this.timeBits = new Int32Array(this.times.buffer);
    this.slots = new Int32Array(n << chunkBits);
    this.next = new Int32Array(n);
  }

  /** Events the pool can hold without growing (for tests and memory accounting). */
  get poolCapacity(): number {
    return this.next.length << this.chunkBits;
  }

  push(time: number, seq: number, slot: number): void {
    this.size++;
    // +0 turns a -0 (whose sign bit would sort it last) into 0.
    time += 0;
    const last = this.last[0]!;
    if (time > last) {
      this.probe[0] = time;
      this.append(this.bucketOf(this.probeBits[0]!, this.probeBits[1]!), time, slot);
    } else if (time === last) {
      this.appendRun(time, slot); // the newest event at the run's latest time goes last
    } else {
      this.pushBeforeLast(time, seq, slot);
    }
  }

  /**
   * An event before `last` (a short delay while the run spans a few ns, or one scheduled after
   * `peekTime` looked ahead and the simulator stopped short): into the run at its place, or in the
   * room in front of it, or else into `side`.
   */
  private pushBeforeLast(time: number, seq: number, slot: number): void {
    const head = this.head;
    const n = this.runLen;
    if (this.sideSize === 0 && head < n) {
      let r = this.runTimes;
      if (time >= r[head]!) {
        // After every event at or before `time`, if few events are later (else `side`, so that a
        // burst into a long run does not cost a shift each).
        let j = n;
        while (r[j - 1]! > time && n - j < SHIFT_AT_MOST) j--;
        if (r[j - 1]! <= time) {
          if (n === r.length) r = this.growRun();
          r.copyWithin(j + 1, j, n);
          this.runSlots.copyWithin(j + 1, j, n);
          r[j] = time;
          this.runSlots[j] = slot;
          this.runLen = n + 1;
          return;
        }
      } else if (head > 0) {
        this.head = head - 1;
        r[head - 1] = time;
        this.runSlots[head - 1] = slot;
        return;
      }
    }
    (this.side ??= new QuaternaryHeapQueue(16)).push(time, seq, slot);
    this.sideSize++;
  }

  peekTime(): number {
    if (this.sideSize > 0) {
      const st = this.side!.peekTime();
      return this.head === this.runLen || st < this.runTimes[this.head]! ? st : this.runTimes[this.head]!;
    }
    if (this.head === this.runLen) this.refill();
    return this.runTimes[this.head]!;
  }

  pop(): number {
    this.size--;
    // Ties go to the run: its events at a time before `last` were all scheduled before any in `side`.
    if (this.sideSize > 0 && (this.head === this.runLen || this.side!.peekTime() < this.runTimes[this.head]!)) {
      this.sideSize--;
      return this.side!.pop();
    }
    if (this.head === this.runLen) this.refill();
    const slot = this.runSlots[this.head]!;
    if (++this.head === this.runLen) {
      this.head = 0;
      this.runLen = 0;
    }
    return slot;
  }

  clear(): void {
    this.size = 0;
    this.len.fill(0);
    this.head = 0;
    this.runLen = 0;
    this.mask.fill(0);
    this.summary = 0;
    this.last[0] = 0;
    this.used = 0;
    this.freeChunk = -1;
    this.side?.clear();
    this.sideSize = 0;
  }

  /**
   * Keeps only the events whose slot `keep` accepts, in the same order (the simulator drops
   * cancelled events this way when they outnumber the live ones). Each bucket is rewritten in place
   * from its first chunk on, and the chunks it no longer needs go back to the pool. O(size).
   */
  retain(keep: (slot: number) => boolean): void {
    let kept = 0;
    let w = 0;
    for (let i = this.head; i < this.runLen; i++) {
      const s = this.runSlots[i]!;
      if (!keep(s)) continue;
      this.runTimes[w] = this.runTimes[i]!;
      this.runSlots[w++] = s;
    }
    this.head = 0;
    this.runLen = w;
    kept += w;
    const bits = this.chunkBits;
    const m = this.chunkMask;
    for (let b = 1; b < BUCKETS; b++) {
      const n = this.len[b]!;
      if (n === 0) continue;
      // Read with (rc, ri), write with (wc, wi); the writer never passes the reader.
      let rc = this.first[b]!;
      let wc = rc;
      let wn = 0;
      for (let i = 0; i < n; i++) {
        if (i > 0 && (i & m) === 0) rc = this.next[rc]!;
        const at = (rc << bits) | (i & m);
        const s = this.slots[at]!;
        if (!keep(s)) continue;
        if (wn > 0 && (wn & m) === 0) wc = this.next[wc]!;
        const to = (wc << bits) | (wn & m);
        this.times[to] = this.times[at]!;
        this.slots[to] = s;
        wn++;
      }
      // Chunks after the writer's (all of them when nothing was kept) go back to the pool.
      let c = wn === 0 ? this.first[b]! : this.next[wc]!;
      let left = ((n + m) >> bits) - ((wn + m) >> bits);
      while (left-- > 0) {
        const nc = this.next[c]!;
        this.release(c);
        c = nc;
      }
      this.len[b] = wn;
      this.tail[b] = wc;
      kept += wn;
      if (wn === 0) {
        const rest = this.mask[b >> 5]! & ~(1 << (b & 31));
        this.mask[b >> 5] = rest;
        if (rest === 0) this.summary &= ~(1 << (b >> 5));
      }
    }
    if (this.sideSize > 0) {
      this.side!.retain(keep);
      this.sideSize = this.side!.size;
      kept += this.sideSize;
    }
    this.size = kept;
  }

  private append(b: number, time: number, slot: number): void {
    const n = this.len[b]!;
    let c: number;
    if ((n & this.chunkMask) === 0) {
      c = this.take();
      if (n === 0) {
        this.first[b] = c;
        this.mask[b >> 5] |= 1 << (b & 31);
        this.summary |= 1 << (b >> 5);
      } else this.next[this.tail[b]!] = c;
      this.tail[b] = c;
    } else c = this.tail[b]!;
    const i = (c << this.chunkBits) | (n & this.chunkMask);
    this.times[i] = time;
    this.slots[i] = slot;
    this.len[b] = n + 1;
  }

  private appendRun(time: number, slot: number): void {
    const n = this.runLen;
    if (n === this.runTimes.length) this.growRun();
    this.runTimes[n] = time;
    this.runSlots[n] = slot;
    this.runLen = n + 1;
  }

  /** A chunk from the free list, or a never-used one, doubling the pool when there is none. */
  private take(): number {
    const c = this.freeChunk;
    if (c >= 0) {
      this.freeChunk = this.next[c]!;
      return c;
    }
    if (this.used === this.next.length) this.growPool();
    return this.used++;
  }

  private release(c: number): void {
    this.next[c] = this.freeChunk;
    this.freeChunk = c;
  }

  /** The bucket of the key with bit pattern (hi, lo) relative to `last`. */
  private bucketOf(lo: number, hi: number): number {
    let x = hi ^ this.lastBits[1]!;
    if (x !== 0) {
      const p = (31 - Math.clz32(x)) >> 2;
      return ((8 + p) << 4) | ((hi >>> (p << 2)) & 15);
    }
    x = lo ^ this.lastBits[0]!;
    if (x === 0) return 0;
    const p = (31 - Math.clz32(x)) >> 2;
    return (p << 4) | ((lo >>> (p << 2)) & 15);
  }

  /**
   * The run is empty: sort the lowest non-empty bucket into it if it is small, else take its least
   * key as `last` and spread it. Either way every key left in the other buckets keeps its bucket: the
   * new `last` is one of this bucket's keys, which share all digits above p (and digit p) with the
   * old one, and the other buckets' keys differ from it first at the same digit as before.
   */
  private refill(): void {
    this.head = 0;
    this.runLen = 0;
    const summary = this.summary;
    if (summary === 0) throw new RangeError('pop from an empty event queue');
    if (this.runTimes.length > RUN_SHRINK_ABOVE) {
      this.runTimes = new Float64Array(64);
      this.runSlots = new Int32Array(64);
    }
    const w = 31 - Math.clz32(summary & -summary);
    const word = this.mask[w]!;
    const b = (w << 5) | (31 - Math.clz32(word & -word));
    const n = this.len[b]!;
    this.len[b] = 0;
    const rest = word & ~(1 << (b & 31));
    this.mask[w] = rest;
    if (rest === 0) this.summary = summary & ~(1 << w);
    const bits = this.chunkBits;
    const m = this.chunkMask;
    if (n <= SORT_AT_MOST && n <= m + 1) {
      // One chunk: insertion sort into the run; stable, so equal times stay in scheduling order.
      const c = this.first[b]!;
      const base = c << bits;
      while (this.runTimes.length < n) this.growRun();
      const r = this.runTimes;
      const rs = this.runSlots;
      const f = this.times;
      const fs = this.slots;
      for (let i = 0; i < n; i++) {
        const t = f[base + i]!;
        const sl = fs[base + i]!;
        let j = i;
        while (j > 0 && r[j - 1]! > t) {
          r[j] = r[j - 1]!;
          rs[j] = rs[j - 1]!;
          j--;
        }
        r[j] = t;
        rs[j] = sl;
      }
      this.release(c);
      this.runLen = n;
      this.last[0] = r[n - 1]!;
      return;
    }
    let min = Infinity;
    for (let c = this.first[b]!, i = 0; i < n; ) {
      const base = c << bits;
      const end = Math.min(n - i, m + 1);
      for (let k = 0; k < end; k++) {
        const t = this.times[base + k]!;
        if (t < min) min = t;
      }
      i += end;
      c = this.next[c]!;
    }
    this.last[0] = min;
    // Every key here shares digits p and up with the new `last`, so each lands in a lower bucket
    // (the run, for those equal to it). A chunk goes back to the pool once read; appends may take it
    // then, or grow the pool, so the arrays are read through `this` each time.
    for (let c = this.first[b]!, i = 0; i < n; ) {
      const base = c << bits;
      const end = Math.min(n - i, m + 1);
      for (let k = 0; k < end; k++) {
        const at = base + k;
        const t = this.times[at]!;
        const d = this.bucketOf(this.timeBits[2 * at]!, this.timeBits[2 * at + 1]!);
        if (d === 0) this.appendRun(t, this.slots[at]!);
        else this.append(d, t, this.slots[at]!);
      }
      i += end;
      const nc = this.next[c]!;
      this.release(c);
      c = nc;
    }
  }

  private growRun(): Float64Array {
    const t = new Float64Array(this.runTimes.length * 2);
    t.set(this.runTimes);
    const s = new Int32Array(this.runSlots.length * 2);
    s.set(this.runSlots);
    this.runTimes = t;
    this.runSlots = s;
    return t;
  }

  private growPool(): void {
    const chunks = this.next.length * 2;
    const t = new Float64Array(chunks << this.chunkBits);
    t.set(this.times);
    const s = new Int32Array(chunks << this.chunkBits);
    s.set(this.slots);
    const nx = new Int32Array(chunks);
    nx.set(this.next);
    this.times = t;
    this.timeBits = new Int32Array(t.buffer);
    this.slots = s;
    this.next = nx;
  }
}
