/**
 * IPVS schedulers, each as the kernel's module does it (torvalds/linux net/netfilter/ipvs/):
 * - rr  (ip_vs_rr.c):  the next destination after the last one chosen with weight > 0 and not
 *        overloaded; when the last chosen one is deleted the position moves to its predecessor
 *        (ip_vs_rr_del_dest), so the rotation continues with the one after it.
 * - wrr (ip_vs_wrr.c): interleaved weighted round robin over a current weight cw that steps down by
 *        the gcd of the weights each time the list wraps, restarting at the maximum; every change of
 *        the destination list restarts at the list head (ip_vs_wrr_dest_changed).
 * - lc  (ip_vs_lc.c):  least overhead, overhead = activeconns * 256 + inactconns
 *        (ip_vs_dest_conn_overhead); the first one wins ties.
 * - wlc (ip_vs_wlc.c): least overhead / weight, compared as loh * w > doh * lw (no division).
 * - sed (ip_vs_sed.c): shortest expected delay, overhead = activeconns + 1, compared as wlc does.
 * - nq  (ip_vs_nq.c):  never queue: an idle destination (activeconns == 0) at once, else sed.
 * - sh  (ip_vs_sh.c):  256 buckets filled in list order, each destination for `weight` consecutive
 *        buckets (ip_vs_sh_reassign); bucket = hash_32(sport + saddr, 8), the port only with the
 *        sh-port flag. No destination when the bucket's one is unavailable, unless sh-fallback.
 * - dh  (ip_vs_dh.c):  256 buckets, one destination per bucket in turn; bucket =
 *        (daddr * 2654435761) & 255.
 * - mh  (ip_vs_mh.c):  Maglev hashing over a 4093-entry table (CONFIG_IP_VS_MH_TAB_INDEX default 12,
 *        primes[12 - 8]); each destination's permutation from (offset, skip) hashes of its address and
 *        port, weight/gcd turns per round; lookup by a hash of the source address (and port with
 *        mh-port, which kube-proxy sets). The kernel keys its hsiphash with random bytes at boot, so
 *        the exact table differs per boot anyway; here the hash is FNV-1a + fmix32 keyed by a seed,
 *        which keeps Maglev's even spread and minimal disruption.
 *
 * All schedulers skip destinations with weight 0 (quiescent) or flagged overloaded.
 */
import { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, type RealServer, type SchedulerName, type VirtualServer } from './types.ts';

export interface Scheduler {
  readonly name: SchedulerName;
  /**
   * The kernel calls the scheduler's add_dest/upd_dest/del_dest hooks after a change of the
   * destination list; `removedIndex` is the list position a deleted destination had.
   */
  destsChanged(vs: VirtualServer, removedIndex?: number): void;
  schedule(vs: VirtualServer, saddr: number, sport: number, daddr: number): RealServer | undefined;
}

function available(d: RealServer): boolean {
  return d.weight > 0 && !d.overloaded;
}

class RoundRobin implements Scheduler {
  readonly name = 'rr' as const;
  /** svc->sched_data: index of the last chosen destination, -1 for the list head. */
  private last = -1;
  destsChanged(_vs: VirtualServer, removedIndex?: number): void {
    if (removedIndex === undefined) return;
    if (this.last >= removedIndex) this.last--;
  }
  schedule(vs: VirtualServer): RealServer | undefined {
    const ds = vs.dests;
    const n = ds.length;
    for (let k = 1; k <= n; k++) {
      const i = (this.last + k) % n;
      const d = ds[i]!;
      if (available(d)) {
        this.last = i;
        return d;
      }
    }
    return undefined;
  }
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

class WeightedRoundRobin implements Scheduler {
  readonly name = 'wrr' as const;
  /** ip_vs_wrr_mark: current list position (-1 = head), current weight, max weight, gcd. */
  private cl = -1;
  private cw = 0;
  private mw = 0;
  private di = 1;
  destsChanged(vs: VirtualServer): void {
    let g = 0;
    let max = 0;
    for (const d of vs.dests) {
      if (d.weight > 0) {
        g = g > 0 ? gcd(d.weight, g) : d.weight;
        max = Math.max(max, d.weight);
      }
    }
    this.cl = -1;
    this.di = g || 1;
    this.mw = max - (this.di - 1);
    if (this.cw > this.mw || this.cw === 0) this.cw = this.mw;
    else if (this.di > 1) this.cw = Math.floor(this.cw / this.di) * this.di + 1;
  }
  schedule(vs: VirtualServer): RealServer | undefined {
    const ds = vs.dests;
    if (this.mw <= 0) return undefined;
    const last = this.cl;
    let i = this.cl;
    let stop = -2;
    let lastPass = false;
    let restarted = false;
    for (;;) {
      for (let j = i + 1; j < ds.length; j++) {
        const d = ds[j]!;
        if (!d.overloaded && d.weight >= this.cw) {
          this.cl = j;
          return d;
        }
        if (j === stop) return undefined;
      }
      i = -1;
      this.cw -= this.di;
      if (this.cw <= 0) {
        this.cw = this.mw;
        if (lastPass || last === -1) return undefined;
        restarted = true;
      }
      lastPass = this.cw <= this.di;
      if (lastPass && restarted && last !== -1) stop = last;
    }
  }
}

/** ip_vs_dest_conn_overhead. */
export function connOverhead(d: RealServer): number {
  return d.activeConns * 256 + d.inactiveConns;
}

class LeastConnection implements Scheduler {
  readonly name = 'lc' as const;
  destsChanged(): void {}
  schedule(vs: VirtualServer): RealServer | undefined {
    let least: RealServer | undefined;
    let loh = 0;
    for (const d of vs.dests) {
      if (!available(d)) continue;
      const doh = connOverhead(d);
      if (!least || doh < loh) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

/** wlc, sed and nq differ in the overhead and nq's idle shortcut. */
class WeightedLeast implements Scheduler {
  constructor(readonly name: 'wlc' | 'sed' | 'nq') {}
  destsChanged(): void {}
  private overhead(d: RealServer): number {
    return this.name === 'wlc' ? connOverhead(d) : d.activeConns + 1;
  }
  schedule(vs: VirtualServer): RealServer | undefined {
    let least: RealServer | undefined;
    let loh = 0;
    for (const d of vs.dests) {
      if (!available(d)) continue;
      const doh = this.overhead(d);
      if (this.name === 'nq' && d.activeConns === 0) return d;
      if (!least || loh * d.weight > doh * least.weight) {
        least = d;
        loh = doh;
      }
    }
    return least;
  }
}

const HASH_TAB_BITS = 8;
const HASH_TAB_SIZE = 1 << HASH_TAB_BITS;
const GOLDEN_RATIO_32 = 0x61c88647;

/** include/linux/hash.h hash_32: the top `bits` bits of val * GOLDEN_RATIO_32 (32-bit). */
export function hash32(val: number, bits: number): number {
  return Math.imul(val | 0, GOLDEN_RATIO_32) >>> (32 - bits);
}

/** ip_vs_sh_hashkey: (offset + hash_32(port + addr, 8)) & 255. */
export function shHashKey(addr: number, port: number, offset: number): number {
  return (offset + hash32((addr + port) >>> 0, HASH_TAB_BITS)) & (HASH_TAB_SIZE - 1);
}

/** ip_vs_dh_hashkey: (addr * 2654435761) & 255, the low bits of the 32-bit product. */
export function dhHashKey(addr: number): number {
  return Math.imul(addr | 0, 2654435761 | 0) & (HASH_TAB_SIZE - 1);
}

class SourceHashing implements Scheduler {
  readonly name = 'sh' as const;
  private buckets: (RealServer | undefined)[] = new Array<RealServer | undefined>(HASH_TAB_SIZE).fill(undefined);
  destsChanged(vs: VirtualServer): void {
    const ds = vs.dests;
    const b = new Array<RealServer | undefined>(HASH_TAB_SIZE).fill(undefined);
    if (ds.length > 0) {
      let p = 0;
      let count = 0;
      for (let i = 0; i < HASH_TAB_SIZE; i++) {
        const d = ds[p]!;
        b[i] = d;
        if (++count >= d.weight) {
          p = (p + 1) % ds.length;
          count = 0;
        }
      }
    }
    this.buckets = b;
  }
  schedule(vs: VirtualServer, saddr: number, sport: number): RealServer | undefined {
    const port = vs.flags & IP_VS_SVC_F_SCHED2 ? sport : 0;
    const ihash = shHashKey(saddr, port, 0);
    const d = this.buckets[ihash];
    if (!d) return undefined;
    if (available(d)) return d;
    if (!(vs.flags & IP_VS_SVC_F_SCHED1)) return undefined;
    // ip_vs_sh_get_fallback: walk the table from the original hash.
    for (let offset = 0; offset < HASH_TAB_SIZE; offset++) {
      const roffset = (offset + ihash) % HASH_TAB_SIZE;
      const x = this.buckets[shHashKey(saddr, port, roffset)];
      if (x && available(x)) return x;
    }
    return undefined;
  }
}

class DestinationHashing implements Scheduler {
  readonly name = 'dh' as const;
  private buckets: (RealServer | undefined)[] = new Array<RealServer | undefined>(HASH_TAB_SIZE).fill(undefined);
  destsChanged(vs: VirtualServer): void {
    const ds = vs.dests;
    const b = new Array<RealServer | undefined>(HASH_TAB_SIZE).fill(undefined);
    for (let i = 0; i < HASH_TAB_SIZE && ds.length > 0; i++) b[i] = ds[i % ds.length];
    this.buckets = b;
  }
  schedule(_vs: VirtualServer, _saddr: number, _sport: number, daddr: number): RealServer | undefined {
    const d = this.buckets[dhHashKey(daddr)];
    return d && available(d) ? d : undefined;
  }
}

/** primes[CONFIG_IP_VS_MH_TAB_INDEX - 8] with the default index 12 (ip_vs_mh.c IP_VS_MH_TAB_SIZE). */
export const MH_TAB_SIZE = 4093;

function mix(seed: number, a: number, b: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (const v of [a, b]) {
    for (let s = 0; s < 32; s += 8) {
      h ^= (v >>> s) & 255;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

class MaglevHashing implements Scheduler {
  readonly name = 'mh' as const;
  private lookup: (RealServer | undefined)[] = [];
  constructor(private readonly seed: number) {}
  destsChanged(vs: VirtualServer): void {
    const M = MH_TAB_SIZE;
    const table = new Array<RealServer | undefined>(M).fill(undefined);
    // ip_vs_mh_populate ignores destinations of weight 0.
    const ds = vs.dests.filter((d) => d.weight > 0);
    if (ds.length > 0) {
      let g = 0;
      for (const d of ds) g = g > 0 ? gcd(d.weight, g) : d.weight;
      const setup = ds.map((d) => ({
        d,
        perm: mix(this.seed, d.addr, d.port) % M,
        skip: (mix(this.seed ^ 0x5bd1e995, d.addr, d.port) % (M - 1)) + 1,
        turns: d.weight / g,
      }));
      let n = 0;
      while (n < M) {
        for (const s of setup) {
          for (let t = 0; t < s.turns && n < M; t++) {
            while (table[s.perm] !== undefined) {
              s.perm += s.skip;
              if (s.perm >= M) s.perm -= M;
            }
            table[s.perm] = s.d;
            n++;
          }
          if (n >= M) break;
        }
      }
    }
    this.lookup = table;
  }
  private slot(saddr: number, port: number, offset: number): number {
    return (mix(this.seed ^ 0x27d4eb2f, saddr, port) + offset) % MH_TAB_SIZE;
  }
  schedule(vs: VirtualServer, saddr: number, sport: number): RealServer | undefined {
    const port = vs.flags & IP_VS_SVC_F_SCHED2 ? sport : 0;
    const d = this.lookup[this.slot(saddr, port, 0)];
    if (!d) return undefined;
    if (available(d)) return d;
    if (!(vs.flags & IP_VS_SVC_F_SCHED1)) return undefined;
    for (let offset = 1; offset < MH_TAB_SIZE; offset++) {
      const x = this.lookup[this.slot(saddr, port, offset)];
      if (x && available(x)) return x;
    }
    return undefined;
  }
}

export function createScheduler(name: SchedulerName, vs: VirtualServer, seed = 0): Scheduler {
  let s: Scheduler;
  switch (name) {
    case 'rr':
      s = new RoundRobin();
      break;
    case 'wrr':
      s = new WeightedRoundRobin();
      break;
    case 'lc':
      s = new LeastConnection();
      break;
    case 'wlc':
    case 'sed':
    case 'nq':
      s = new WeightedLeast(name);
      break;
    case 'sh':
      s = new SourceHashing();
      break;
    case 'dh':
      s = new DestinationHashing();
      break;
    case 'mh':
      s = new MaglevHashing(seed);
      break;
  }
  s.destsChanged(vs);
  return s;
}
