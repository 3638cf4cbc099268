import type { EventQueue } from './event-queue.ts';
import { QuaternaryHeapQueue } from './quaternary-heap-queue.ts';

/**
 * Keys are split into 16 hexadecimal digits (4 bits). Bucket 16p + d holds the keys whose highest
 * digit differing from `last` is digit p and has the value d there (d is then greater than `last`'s
 * digit, so never 0 at the same p); bucket 0 holds keys equal to `last`. Ordered by index, buckets
 * are ordered by key. Wider digits mean fewer moves per event (about 3 instead of 5 for binary
 * digits in the hold model) for more buckets to keep track of.
 */
const BUCKETS = 256;
const WORDS = BUCKETS / 32;
/**
 * A lowest bucket of at most this many events is sorted into the run instead of being spread: with
 * few pending events the low buckets hold one or two events each, and spreading them costs a refill
 * per event. Chosen by measurement (npm run bench:engine, P = 1e3): 16 to 64 are alike.
 */
const SORT_AT_MOST = 32;
/** An event is put into the run only if at most this many run events are later than it (see `side`). */
const SHIFT_AT_MOST = 64;
/** Bucket arrays above this many events may be let go when emptied (see refill). */
const SHRINK_ABOVE = 4096;

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
  /** Per bucket, [time, slot] pairs; `bits` views the same memory to read a time's bit pattern. */
  private readonly pairs: Float64Array[] = [];
  private readonly bits: Int32Array[] = [];
  private readonly len = new Int32Array(BUCKETS);
  /**
   * Bucket 0 is the run: events in (time, scheduling order), all at or before `last` and so before
   * every event in the other buckets; popped from `head` on.
   */
  private head = 0;
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

  /** Events the bucket arrays can hold, all together. */
  private capacity: number;

  constructor(private readonly initialCapacity = 16) {
    this.capacity = BUCKETS * initialCapacity;
    for (let b = 0; b < BUCKETS; b++) {
      const f = new Float64Array(initialCapacity * 2);
      this.pairs.push(f);
      this.bits.push(new Int32Array(f.buffer));
    }
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
      this.append(0, time, slot); // the newest event at the run's latest time goes last
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
    const n = this.len[0]!;
    if (this.sideSize === 0 && head < n) {
      let r = this.pairs[0]!;
      if (time >= r[2 * head]!) {
        // After every event at or before `time`, if few events are later (else `side`, so that a
        // burst into a long run does not cost a shift each).
        let j = n;
        while (r[2 * j - 2]! > time && n - j < SHIFT_AT_MOST) j--;
        if (r[2 * j - 2]! <= time) {
          if (2 * n === r.length) r = this.grow(0);
          r.copyWithin(2 * j + 2, 2 * j, 2 * n);
          r[2 * j] = time;
          r[2 * j + 1] = slot;
          this.len[0] = n + 1;
          return;
        }
      } else if (head > 0) {
        this.head = head - 1;
        r[2 * head - 2] = time;
        r[2 * head - 1] = slot;
        return;
      }
    }
    (this.side ??= new QuaternaryHeapQueue(16)).push(time, seq, slot);
    this.sideSize++;
  }

  peekTime(): number {
    if (this.sideSize > 0) {
      const st = this.side!.peekTime();
      return this.head === this.len[0] || st < this.pairs[0]![2 * this.head]! ? st : this.pairs[0]![2 * this.head]!;
    }
    if (this.head === this.len[0]) this.refill();
    return this.pairs[0]![2 * this.head]!;
  }

  pop(): number {
    this.size--;
    // Ties go to the run: its events at a time before `last` were all scheduled before any in `side`.
    if (this.sideSize > 0 && (this.head === this.len[0] || this.side!.peekTime() < this.pairs[0]![2 * this.head]!)) {
      this.sideSize--;
      return this.side!.pop();
    }
    if (this.head === this.len[0]) this.refill();
    const slot = this.pairs[0]![2 * this.head + 1]!;
    if (++this.head === this.len[0]) {
      this.head = 0;
      this.len[0] = 0;
    }
    return slot;
  }

  clear(): void {
    this.size = 0;
    this.len.fill(0);
    this.head = 0;
    this.mask.fill(0);
    this.summary = 0;
    this.last[0] = 0;
    this.side?.clear();
    this.sideSize = 0;
  }

  private append(b: number, time: number, slot: number): void {
    const n = this.len[b]!;
    let f = this.pairs[b]!;
    if (2 * n === f.length) f = this.grow(b);
    f[2 * n] = time;
    f[2 * n + 1] = slot;
    this.len[b] = n + 1;
    if (n === 0 && b > 0) {
      this.mask[b >> 5] |= 1 << (b & 31);
      this.summary |= 1 << (b >> 5);
    }
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
    this.len[0] = 0;
    const summary = this.summary;
    if (summary === 0) throw new RangeError('pop from an empty event queue');
    const w = 31 - Math.clz32(summary & -summary);
    const word = this.mask[w]!;
    const b = (w << 5) | (31 - Math.clz32(word & -word));
    const f = this.pairs[b]!;
    const u = this.bits[b]!;
    const n = this.len[b]!;
    this.len[b] = 0;
    const rest = word & ~(1 << (b & 31));
    this.mask[w] = rest;
    if (rest === 0) this.summary = summary & ~(1 << w);
    if (n <= SORT_AT_MOST) {
      // Insertion sort into the run; stable, so equal times stay in scheduling order.
      let r = this.pairs[0]!;
      while (r.length < 2 * n) r = this.grow(0);
      for (let i = 0; i < n; i++) {
        const t = f[2 * i]!;
        const sl = f[2 * i + 1]!;
        let j = i;
        while (j > 0 && r[2 * j - 2]! > t) {
          r[2 * j] = r[2 * j - 2]!;
          r[2 * j + 1] = r[2 * j - 1]!;
          j--;
        }
        r[2 * j] = t;
        r[2 * j + 1] = sl;
      }
      this.len[0] = n;
      this.last[0] = r[2 * n - 2]!;
      return;
    }
    let min = f[0]!;
    for (let i = 1; i < n; i++) if (f[2 * i]! < min) min = f[2 * i]!;
    this.last[0] = min;
    // Every key here shares digits p and up with the new `last`, so each lands in a lower bucket
    // (bucket 0, the run, for those equal to it).
    for (let i = 0; i < n; i++) this.append(this.bucketOf(u[4 * i]!, u[4 * i + 1]!), f[2 * i]!, f[2 * i + 1]!);
    // A bucket keeps the capacity it grew to, and as `last` advances every bucket fills and empties
    // in turn: left alone, the arrays add up to 8x the events pending (a million pending: 125 MB).
    // So an emptied large bucket is let go while the arrays hold over three times what is pending;
    // when it fills again it regrows, one more sequential copy per event at worst. (The garbage
    // arrays still cost RSS until collected: peak RSS of the 1e6 hold drops from ~250 to ~215 MB.)
    if (f.length > 2 * SHRINK_ABOVE && this.capacity > 3 * this.size + 4 * SHRINK_ABOVE) {
      this.capacity -= f.length / 2 - this.initialCapacity;
      const small = new Float64Array(2 * this.initialCapacity);
      this.pairs[b] = small;
      this.bits[b] = new Int32Array(small.buffer);
    }
  }

  private grow(b: number): Float64Array {
    this.capacity += this.pairs[b]!.length / 2;
    const f = new Float64Array(this.pairs[b]!.length * 2);
    f.set(this.pairs[b]!);
    this.pairs[b] = f;
    this.bits[b] = new Int32Array(f.buffer);
    return f;
  }
}
