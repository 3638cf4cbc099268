/**
 * The `recent` match's address lists (xt_recent), which kube-proxy uses for sessionAffinity:
 * ClientIP — `--set` in the endpoint chain remembers which client went where, `--rcheck --seconds
 * T --reap` in the service chain sends the client back to the same endpoint for T seconds.
 *
 * Modelled after torvalds/linux net/netfilter/xt_recent.c (5.x and later):
 * - one list per --name per network namespace; entries keyed by the (masked) address;
 * - at most ip_list_tot entries per list (module parameter, default 100): inserting into a full list
 *   evicts the least recently updated entry — so affinity silently breaks beyond 100 clients per
 *   endpoint unless the module parameter is raised;
 * - each entry keeps its last hit timestamps in a ring of nstamps_max_mask + 1 slots: 32 by default
 *   (recent_mt_check: ip_pkt_list_tot is only kept for compatibility and defaults to 0), or the
 *   next power of two of the largest --hitcount used with the list (the kernel flushes the list
 *   when a rule needs a larger ring; here that happens when such a rule is first evaluated);
 * - --rcheck/--update match when a timestamp is within --seconds (and --hitcount hits are reached);
 *   --reap then drops the oldest entry of the list if its newest timestamp has expired, unless it
 *   is the entry about to be updated (recent_entry_reap's `working`/`update` arguments);
 * - --update refreshes the entry only when the check matched; --set always records a hit.
 * Timestamps are simulated ns rather than jiffies (the kernel rounds to 1/HZ; we do not).
 * --rttl is accepted but TTLs are not modelled, so it never narrows the lookup.
 */
import type { Match } from './rule.ts';

/** xt_recent's ip_list_tot module parameter default. */
export const DEFAULT_IP_LIST_TOT = 100;
/** Timestamps kept per entry when no --hitcount asks for more (recent_mt_check: nstamp_mask = 32 - 1). */
export const DEFAULT_NSTAMPS = 32;

interface RecentEntry {
  stamps: number[];
  /** Next slot of the ring (kernel: e->index), and slots filled (e->nstamps). */
  index: number;
  nstamps: number;
}

type RecentMatch = Extract<Match, { kind: 'recent' }>;

interface RecentList {
  /** Masked address -> entry; Map iteration order is the LRU order (oldest first). */
  entries: Map<number, RecentEntry>;
  /** Ring size of every entry of this list (the table's nstamps_max_mask + 1). */
  nstamps: number;
}

function roundupPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class RecentTables {
  private readonly lists = new Map<string, RecentList>();

  constructor(readonly ipListTot = DEFAULT_IP_LIST_TOT) {}

  private list(m: RecentMatch): RecentList {
    let l = this.lists.get(m.name);
    const need = m.hitcount > DEFAULT_NSTAMPS ? roundupPow2(m.hitcount) : DEFAULT_NSTAMPS;
    if (!l) {
      l = { entries: new Map(), nstamps: need };
      this.lists.set(m.name, l);
    } else if (need > l.nstamps) {
      // recent_mt_check: a rule needing a larger ring flushes the table.
      l.entries.clear();
      l.nstamps = need;
    }
    return l;
  }

  /** Evaluates one `-m recent` match for the address the rule looks at; may change the lists. */
  evaluate(m: RecentMatch, address: number, nowNs: number): boolean {
    const addr = (address & m.mask) >>> 0;
    const rl = this.list(m);
    const list = rl.entries;
    let ret = m.neg;
    const e = list.get(addr);
    if (e === undefined) {
      if (m.command !== 'set') return ret;
      if (list.size >= this.ipListTot) {
        const oldest = list.keys().next().value as number;
        list.delete(oldest);
      }
      list.set(addr, { stamps: [nowNs], index: 1, nstamps: 1 });
      return !ret;
    }
    if (m.command === 'set') ret = !ret;
    else if (m.command === 'remove') {
      list.delete(addr);
      return !ret;
    } else {
      const horizon = nowNs - m.seconds * 1e9;
      let hits = 0;
      for (let i = 0; i < e.nstamps; i++) {
        if (m.seconds && e.stamps[i]! < horizon) continue;
        if (!m.hitcount || ++hits >= m.hitcount) {
          ret = !ret;
          break;
        }
      }
      if (m.reap) this.reap(rl, horizon, e, m.command === 'update' && ret);
    }
    if (m.command === 'set' || (m.command === 'update' && ret)) {
      e.index %= rl.nstamps;
      e.stamps[e.index++] = nowNs;
      if (e.index > e.nstamps) e.nstamps = e.index;
      // list_move_tail on the LRU list.
      list.delete(addr);
      list.set(addr, e);
    }
    return ret;
  }

  /** Kernel recent_entry_reap: look only at the LRU head; keep it if it is about to be updated. */
  private reap(rl: RecentList, horizon: number, working: RecentEntry, update: boolean): void {
    const list = rl.entries;
    const first = list.entries().next();
    if (first.done) return;
    const [addr, e] = first.value;
    if (e === working && update) return;
    const newest = e.stamps[e.index - 1]!;
    if (newest < horizon) list.delete(addr);
  }

  /** Entries of one list (address -> last seen ns), for tests and /proc/net/xt_recent-like output. */
  entries(name: string): Array<{ address: number; lastSeenNs: number }> {
    const l = this.lists.get(name);
    if (!l) return [];
    return [...l.entries].map(([address, e]) => ({ address, lastSeenNs: e.stamps[e.index - 1]! }));
  }
}
