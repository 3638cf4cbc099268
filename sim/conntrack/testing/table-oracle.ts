/**
 * The test oracle of the conntrack table: a straightforward reference model of ConntrackTable (table.ts)
 * in one class, for tests only. It has one bucket head per nf_conntrack_buckets, all allocated in the
 * constructor, so every chain is walked as the kernel's is, without the physical/logical bucket mapping
 * of the table's hash sized to use (hash.ts). table-oracle.test.ts drives both through the same random
 * operations: the table must give the same results, entry numbers, `conntrack -L` order and gc figures.
 */
import type { Packet } from '../../net/packet.ts';
import { PROTOCOL_NUMBER, protocolFromNumber, type Protocol } from '../../net/protocol.ts';
import type { FiveTuple } from '../../net/tuple.ts';
import type { RandomStream } from '../../engine/random.ts';
import { TimeWeighted } from '../../engine/stats/time-weighted.ts';
import type { Nanos } from '../../engine/time.ts';
import {
  TCP_CONNTRACK_NONE, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_ESTABLISHED,
  TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_TIME_WAIT,
  TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_INVALID, TCP_CONNTRACK_IGNORE, TCP_RST_SET, TCP_TRANSITIONS, tcpFlagIndex,
} from '../tcp-state.ts';
import { KERNEL_TIMEOUTS, tcpTimeoutByState, type ConntrackTimeouts } from '../timeouts.ts';
import {
  CT_INVALID, CtLookup, DROP_TABLE_FULL, IP_CT_DIR_ORIGINAL, IP_CT_DIR_REPLY, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY,
  IP_CT_NEW, IPS_ASSURED, IPS_CONFIRMED, IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SEEN_REPLY, IPS_SRC_NAT, IPS_SRC_NAT_DONE,
} from '../common.ts';
import type { ConntrackOptions, ConntrackStats } from '../store.ts';
import { matchesFilter, type ConntrackEntry, type ConntrackFilter } from '../netlink.ts';
import { GcScanResult } from '../gc-scan.ts';
import { NF_CT_EVICTION_RANGE } from '../alloc.ts';

/** NF_NAT_MAX_ATTEMPTS in net/netfilter/nf_nat_core.c. */
const NF_NAT_MAX_ATTEMPTS = 128;

// Per-entry TCP bookkeeping packed in one byte: CLOSE_INIT seen per direction, last flag index, last direction.
const TCPX_CLOSE_INIT_ORIG = 1;
const TCPX_CLOSE_INIT_REPLY = 2;
const TCPX_LAST_DIR = 4;
const TCPX_LAST_INDEX_SHIFT = 3;

const PROTO_TCP = PROTOCOL_NUMBER.tcp;
const PROTO_UDP = PROTOCOL_NUMBER.udp;
const PROTO_ICMP = PROTOCOL_NUMBER.icmp;

/** GC_SCAN_INTERVAL_MIN and GC_SCAN_INTERVAL_CLAMP in nf_conntrack_core.c. */
const GC_CLAMP_MIN = 1_000_000_000;
const GC_CLAMP_MAX = 300_000_000_000;

const PKT_ACCEPT = 1;
const PKT_INVALID = 0;
const PKT_REPEAT = 2;
const PKT_KILLED = 3;

const TCP_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

export class ConntrackTableOracle {
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

  private readonly seed: number;
  private readonly tcpTimeout: Float64Array;
  private readonly heads: Int32Array;
  // Per tuple node (entry * 2 + dir).
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
  private scratch: Int32Array = new Int32Array(64);

  constructor(options: ConntrackOptions) {
    if (!(options.max >= 0) || !Number.isInteger(options.max)) throw new RangeError(`conntrack max must be an integer >= 0, got ${options.max}`);
    this.max = options.max;
    this.buckets = options.buckets ?? Math.max(1, Math.floor((options.max || 262144) / 4));
    if (!(this.buckets >= 1) || !Number.isInteger(this.buckets)) throw new RangeError(`conntrack buckets must be an integer >= 1, got ${this.buckets}`);
    this.timeouts = options.timeouts ?? KERNEL_TIMEOUTS;
    this.tcpLoose = options.tcpLoose ?? true;
    this.seed = (options.hashSeed ?? 0x9e3779b9) >>> 0;
    this.tcpTimeout = tcpTimeoutByState(this.timeouts.tcp);
    this.heads = new Int32Array(this.buckets).fill(-1);
    this.occupancy = new TimeWeighted(options.now ?? 0, 0);
    const cap = 256;
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

  /**
   * The tuple node (entry * 2 + dir) whose tuple equals the given one, or -1. Expired entries met in the
   * chain are reaped, as ____nf_conntrack_find does.
   */
  findNode(proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos): number {
    const b = this.bucketOf(this.hash(proto, src, sport, dst, dport));
    const ports = ((sport << 16) | dport) >>> 0;
    let n = this.heads[b]!;
    while (n >= 0) {
      let next = this.nNext[n]!;
      const e = n >> 1;
      if (this.eExpires[e]! <= now) {
        // Reaping unlinks both nodes of the entry; step over the other one if it comes next.
        while (next >= 0 && next >> 1 === e) next = this.nNext[next]!;
        this.reap(e, now);
      } else if (this.nSrc[n] === src && this.nDst[n] === dst && this.nPorts[n] === ports && this.eProto[e] === proto) {
        return n;
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
    for (let b = 0; b < this.buckets; b++) {
      for (let n = this.heads[b]!; n >= 0; n = this.nNext[n]!) {
        if ((n & 1) === 0 && this.eExpires[n >> 1]! > now) yield n >> 1;
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
    for (let b = fromBucket; b < end; b++) {
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
      let k = 0;
      for (let n = this.heads[b]!; n >= 0; n = this.nNext[n]!) {
        if (k === this.scratch.length) {
          const s = new Int32Array(k * 2);
          s.set(this.scratch);
          this.scratch = s;
        }
        this.scratch[k++] = n;
      }
      let drops = 0;
      for (let j = 0; j < k; j++) {
        const e = this.scratch[j]! >> 1;
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
    this.nNext[n] = this.heads[b]!;
    this.heads[b] = n;
  }

  private unlink(n: number): void {
    const b = this.bucketOf(this.hash(this.eProto[n >> 1]!, this.nSrc[n]!, this.nPorts[n]! >>> 16, this.nDst[n]!, this.nPorts[n]! & 0xffff));
    let cur = this.heads[b]!;
    if (cur === n) {
      this.heads[b] = this.nNext[n]!;
      return;
    }
    while (cur >= 0) {
      const next = this.nNext[cur]!;
      if (next === n) {
        this.nNext[cur] = this.nNext[n]!;
        return;
      }
      cur = next;
    }
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
