/**
 * The EndpointSlice controller's topology side (kubernetes/kubernetes
 * pkg/controller/endpointslice/endpointslice_controller.go): a Node informer whose add, delete, and
 * updates that change readiness or the topology.kubernetes.io/zone label queue the topology work
 * item (addNode, updateNode, deleteNode); its worker (checkNodeTopologyDistribution) hands every
 * node to the TopologyCache (SetNodes) and queues each Service whose hints are now overloaded
 * (GetOverloadedServices). A change of allocatable CPU alone queues nothing, as upstream.
 *
 * The topology queue has one worker and holds one key, so queued work collapses into one check; the
 * check itself takes no simulated time. It also counts the hint events each sync records.
 */
import type { ApiServer, WatchEvent } from './apiserver.ts';
import type { Node } from './objects.ts';
import { LABEL_TOPOLOGY_ZONE } from './pod-endpoint.ts';
import { topologyNodeOf, type HintsEvent, type TopologyCache } from './topology-cache.ts';
import type { HintsContext } from './topology-hints-reconcile.ts';

export interface HintsStats {
  /** TopologyAwareHintsDisabled events of Services asking for Auto: each sync that found it could not give (or keep) hints. */
  fallbackEvents: number;
  /** TopologyAwareHintsEnabled events: a Service asking for Auto got hints it did not have. */
  enabledEvents: number;
  /** Services whose last sync left hints: Auto with hints populated, or a valid trafficDistribution. */
  servicesWithHints: number;
}

export class EndpointSliceTopology {
  readonly context: HintsContext;
  readonly stats: HintsStats = { fallbackEvents: 0, enabledEvents: 0, servicesWithHints: 0 };
  /** Each event recorded on a Service (metrics hook). */
  onEvent?: (service: string, e: HintsEvent) => void;
  private readonly nodes = new Map<string, Node>();
  private readonly withHints = new Set<string>();

  constructor(
    private readonly api: ApiServer,
    cache: TopologyCache,
    /** Queues a Service key for sync (serviceQueue.Add). */
    private readonly requeue: (serviceKey: string) => void,
  ) {
    this.context = { cache };
  }

  /** The informer's LIST (the first check runs before the first syncs), then its WATCH. */
  start(): void {
    for (const n of this.api.list<Node>('Node')) this.nodes.set(n.metadata.name, n);
    this.context.cache.setNodes([...this.nodes.values()].map(topologyNodeOf));
    this.api.watch({ name: 'kube-controller-manager/endpointslice', kind: 'Node', sendInitialEvents: false, handler: (e) => this.onNode(e as WatchEvent<Node>) });
  }

  private onNode(e: WatchEvent<Node>): void {
    const old = this.nodes.get(e.key);
    if (e.type === 'DELETED') this.nodes.delete(e.key);
    else this.nodes.set(e.key, e.object);
    if (e.type === 'MODIFIED' && old && !topologyChanged(old, e.object)) return;
    this.checkNodeTopologyDistribution();
  }

  private checkNodeTopologyDistribution(): void {
    this.context.cache.setNodes([...this.nodes.values()].map(topologyNodeOf));
    for (const key of this.context.cache.overloadedServices()) this.requeue(key);
  }

  /** After a sync of `serviceKey`: count its events and whether it has hints now. */
  synced(serviceKey: string, r: { events: HintsEvent[]; auto: boolean; trafficDistribution: boolean } | undefined): void {
    const auto = r?.auto ?? false;
    for (const e of r?.events ?? []) {
      if (e.reason === 'TopologyAwareHintsEnabled') this.stats.enabledEvents++;
      else if (auto) this.stats.fallbackEvents++;
      this.onEvent?.(serviceKey, e);
    }
    const has = (auto && this.context.cache.hasPopulatedHints(serviceKey)) || (r?.trafficDistribution ?? false);
    if (has) this.withHints.add(serviceKey);
    else this.withHints.delete(serviceKey);
    this.stats.servicesWithHints = this.withHints.size;
  }

  serviceDeleted(serviceKey: string): void {
    this.withHints.delete(serviceKey);
    this.stats.servicesWithHints = this.withHints.size;
  }
}

/** updateNode's test: readiness or the zone label changed. */
function topologyChanged(a: Node, b: Node): boolean {
  const ready = (n: Node) => n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  return ready(a) !== ready(b) || a.metadata.labels?.[LABEL_TOPOLOGY_ZONE] !== b.metadata.labels?.[LABEL_TOPOLOGY_ZONE];
}
