import type { Simulator } from '../engine/simulator.ts';
import type { ControlPlane, SliceCommit } from '../k8s/control-plane.ts';
import type { EndpointSlice, Pod } from '../k8s/objects.ts';
import type { WatchEvent } from '../k8s/apiserver.ts';
import { COREDNS_NAMESPACE } from '../k8s/coredns.ts';
import type { PodIPStates } from '../k8s/pod-network.ts';
import { compareEndpoints, type Endpoint } from '../proxy/endpoint.ts';
import { endpointsFromSlices } from '../proxy/from-api.ts';
import { categorizeEndpoints } from '../proxy/topology.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import { servicePortNameId, type ServicePort } from '../proxy/service-port.ts';
import type { ClientConntrack } from './client-conntrack.ts';
import type { ModelConfig } from './config.ts';
import type { DnsRunConfig } from './dns-config.ts';
import type { ControlPlaneFeed } from './control-plane-feed.ts';
import { addStaticKubeDns, DNS_RUN_FIRST_SERVICE_OFFSET, kubeDnsPorts, staticCoreDnsEndpoints, type DnsServicePorts } from './dns-cluster.ts';
import { DnsRun } from './dns-run.ts';

/**
 * Where a run with DNS hooks into run-model.ts: the kube-dns Service in the cluster (static, or
 * through the control plane and its feed), then the lookups. Runs without DNS call none of this
 * beyond `firstClusterIP` and `add`, which then change nothing.
 */
export type DnsParts = DnsServicePorts;

export const dnsCluster = {
  /** The workload Services' first ClusterIP offset: after kube-dns and kube-dns-upstream in a run with DNS. */
  firstClusterIP(config: ModelConfig): { firstClusterIP?: number } {
    return config.dns ? { firstClusterIP: DNS_RUN_FIRST_SERVICE_OFFSET } : {};
  },

  /** The control plane's options for CoreDNS (coredns.ts), in a run with DNS. */
  controlPlaneOptions(config: ModelConfig): { coreDns?: { replicas: number; clusterIP: string; upstreamIP?: string } } {
    const dns = config.dns;
    if (!dns) return {};
    const { clusterIP, upstreamIP } = kubeDnsPorts(config.cluster.serviceCIDR, dns.nodeLocalCache);
    return { coreDns: { replicas: dns.coredns.replicas, clusterIP, ...(upstreamIP ? { upstreamIP } : {}) } };
  },

  /** Registers the kube-dns service ports in the timeline; null without DNS. */
  add(config: ModelConfig, timeline: EndpointTimeline, cp: ControlPlane | null, feed: ControlPlaneFeed | null): DnsServicePorts | null {
    const dns = config.dns;
    if (!dns) return null;
    if (cp && feed) return new KubeDnsFeed(cp, feed, timeline, config.cluster.serviceCIDR, dns).ports;
    const c = config.cluster;
    const endpoints = staticCoreDnsEndpoints({ clusterCIDR: c.clusterCIDR, nodes: c.nodes, workloadPods: c.services * c.endpointsPerService, replicas: dns.coredns.replicas });
    return addStaticKubeDns(timeline, c.serviceCIDR, dns.nodeLocalCache, endpoints);
  },
};

/** Builds the lookups of a run with DNS over the run's data plane. */
export function startDns(
  sim: Simulator,
  config: ModelConfig,
  ports: DnsServicePorts,
  parts: { timeline: EndpointTimeline; agents: readonly NodeProxy[]; mode: ModeModel; conntrack: ClientConntrack; pods: PodIPStates; controlPlane: ControlPlane | null },
): DnsRun {
  const run = new DnsRun(sim, config as ModelConfig & { dns: DnsRunConfig }, parts.timeline, parts.agents, parts.mode, parts.conntrack, parts.pods, ports);
  if (parts.controlPlane) sigtermOnDelete(parts.controlPlane, run);
  return run;
}

/**
 * The kubelet kills a deleted pod's containers with SIGTERM when it hears of the deletion (its pod
 * watch: the API's watch delay); for a CoreDNS pod that starts health's lameduck. A delete with grace
 * 0 needs no signal: the pod's IP stops answering at once (the control plane's pod network).
 */
function sigtermOnDelete(cp: ControlPlane, run: DnsRun): void {
  cp.api.watch({
    name: 'kubelet/coredns-sigterm',
    kind: 'Pod',
    sendInitialEvents: false,
    handler: (e) => {
      const pod = (e as WatchEvent<Pod>).object;
      if (e.type === 'DELETED' || pod.metadata.namespace !== COREDNS_NAMESPACE || pod.metadata.deletionTimestamp === undefined) return;
      const ip = pod.status?.podIP;
      if (ip) run.traffic.terminate(ip);
    },
  });
}

/**
 * The kube-dns (and kube-dns-upstream) slices as kube-proxy hears them, onto their service ports in
 * the timeline: what ControlPlaneFeed does for the workload's Services, for Services whose ports
 * differ in protocol (53/UDP and 53/TCP), so each port keeps its own endpoints.
 */
class KubeDnsFeed {
  readonly ports: DnsServicePorts;
  private readonly servicePorts: ServicePort[];
  private readonly indexes: number[];
  private readonly slices = new Map<string, Map<string, EndpointSlice>>();

  constructor(
    cp: ControlPlane,
    feed: ControlPlaneFeed,
    private readonly timeline: EndpointTimeline,
    serviceCIDR: string | undefined,
    dns: DnsRunConfig,
  ) {
    const { ports, clusterIP, upstreamIP } = kubeDnsPorts(serviceCIDR, dns.nodeLocalCache);
    this.servicePorts = ports;
    for (const sp of ports) this.slices.set(`${sp.portName.namespace}/${sp.portName.name}`, new Map());
    for (const slice of cp.endpointSlices()) this.slices.get(serviceKey(slice))?.set(slice.metadata.name!, slice);
    this.indexes = ports.map((sp) => {
      const { programmed, serving } = this.programmed(sp);
      return timeline.addService(sp, programmed, serving);
    });
    this.ports = { udp: this.indexes[0]!, tcp: this.indexes[1]!, upstreamTcp: this.indexes[2] ?? -1, clusterIP, upstreamIP };
    feed.other = (c) => this.commit(c);
  }

  private commit(c: SliceCommit): void {
    const byName = this.slices.get(c.service);
    if (!byName) return;
    if (c.type === 'DELETED') byName.delete(c.slice.metadata.name!);
    else byName.set(c.slice.metadata.name!, c.slice);
    this.servicePorts.forEach((sp, k) => {
      if (`${sp.portName.namespace}/${sp.portName.name}` !== c.service) return;
      const i = this.indexes[k]!;
      const v = this.timeline.version;
      const { programmed, serving } = this.programmed(sp);
      if (!same(this.timeline.endpointsAt(i, v), programmed) || !same(this.timeline.servingAt(i, v), serving)) this.timeline.apply(i, programmed, c.triggerTime, c.stoppedAt, serving);
    });
  }

  /** kube-proxy's Cluster-policy endpoints of one port (ready, else serving-terminating) and every serving one. */
  private programmed(sp: ServicePort): { programmed: Endpoint[]; serving: Endpoint[] } {
    const merged = endpointsFromSlices([...this.slices.get(`${sp.portName.namespace}/${sp.portName.name}`)!.values()], '');
    const all = merged.get(servicePortNameId(sp.portName)) ?? [];
    const serving = all.filter((e) => e.serving).sort(compareEndpoints);
    return { programmed: [...categorizeEndpoints(all, sp, { nodeName: '', zone: '' }).clusterEndpoints], serving };
  }
}

function serviceKey(slice: EndpointSlice): string {
  return `${slice.metadata.namespace ?? 'default'}/${slice.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`;
}

function same(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k]!.endpoint !== b[k]!.endpoint || a[k]!.ready !== b[k]!.ready) return false;
  return true;
}
