/**
 * The `recent` match's address lists (xt_recent), which kube-proxy uses for sessionAffinity:
 * ClientIP — `--set` in the endpoint chain remembers which client went where, `--rcheck --seconds
 * T --reap` in the service chain sends the client back to the same endpoint for T seconds.
 *
 * Modelled after torvalds/linux net/netfilter/xt_recent.c:
 * - one list per --name per network namespace; entries keyed by the (masked) address;
 * - at most ip_list_tot entries per list (module parameter, default 200): inserting into a full list
 *   evicts the least recently updated entry — so affinity silently breaks beyond 200 clients per
 *   endpoint unless the module parameter is raised;
 * - each entry keeps the last ip_pkt_list_tot (default 20) hit timestamps in a ring;
 * - --rcheck/--update match when a timestamp is within --seconds (and --hitcount hits are reached);
 *   --reap then drops the oldest entry of the list if its newest timestamp has expired;
 * - --update refreshes the entry only when the check matched; --set always records a hit.
 * Timestamps are simulated ns rather than jiffies (the kernel rounds to 1/HZ; we do not).
 * --rttl is accepted but TTLs are not modelled, so it never narrows the lookup.
 */
import type { Match } from './rule.ts';

export const DEFAULT_IP_LIST_TOT = 200;
export const DEFAULT_IP_PKT_LIST_TOT = 20;

interface RecentEntry {
  stamps: number[];
  /** Next slot of the ring (kernel: e->index), and slots filled (e->nstamps). */
  index: number;
  nstamps: number;
}

type RecentMatch = Extract<Match, { kind: 'recent' }>;

export class RecentTables {
  /** name -> (masked address -> entry); Map iteration order is the LRU order (oldest first). */
  private readonly lists = new Map<string, Map<number, RecentEntry>>();

  constructor(
    readonly ipListTot = DEFAULT_IP_LIST_TOT,
    readonly ipPktListTot = DEFAULT_IP_PKT_LIST_TOT,
  ) {}

  private list(name: string): Map<number, RecentEntry> {
    let l = this.lists.get(name);
    if (!l) {
      l = new Map();
      this.lists.set(name, l);
    }
    return l;
  }

  /** Evaluates one `-m recent` match for the address the rule looks at; may change the lists. */
  evaluate(m: RecentMatch, address: number, nowNs: number): boolean {
    const addr = (address & m.mask) >>> 0;
    const list = this.list(m.name);
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
      if (m.reap) this.reap(list, horizon, e, m.command === 'update' && ret);
    }
    if (m.command === 'set' || (m.command === 'update' && ret)) {
      e.index %= this.ipPktListTot;
      e.stamps[e.index++] = nowNs;
      if (e.index > e.nstamps) e.nstamps = e.index;
      // list_move_tail on the LRU list.
      list.delete(addr);
      list.set(addr, e);
    }
    return ret;
  }

  /** Kernel recent_entry_reap: look only at the LRU head; keep it if it is about to be updated. */
  private reap(list: Map<number, RecentEntry>, horizon: number, working: RecentEntry, update: boolean): void {
    const first = list.entries().next();
    if (first.done) return;
    const [addr, e] = first.value;
    if (e === working && update) return;
    const newest = e.stamps[(e.index - 1 + this.ipPktListTot) % this.ipPktListTot]!;
    if (newest < horizon) list.delete(addr);
  }

  /** Entries of one list (address -> last seen ns), for tests and /proc/net/xt_recent-like output. */
  entries(name: string): Array<{ address: number; lastSeenNs: number }> {
    const l = this.lists.get(name);
    if (!l) return [];
    return [...l].map(([address, e]) => ({
      address,
      lastSeenNs: e.stamps[(e.index - 1 + this.ipPktListTot) % this.ipPktListTot]!,
    }));
  }
}
