import type { NodeTopology } from '../topology.ts';

/**
 * Which topology hints the run's EndpointSlices may carry, by the Services' policies: zone hints
 * (topology-mode Auto, trafficDistribution PreferClose / PreferSameZone), or node hints as well
 * (PreferSameNode, whose endpoints carry hints.forNodes).
 */
export type WalkHints = 'none' | 'zone' | 'node';

/**
 * The nodes whose kube-proxies write identical ClusterIP rules, so that the walk builds and compiles
 * each distinct rule set once. A node's proxier narrows each Service's endpoints by its own name and
 * zone (pkg/proxy/topology.go CategorizeEndpoints, sim/proxy/topology.ts): internalTrafficPolicy
 * Local keeps the endpoints whose nodeName is the node's, hints.forNodes those hinted for the node's
 * name, hints.forZones those for its zone. So rules are per node with a Local Service or node hints,
 * per zone with zone hints only, and shared by all nodes otherwise (the name and zone then enter no
 * rule a pod's ClusterIP packet reaches).
 */
export class NodeGroups {
  readonly scope: 'cluster' | 'zone' | 'node';
  private readonly groupOfNode: number[];
  /** Per group: the node whose name, zone and address its proxier is given. */
  private readonly representative: number[] = [];

  constructor(
    private readonly nodeNames: readonly string[],
    private readonly nodeZones: readonly string[] | null,
    hints: WalkHints,
    /** Some service port has internalTrafficPolicy Local. */
    private readonly anyLocal: boolean,
  ) {
    this.scope = anyLocal || hints === 'node' ? 'node' : hints === 'zone' && nodeZones ? 'zone' : 'cluster';
    const byKey = new Map<string, number>();
    this.groupOfNode = nodeNames.map((name, n) => {
      const key = this.scope === 'node' ? name : this.scope === 'zone' ? nodeZones![n]! : '';
      let g = byKey.get(key);
      if (g === undefined) {
        byKey.set(key, (g = this.representative.length));
        this.representative.push(n);
      }
      return g;
    });
  }

  group(node: number): number {
    return this.groupOfNode[node] ?? 0;
  }

  /** The node index whose proxier writes group `g`'s rules. */
  node(g: number): number {
    return this.representative[g] ?? 0;
  }

  /** The name and zone group `g`'s proxier is given. */
  topology(g: number): NodeTopology {
    const n = this.node(g);
    return { nodeName: this.nodeNames[n] ?? `node-${n}`, zone: this.nodeZones?.[n] ?? '' };
  }

  /** The node name whose endpoints the group's state marks local (isLocal), or null when no Service is Local. */
  localName(g: number): string | null {
    return this.anyLocal ? this.topology(g).nodeName : null;
  }
}
