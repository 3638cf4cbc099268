import type { Simulator } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { AffinityWalk, ModeModel } from '../proxy/cost/mode-model.ts';
import type { AffinityTable } from './service-affinities.ts';
import type { LocalEndpoints } from './local-endpoints.ts';
import type { TopologyMetrics } from './topology-metrics.ts';
import { nodeOfClient } from './zones.ts';
import { LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from '../proxy/iptables/proxier.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import type { Endpoint } from '../proxy/endpoint.ts';
import type { ModelConfig } from './config.ts';
import type { Outcome, RunMetrics } from './metrics.ts';
import type { PodIPStates } from '../k8s/pod-network.ts';
import { ClientConntrack, clientIp, type OpenResult, type UdpBinding } from './client-conntrack.ts';
import { formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { sampleNs } from '../engine/distribution.ts';
import { EndpointChoice } from './endpoint-choice.ts';
import type { ConnectSetup } from './connect-setup.ts';
import { WeightedPorts } from './service-weights.ts';
import { formulaPlane, type FirstPacketPlane } from '../proxy/walk/first-packet-plane.ts';

/** Each node's own list per Service (LocalEndpoints: every Service Local; NodeEndpoints: each Service's own policy). */
export type NodeEndpointView = Pick<LocalEndpoints, 'at' | 'withoutAt'> & { clusterWide?(node: number, service: number, version: number): boolean };

export type ConnectionObserver = (node: number, service: number, ep: number | null, outcome: Outcome, now: number) => void;

/** A connection open between its handshake and its close (a record, not a closure, per connection). */
interface OpenConnection {
  model: TrafficModel;
  node: number;
  open: OpenResult;
  ep: number;
  epPort: number;
  vip: number;
  port: number;
}

/** A closed-loop client: connects, waits for the answer (or the failure), thinks, connects again. */
interface Client {
  model: TrafficModel;
  node: number;
  pod: number;
}

/**
 * Client traffic to ClusterIPs, open or closed loop. Open: new connections arrive as a Poisson
 * process over the whole cluster, each from a pod on a node chosen uniformly. Closed: a fixed number
 * of clients spread over the source nodes, each waiting for its connection to end (or fail: at once
 * for a refusal or reset, after the connect timeout for silence) and then a think time before the
 * next, so a slower data plane lowers the offered load (the usual closed-loop feedback).
 * Each connection goes to a Service chosen uniformly. The first packet is decided by
 * the client node's *active* rules (the version of its last successful sync), which is how traffic
 * still reaches pods that are gone until that node syncs. Later packets follow conntrack.
 * With ClientIP session affinity the node's data plane first looks for the endpoint it last sent the
 * client pod's address to (SessionAffinity: xt_recent lists, nft sets, IPVS templates, ...); a hit
 * goes there again, a miss chooses as usual, and either way the choice is remembered when the
 * first packet gets through conntrack (the `--set` / `update` is in the endpoint chain, which a
 * packet dropped by a full conntrack table never reaches).
 * With internalTrafficPolicy Local a node's rules hold its own endpoints only (LocalEndpoints): a
 * client there is balanced over them, and on a node with none (while the Service has endpoints
 * elsewhere) the mode drops the SYN (iptables, nftables: the client waits out its connect timeout)
 * or rejects it (ModeModel.noLocalEndpoints).
 */
export class TrafficModel {
  private readonly arrivals: RandomStream;
  private readonly pick: RandomStream;
  /** traffic.services: per-Service weights over the service ports; null: uniform. */
  private readonly weighted: WeightedPorts | null;
  private readonly endpointChoice: EndpointChoice;
  private readonly meanGapNs: number;
  private readonly requestTimes: RandomStream;
  private readonly thinkTimes: RandomStream;
  /** How each TCP connection ends; drawn only when some connections end other than cleanly. */
  private readonly endings: RandomStream | null;
  readonly conntrack: ClientConntrack;
  private readonly vips: Uint32Array;
  private readonly ipCache = new Map<string, number>();
  /** Hears every connection's outcome: node, service port, endpoint IP (null when none was chosen). For tests. */
  observer: ConnectionObserver | null = null;
  /** connectSetupLatency of every measured TCP connection that completes (connect-setup.ts). */
  connectSetup: ConnectSetup | null = null;
  /** How first packets are costed (scenario `dataPlane`): the mode's formula unless run-model.ts sets a rule walk. */
  firstPackets: FirstPacketPlane;
  /** The affinity checks of the connection being opened (one record, reused). */
  private readonly walk: AffinityWalk = { checked: 0, hit: false };
  /** Runs with zones or per-Service policies: cross-zone traffic, load per endpoint, fallbacks (topology-metrics.ts). */
  topology: TopologyMetrics | null = null;
  /** The endpoint of the connection being opened, for `topology` (null for a UDP exchange on an existing entry). */
  private current: Endpoint | null = null;
  /** cluster.zones' client shares per node (sums to 1); null: the source nodes alike. */
  private readonly clientWeights: WeightedPorts | null;

  constructor(
    private readonly sim: Simulator,
    private readonly config: ModelConfig,
    private readonly timeline: EndpointTimeline,
    private readonly agents: readonly NodeProxy[],
    private readonly mode: ModeModel,
    private readonly metrics: RunMetrics,
    private readonly pods: PodIPStates,
    private readonly affinity: AffinityTable | null = null,
    private readonly local: NodeEndpointView | null = null,
  ) {
    const weights = config.cluster.zones?.clientWeights;
    this.clientWeights = weights ? new WeightedPorts(weights) : null;
    this.arrivals = sim.rng('traffic/arrivals');
    this.pick = sim.rng('traffic/destinations');
    this.weighted = config.traffic.serviceWeights ? new WeightedPorts(config.traffic.serviceWeights) : null;
    this.endpointChoice = new EndpointChoice(mode.selection, this.pick, () => timeline.services.length);
    this.meanGapNs = 1e9 / config.traffic.connectionsPerSecond;
    this.requestTimes = sim.rng('traffic/request-time');
    this.thinkTimes = sim.rng('traffic/think-time');
    this.endings = config.traffic.halfClosedFraction + config.traffic.leftOpenFraction > 0 ? sim.rng('traffic/ending') : null;
    this.conntrack = new ClientConntrack(sim, config.conntrack.max, config.conntrack.buckets, config.conntrack.timeouts);
    this.vips = Uint32Array.from(timeline.services, (sp) => parseIPv4(sp.clusterIP));
    this.firstPackets = formulaPlane(mode);
  }

  /** The ClusterIP of service `i`, as an integer. */
  vip(i: number): number {
    return this.vips[i]!;
  }

  start(): void {
    const t = this.config.traffic;
    if (t.model === 'closed') {
      // Clients start spread over the first think time, so they do not all connect at t = 0.
      const weights = this.config.cluster.zones?.clientWeights;
      for (let i = 0; i < t.clients; i++) {
        const node = weights ? nodeOfClient(weights, i, t.clients) : this.sourceNode(i % t.sourceNodes);
        const c: Client = { model: this, node, pod: Math.floor(i / t.sourceNodes) % t.clientPodsPerNode };
        this.sim.schedule(Math.round(sampleNs(t.thinkTime, this.thinkTimes)), onClientTurn, c);
      }
    } else if (t.connectionsPerSecond > 0) this.sim.schedule(this.gap(), onArrival, this);
  }

  /** The node of the `k`th source node: itself, or the `k`th node traffic.sourceNodes names. */
  private sourceNode(k: number): number {
    const named = this.config.traffic.sourceNodeIndexes;
    return named ? named[k]! : k;
  }

  /** @internal A closed-loop client's turn: one connection, then think. */
  clientTurn(c: Client): void {
    const sim = this.sim;
    if (sim.now >= this.config.durationNs) return;
    const busy = this.connect(c.node, c.pod);
    sim.schedule(Math.max(1, Math.round(busy + sampleNs(this.config.traffic.thinkTime, this.thinkTimes))), onClientTurn, c);
  }

  private gap(): number {
    return Math.max(1, Math.round(this.arrivals.exponential(this.meanGapNs)));
  }

  /** @internal An open-loop arrival. */
  arrive(): void {
    const sim = this.sim;
    if (sim.now < this.config.durationNs) sim.schedule(this.gap(), onArrival, this);
    // With zones' client shares the source node is drawn by its share, else uniformly.
    const node = this.clientWeights ? this.clientWeights.pick(this.pick) : this.sourceNode(this.pick.integer(0, this.config.traffic.sourceNodes - 1));
    const pod = this.config.traffic.clientPodsPerNode > 1 ? this.pick.integer(0, this.config.traffic.clientPodsPerNode - 1) : 0;
    this.connect(node, pod);
  }

  /**
   * One connection from client pod `pod` on `node`: the Service and port, what the node's active rules
   * do with the first packet and what that costs; returns how long the client waits for its end.
   */
  private connect(node: number, pod: number): number {
    // A Service, then one of its ports (no draw with one port): the timeline holds service ports.
    const ports = this.config.cluster.portsPerService ?? 1;
    const service = this.weighted ? this.weighted.pick(this.pick) : ports > 1 ? this.pick.integer(0, this.config.traffic.targetServices - 1) * ports + this.pick.integer(0, ports - 1) : this.pick.integer(0, this.config.traffic.targetServices - 1);
    if (this.config.traffic.protocol === 'udp' && this.mode.natInConntrack) {
      const reused = this.conntrack.udpBinding(node, pod, this.vips[service]!, this.timeline.services[service]!.port, this.sim.now);
      this.current = null;
      if (reused) return this.udpExchange(node, pod, service, reused.ep, formatIPv4(reused.ep), reused.epPort, reused, null);
    }
    const sim = this.sim;
    const agent = this.agents[node]!;
    const version = agent.active;
    const anywhere = this.timeline.endpointsAt(service, version);
    const endpoints = this.local ? this.local.at(node, service, version) : anywhere;
    // Ports this node rejects or drops: their rules are in filter KUBE-SERVICES, not nat.
    const without = this.local ? this.local.withoutAt(node, version) : this.timeline.servicesWithoutEndpointsAt(version);
    const n = endpoints.length;
    const noLocal = n === 0 && anywhere.length > 0;
    const client = clientIp(node, pod);
    let chosen = 0;
    let walk: AffinityWalk | undefined;
    if (n > 0 && this.affinity?.covers(service)) {
      const a = this.affinity.check(node, service, client, endpoints, sim.now);
      walk = this.walk;
      walk.checked = a.checked;
      walk.hit = a.index >= 0;
      chosen = walk.hit ? a.index : this.endpointChoice.index(node, service, n);
    } else if (n > 0) chosen = this.endpointChoice.index(node, service, n);
    const withEndpoints = this.timeline.services.length - without;
    const position = servicePosition(node, agent.generation, service, n === 0 ? Math.max(1, without) : Math.max(1, withEndpoints));
    const cost = this.firstPackets.firstPacket({
      services: this.timeline.services.length,
      servicesWithoutEndpoints: without,
      position,
      endpoints: n,
      chosen,
      ...(walk ? { affinity: walk } : {}),
      ...(noLocal ? { noLocalEndpoints: true } : {}),
      // kube-proxy counts every endpoint of its state (all nodes'), whatever the policy.
      ...(this.timeline.totalEndpointsAt(version) > LARGE_CLUSTER_ENDPOINTS_THRESHOLD ? { largeCluster: true } : {}),
    }, { node, service, version, generation: agent.generation, endpoint: n > 0 ? endpoints[chosen]! : null });
    const measured = sim.now >= this.config.warmupNs;
    if (measured) {
      this.metrics.firstPacketLatency.record(cost.costNs);
      this.metrics.rulesVisited.record(cost.rulesVisited);
      if (walk) walk.hit ? this.metrics.affinityHits++ : this.metrics.affinityMisses++;
    }
    const t = this.config.traffic;
    if (measured && this.topology) this.topology.routed(service, noLocal, this.local?.clusterWide?.(node, service, version) ?? true);
    if (noLocal && this.mode.noLocalEndpoints === 'drop') {
      // kube-proxy's DROP "has no local endpoints": the SYN (or datagram) is lost; the client retries until it gives up.
      this.outcome(measured, node, service, null, 'dropped', 'no local endpoints');
      return t.connectTimeoutNs;
    }
    if (n === 0) {
      // kube-proxy's REJECT for a service without endpoints: ICMP port unreachable, at once.
      this.outcome(measured, node, service, null, 'refused', noLocal ? 'no local endpoints' : 'service has no endpoints');
      return t.rttNs;
    }
    const ep = endpoints[chosen]!;
    this.current = ep;
    if (t.protocol === 'udp') return this.udpExchange(node, pod, service, this.ip(ep.ip), ep.ip, ep.port, null, cost.costNs, walk ? ep.endpoint : null);
    return this.tcpConnection(node, pod, service, ep, cost.costNs, measured, walk ? ep.endpoint : null);
  }

  /**
   * One TCP connection to endpoint `ep`, whose first packet the node's rules sent there at a cost of
   * `firstPacketNs`: the handshake (or its failure), the requests, and how the connection ends; returns
   * how long the client waits for its end. `affinityEndpoint`: the endpoint to remember for the client
   * once the SYN gets through conntrack (ClientIP affinity), else null.
   */
  private tcpConnection(node: number, pod: number, service: number, ep: Endpoint, firstPacketNs: number, measured: boolean, affinityEndpoint: string | null): number {
    const sim = this.sim;
    const t = this.config.traffic;
    const answer = this.pods.state(ep.ip);
    const vip = this.vips[service]!;
    const port = this.timeline.services[service]!.port;
    const epIp = this.ip(ep.ip);
    // Socket-level load balancing (ebpf) connects straight to the backend: no NAT entry on the node.
    let open: OpenResult | null = null;
    if (this.mode.natInConntrack) {
      open = this.conntrack.open(node, pod, vip, port, epIp, ep.port, sim.now);
      if (open.entry < 0) {
        // The SYN never leaves the node; the client retransmits until its connect timeout.
        this.outcome(measured, node, service, epIp, 'dropped', open.dropReason ?? 'conntrack');
        return t.connectTimeoutNs;
      }
    }
    if (affinityEndpoint !== null) this.affinity!.record(node, service, clientIp(node, pod), affinityEndpoint, sim.now);
    if (answer === 'unreachable') {
      // SYN retransmits go unanswered; the SYN_SENT entry stays until its timeout.
      this.outcome(measured, node, service, epIp, 'timeout', 'endpoint does not answer');
      return t.connectTimeoutNs;
    }
    if (answer === 'refusing') {
      if (open) this.conntrack.reset(node, open, epIp, ep.port, sim.now);
      this.outcome(measured, node, service, epIp, 'reset', 'endpoint refused (RST)');
      return t.rttNs;
    }
    // SYN, SYN-ACK, ACK, then per request a request and a response packet each way with ACKs, and
    // the FIN handshake: 2 + 4 r + 4 packets after the first, each through the data plane's fast path.
    const later = 2 + 4 * t.requestsPerConnection + 4;
    const laterNs = later * this.mode.laterPacketNs();
    let lifetime = t.rttNs + firstPacketNs + laterNs;
    for (let r = 0; r < t.requestsPerConnection; r++) lifetime += t.rttNs + sampleNs(t.requestTime, this.requestTimes);
    lifetime = Math.round(lifetime);
    if (open) {
      this.conntrack.established(node, open, epIp, ep.port, vip, port, sim.now);
      const ending = this.ending();
      // A connection left open is never closed: its entry lives out the established timeout.
      if (ending !== 'left-open') {
        const c: OpenConnection = { model: this, node, open, ep: epIp, epPort: ep.port, vip, port };
        sim.schedule(lifetime, ending === 'clean' ? onClose : onServerClose, c);
      }
    }
    this.outcome(measured, node, service, epIp, 'ok');
    if (!measured) return lifetime;
    this.metrics.connectLatency.record(t.rttNs + firstPacketNs + this.mode.laterPacketNs());
    this.metrics.cpuPerConnection.record(firstPacketNs + laterNs);
    this.connectSetup?.record(node, ep.nodeName, firstPacketNs);
    return lifetime;
  }

  /**
   * One UDP exchange (requestsPerConnection request/response datagrams) from the client pod's
   * long-lived socket. Its first datagram to a Service creates the conntrack entry with the DNAT the
   * node's rules chose; later exchanges follow that entry whatever the rules say now, for as long as
   * it lives (nf_conntrack_udp_timeout, or _stream once assured), which is why kube-proxy deletes UDP
   * entries of endpoints that went away (ClientConntrack.udpCleanup). `firstPacketNs` is null when the
   * entry already existed (no rule walk). `epText` is `epIp` as the pod network names it, passed in
   * so a new exchange does not format it again. `affinityEndpoint`: the endpoint to remember for the
   * client when the datagram gets through (ClientIP affinity), else null.
   */
  private udpExchange(node: number, pod: number, service: number, epIp: number, epText: string, epPort: number, existing: UdpBinding | null, firstPacketNs: number | null, affinityEndpoint: string | null = null): number {
    const sim = this.sim;
    const t = this.config.traffic;
    const measured = sim.now >= this.config.warmupNs;
    const vip = this.vips[service]!;
    const port = this.timeline.services[service]!.port;
    let binding = existing;
    if (!binding && this.mode.natInConntrack) {
      const open = this.conntrack.udpOpen(node, pod, vip, port, epIp, epPort, sim.now);
      if (open.entry < 0) {
        this.outcome(measured, node, service, epIp, 'dropped', open.dropReason ?? 'conntrack');
        return t.connectTimeoutNs;
      }
      binding = { ep: epIp, epPort, sport: open.sport, client: open.client };
    }
    if (affinityEndpoint !== null) this.affinity!.record(node, service, clientIp(node, pod), affinityEndpoint, sim.now);
    const answer = this.pods.state(epText);
    if (answer === 'unreachable') {
      this.outcome(measured, node, service, epIp, 'timeout', 'endpoint does not answer');
      return t.connectTimeoutNs;
    }
    if (answer === 'refusing') {
      // ICMP port unreachable: the socket reports ECONNREFUSED; the conntrack entry stays.
      this.outcome(measured, node, service, epIp, 'refused', 'endpoint port unreachable (ICMP)');
      return t.rttNs;
    }
    if (binding) this.conntrack.udpReply(node, binding, sim.now);
    const laterNs = (2 * t.requestsPerConnection - (firstPacketNs === null ? 0 : 1)) * this.mode.laterPacketNs();
    let lifetime = (firstPacketNs ?? 0) + laterNs;
    for (let r = 0; r < t.requestsPerConnection; r++) lifetime += t.rttNs + sampleNs(t.requestTime, this.requestTimes);
    if (measured) {
      if (firstPacketNs !== null) this.metrics.connectLatency.record(t.rttNs + firstPacketNs + this.mode.laterPacketNs());
      this.metrics.cpuPerConnection.record((firstPacketNs ?? 0) + laterNs);
    }
    this.outcome(measured, node, service, epIp, 'ok');
    return Math.round(lifetime);
  }

  /** Counts a connection's outcome (when measured) and tells the observer, if any, warm-up included. */
  private outcome(measured: boolean, node: number, service: number, ep: number | null, outcome: Outcome, reason?: string): void {
    if (measured) this.metrics.connection(this.sim.now, outcome, reason);
    if (measured && outcome === 'ok' && this.topology && this.current) this.topology.success(node, service, this.current);
    this.observer?.(node, service, ep, outcome, this.sim.now);
  }

  /** @internal */
  close(c: OpenConnection): void {
    this.conntrack.close(c.node, c.open, c.ep, c.epPort, c.vip, c.port, this.sim.now);
  }

  /** @internal The server closed; the client never will (CLOSE_WAIT). */
  serverClose(c: OpenConnection): void {
    this.conntrack.serverCloseUnanswered(c.node, c.open, c.ep, c.epPort, c.vip, c.port, this.sim.now);
  }

  /** How a TCP connection ends: cleanly (client first, TIME_WAIT), half-closed (CLOSE_WAIT) or left open. */
  private ending(): 'clean' | 'half-closed' | 'left-open' {
    if (!this.endings) return 'clean';
    const u = this.endings.random();
    const t = this.config.traffic;
    if (u < t.halfClosedFraction) return 'half-closed';
    if (u < t.halfClosedFraction + t.leftOpenFraction) return 'left-open';
    return 'clean';
  }

  private ip(text: string): number {
    let v = this.ipCache.get(text);
    if (v === undefined) this.ipCache.set(text, (v = parseIPv4(text)));
    return v;
  }
}

const onArrival = (t: TrafficModel) => t.arrive();
const onClientTurn = (c: Client) => c.model.clientTurn(c);
const onClose = (c: OpenConnection) => c.model.close(c);
const onServerClose = (c: OpenConnection) => c.model.serverClose(c);

/**
 * A service's position in a chain written in Go map order: uniform over [0, size), fixed for one
 * node between two syncs and redrawn at each sync. A hash of (node, sync generation, service)
 * stands in for the permutation so that no per-sync O(services) shuffle is needed (murmur3's fmix32).
 */
export function servicePosition(node: number, generation: number, service: number, size: number): number {
  let h = Math.imul(node + 1, 0x9e3779b1) ^ Math.imul(generation + 1, 0x85ebca6b) ^ Math.imul(service + 1, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % size;
}
