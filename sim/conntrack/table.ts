/**
 * The connection-tracking table of one network namespace, modelled on the kernel's
 * (torvalds/linux net/netfilter/nf_conntrack_*.c): the façade the rest of the simulator uses. It holds
 * the table's state (store.ts) and delegates to the parts, each one concept of the kernel's code:
 *
 * - core.ts: lookup, nf_conntrack_in and confirm, the per-packet path;
 * - alloc.ts: allocation under nf_conntrack_max, with early_drop;
 * - proto.ts: the TCP, UDP, ICMP and generic trackers;
 * - hash.ts: the tuple hash and its chains, sized to use;
 * - nat.ts: NAT bindings and the unique-tuple port search;
 * - netlink.ts: entry copies, the `conntrack -L` dump order and `conntrack -D` deletion;
 * - gc-scan.ts: the gc worker's scan (the worker itself is gc.ts);
 * - clash-table.ts: confirm with a kernel's handling of the UDP insertion race (clash.ts).
 */
import type { Packet } from '../net/packet.ts';
import type { Protocol } from '../net/protocol.ts';
import type { FiveTuple } from '../net/tuple.ts';
import type { RandomStream } from '../engine/random.ts';
import type { TimeWeighted } from '../engine/stats/time-weighted.ts';
import type { Nanos } from '../engine/time.ts';
import { confirmRacing, type RacingConfirm } from './clash-table.ts';
import { IPS_CONFIRMED, type CtLookup } from './common.ts';
import { abandon, confirm, findNode, track, tupleTaken } from './core.ts';
import { expireAll, gcScan, type GcScanResult } from './gc-scan.ts';
import { bucketOf, remove, tupleHash } from './hash.ts';
import { natDst, natSrc, setDnat, setSnat } from './nat.ts';
import {
  deleteWhere, dumpEntries, entryCopy, getEntry, matchesFilter, type ConntrackEntry, type ConntrackFilter,
} from './netlink.ts';
import type { ClashRules } from './kernel-version.ts';
import { ConntrackStore, type ConntrackOptions, type ConntrackStats } from './store.ts';
import type { ConntrackTimeouts } from './timeouts.ts';

export class ConntrackTable {
  readonly max: number;
  readonly buckets: number;
  readonly timeouts: ConntrackTimeouts;
  readonly tcpLoose: boolean;
  readonly stats: ConntrackStats;
  /** Time-weighted nf_conntrack_count, with its peak in `.max`. */
  readonly occupancy: TimeWeighted;

  private readonly s: ConntrackStore;

  constructor(options: ConntrackOptions) {
    const s = new ConntrackStore(options);
    this.s = s;
    this.max = s.max;
    this.buckets = s.buckets;
    this.timeouts = s.timeouts;
    this.tcpLoose = s.tcpLoose;
    this.stats = s.stats;
    this.occupancy = s.occupancy;
  }

  /** Entries allocated (confirmed or not, expired but not yet reaped): the kernel's nf_conntrack_count. */
  get count(): number {
    return this.s.count;
  }

  /** Set when an allocation failed for lack of room; the gc worker then also evicts (see gc.ts). */
  get earlyDropPressure(): boolean {
    return this.s.earlyDropPressure;
  }
  set earlyDropPressure(on: boolean) {
    this.s.earlyDropPressure = on;
  }

  // ---------------------------------------------------------------- hashing and lookup (hash.ts, core.ts)

  /** Hash of a tuple (murmur3 mixing of the five fields with the table's seed). */
  hash(proto: number, src: number, sport: number, dst: number, dport: number): number {
    return tupleHash(this.s.seed, proto, src, sport, dst, dport);
  }

  /** reciprocal_scale(hash, buckets): the bucket of a hash. */
  bucketOf(hash: number): number {
    return bucketOf(this.s, hash);
  }

  /** Bucket heads allocated now (grows with the entries up to `buckets`; see hash.ts). */
  get physicalBuckets(): number {
    return this.s.heads.length;
  }

  /** The tuple node (entry * 2 + dir) holding the tuple, or -1; reaps expired entries met on the way. */
  findNode(proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos): number {
    return findNode(this.s, proto, src, sport, dst, dport, now);
  }

  /** True if a confirmed, unexpired entry holds this tuple in either direction (nf_conntrack_tuple_taken). */
  tupleTaken(proto: number, src: number, sport: number, dst: number, dport: number, now: Nanos, ignore = -1): boolean {
    return tupleTaken(this.s, proto, src, sport, dst, dport, now, ignore);
  }

  // ---------------------------------------------------------------- the per-packet path (core.ts)

  /** nf_conntrack_in for one packet; false when conntrack drops it (see core.ts track). */
  track(p: Packet, now: Nanos, out: CtLookup): boolean {
    return track(this.s, p, now, out);
  }

  /** __nf_conntrack_confirm; false (entry freed, packet dropped) on a clash. */
  confirm(e: number, now: Nanos): boolean {
    return confirm(this.s, e, now);
  }

  /**
   * __nf_conntrack_confirm as kernel `rules` handles a clash (clash-table.ts): the loser of a race
   * for one original tuple adopts the winner, goes in as a 1 s reply-only clash entry, or is dropped.
   * With rules.clashEntries 'until-reply' (5.6 to 5.8) the caller removes a clash entry after its
   * first reply.
   */
  confirmRacing(e: number, now: Nanos, rules: ClashRules): RacingConfirm {
    return confirmRacing(this.s, e, now, rules);
  }

  /** The packet carrying an unconfirmed entry was dropped before confirm: free the entry (nf_conntrack_free). */
  abandon(e: number, now: Nanos): void {
    abandon(this.s, e, now);
  }

  // ---------------------------------------------------------------- NAT bindings (nat.ts)

  /** DNAT of a new connection: replies come from ip:port. */
  setDnat(e: number, ip: number, port: number): void {
    setDnat(this.s, e, ip, port);
  }

  /** SNAT / MASQUERADE of a new connection to `ip`; false when no source port is free (see nat.ts). */
  setSnat(e: number, ip: number, now: Nanos, rng?: RandomStream, randomFully = false, minPort = 0, maxPort = 0): boolean {
    return setSnat(this.s, e, ip, now, rng, randomFully, minPort, maxPort);
  }

  /** nf_nat_packet at a DST-manip hook: DNAT in the original direction, un-SNAT in reply. */
  natDst(e: number, dir: number, p: Packet): boolean {
    return natDst(this.s, e, dir, p);
  }

  /** nf_nat_packet at a SRC-manip hook: SNAT in the original direction, un-DNAT in reply. */
  natSrc(e: number, dir: number, p: Packet): boolean {
    return natSrc(this.s, e, dir, p);
  }

  // ---------------------------------------------------------------- entry fields

  status(e: number): number {
    return this.s.eStatus[e]!;
  }
  tcpState(e: number): number {
    return this.s.eState[e]!;
  }
  expires(e: number): Nanos {
    return this.s.eExpires[e]!;
  }
  mark(e: number): number {
    return this.s.eMark[e]!;
  }
  setMark(e: number, mark: number): void {
    this.s.eMark[e] = mark >>> 0;
  }
  isConfirmed(e: number): boolean {
    return (this.s.eStatus[e]! & IPS_CONFIRMED) !== 0;
  }

  // ---------------------------------------------------------------- listing and deletion (netlink.ts)

  /** A copy of entry `e` (listing, filters, tests). */
  entry(e: number): ConntrackEntry {
    return entryCopy(this.s, e);
  }

  /** The entry holding `tuple` in either direction, or undefined. */
  get(tuple: FiveTuple, now: Nanos): ConntrackEntry | undefined {
    return getEntry(this.s, tuple, now);
  }

  /** Confirmed, unexpired entries in `conntrack -L` dump order. */
  entries(now: Nanos): IterableIterator<number> {
    return dumpEntries(this.s, now);
  }

  /** Deletes every confirmed entry for which `pred` is true (like `conntrack -D` with filters); returns how many. */
  deleteWhere(pred: (entry: ConntrackEntry) => boolean, now: Nanos): number {
    return deleteWhere(this.s, pred, now);
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
    remove(this.s, e, now);
  }

  // ---------------------------------------------------------------- expiry (gc-scan.ts)

  /** One pass of the gc worker over `[fromBucket, fromBucket + count)` buckets (see gc-scan.ts). */
  gcScan(fromBucket: number, count: number, now: Nanos, result: GcScanResult): void {
    gcScan(this.s, fromBucket, count, now, result);
  }

  /** Removes every expired entry now (a full gc pass); returns how many. */
  expireAll(now: Nanos): number {
    return expireAll(this.s, now);
  }
}
