import type { Endpoint } from '../endpoint.ts';
import { RecentTables } from '../../netfilter/recent.ts';
import type { Match } from '../../netfilter/rule.ts';
import type { ModeModel } from './mode-model.ts';

/** Outcome of the affinity checks of one new connection: the pinned endpoint's index (or -1) and checks made. */
export interface AffinityCheck {
  index: number;
  /** Per-endpoint checks in endpoint order: index + 1 on a hit, all endpoints on a miss. */
  checked: number;
}

type RecentMatch = Extract<Match, { kind: 'recent' }>;

/**
 * What each node's data plane remembers for Services with sessionAffinity ClientIP: which endpoint a
 * client address was last sent to, and when. The run model asks it before choosing an endpoint for a
 * new connection from a pod on that node, records the choice after, and makes the node forget an
 * endpoint when the node's rules stop holding it (at the end of the sync that removed it).
 *
 * Two stores, after the mode (ModeModel.affinityStore):
 * - 'xt_recent' (iptables): one xt_recent list per KUBE-SEP chain per node, evaluated by the netfilter
 *   model's own RecentTables with the matches kube-proxy writes (`--rcheck --seconds T --reap` in the
 *   service chain, in endpoint order; `--set` in the endpoint chain), so the module's limits hold: at
 *   most ip_list_tot (100) addresses per list, the least recently seen evicted beyond that, which
 *   breaks affinity for clients past the hundredth per endpoint and node. A list lives while a rule
 *   names it: when the endpoint's chain is deleted the list goes (xt_recent recent_mt_destroy), so an
 *   endpoint that comes back starts with an empty list.
 * - 'timeout' (nftables affinity sets, IPVS persistence templates, Cilium's affinity map, the
 *   userspace proxy's table): one entry per client address, used while younger than the timeout
 *   (nft: the element expires T after its last `update`), refreshed by every new connection, dropped
 *   with the endpoint's set / real server / backend. A client is held by at most one live entry (a
 *   second one is only ever made after the first expired or went), so one entry per client and
 *   Service answers what a walk of the per-endpoint sets in endpoint order would.
 */
export class SessionAffinity {
  private readonly recent = new Map<number, Map<number, Map<string, RecentTables>>>();
  private readonly pins = new Map<number, Map<number, Map<number, { endpoint: string; lastNs: number }>>>();
  private readonly rcheck: RecentMatch;
  private readonly set: RecentMatch;
  private readonly result: AffinityCheck = { index: -1, checked: 0 };

  constructor(
    private readonly store: ModeModel['affinityStore'],
    private readonly timeoutNs: number,
  ) {
    const base = { kind: 'recent', module: 'recent', name: 'KUBE-SEP', hitcount: 0, rttl: false, mask: 0xffffffff, side: 'rsource', neg: false } as const;
    // kube-proxy: `--rcheck --seconds <stickyMaxAgeSeconds> --reap`, then `--set` in KUBE-SEP.
    this.rcheck = { ...base, command: 'rcheck', seconds: timeoutNs / 1e9, reap: true };
    this.set = { ...base, command: 'set', seconds: 0, reap: false };
  }

  /** Every Service of the run has this affinity (runs where Services differ use run/service-affinities.ts). */
  covers(_service: number): boolean {
    return true;
  }

  /**
   * The checks of a first packet from `client` on `node` to `service`, whose active rules hold
   * `endpoints` (in kube-proxy's endpoint order). The returned record is reused by the next call.
   */
  check(node: number, service: number, client: number, endpoints: readonly Endpoint[], nowNs: number): AffinityCheck {
    const r = this.result;
    r.index = -1;
    r.checked = endpoints.length;
    if (this.store === 'xt_recent') {
      const lists = this.recent.get(node)?.get(service);
      if (!lists) return r;
      for (let k = 0; k < endpoints.length; k++) {
        const list = lists.get(endpoints[k]!.endpoint);
        if (list && list.evaluate(this.rcheck, client, nowNs)) {
          r.index = k;
          r.checked = k + 1;
          return r;
        }
      }
      return r;
    }
    const pin = this.pins.get(node)?.get(service)?.get(client);
    if (!pin || nowNs - pin.lastNs >= this.timeoutNs) return r;
    for (let k = 0; k < endpoints.length; k++) {
      if (endpoints[k]!.endpoint === pin.endpoint) {
        r.index = k;
        r.checked = k + 1;
        return r;
      }
    }
    return r;
  }

  /** The connection was sent to `endpoint`: `--set`, `update @affinity-…`, template, map update. */
  record(node: number, service: number, client: number, endpoint: string, nowNs: number): void {
    if (this.store === 'xt_recent') {
      const lists = child(child(this.recent, node, () => new Map()), service, () => new Map());
      let list = lists.get(endpoint);
      if (!list) lists.set(endpoint, (list = new RecentTables()));
      list.evaluate(this.set, client, nowNs);
      return;
    }
    const clients = child(child(this.pins, node, () => new Map()), service, () => new Map());
    const pin = clients.get(client);
    if (pin) {
      pin.endpoint = endpoint;
      pin.lastNs = nowNs;
    } else clients.set(client, { endpoint, lastNs: nowNs });
  }

  /** The node's rules no longer hold `endpoint` (ip:port) of `service`: its list, set or entries go. */
  forget(node: number, service: number, endpoint: string): void {
    if (this.store === 'xt_recent') {
      this.recent.get(node)?.get(service)?.delete(endpoint);
      return;
    }
    const clients = this.pins.get(node)?.get(service);
    if (!clients) return;
    for (const [client, pin] of clients) if (pin.endpoint === endpoint) clients.delete(client);
  }
}

function child<K, V>(m: Map<K, V>, k: K, make: () => V): V {
  let v = m.get(k);
  if (v === undefined) m.set(k, (v = make()));
  return v;
}
