/**
 * The connection-tracking table of one network namespace, modelled on the kernel's
 * (torvalds/linux net/netfilter/nf_conntrack_core.c):
 *
 * - Every entry (struct nf_conn) has two tuple nodes, ORIGINAL and REPLY, each linked into the hash
 *   bucket of its own tuple, so a packet in either direction finds its entry with one hash lookup
 *   (____nf_conntrack_find). New entries go to the head of their chain, as hlist_nulls_add_head_rcu does.
 * - A new entry is allocated unconfirmed when the first packet is seen (init_conntrack), travels with
 *   that packet through the hooks (NAT rewrites its reply tuple), and is inserted at the last hook
 *   (__nf_conntrack_confirm). A clash at confirm drops the packet (insert_failed).
 * - The table limit nf_conntrack_max is checked at allocation (__nf_conntrack_alloc): when full, early_drop
 *   scans NF_CT_EVICTION_RANGE = 8 buckets from the new tuple's bucket and deletes the non-assured entries
 *   of the first bucket that has any; if none, the packet is dropped ("nf_conntrack: table full, dropping packet").
 * - There is no timer per entry (the kernel removed them in 4.7, "netfilter: conntrack: get rid of conntrack
 *   timer"): each entry carries its absolute expiry time; an expired entry met by a lookup or by early_drop
 *   is reaped on the spot (nf_ct_gc_expired), and the rest by the gc worker (see gc.ts).
 *
 * Storage is struct-of-arrays in typed arrays indexed by entry number, with a free list, so the per-packet
 * path allocates nothing and a million entries cost a few tens of megabytes.
 *
 * The hash is sized to use. `buckets` (nf_conntrack_buckets) fixes each tuple's bucket and so the
 * order of chains and of a `conntrack -L` dump, but a table allocates only enough physical bucket
 * heads for the nodes it holds: physical bucket = logical bucket >> shift, and the shift drops by one
 * (the heads double) whenever there are more linked nodes than heads, down to one head per logical
 * bucket. A physical chain therefore holds the chains of a few neighbouring logical buckets
 * interleaved; since new nodes go to the head and removal keeps order, each logical chain's own order
 * is exactly the kernel's, and walks that must follow it (lookup, early drop, gc, listing) take the
 * nodes of one logical bucket in that order. While the heads are still growing, every node records its
 * logical bucket (once they are fully grown, physical = logical and the old walks run unchanged). An
 * empty table thus takes about 2 KB instead of 4 bytes per kernel bucket (128 KiB at kube-proxy's
 * default 32768 buckets) plus 256 entry slots, and a gc pass visits the physical heads only.
 */
import type { Packet } from '../net/packet.ts';
import { PROTOCOL_NUMBER, protocolFromNumber, type Protocol } from '../net/protocol.ts';
import type { FiveTuple } from '../net/tuple.ts';
import type { RandomStream } from '../engine/random.ts';
import { TimeWeighted } from '../engine/stats/time-weighted.ts';
import type { Nanos } from '../engine/time.ts';
import {
  TCP_CONNTRACK_NONE, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_ESTABLISHED,
  TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_TIME_WAIT,
  TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_INVALID, TCP_CONNTRACK_IGNORE, TCP_RST_SET, TCP_TRANSITIONS, tcpFlagIndex,
} from './tcp-state.ts';
import { KERNEL_TIMEOUTS, tcpTimeoutByState, type ConntrackTimeouts } from './timeouts.ts';

// ct->status bits (include/uapi/linux/netfilter/nf_conntrack_common.h enum ip_conntrack_status).
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_DYING = 1 << 9;

export const IP_CT_DIR_ORIGINAL = 0;
export const IP_CT_DIR_REPLY = 1;

// enum ip_conntrack_info, plus CT_INVALID for "no conntrack attached" (what --ctstate INVALID matches).
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_UNTRACKED = 7;
export const CT_INVALID = -1;

/** NF_CT_EVICTION_RANGE in nf_conntrack_core.c. */
export const NF_CT_EVICTION_RANGE = 8;
/** NF_NAT_MAX_ATTEMPTS in net/netfilter/nf_nat_core.c. */
const NF_NAT_MAX_ATTEMPTS = 128;

export const DROP_TABLE_FULL = 'conntrack table full';
export const DROP_INSERT_FAILED = 'conntrack insert failed';
export const DROP_NAT_NO_PORT = 'nat: no free source port';

// Per-entry TCP bookkeeping packed in one byte: CLOSE_INIT seen per direction, last flag index, last direction.
const TCPX_CLOSE_INIT_ORIG = 1;
const TCPX_CLOSE_INIT_REPLY = 2;
const TCPX_LAST_DIR = 4;
const TCPX_LAST_INDEX_SHIFT = 3;

const PROTO_TCP = PROTOCOL_NUMBER.tcp;
const PROTO_UDP = PROTOCOL_NUMBER.udp;
const PROTO_ICMP = PROTOCOL_NUMBER.icmp;

/** What nf_conntrack_in decided for one packet; a caller-owned record reused across packets. */
export class CtLookup {
  /** Entry number, or -1 when the packet has no conntrack (invalid, untracked, or dropped). */
  entry = -1;
  /** IP_CT_DIR_ORIGINAL or IP_CT_DIR_REPLY. */
  dir = 0;
  /** IP_CT_NEW, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, or CT_INVALID. */
  ctinfo = CT_INVALID;
  /** Set when conntrack itself drops the packet (table full). */
  dropReason: string | null = null;
}

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

/** A copy of one entry for listings, filters and tests (not used on the packet path). */
export interface ConntrackEntry {
  id: number;
  proto: Protocol;
  /** TCP state name (SYN_SENT...), '' for other protocols. */
  state: string;
  status: number;
  /** Absolute expiry time in ns. */
  expires: Nanos;
  mark: number;
  original: FiveTuple;
  reply: FiveTuple;
}

/** Selects entries as `conntrack -D` flags do (-p, --orig-src, --orig-dst, --dport, --reply-src...). */
export interface ConntrackFilter {
  proto?: Protocol;
  origSrc?: number;
  origDst?: number;
  origSport?: number;
  origDport?: number;
  replySrc?: number;
  replyDst?: number;
  replySport?: number;
  replyDport?: number;
}

export interface ConntrackStats {
  /** `conntrack -S` counters. */
  found: number;
  invalid: number;
  insert: number;
  insertFailed: number;
  drop: number;
  /** Entries evicted for room: by early_drop at allocation and by the gc worker under pressure. */
  earlyDrop: number;
  /** Entries removed because their timeout passed (by lookups, early_drop scans and the gc worker). */
  expired: number;
  /** Entries deleted by a filter (conntrack -D, kube-proxy's stale-endpoint cleanup) or killed (RST, reopen). */
  deleted: number;
}

export class ConntrackTable {
  readonly max: number;
  readonly buckets: number;
  readonly timeouts: ConntrackTimeouts;
  readonly tcpLoose: boolean;
  /** Entries allocated (confirmed or not, expired but not yet reaped): the kernel's nf_conntrack_count. */
  count = 0;
  readonly stats: ConntrackStats = {
    found: 0, invalid: 0, insert: 0, insertFailed: 0, drop: 0, earlyDrop: 0, expired: 0, deleted: 0,
  };
  /** Time-weighted nf_conntrack_count, with its peak in `.max`. */
  readonly occupancy: TimeWeighted;
  /** Set when an allocation failed for lack of room; the gc worker then also evicts (see gc.ts). */
  earlyDropPressure = false;

  private readonly seed: number;
  private readonly tcpTimeout: Float64Array;
  /** Physical bucket heads: logical bucket b is in heads[b >>> shift]. */
  private heads: Int32Array;
  private shift: number;
  /** Tuple nodes linked into the hash (2 per confirmed entry). */
  private linked = 0;
  // Per tuple node (entry * 2 + dir).
  private nBucket: Int32Array;
  private nSrc: Uint32Array;
  private nDst: Uint32Array;
  private nPorts: Uint32Array;
  private nNext: Int32Array;
  // Per entry.
  private eProto: Uint8Array;
  private eState: Uint8Array;
  private eTcpx: Uint8Array;
  private eStatus: Uint16Array;
  private eMark: Uint32Array;
  private eExpires: Float64Array;
  private eStreamTs: Float64Array;
  private capacity = 0;
  private used = 0;
  private free: Int32Array;
  private freeCount = 0;

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

  // ---------------------------------------------------------------- hashing and lookup

  /** Hash of a tuple (murmur3 mixing of the five fields with the table's seed). */
  hash(proto: number, src: number, sport: number, dst: number, dport: number): number {
    let h = this.seed ^ proto;
    h = mix(h, src);
    h = mix(h, dst);
    h = mix(h, ((sport << 16) | dport) >>> 0);
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  /** reciprocal_scale(hash, buckets): the bucket of a hash. */
  bucketOf(hash: number): number {
    return Math.floor((hash * this.buckets) / 4294967296);
  }

  /** Bucket heads allocated now (grows with the entries up to `buckets`; see the file comment). */
  get physicalBuckets(): number {
    return this.heads.length;
  }

  /**
   * The tuple node (entry * 2 + dir) whose tuple equals the given one, or -1. Expired entries met in the
   * chain are reaped, as ____nf_conntrack_find does.
   */
  findNode(proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos): number {
    const b = this.bucketOf(this.hash(proto, src, sport, dst, dport));
    const ports = ((sport << 16) | dport) >>> 0;
    let n = this.heads[b >>> this.shift]!;
    while (n >= 0) {
      let next = this.nNext[n]!;
      // Only bucket b's nodes are met, as in the kernel's chain (a physical chain holds others too
      // until the heads are fully grown).
      if (this.shift === 0 || this.nBucket[n] === b) {
        const e = n >> 1;
        if (this.eExpires[e]! <= now) {
          // Reaping unlinks both nodes of the entry; step over the other one if it comes next.
          while (next >= 0 && next >> 1 === e) next = this.nNext[next]!;
          this.reap(e, now);
        } else if (this.nSrc[n] === src && this.nDst[n] === dst && this.nPorts[n] === ports && this.eProto[e] === proto) {
          return n;
        }
      }
      n = next;
    }
    return -1;
  }

  /** True if a confirmed, unexpired entry holds this tuple in either direction (nf_conntrack_tuple_taken). */
  tupleTaken(proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos, ignore = -1): boolean {
    const n = this.findNode(proto, src, sport, dst, dport, now);
    return n >= 0 && n >> 1 !== ignore;
  }

  // ---------------------------------------------------------------- the per-packet path

  /**
   * nf_conntrack_in for one packet: finds or creates the entry, runs the protocol tracker (TCP states,
   * UDP replied/assured, timeouts), and fills `out`. Returns false when conntrack drops the packet
   * (table full); an invalid packet is accepted with `out.ctinfo = CT_INVALID` and no entry, as in the kernel.
   */
  track(p: Packet, now: Nanos, out: CtLookup): boolean {
    out.dropReason = null;
    const proto = PROTOCOL_NUMBER[p.proto];
    for (let attempt = 0; attempt < 2; attempt++) {
      const n = this.findNode(proto, p.src, p.sport, p.dst, p.dport, now);
      let e: number;
      let dir: number;
      if (n >= 0) {
        this.stats.found++;
        e = n >> 1;
        dir = n & 1;
      } else {
        e = this.alloc(proto, p.src, p.sport, p.dst, p.dport, now);
        if (e < 0) {
          this.stats.drop++;
          out.entry = -1;
          out.ctinfo = CT_INVALID;
          out.dropReason = DROP_TABLE_FULL;
          return false;
        }
        dir = IP_CT_DIR_ORIGINAL;
      }
      const status = this.eStatus[e]!;
      const ctinfo = dir === IP_CT_DIR_REPLY ? IP_CT_ESTABLISHED_REPLY : status & IPS_SEEN_REPLY ? IP_CT_ESTABLISHED : IP_CT_NEW;
      const r = this.protoPacket(e, dir, proto, p.tcpFlags, now);
      if (r === PKT_REPEAT) {
        // The TCP tracker saw a SYN reopening a closed connection: kill the old entry, look up again.
        this.remove(e, now);
        this.stats.deleted++;
        continue;
      }
      if (r === PKT_INVALID) {
        if (!(status & IPS_CONFIRMED)) this.release(e, now);
        this.stats.invalid++;
        out.entry = -1;
        out.ctinfo = CT_INVALID;
        return true;
      }
      if (r === PKT_KILLED) {
        // An unreplied connection answered by RST is deleted at once (the packet still passes).
        if (this.eStatus[e]! & IPS_CONFIRMED) this.remove(e, now);
        else this.release(e, now);
        this.stats.deleted++;
        out.entry = -1;
        out.dir = dir;
        out.ctinfo = ctinfo;
        return true;
      }
      if (ctinfo === IP_CT_ESTABLISHED_REPLY) this.eStatus[e] = this.eStatus[e]! | IPS_SEEN_REPLY;
      out.entry = e;
      out.dir = dir;
      out.ctinfo = ctinfo;
      return true;
    }
    // A second reopen in a row cannot happen (the fresh entry starts from NONE); kept total for safety.
    out.entry = -1;
    out.ctinfo = CT_INVALID;
    return true;
  }

  /**
   * __nf_conntrack_confirm: inserts an unconfirmed entry into the hash table at the packet's last hook.
   * Returns false (and frees the entry) when either tuple is already present: the packet is dropped.
   */
  confirm(e: number, now: Nanos): boolean {
    const status = this.eStatus[e]!;
    if (status & IPS_CONFIRMED) return true;
    const proto = this.eProto[e]!;
    const o = e * 2;
    const r = o + 1;
    if (
      this.findNode(proto, this.nSrc[o]!, this.nPorts[o]! >>> 16, this.nDst[o]!, this.nPorts[o]! & 0xffff, now) >= 0 ||
      this.findNode(proto, this.nSrc[r]!, this.nPorts[r]! >>> 16, this.nDst[r]!, this.nPorts[r]! & 0xffff, now) >= 0
    ) {
      this.stats.insertFailed++;
      this.stats.drop++;
      this.release(e, now);
      return false;
    }
    this.link(o);
    this.link(r);
    if (this.linked > this.heads.length && this.shift > 0) this.growHeads();
    this.eStatus[e] = status | IPS_CONFIRMED;
    this.stats.insert++;
    return true;
  }

  /** The packet carrying an unconfirmed entry was dropped before confirm: free the entry (nf_conntrack_free). */
  abandon(e: number, now: Nanos): void {
    if (!(this.eStatus[e]! & IPS_CONFIRMED)) this.release(e, now);
  }

  // ---------------------------------------------------------------- NAT bindings

  /**
   * DNAT of a new connection (nf_nat_setup_info, manip DST): the reply tuple's source becomes the new
   * destination, so replies come from the backend and are matched back to this entry.
   */
  setDnat(e: number, ip: number, port: number): void {
    const r = e * 2 + 1;
    this.nSrc[r] = ip >>> 0;
    this.nPorts[r] = (((port & 0xffff) << 16) | (this.nPorts[r]! & 0xffff)) >>> 0;
    this.eStatus[e] = this.eStatus[e]! | IPS_DST_NAT | IPS_DST_NAT_DONE;
  }

  /**
   * SNAT / MASQUERADE of a new connection (nf_nat_setup_info, manip SRC): the reply tuple's destination
   * becomes `ip`, keeping the source port if the resulting reply tuple is free (get_unique_tuple), else
   * searching the port range from a random offset as nf_nat_l4proto_unique_tuple does (up to 128 tries,
   * then halving). `randomFully` (--random-fully) always starts from a random port. Returns false when no
   * port is free: the kernel drops the packet.
   */
  setSnat(e: number, ip: number, now: Nanos, rng?: RandomStream, randomFully = false, minPort = 0, maxPort = 0): boolean {
    const r = e * 2 + 1;
    const proto = this.eProto[e]!;
    const rSrc = this.nSrc[r]!;
    const rSport = this.nPorts[r]! >>> 16;
    const origSport = this.nPorts[r]! & 0xffff;
    ip >>>= 0;
    const hasPorts = proto === PROTO_TCP || proto === PROTO_UDP || proto === PROTOCOL_NUMBER.sctp;
    let lo = minPort, hi = maxPort;
    if (lo === 0 && hi === 0) {
      // No --to-ports: stay in the privilege class of the original port (nf_nat_l4proto_unique_tuple).
      if (origSport < 512) { lo = 1; hi = 511; } else if (origSport < 1024) { lo = 600; hi = 1023; } else { lo = 1024; hi = 65535; }
    }
    const inRange = origSport >= lo && origSport <= hi;
    if (!hasPorts || (!randomFully && inRange && !this.tupleTaken(proto, rSrc, rSport, ip, origSport, now, e))) {
      this.setReplyDst(e, ip, origSport);
      return true;
    }
    const size = hi - lo + 1;
    let attempts = Math.min(size, NF_NAT_MAX_ATTEMPTS);
    let off = rng ? rng.integer(0, 65535) : this.hash(proto, rSrc, rSport, ip, origSport) & 0xffff;
    for (;;) {
      for (let i = 0; i < attempts; i++, off++) {
        const port = lo + (off % size);
        if (!this.tupleTaken(proto, rSrc, rSport, ip, port, now, e)) {
          this.setReplyDst(e, ip, port);
          return true;
        }
      }
      if (attempts >= size || attempts < 16) return false;
      attempts = attempts >> 1;
      off = rng ? rng.integer(0, 65535) : off * 2654435761;
    }
  }

  private setReplyDst(e: number, ip: number, port: number): void {
    const r = e * 2 + 1;
    this.nDst[r] = ip;
    this.nPorts[r] = ((this.nPorts[r]! & 0xffff0000) | (port & 0xffff)) >>> 0;
    this.eStatus[e] = this.eStatus[e]! | IPS_SRC_NAT | IPS_SRC_NAT_DONE;
  }

  /**
   * nf_nat_packet for a packet of a known connection at a DST-manip hook (PREROUTING, OUTPUT): the
   * destination becomes what the other direction's tuple says it must be. Original direction: the DNAT
   * target; reply direction: the original source (un-SNAT). A no-op when the entry has no such NAT.
   */
  natDst(e: number, dir: number, p: Packet): boolean {
    const other = e * 2 + (dir ^ 1);
    const ip = this.nSrc[other]!;
    const port = this.nPorts[other]! >>> 16;
    if (p.dst === ip && p.dport === port) return false;
    p.dst = ip;
    p.dport = port;
    return true;
  }

  /** nf_nat_packet at a SRC-manip hook (POSTROUTING, INPUT): SNAT in the original direction, un-DNAT in reply. */
  natSrc(e: number, dir: number, p: Packet): boolean {
    const other = e * 2 + (dir ^ 1);
    const ip = this.nDst[other]!;
    const port = this.nPorts[other]! & 0xffff;
    if (p.src === ip && p.sport === port) return false;
    p.src = ip;
    p.sport = port;
    return true;
  }

  // ---------------------------------------------------------------- entry fields

  status(e: number): number {
    return this.eStatus[e]!;
  }
  tcpState(e: number): number {
    return this.eState[e]!;
  }
  expires(e: number): Nanos {
    return this.eExpires[e]!;
  }
  mark(e: number): number {
    return this.eMark[e]!;
  }
  setMark(e: number, mark: number): void {
    this.eMark[e] = mark >>> 0;
  }
  isConfirmed(e: number): boolean {
    return (this.eStatus[e]! & IPS_CONFIRMED) !== 0;
  }

  /** A copy of entry `e` (listing, filters, tests). */
  entry(e: number): ConntrackEntry {
    const proto = protocolFromNumber(this.eProto[e]!)!;
    const o = e * 2;
    const r = o + 1;
    return {
      id: e,
      proto,
      state: proto === 'tcp' ? TCP_NAMES[this.eState[e]!]! : '',
      status: this.eStatus[e]!,
      expires: this.eExpires[e]!,
      mark: this.eMark[e]!,
      original: { proto, src: this.nSrc[o]!, sport: this.nPorts[o]! >>> 16, dst: this.nDst[o]!, dport: this.nPorts[o]! & 0xffff },
      reply: { proto, src: this.nSrc[r]!, sport: this.nPorts[r]! >>> 16, dst: this.nDst[r]!, dport: this.nPorts[r]! & 0xffff },
    };
  }

  /** The entry holding `tuple` in either direction, or undefined. */
  get(tuple: FiveTuple, now: Nanos): ConntrackEntry | undefined {
    const n = this.findNode(PROTOCOL_NUMBER[tuple.proto], tuple.src, tuple.sport, tuple.dst, tuple.dport, now);
    return n < 0 ? undefined : this.entry(n >> 1);
  }

  /**
   * Confirmed entries in the order a netlink dump walks them (`conntrack -L`): bucket by bucket, each
   * chain from its head, ORIGINAL-direction nodes only. Expired entries not yet reaped are skipped.
   */
  *entries(now: Nanos): IterableIterator<number> {
    const nodes: number[] = [];
    for (let ph = 0; ph < this.heads.length; ph++) {
      nodes.length = 0;
      for (let n = this.heads[ph]!; n >= 0; n = this.nNext[n]!) if ((n & 1) === 0) nodes.push(n);
      if (this.shift > 0) sortByBucket(nodes, this.nBucket);
      for (const n of nodes) {
        const e = n >> 1;
        if (this.eStatus[e]! & IPS_CONFIRMED && this.eExpires[e]! > now) yield e;
      }
    }
  }

  // ---------------------------------------------------------------- deletion

  /** Deletes every confirmed entry for which `pred` is true (like `conntrack -D` with filters); returns how many. */
  deleteWhere(pred: (entry: ConntrackEntry) => boolean, now: Nanos): number {
    const doomed: number[] = [];
    for (const e of this.entries(now)) if (pred(this.entry(e))) doomed.push(e);
    for (const e of doomed) this.remove(e, now);
    this.stats.deleted += doomed.length;
    return doomed.length;
  }

  /** Deletes the entries matching every field given in `filter` (conntrack -D -p udp --orig-dst ... --reply-src ...). */
  deleteMatching(filter: ConntrackFilter, now: Nanos): number {
    return this.deleteWhere((c) => matchesFilter(c, filter), now);
  }

  /**
   * kube-proxy's cleanup for a Service IP that lost all its endpoints or went away
   * (kubernetes pkg/proxy/conntrack/cleanup.go): entries whose original destination is the Service.
   */
  deleteByOriginalDst(proto: Protocol, ip: number, port?: number, now = 0): number {
    return this.deleteMatching(port === undefined ? { proto, origDst: ip } : { proto, origDst: ip, origDport: port }, now);
  }

  /**
   * kube-proxy's cleanup for a removed endpoint: entries whose reply comes from the endpoint
   * (reply source = endpoint IP), optionally only those that were DNATed from `origDst`.
   */
  deleteByReplySrc(proto: Protocol, ip: number, origDst?: number, now = 0): number {
    return this.deleteMatching(origDst === undefined ? { proto, replySrc: ip } : { proto, replySrc: ip, origDst }, now);
  }

  /** Deletes a confirmed entry now (nf_ct_delete). */
  remove(e: number, now: Nanos): void {
    this.unlink(e * 2);
    this.unlink(e * 2 + 1);
    this.release(e, now);
  }

  // ---------------------------------------------------------------- expiry

  /**
   * One pass of the gc worker over `[fromBucket, fromBucket + count)` buckets: reaps expired entries and,
   * under pressure (count >= 95% of max after a failed allocation), also evicts entries
   * gc_worker_can_early_drop allows: not assured, or TCP already closing. Returns the average remaining
   * lifetime of the entries that stay (clamped to [1 s, 300 s]), from which the worker plans its next run.
   */
  gcScan(fromBucket: number, count: number, now: Nanos, result: GcScanResult): void {
    const max95 = this.earlyDropPressure && this.max > 0 ? Math.floor(this.max / 100) * 95 : 0;
    const end = Math.min(this.buckets, fromBucket + count);
    let scanned = 0, expired = 0, evicted = 0, sum = 0, live = 0;
    const bucketOfNode = this.nBucket;
    // Fully grown heads (one per bucket): the chains are the kernel's, walked as they are.
    for (let b = this.shift === 0 ? fromBucket : end; b < end; b++) {
      let n = this.heads[b]!;
      while (n >= 0) {
        // The whole entry may be removed below, taking `next` with it if it is the entry's other node.
        let next = this.nNext[n]!;
        while (next >= 0 && next >> 1 === n >> 1) next = this.nNext[next]!;
        const e = n >> 1;
        // Like the kernel's, the scan meets each entry once per tuple node (twice if it stays).
        scanned++;
        const left = this.eExpires[e]! - now;
        if (left <= 0) {
          this.reap(e, now);
          expired++;
        } else if (max95 > 0 && this.count >= max95 && this.gcCanEarlyDrop(e)) {
          this.remove(e, now);
          this.stats.earlyDrop++;
          evicted++;
        } else {
          sum += Math.min(Math.max(left, GC_CLAMP_MIN), GC_CLAMP_MAX);
          live++;
        }
        n = next;
      }
    }
    // Shared physical chains: the same walk, over each bucket's nodes taken out of its chain.
    const phEnd = this.shift > 0 && end > fromBucket ? ((end - 1) >>> this.shift) + 1 : 0;
    for (let ph = fromBucket >>> this.shift; ph < phEnd; ph++) {
      // The nodes of buckets [fromBucket, end) in this physical chain, bucket by bucket in chain order.
      // The walk removes entries (both nodes) as it goes, so each step looks at the chain as it is then:
      // nodes of entries already removed are passed over.
      const k = this.collect(ph, fromBucket, end);
      const s = scratch;
      let i = 0;
      while (i < k) {
        const n = s[i]!;
        const e = n >> 1;
        // The next node of the chain; the entry's own other node is stepped over when it comes next
        // (the entry may be removed below, taking it along).
        let j = this.nextLive(s, i + 1, k);
        if (j < k && s[j]! >> 1 === e && bucketOfNode[s[j]!] === bucketOfNode[n]) j = this.nextLive(s, j + 1, k);
        // Like the kernel's, the scan meets each entry once per tuple node (twice if it stays).
        scanned++;
        const left = this.eExpires[e]! - now;
        if (left <= 0) {
          this.reap(e, now);
          expired++;
        } else if (max95 > 0 && this.count >= max95 && this.gcCanEarlyDrop(e)) {
          this.remove(e, now);
          this.stats.earlyDrop++;
          evicted++;
        } else {
          sum += Math.min(Math.max(left, GC_CLAMP_MIN), GC_CLAMP_MAX);
          live++;
        }
        // A node of the next bucket may belong to the entry just removed.
        i = this.nextLive(s, j, k);
      }
    }
    result.scanned = scanned;
    result.expired = expired;
    result.evicted = evicted;
    result.lifetimeSum = sum;
    result.live = live;
    result.nextBucket = end >= this.buckets ? 0 : end;
  }

  private gcCanEarlyDrop(e: number): boolean {
    const s = this.eStatus[e]!;
    if (!(s & IPS_ASSURED)) return true;
    // tcp_can_early_drop: connections already shutting down.
    if (this.eProto[e] === PROTO_TCP) {
      const st = this.eState[e]!;
      return st === TCP_CONNTRACK_FIN_WAIT || st === TCP_CONNTRACK_LAST_ACK || st === TCP_CONNTRACK_TIME_WAIT ||
        st === TCP_CONNTRACK_CLOSE || st === TCP_CONNTRACK_CLOSE_WAIT;
    }
    return false;
  }

  /** Removes every expired entry now (a full gc pass); returns how many. */
  expireAll(now: Nanos): number {
    const r = new GcScanResult();
    this.gcScan(0, this.buckets, now, r);
    return r.expired;
  }

  // ---------------------------------------------------------------- internals

  private protoPacket(e: number, dir: number, proto: number, flags: number, now: Nanos): number {
    if (proto === PROTO_TCP) return this.tcpPacket(e, dir, flags, now);
    if (proto === PROTO_UDP) {
      const status = this.eStatus[e]!;
      // nf_conntrack_udp_packet: a reply seen and still active 2 s after creation => stream, ASSURED.
      if (!(status & IPS_CONFIRMED)) this.eStreamTs[e] = now + 2_000_000_000;
      if (status & IPS_SEEN_REPLY) {
        if (now > this.eStreamTs[e]!) {
          this.eExpires[e] = now + this.timeouts.udp.stream;
          this.eStatus[e] = status | IPS_ASSURED;
        } else {
          this.eExpires[e] = now + this.timeouts.udp.unreplied;
        }
      } else {
        this.eExpires[e] = now + this.timeouts.udp.unreplied;
      }
      return PKT_ACCEPT;
    }
    this.eExpires[e] = now + (proto === PROTO_ICMP ? this.timeouts.icmp : this.timeouts.generic);
    return PKT_ACCEPT;
  }

  /** nf_conntrack_tcp_packet without window tracking (see tcp-state.ts). */
  private tcpPacket(e: number, dir: number, flags: number, now: Nanos): number {
    const index = tcpFlagIndex(flags);
    const old = this.eState[e]!;
    const status = this.eStatus[e]!;
    const tcpx = this.eTcpx[e]!;
    if (!(status & IPS_CONFIRMED) && old === TCP_CONNTRACK_NONE) {
      // tcp_new: only a SYN, or (nf_conntrack_tcp_loose) an ACK picking up a connection, may create an entry.
      const first = TCP_TRANSITIONS[index * 10]!;
      if (first === TCP_CONNTRACK_INVALID || (first === TCP_CONNTRACK_ESTABLISHED && !this.tcpLoose)) return PKT_INVALID;
    }
    const next = TCP_TRANSITIONS[dir * 60 + index * 10 + old]!;
    if (next === TCP_CONNTRACK_SYN_SENT && old >= TCP_CONNTRACK_TIME_WAIT) {
      // A SYN on a closed or aborted connection reopens it: the caller deletes the entry and starts afresh.
      const lastIndex = tcpx >> TCPX_LAST_INDEX_SHIFT;
      const lastDir = tcpx & TCPX_LAST_DIR ? 1 : 0;
      if (tcpx & (TCPX_CLOSE_INIT_ORIG | TCPX_CLOSE_INIT_REPLY) || (lastDir === dir && lastIndex === TCP_RST_SET)) return PKT_REPEAT;
      this.eTcpx[e] = (tcpx & 3) | (dir ? TCPX_LAST_DIR : 0) | (index << TCPX_LAST_INDEX_SHIFT);
      return PKT_ACCEPT;
    }
    if (next === TCP_CONNTRACK_IGNORE) {
      this.eTcpx[e] = (tcpx & 3) | (dir ? TCPX_LAST_DIR : 0) | (index << TCPX_LAST_INDEX_SHIFT);
      return PKT_ACCEPT;
    }
    if (next === TCP_CONNTRACK_INVALID) return PKT_INVALID;
    let x = (tcpx & 3) | (dir ? TCPX_LAST_DIR : 0) | (index << TCPX_LAST_INDEX_SHIFT);
    if (old !== next && next === TCP_CONNTRACK_FIN_WAIT) x |= dir ? TCPX_CLOSE_INIT_REPLY : TCPX_CLOSE_INIT_ORIG;
    this.eTcpx[e] = x;
    this.eState[e] = next;
    if (!(status & IPS_SEEN_REPLY)) {
      // "If only reply is a RST, we can consider ourselves not to have an established connection":
      // the entry is deleted at once (connection refused frees its slot immediately).
      if (index === TCP_RST_SET) return PKT_KILLED;
    } else if (!(status & IPS_ASSURED) && (old === TCP_CONNTRACK_SYN_RECV || old === TCP_CONNTRACK_ESTABLISHED) && next === TCP_CONNTRACK_ESTABLISHED) {
      this.eStatus[e] = status | IPS_ASSURED;
    }
    this.eExpires[e] = now + (index === TCP_RST_SET ? this.timeouts.tcp.close : this.tcpTimeout[next]!);
    return PKT_ACCEPT;
  }

  /** __nf_conntrack_alloc with the table-full check; returns the new unconfirmed entry or -1. */
  private alloc(proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos): number {
    this.count++;
    if (this.max > 0 && this.count > this.max) {
      if (!this.earlyDrop(this.hash(proto, src, sport, dst, dport), now)) {
        this.earlyDropPressure = true;
        this.count--;
        return -1;
      }
    }
    let e: number;
    if (this.freeCount > 0) e = this.free[--this.freeCount]!;
    else {
      if (this.used === this.capacity) this.grow();
      e = this.used++;
    }
    const o = e * 2;
    const r = o + 1;
    const ports = ((sport << 16) | dport) >>> 0;
    this.nSrc[o] = src; this.nDst[o] = dst; this.nPorts[o] = ports; this.nNext[o] = -1;
    this.nSrc[r] = dst; this.nDst[r] = src; this.nPorts[r] = ((dport << 16) | sport) >>> 0; this.nNext[r] = -1;
    this.eProto[e] = proto;
    this.eState[e] = TCP_CONNTRACK_NONE;
    this.eTcpx[e] = 0;
    this.eStatus[e] = 0;
    this.eMark[e] = 0;
    this.eExpires[e] = Infinity;
    this.eStreamTs[e] = 0;
    this.occupancy.set(now, this.count);
    return e;
  }

  /** early_drop: see the file comment. Returns true when at least one entry was evicted. */
  private earlyDrop(hash: number, now: Nanos): boolean {
    let b = this.bucketOf(hash);
    for (let i = 0; i < NF_CT_EVICTION_RANGE; i++) {
      if (i > 0) b = (b + 1) % this.buckets;
      // Collect the chain first: deleting an entry unlinks both of its nodes.
      const k = this.collect(b >>> this.shift, b, b + 1);
      let drops = 0;
      for (let j = 0; j < k; j++) {
        const e = scratch[j]! >> 1;
        const s = this.eStatus[e]!;
        if (!(s & IPS_CONFIRMED)) continue; // already removed earlier in this chain
        if (this.eExpires[e]! <= now) {
          this.reap(e, now);
          continue;
        }
        if (s & IPS_ASSURED) continue;
        this.remove(e, now);
        drops++;
      }
      if (drops > 0) {
        this.stats.earlyDrop += drops;
        return true;
      }
    }
    return false;
  }

  private reap(e: number, now: Nanos): void {
    this.remove(e, now);
    this.stats.expired++;
  }

  private link(n: number): void {
    const b = this.bucketOf(this.hash(this.eProto[n >> 1]!, this.nSrc[n]!, this.nPorts[n]! >>> 16, this.nDst[n]!, this.nPorts[n]! & 0xffff));
    const ph = b >>> this.shift;
    // Once the heads are fully grown (shift 0) they stay so and nothing reads a node's bucket again.
    if (this.shift > 0) this.nBucket[n] = b;
    this.nNext[n] = this.heads[ph]!;
    this.heads[ph] = n;
    this.linked++;
  }

  private unlink(n: number): void {
    const ph = this.shift === 0
      ? this.bucketOf(this.hash(this.eProto[n >> 1]!, this.nSrc[n]!, this.nPorts[n]! >>> 16, this.nDst[n]!, this.nPorts[n]! & 0xffff))
      : this.nBucket[n]! >>> this.shift;
    let cur = this.heads[ph]!;
    if (cur === n) {
      this.heads[ph] = this.nNext[n]!;
      this.linked--;
      return;
    }
    while (cur >= 0) {
      const next = this.nNext[cur]!;
      if (next === n) {
        this.nNext[cur] = this.nNext[n]!;
        this.linked--;
        return;
      }
      cur = next;
    }
  }

  /**
   * Doubles the physical heads (one shift less). Each physical chain is split in two by appending its
   * nodes in order, so every logical bucket keeps its chain order.
   */
  private growHeads(): void {
    const shift = this.shift - 1;
    const size = ((this.buckets - 1) >>> shift) + 1;
    const heads = new Int32Array(size).fill(-1);
    const tails = new Int32Array(size).fill(-1);
    const old = this.heads;
    for (let ph = 0; ph < old.length; ph++) {
      let n = old[ph]!;
      while (n >= 0) {
        const next = this.nNext[n]!;
        const to = this.nBucket[n]! >>> shift;
        this.nNext[n] = -1;
        if (tails[to]! < 0) heads[to] = n;
        else this.nNext[tails[to]!] = n;
        tails[to] = n;
        n = next;
      }
    }
    this.heads = heads;
    this.shift = shift;
  }

  /**
   * Puts the nodes of logical buckets [from, to) found in physical chain `ph` into `scratch`, ordered
   * by bucket and, within a bucket, in chain order. Returns how many.
   */
  private collect(ph: number, from: number, to: number): number {
    let k = 0;
    let sorted = true;
    let last = -1;
    for (let n = this.heads[ph]!; n >= 0; n = this.nNext[n]!) {
      const b = this.shift === 0 ? ph : this.nBucket[n]!;
      if (b < from || b >= to) continue;
      if (k === scratch.length) {
        const s = new Int32Array(k * 2);
        s.set(scratch);
        scratch = s;
      }
      scratch[k++] = n;
      if (b < last) sorted = false;
      last = b;
    }
    if (!sorted) sortScratchByBucket(k, this.nBucket);
    return k;
  }

  /** First index from `i` whose node's entry is still in the table (not removed by this walk). */
  private nextLive(s: Int32Array, i: number, k: number): number {
    while (i < k && !(this.eStatus[s[i]! >> 1]! & IPS_CONFIRMED)) i++;
    return i;
  }

  /** Returns an entry's slot to the free list (nf_conntrack_free). */
  private release(e: number, now: Nanos): void {
    this.eStatus[e] = 0;
    this.eExpires[e] = -Infinity;
    this.free[this.freeCount++] = e;
    this.count--;
    this.occupancy.set(now, this.count);
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const nb = new Int32Array(cap * 2);
    nb.set(this.nBucket);
    this.nBucket = nb;
    this.nSrc = growU32(this.nSrc, cap * 2);
    this.nDst = growU32(this.nDst, cap * 2);
    this.nPorts = growU32(this.nPorts, cap * 2);
    const nn = new Int32Array(cap * 2);
    nn.set(this.nNext);
    this.nNext = nn;
    const u8 = (a: Uint8Array) => { const b = new Uint8Array(cap); b.set(a); return b; };
    this.eProto = u8(this.eProto);
    this.eState = u8(this.eState);
    this.eTcpx = u8(this.eTcpx);
    const st = new Uint16Array(cap);
    st.set(this.eStatus);
    this.eStatus = st;
    this.eMark = growU32(this.eMark, cap);
    const f64 = (a: Float64Array) => { const b = new Float64Array(cap); b.set(a); return b; };
    this.eExpires = f64(this.eExpires);
    this.eStreamTs = f64(this.eStreamTs);
    const fr = new Int32Array(cap);
    fr.set(this.free);
    this.free = fr;
    this.capacity = cap;
  }
}

/** What one gc scan found (a caller-owned record). */
export class GcScanResult {
  scanned = 0;
  expired = 0;
  evicted = 0;
  /** Sum of the clamped remaining lifetimes of the entries kept, and their number. */
  lifetimeSum = 0;
  live = 0;
  nextBucket = 0;
}

/** GC_SCAN_INTERVAL_MIN and GC_SCAN_INTERVAL_CLAMP in nf_conntrack_core.c. */
const GC_CLAMP_MIN = 1_000_000_000;
const GC_CLAMP_MAX = 300_000_000_000;

/** Physical bucket heads and entry slots of a new table (both grow by doubling). */
const INITIAL_HEADS = 16;
const INITIAL_ENTRIES = 16;

/** Shared work array of the chain walks that collect first (early drop, gc); they never nest. */
let scratch = new Int32Array(64);

/** Stable insertion sort of scratch[0, k) by logical bucket (physical chains are a few nodes long). */
function sortScratchByBucket(k: number, bucketOf: Int32Array): void {
  for (let i = 1; i < k; i++) {
    const n = scratch[i]!;
    const b = bucketOf[n]!;
    let j = i - 1;
    while (j >= 0 && bucketOf[scratch[j]!]! > b) {
      scratch[j + 1] = scratch[j]!;
      j--;
    }
    scratch[j + 1] = n;
  }
}

/** The same for a listing's own array. */
function sortByBucket(nodes: number[], bucketOf: Int32Array): void {
  for (let i = 1; i < nodes.length; i++) {
    const n = nodes[i]!;
    const b = bucketOf[n]!;
    let j = i - 1;
    while (j >= 0 && bucketOf[nodes[j]!]! > b) {
      nodes[j + 1] = nodes[j]!;
      j--;
    }
    nodes[j + 1] = n;
  }
}

const PKT_ACCEPT = 1;
const PKT_INVALID = 0;
const PKT_REPEAT = 2;
const PKT_KILLED = 3;

const TCP_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

function growU32(a: Uint32Array, size: number): Uint32Array {
  const b = new Uint32Array(size);
  b.set(a);
  return b;
}

export function matchesFilter(c: ConntrackEntry, f: ConntrackFilter): boolean {
  return (
    (f.proto === undefined || c.proto === f.proto) &&
    (f.origSrc === undefined || c.original.src === f.origSrc) &&
    (f.origDst === undefined || c.original.dst === f.origDst) &&
    (f.origSport === undefined || c.original.sport === f.origSport) &&
    (f.origDport === undefined || c.original.dport === f.origDport) &&
    (f.replySrc === undefined || c.reply.src === f.replySrc) &&
    (f.replyDst === undefined || c.reply.dst === f.replyDst) &&
    (f.replySport === undefined || c.reply.sport === f.replySport) &&
    (f.replyDport === undefined || c.reply.dport === f.replyDport)
  );
}

/** ctinfo of a tracked packet as the conntrack match's --ctstate names it. */
export function ctstateName(lookup: CtLookup): 'INVALID' | 'NEW' | 'ESTABLISHED' | 'RELATED' | 'UNTRACKED' {
  switch (lookup.ctinfo) {
    case IP_CT_NEW: return 'NEW';
    case IP_CT_ESTABLISHED:
    case IP_CT_ESTABLISHED_REPLY: return 'ESTABLISHED';
    case IP_CT_RELATED: return 'RELATED';
    case IP_CT_UNTRACKED: return 'UNTRACKED';
    default: return 'INVALID';
  }
}
