/**
 * The storage of one conntrack table: every entry (struct nf_conn) and its two tuple nodes, ORIGINAL
 * and REPLY, as struct-of-arrays in typed arrays indexed by entry number (node = entry * 2 + dir), with
 * a free list, so the per-packet path allocates nothing and a million entries cost a few tens of
 * megabytes. The slots double when full. The hash chains that link the nodes are hash.ts's; the
 * operations on entries are core.ts (lookup, track, confirm), alloc.ts, proto.ts, nat.ts, netlink.ts
 * and gc-scan.ts, all reached through the ConntrackTable façade (table.ts).
 */
import { TimeWeighted } from '../engine/stats/time-weighted.ts';
import type { Nanos } from '../engine/time.ts';
import { KERNEL_TIMEOUTS, tcpTimeoutByState, type ConntrackTimeouts } from './timeouts.ts';

export interface ConntrackOptions {
  /** nf_conntrack_max; 0 means no limit (as the sysctl does). */
  max: number;
  /** nf_conntrack_buckets (hash table size). Defaults to max / 4, as kube-proxy leaves it. */
  buckets?: number;
  timeouts?: ConntrackTimeouts;
  /** nf_conntrack_tcp_loose (default 1): pick up established connections from a mid-stream ACK. */
  tcpLoose?: boolean;
  /** Seed of the tuple hash (the kernel draws one at boot; a fixed one keeps runs reproducible). */
  hashSeed?: number;
  /** Start time of the occupancy statistic. */
  now?: Nanos;
}

export interface ConntrackStats {
  /** `conntrack -S` counters. */
  found: number;
  invalid: number;
  insert: number;
  /**
   * A clash at confirm that was not resolved (5.10 on), or any clash (before; clash.ts
   * clashCounters gives the counting of each kernel).
   */
  insertFailed: number;
  drop: number;
  /** Clashes resolved by adopting the winner or by a clash entry (bc92470413f3, 5.10). */
  clashResolve: number;
  /** Entries evicted for room: by early_drop at allocation and by the gc worker under pressure. */
  earlyDrop: number;
  /** Entries removed because their timeout passed (by lookups, early_drop scans and the gc worker). */
  expired: number;
  /** Entries deleted by a filter (conntrack -D, kube-proxy's stale-endpoint cleanup) or killed (RST, reopen). */
  deleted: number;
}

/** Physical bucket heads and entry slots of a new table (both grow by doubling). */
const INITIAL_HEADS = 16;
const INITIAL_ENTRIES = 16;

/**
 * The state of one table. Its fields are open to the modules of sim/conntrack, which work on it as the
 * kernel's functions work on struct net's conntrack state; code outside uses ConntrackTable.
 */
export class ConntrackStore {
  readonly max: number;
  readonly buckets: number;
  readonly timeouts: ConntrackTimeouts;
  readonly tcpLoose: boolean;
  /** Entries allocated (confirmed or not, expired but not yet reaped): the kernel's nf_conntrack_count. */
  count = 0;
  readonly stats: ConntrackStats = {
    found: 0, invalid: 0, insert: 0, insertFailed: 0, drop: 0, clashResolve: 0, earlyDrop: 0, expired: 0, deleted: 0,
  };
  /** Time-weighted nf_conntrack_count, with its peak in `.max`. */
  readonly occupancy: TimeWeighted;
  /** Set when an allocation failed for lack of room; the gc worker then also evicts (see gc.ts). */
  earlyDropPressure = false;

  readonly seed: number;
  /** TCP timeout per state number (tcpTimeoutByState). */
  readonly tcpTimeout: Float64Array;
  /** Physical bucket heads: logical bucket b is in heads[b >>> shift] (see hash.ts). */
  heads: Int32Array;
  shift: number;
  /** Tuple nodes linked into the hash (2 per confirmed entry). */
  linked = 0;
  // Per tuple node (entry * 2 + dir).
  nBucket: Int32Array;
  nSrc: Uint32Array;
  nDst: Uint32Array;
  /** Source port << 16 | destination port. */
  nPorts: Uint32Array;
  nNext: Int32Array;
  // Per entry.
  eProto: Uint8Array;
  /** TCP state (tcp-state.ts numbering). */
  eState: Uint8Array;
  /** TCP bookkeeping byte (proto.ts TCPX_*). */
  eTcpx: Uint8Array;
  eStatus: Uint16Array;
  eMark: Uint32Array;
  /** Absolute expiry time in ns: Infinity until the protocol tracker sets it, -Infinity once freed. */
  eExpires: Float64Array;
  /** UDP: the time after which a replied flow counts as a stream. */
  eStreamTs: Float64Array;
  capacity = 0;
  /** Slots ever handed out; slots below it are in use or on the free list. */
  used = 0;
  free: Int32Array;
  freeCount = 0;

  constructor(options: ConntrackOptions) {
    if (!(options.max >= 0) || !Number.isInteger(options.max)) throw new RangeError(`conntrack max must be an integer >= 0, got ${options.max}`);
    this.max = options.max;
    this.buckets = options.buckets ?? Math.max(1, Math.floor((options.max || 262144) / 4));
    if (!(this.buckets >= 1) || !Number.isInteger(this.buckets)) throw new RangeError(`conntrack buckets must be an integer >= 1, got ${this.buckets}`);
    this.timeouts = options.timeouts ?? KERNEL_TIMEOUTS;
    this.tcpLoose = options.tcpLoose ?? true;
    this.seed = (options.hashSeed ?? 0x9e3779b9) >>> 0;
    this.tcpTimeout = tcpTimeoutByState(this.timeouts.tcp);
    // Start with at most INITIAL_HEADS physical buckets.
    let shift = 0;
    while (((this.buckets - 1) >>> shift) + 1 > INITIAL_HEADS) shift++;
    this.shift = shift;
    this.heads = new Int32Array(((this.buckets - 1) >>> shift) + 1).fill(-1);
    this.occupancy = new TimeWeighted(options.now ?? 0, 0);
    const cap = INITIAL_ENTRIES;
    this.nBucket = new Int32Array(cap * 2);
    this.nSrc = new Uint32Array(cap * 2);
    this.nDst = new Uint32Array(cap * 2);
    this.nPorts = new Uint32Array(cap * 2);
    this.nNext = new Int32Array(cap * 2);
    this.eProto = new Uint8Array(cap);
    this.eState = new Uint8Array(cap);
    this.eTcpx = new Uint8Array(cap);
    this.eStatus = new Uint16Array(cap);
    this.eMark = new Uint32Array(cap);
    this.eExpires = new Float64Array(cap);
    this.eStreamTs = new Float64Array(cap);
    this.free = new Int32Array(cap);
    this.capacity = cap;
  }
}

/** A free entry slot: the last one freed, else a new one (the slots double when all are used). */
export function takeSlot(s: ConntrackStore): number {
  if (s.freeCount > 0) return s.free[--s.freeCount]!;
  if (s.used === s.capacity) grow(s);
  return s.used++;
}

/** Returns an entry's slot to the free list (nf_conntrack_free). */
export function release(s: ConntrackStore, e: number, now: Nanos): void {
  s.eStatus[e] = 0;
  s.eExpires[e] = -Infinity;
  s.free[s.freeCount++] = e;
  s.count--;
  s.occupancy.set(now, s.count);
}

function grow(s: ConntrackStore): void {
  const cap = s.capacity * 2;
  const nb = new Int32Array(cap * 2);
  nb.set(s.nBucket);
  s.nBucket = nb;
  s.nSrc = growU32(s.nSrc, cap * 2);
  s.nDst = growU32(s.nDst, cap * 2);
  s.nPorts = growU32(s.nPorts, cap * 2);
  const nn = new Int32Array(cap * 2);
  nn.set(s.nNext);
  s.nNext = nn;
  const u8 = (a: Uint8Array) => { const b = new Uint8Array(cap); b.set(a); return b; };
  s.eProto = u8(s.eProto);
  s.eState = u8(s.eState);
  s.eTcpx = u8(s.eTcpx);
  const st = new Uint16Array(cap);
  st.set(s.eStatus);
  s.eStatus = st;
  s.eMark = growU32(s.eMark, cap);
  const f64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
  s.eExpires = f64(s.eExpires);
  s.eStreamTs = f64(s.eStreamTs);
  const fr = new Int32Array(cap);
  fr.set(s.free);
  s.free = fr;
  s.capacity = cap;
}

function growU32(a: Uint32Array, size: number): Uint32Array {
  const b = new Uint32Array(size);
  b.set(a);
  return b;
}
