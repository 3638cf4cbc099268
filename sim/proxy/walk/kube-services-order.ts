import type { Rule } from '../../netfilter/rule.ts';
import type { ChainReplacement } from '../../netfilter/recompile.ts';
import type { Chain, Ruleset, TableName } from '../../netfilter/ruleset.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import { KUBE_SERVICES } from '../iptables/chain-names.ts';
import type { ServicePort } from '../service-port.ts';
import type { ServiceOrder } from './walk-setup.ts';

/**
 * The order of a node's KUBE-SERVICES chains (nat: a jump per service port with endpoints; filter:
 * a REJECT or DROP per port without) in one sync generation. kube-proxy writes them in Go map order,
 * new at every sync (pkg/proxy/iptables/proxier.go ranges over its svcPortMap, and Go randomises map
 * iteration), and the formula stands for that order with servicePosition (run/traffic.ts), a hash of
 * (node, generation, port) over the chain's size. A chain must be a permutation and the hash is not
 * (two ports can share a value), so the rules are sorted by (hash, port): each port gets the rank of
 * its hash, the permutation nearest the formula's positions, uniform and redrawn per sync as
 * kube-proxy's. The two tiers then cost one connection nearly alike, not only alike on average.
 */
export class KubeServicesOrder {
  /** Service port key (ClusterIP * 65536 + port) -> timeline index. */
  private readonly serviceOf = new Map<number, number>();

  constructor(
    ports: readonly ServicePort[],
    private readonly order: ServiceOrder,
  ) {
    ports.forEach((sp, i) => this.serviceOf.set(parseIPv4(sp.clusterIP) * 65536 + sp.port, i));
  }

  /** nat and filter KUBE-SERVICES of `rs` in node `node`'s order for `generation`. */
  replacements(rs: Ruleset, node: number, generation: number): ChainReplacement[] {
    const out: ChainReplacement[] = [];
    for (const table of ['nat', 'filter'] as TableName[]) {
      const chain = rs.tables.get(table)?.chains.get(KUBE_SERVICES);
      if (chain) out.push({ table, chain: this.orderedChain(chain, node, generation) });
    }
    return out;
  }

  /**
   * The chain's per-service-port rules (`-d CLUSTER_IP/32 ... --dport PORT`) sorted by
   * (servicePosition over their count, service port), where they stood; the other rules (the
   * KUBE-NODEPORTS jump that kube-proxy appends last) keep their places.
   */
  private orderedChain(chain: Chain, node: number, generation: number): Chain {
    const slots: number[] = [];
    const keyed: { rule: Rule; service: number }[] = [];
    chain.rules.forEach((rule, k) => {
      const service = this.serviceOfRule(rule);
      if (service === undefined) return;
      slots.push(k);
      keyed.push({ rule, service });
    });
    const size = Math.max(1, keyed.length);
    const order = this.order;
    const sorted = keyed.map((r) => ({ ...r, position: order(node, generation, r.service, size) })).sort((a, b) => a.position - b.position || a.service - b.service);
    const rules = chain.rules.slice();
    slots.forEach((k, i) => (rules[k] = sorted[i]!.rule));
    return { ...chain, rules };
  }

  private serviceOfRule(r: Rule): number | undefined {
    if (r.dst === null || r.dst.prefix !== 32) return undefined;
    const port = r.matches.find((m) => m.kind === 'port');
    const dport = port?.kind === 'port' ? port.dport : null;
    return dport === null ? undefined : this.serviceOf.get(r.dst.addr * 65536 + dport.lo);
  }
}
