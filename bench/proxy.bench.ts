/**
 * kube-proxy's programming cost per mode against service count (issue 5's benchmark).
 *
 * Cluster: `services` ClusterIP service ports with 3 ready endpoints each (the n=3 case of
 * `--probability 0.3333333333`), pods spread over 5,000 nodes, this node is node-0; cluster CIDR
 * 10.244.0.0/16 so iptables mode writes its `! -s CIDR -j KUBE-MARK-MASQ` rule per service.
 *
 * Rule generators (sim/proxy/<mode>/proxier.ts, the code `svcsim render` prints), wall-clock:
 * - `proxy/<mode> full sync`: a new proxier's first sync (kube-proxy at start-up): the whole
 *   iptables-restore input / nft transaction / set of ipvs netlink requests and ipset entries.
 * - `proxy/<mode> partial sync`: one service's endpoints change (3 -> 2 -> 3, alternating) on a
 *   proxier that already synced: iptables and nftables write only that service's chains
 *   (MinimizeIPTablesRestore, nftables partial sync); ipvs reconciles every virtual server as
 *   kube-proxy's ipvs proxier does and changes only the one real server.
 * Figures beside the timing: what the generator produced (lines, objects, bytes of text) and what the
 * mode model (sim/proxy/cost, the run model's per-mode costs from sim/cost/cost-model.ts) charges for
 * the same work: simulated sync duration and its unit count, so the two can be compared.
 *
 * Sync loop, all five modes (sim/proxy/sync: EndpointTimeline shared by every node, one node proxy
 * per node: kube-proxy's ProxyAgent with its BoundedFrequencyRunner for iptables, nftables and ipvs,
 * the Cilium-like agent for ebpf, the userspace proxier's balancer for userspace), wall-clock:
 * - `proxy/sync loop mode=<m> nodes=5000`: one endpoint change heard by 5,000 nodes, each running
 *   its update in simulated time (the simulator's cost of one change cluster-wide).
 * Figures: the simulated network programming time of those changes (heard to active, per node, mean
 * over the timed changes: simProgrammingMs), the simulated full and partial sync durations per node
 * from the mode model, the
 * simulated CPU cost of a new connection's first packet (service at the middle of KUBE-SERVICES,
 * the mean over Go's random map order) and of a later packet, and the heap (after a forced gc) of
 * what every node shares (service ports, endpoints and the EndpointTimeline: timelineHeapMB) and of
 * the 5,000 agents on top of it (agentsHeapMB), i.e. the scale check of 5,000 nodes x 10,000
 * services: no node holds rule text; a node is the timeline version it heard and the one it runs.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Simulator } from '../sim/engine/simulator.ts';
import { HOUR, SECOND } from '../sim/engine/time.ts';
import { DEFAULT_COSTS } from '../sim/cost/cost-model.ts';
import type { Endpoint } from '../sim/proxy/endpoint.ts';
import { IptablesProxier, type IptablesSyncResult } from '../sim/proxy/iptables/proxier.ts';
import { IpvsProxier } from '../sim/proxy/ipvs/proxier.ts';
import { modeModel, type ModeModel, type SyncWork } from '../sim/proxy/cost/index.ts';
import { PROXY_MODES, type ProxyMode } from '../sim/proxy/mode.ts';
import { NftablesProxier } from '../sim/proxy/nftables/proxier.ts';
import type { ProxyState } from '../sim/proxy/proxy-state.ts';
import type { ServicePort } from '../sim/proxy/service-port.ts';
import { EndpointTimeline } from '../sim/proxy/sync/endpoint-timeline.ts';
import type { SyncObserver } from '../sim/proxy/sync/proxy-agent.ts';
import { nodeProxy, type NodeProxy } from '../sim/proxy/sync/node-proxy.ts';
import { syntheticEndpoints as syntheticCluster } from '../sim/run/synthetic-endpoints.ts';
import type { BenchSuite, BenchTask } from './suite.ts';

const NODES = 5000;
const ENDPOINTS = 3;
const NODE = 'node-0';
const CLUSTER_CIDR = '10.244.0.0/16';
const NODE_IP = '192.168.0.10';

interface Cluster {
  ports: ServicePort[];
  endpoints: Endpoint[][];
  /** Every service with its 3 endpoints. */
  state: ProxyState;
  /** The same with service 0 down to 2 endpoints. */
  changed: ProxyState;
  changedService: ReadonlySet<string>;
}

function cluster(services: number): Cluster {
  const c = syntheticCluster({ nodes: NODES, services, endpointsPerService: ENDPOINTS, port: 80, protocol: 'TCP', clusterCIDR: CLUSTER_CIDR });
  const byId = new Map(c.ports.map((p) => [p.id, p]));
  const eps = new Map<string, readonly Endpoint[]>(c.ports.map((p, i) => [p.id, c.endpoints[i]!]));
  const eps2 = new Map(eps);
  eps2.set(c.ports[0]!.id, c.endpoints[0]!.slice(1));
  return {
    ports: c.ports,
    endpoints: c.endpoints,
    state: { services: byId, endpoints: eps },
    changed: { services: byId, endpoints: eps2 },
    changedService: new Set([`${c.ports[0]!.portName.namespace}/${c.ports[0]!.portName.name}`]),
  };
}

function model(mode: ProxyMode): ModeModel {
  return modeModel(mode, { costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
}

/** What the mode model is told about a full sync, and about the one-service change. */
function work(services: number, full: boolean): SyncWork {
  return { full, services, servicesWithoutEndpoints: 0, endpoints: services * ENDPOINTS, changed: full ? [] : [{ before: ENDPOINTS, after: ENDPOINTS - 1 }] };
}

function simulated(mode: ProxyMode, services: number): Record<string, number> {
  const m = model(mode);
  const full = m.syncCost(work(services, true));
  const partial = m.syncCost(work(services, false));
  const first = m.firstPacket({ services, servicesWithoutEndpoints: 0, position: Math.floor((services - 1) / 2), endpoints: ENDPOINTS, chosen: 1 });
  return {
    simFullSyncMs: full.durationNs / 1e6,
    simFullSyncUnits: full.units,
    simPartialSyncMs: partial.durationNs / 1e6,
    simPartialSyncUnits: partial.units,
    simFirstPacketNs: Math.round(first.costNs),
    simFirstPacketRules: first.rulesVisited,
    simLaterPacketNs: Math.round(m.laterPacketNs()),
  };
}

function textBytes(chunks: readonly string[]): number {
  let n = 0;
  for (const c of chunks) n += c.length;
  return n;
}

function iptablesTasks(services: number): BenchTask[] {
  let c: Cluster | null = null;
  let last: IptablesSyncResult | null = null;
  let proxier: IptablesProxier | null = null;
  let flip = false;
  const options = { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR };
  const sim = simulated('iptables', services);
  return [
    {
      name: `proxy/iptables full sync services=${services}`,
      beforeAll: () => {
        c = cluster(services);
      },
      fn: () => {
        last = new IptablesProxier(options).sync({ state: c!.state, full: true });
      },
      afterAll: () => {
        c = null;
        last = null;
      },
      figures: () => ({ restoreLines: last!.restoreLines, restoreBytes: textBytes(last!.chunks), natRules: last!.natRulesTotal, simFullSyncMs: sim.simFullSyncMs!, simFullSyncUnits: sim.simFullSyncUnits! }),
    },
    {
      name: `proxy/iptables partial sync services=${services}`,
      beforeAll: () => {
        c = cluster(services);
        proxier = new IptablesProxier(options);
        last = proxier.sync({ state: c.state, full: true });
      },
      fn: () => {
        flip = !flip;
        last = proxier!.sync({
          state: flip ? c!.changed : c!.state,
          full: false,
          changedServices: c!.changedService,
          existingNatChains: last!.kernelNatChains,
        });
      },
      afterAll: () => {
        c = null;
        last = null;
        proxier = null;
      },
      figures: () => ({ restoreLines: last!.restoreLines, skippedNatRuleLines: last!.skippedNatRuleLines, simPartialSyncMs: sim.simPartialSyncMs!, simPartialSyncUnits: sim.simPartialSyncUnits! }),
    },
  ];
}

function nftablesTasks(services: number): BenchTask[] {
  let c: Cluster | null = null;
  let proxier: NftablesProxier | null = null;
  let lines = 0;
  let flip = false;
  let now = 0;
  const options = { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR, serviceCIDRs: ['10.96.0.0/12'] };
  const sim = simulated('nftables', services);
  return [
    {
      name: `proxy/nftables full sync services=${services}`,
      beforeAll: () => {
        c = cluster(services);
      },
      fn: () => {
        lines = new NftablesProxier(options).sync({ state: c!.state, full: true }).lines;
      },
      afterAll: () => {
        c = null;
      },
      figures: () => ({ nftLines: lines, simFullSyncMs: sim.simFullSyncMs!, simFullSyncUnits: sim.simFullSyncUnits! }),
    },
    {
      name: `proxy/nftables partial sync services=${services}`,
      beforeAll: () => {
        c = cluster(services);
        proxier = new NftablesProxier(options);
        proxier.sync({ state: c.state, full: true, nowNs: now });
      },
      fn: () => {
        flip = !flip;
        // Two simulated seconds apart, so the chains a change left stale are deleted by the next sync.
        now += 2 * SECOND;
        lines = proxier!.sync({ state: flip ? c!.changed : c!.state, full: false, changedServices: c!.changedService, nowNs: now }).lines;
      },
      afterAll: () => {
        c = null;
        proxier = null;
      },
      figures: () => ({ nftLines: lines, simPartialSyncMs: sim.simPartialSyncMs!, simPartialSyncUnits: sim.simPartialSyncUnits! }),
    },
  ];
}

function ipvsTasks(services: number): BenchTask[] {
  let c: Cluster | null = null;
  let proxier: IpvsProxier | null = null;
  let objects = 0;
  let restoreLines = 0;
  let flip = false;
  const options = { nodeName: NODE, nodeIP: NODE_IP, clusterCIDR: CLUSTER_CIDR };
  const sim = simulated('ipvs', services);
  return [
    {
      name: `proxy/ipvs full sync services=${services}`,
      beforeAll: () => {
        c = cluster(services);
      },
      fn: () => {
        const r = new IpvsProxier(options).sync(c!.state);
        objects = r.objectsChanged;
        restoreLines = r.restoreLines.length;
      },
      afterAll: () => {
        c = null;
      },
      figures: () => ({ objectsChanged: objects, restoreLines, simFullSyncMs: sim.simFullSyncMs!, simFullSyncUnits: sim.simFullSyncUnits! }),
    },
    {
      name: `proxy/ipvs partial sync services=${services}`,
      beforeAll: () => {
        c = cluster(services);
        proxier = new IpvsProxier(options);
        proxier.sync(c.state);
      },
      fn: () => {
        flip = !flip;
        // No connections through the removed TCP real server: GracefulDeleteRS deletes it at once,
        // so each call removes or re-adds one real server.
        const r = proxier!.sync(flip ? c!.changed : c!.state);
        objects = r.objectsChanged;
      },
      afterAll: () => {
        c = null;
        proxier = null;
      },
      figures: () => ({ objectsChanged: objects, simPartialSyncMs: sim.simPartialSyncMs!, simPartialSyncUnits: sim.simPartialSyncUnits! }),
    },
  ];
}

/** A forced full gc, so heap figures count live objects only (the harness runs without --expose-gc). */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function syncLoopTask(mode: ProxyMode, services: number): BenchTask {
  let sim: Simulator | null = null;
  let timeline: EndpointTimeline | null = null;
  let agents: NodeProxy[] = [];
  let c: Cluster | null = null;
  let syncs = 0;
  /** Simulated time from a change being heard to its rules being active, summed over node updates. */
  let heardAt = 0;
  let programmingNs = 0;
  let programmed = 0;
  let heapTimeline = 0;
  let heapAgents = 0;
  let k = 0;
  const observer: SyncObserver = {
    onSyncEnd: (_node, from, to, now, ok) => {
      syncs++;
      if (ok && to > from && heardAt > 0) {
        programmingNs += now - heardAt;
        programmed++;
      }
    },
  };
  const sims = simulated(mode, services);
  return {
    name: `proxy/sync loop mode=${mode} nodes=${NODES} services=${services}`,
    beforeAll: () => {
      gc();
      const h0 = process.memoryUsage().heapUsed;
      c = cluster(services);
      timeline = new EndpointTimeline();
      c.ports.forEach((p, i) => timeline!.addService(p, c!.endpoints[i]!));
      gc();
      const h1 = process.memoryUsage().heapUsed;
      sim = new Simulator({ seed: 1 });
      const m = model(mode);
      const options = { intervals: { minInterval: SECOND, retryInterval: 30 * SECOND, maxInterval: HOUR }, syncFailureProbability: 0, fullSyncPeriodNs: HOUR };
      agents = Array.from({ length: NODES }, (_, n) => nodeProxy(sim!, n, timeline!, m, options, observer));
      for (const a of agents) a.startLoop();
      // Past every node's start-up full sync and its minSyncPeriod cool-down.
      sim.run(sim.now + 60 * SECOND);
      gc();
      heapTimeline = h1 - h0;
      heapAgents = process.memoryUsage().heapUsed - h1;
    },
    fn: () => {
      // One endpoint change (service k's endpoints drop one, or come back), heard by every node at once.
      const s = k % services;
      const list = c!.endpoints[s]!;
      const back = timeline!.endpointsAt(s, timeline!.version).length < list.length;
      const v = timeline!.apply(s, back ? list : list.slice(1), sim!.now);
      k++;
      heardAt = sim!.now;
      for (const a of agents) a.heardUpTo(v);
      sim!.run(sim!.now + 10 * SECOND);
    },
    afterAll: () => {
      sim = null;
      timeline = null;
      agents = [];
      c = null;
    },
    per: { unit: 'node sync', count: NODES },
    figures: () => ({
      simProgrammingMs: programmed > 0 ? Math.round(programmingNs / programmed / 1e3) / 1e3 : NaN,
      simFullSyncMs: sims.simFullSyncMs!,
      simPartialSyncMs: sims.simPartialSyncMs!,
      simFirstPacketNs: sims.simFirstPacketNs!,
      simFirstPacketRules: sims.simFirstPacketRules!,
      simLaterPacketNs: sims.simLaterPacketNs!,
      timelineHeapMB: Math.round(heapTimeline / 1e5) / 10,
      agentsHeapMB: Math.round(heapAgents / 1e5) / 10,
      agentHeapBytes: Math.round(heapAgents / NODES),
    }),
  };
}

const suite: BenchSuite = {
  name: 'proxy',
  tasks: ({ quick }) => {
    const sizes = quick ? [1_000] : [1_000, 10_000];
    const tasks: BenchTask[] = [];
    for (const s of sizes) tasks.push(...iptablesTasks(s), ...nftablesTasks(s), ...ipvsTasks(s));
    // The sync loop's simulator cost hardly depends on the mode (only the simulated durations do):
    // the quick form (CI) keeps one mode.
    if (quick) tasks.push(syncLoopTask('iptables', 1_000));
    else for (const m of PROXY_MODES) for (const s of [1_000, 10_000]) tasks.push(syncLoopTask(m, s));
    return tasks;
  },
};

export default suite;
