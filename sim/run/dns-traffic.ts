import type { Simulator, EventHandle } from '../engine/simulator.ts';
import type { RandomStream } from '../engine/random.ts';
import type { DnsAnswer, DnsQuery, ResolverSession, ResolverStep } from '../dns/types.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import type { NodeProxy } from '../proxy/sync/node-proxy.ts';
import type { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { makeEndpoint, type Endpoint } from '../proxy/endpoint.ts';
import type { PodIPStates } from '../k8s/pod-network.ts';
import type { ConntrackTable } from '../conntrack/table.ts';
import { CtLookup } from '../conntrack/common.ts';
import { makePacket, TCP_SYN, type Packet } from '../net/packet.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import { formatIPv4, parseIPv4 } from '../net/ipv4.ts';
import { servicePosition } from './traffic.ts';
import { clientIp, type ClientConntrack } from './client-conntrack.ts';
import type { DnsRunConfig, LookupNameKind } from './dns-config.ts';
import { LOOKUP_NAME_KINDS } from './dns-config.ts';
import type { DnsServicePorts } from './dns-cluster.ts';
import { DNS_PORT } from './dns-cluster.ts';
import { CoreDnsReplica, kubeadmCoreDns, type CoreDnsConfig } from '../dns/coredns/replica.ts';
import { NodeLocalDnsCache, nodeLocalDnsDefaults } from '../dns/node-local-cache.ts';
import { simulatedUpstream, type UpstreamExchange } from '../dns/coredns/forward.ts';
import type { CostModel } from '../cost/cost-model.ts';
import { lookupName, type RunNames } from './dns-names.ts';
import { crossCpuProbability, natToConfirmNs, raceTiming, raceWindowNs } from '../conntrack/clash-timing.ts';
import { raceOutcome, type RaceTiming } from '../conntrack/clash.ts';
import { clashRules, type ClashRules } from '../conntrack/kernel-version.ts';
import { secondPicksOwnTarget, udpNatChoice, type UdpNatChoice } from '../proxy/cost/udp-nat-choice.ts';
import type { DnsMetrics } from './dns-metrics.ts';
import { EndpointChoice } from './endpoint-choice.ts';

/** Builds the resolver session of one lookup of `name` by a client pod (its library and resolv.conf). */
export type SessionFactory = (name: string, node: number, pod: number) => ResolverSession;

/** Sessions that take how long into the current wait an answer came (CoroutineSession). */
type TimedSession = ResolverSession & {
  answer(queryId: number, answer: DnsAnswer, elapsedNs?: number): ResolverStep | null;
  unreachable(queryId: number, elapsedNs?: number): ResolverStep | null;
};

export interface DnsTrafficOptions {
  dns: DnsRunConfig;
  durationNs: number;
  warmupNs: number;
  rttNs: number;
  sourceNodes: number;
  clientPodsPerNode: number;
  /** Workload Services a short or four-dot name can name (svc-0 .. svc-(services-1)). */
  services: number;
}

/** One lookup in flight. */
interface Lookup {
  model: DnsTraffic;
  node: number;
  pod: number;
  session: TimedSession;
  t0: number;
  /** When the current step's wait began. */
  waitStart: number;
  measured: boolean;
  timer: EventHandle | null;
  /** The lookup's socket numbers to their ephemeral source ports. */
  sports: Map<number, number>;
  done: boolean;
}

/** An answer (or ICMP error) on its way back to a lookup. */
interface Delivery {
  lookup: Lookup;
  query: number;
  answer: DnsAnswer | null;
  /** A UDP answer's reply packet refreshes the node's entry: its table and the tuple's ends. */
  table: ConntrackTable | null;
  src: number;
  sport: number;
  dst: number;
  dport: number;
}

/** kernel ip_local_port_range defaults (32768-60999), as client-conntrack.ts uses. */
const PORT_LO = 32768;
const PORT_HI = 60999;
/** node-cache answers from its own cache on the node: the local hop each way (assumption). */
const NODE_LOCAL_HOP_NS = 20_000;
const UDP = PROTOCOL_NUMBER.udp;
/**
 * Mean gap between the conntrack lookups of two datagrams one sendmmsg sends (assumption: one
 * syscall's back-to-back sends, a microsecond apart; glibc res_send.c send_dg).
 */
const SENDMMSG_GAP_NS = 1_000;

/**
 * Lookup traffic (issue 14): client pods call getaddrinfo as an open-loop Poisson process at
 * dns.lookupsPerSecond, cluster-wide, each from a pod chosen uniformly over the source nodes. Each
 * lookup is a ResolverSession (the client's library over its resolv.conf) that this class drives:
 * every query it sends is a datagram (or, with use-vc, a TCP exchange) from the pod's socket through
 * the client node's conntrack table and the node's active kube-proxy rules for kube-dns, to the
 * CoreDNS replica the rules chose; its answer comes back after the replica's time and the round trip.
 *
 * - A new UDP socket's first datagram gets a fresh entry and the DNAT the rules choose (per packet,
 *   random in iptables and nftables, round robin in ipvs); later datagrams of that socket follow it.
 *   Two datagrams a library sends together on one socket (glibc and musl send A and AAAA with one
 *   sendmmsg) may race to confirmation: then the second has its own entry and its own choice, and
 *   dns-clash.ts says, per kernel, whether it passes.
 * - A replica that is gone (its pod deleted while a node's rules still name it) never answers: the
 *   library's timer decides; a pod that refuses answers with ICMP port unreachable; a Service with no
 *   endpoints gets kube-proxy's REJECT (ICMP at once).
 * - ebpf mode translates at the socket (no conntrack entry, no race); ipvs keeps conntrack.
 * - With NodeLocal DNSCache the query goes to the node's cache (NOTRACK: no conntrack entry, no
 *   kube-proxy NAT), which answers from its cache or forwards over TCP through kube-dns-upstream.
 */
export class DnsTraffic {
  private readonly arrivals: RandomStream;
  private readonly clients: RandomStream;
  private readonly names: RandomStream;
  private readonly race: RandomStream;
  private readonly meanGapNs: number;
  private readonly replicas = new Map<string, CoreDnsReplica>();
  private readonly nodeCaches = new Map<number, NodeLocalDnsCache>();
  /** Pod IPs of CoreDNS replicas the kubelet has sent SIGTERM. */
  private readonly terminated = new Set<string>();
  /** Hears every server the run creates (a replica at its first query, a node's cache), for the metrics' warm-up snapshot. */
  onNewReplica: ((s: CoreDnsReplica | NodeLocalDnsCache) => void) | null = null;
  private readonly endpointChoice: EndpointChoice;
  private readonly ports = new Map<number, number>();
  private readonly ct = new CtLookup();
  private readonly pu: Packet = makePacket({ proto: 'udp', src: 0, dst: 0 });
  private readonly pt: Packet = makePacket({ proto: 'tcp', src: 0, dst: 0 });
  private readonly vip: number;
  private readonly kinds: LookupNameKind[];
  private readonly cumulative: number[];
  /** Conntrack entries the lookups created. */
  entriesCreated = 0;
  private readonly clashRules: ClashRules;
  private readonly natChoice: UdpNatChoice;

  constructor(
    private readonly sim: Simulator,
    private readonly o: DnsTrafficOptions,
    private readonly timeline: EndpointTimeline,
    private readonly agents: readonly NodeProxy[],
    private readonly mode: ModeModel,
    private readonly conntrack: ClientConntrack,
    private readonly pods: PodIPStates,
    private readonly services: DnsServicePorts,
    private readonly authority: RunNames,
    private readonly newSession: SessionFactory,
    private readonly metrics: DnsMetrics,
    private readonly costs: CostModel,
  ) {
    this.arrivals = sim.rng('dns/arrivals');
    this.clients = sim.rng('dns/clients');
    this.names = sim.rng('dns/names');
    this.endpointChoice = new EndpointChoice(mode.selection, sim.rng('dns/endpoint-choice'), () => timeline.services.length);
    this.race = sim.rng('dns/conntrack-race');
    this.meanGapNs = 1e9 / o.dns.lookupsPerSecond;
    this.clashRules = clashRules(o.dns.kernel);
    this.natChoice = udpNatChoice(mode.mode);
    this.vip = parseIPv4(services.clusterIP);
    this.kinds = LOOKUP_NAME_KINDS.filter((k) => o.dns.names[k] > 0);
    let acc = 0;
    this.cumulative = this.kinds.map((k) => (acc += o.dns.names[k]));
  }

  start(): void {
    this.sim.schedule(this.gap(), onArrival, this);
  }

  /** Every CoreDNS replica that served (one per pod IP) and every node cache. */
  servers(): { replicas: CoreDnsReplica[]; nodeCaches: NodeLocalDnsCache[] } {
    return { replicas: [...this.replicas.values()], nodeCaches: [...this.nodeCaches.values()] };
  }

  private gap(): number {
    return Math.max(1, Math.round(this.arrivals.exponential(this.meanGapNs)));
  }

  /** @internal A lookup starts. */
  arrive(): void {
    const sim = this.sim;
    if (sim.now < this.o.durationNs) sim.schedule(this.gap(), onArrival, this);
    const node = this.clients.integer(0, this.o.sourceNodes - 1);
    const pod = this.o.clientPodsPerNode > 1 ? this.clients.integer(0, this.o.clientPodsPerNode - 1) : 0;
    const name = lookupName(this.pickKind(), this.o.services, this.names);
    const l: Lookup = { model: this, node, pod, session: this.newSession(name, node, pod) as TimedSession, t0: sim.now, waitStart: sim.now, measured: sim.now >= this.o.warmupNs, timer: null, sports: new Map(), done: false };
    this.step(l, l.session.start());
  }

  private pickKind(): LookupNameKind {
    if (this.kinds.length === 1) return this.kinds[0]!;
    const u = this.names.random() * this.cumulative[this.cumulative.length - 1]!;
    for (let i = 0; i < this.kinds.length; i++) if (u < this.cumulative[i]!) return this.kinds[i]!;
    return this.kinds[this.kinds.length - 1]!;
  }

  /** @internal What the session wants next: send and wait, or finish. */
  step(l: Lookup, s: ResolverStep | null): void {
    if (s === null || l.done) return;
    if ('done' in s) {
      l.done = true;
      if (l.timer) this.sim.cancel(l.timer);
      if (l.measured) this.metrics.lookup(l.t0, this.sim.now - l.t0, s.done.outcome, s.done.queries);
      return;
    }
    if (l.timer) this.sim.cancel(l.timer);
    l.timer = this.sim.schedule(Math.max(1, s.waitNs), onTimeout, l);
    l.waitStart = this.sim.now;
    this.send(l, s.send);
  }

  /** @internal The wait of the last step ended. */
  timeout(l: Lookup): void {
    l.timer = null;
    if (!l.done) this.step(l, l.session.timeout());
  }

  /** @internal An answer or an ICMP error reached the client. */
  deliver(d: Delivery): void {
    if (d.table) this.udpPacket(d.table, d.src, d.sport, d.dst, d.dport);
    const l = d.lookup;
    if (l.done) return;
    const elapsed = this.sim.now - l.waitStart;
    this.step(l, d.answer ? l.session.answer(d.query, d.answer, elapsed) : l.session.unreachable(d.query, elapsed));
  }

  private send(l: Lookup, queries: readonly DnsQuery[]): void {
    if (this.o.dns.nodeLocalCache) {
      for (const q of queries) this.viaNodeCache(l, q);
      return;
    }
    // Datagrams sent together on one socket (one sendmmsg) can race in conntrack.
    for (let i = 0; i < queries.length; i++) {
      const q = queries[i]!;
      if (q.transport === 'tcp') {
        this.viaTcp(l, q);
        continue;
      }
      const partner = queries[i + 1];
      if (partner && partner.transport === 'udp' && partner.socket === q.socket) {
        this.udpPair(l, q, partner);
        i++;
      } else this.udpQuery(l, q, null);
    }
  }

  // ---- the kube-dns path: conntrack, kube-proxy's rules, a replica

  private sport(l: Lookup, socket: number): number {
    let p = l.sports.get(socket);
    if (p === undefined) {
      const key = l.node * 256 + l.pod;
      p = this.ports.get(key) ?? PORT_LO;
      this.ports.set(key, p >= PORT_HI ? PORT_LO : p + 1);
      l.sports.set(socket, p);
    }
    return p;
  }

  /** The endpoint the node's active rules pick for a new flow to service port `svc`, or null (no endpoints). */
  private choose(node: number, svc: number): Endpoint | null {
    const version = this.agents[node]!.active;
    const eps = this.timeline.endpointsAt(svc, version);
    return eps.length === 0 ? null : eps[this.endpointChoice.index(node, svc, eps.length)]!;
  }

  /** The first-packet cost of the node's rules for kube-dns (the mode's walk to the Service's position). */
  private firstPacketNs(node: number, svc: number, endpoints: number): number {
    const agent = this.agents[node]!;
    const version = agent.active;
    const without = this.timeline.servicesWithoutEndpointsAt(version);
    const size = endpoints === 0 ? Math.max(1, without) : Math.max(1, this.timeline.services.length - without);
    return this.mode.firstPacket({ services: this.timeline.services.length, servicesWithoutEndpoints: without, position: servicePosition(node, agent.generation, svc, size), endpoints, chosen: 0 }).costNs;
  }

  private udpPacket(t: ConntrackTable, src: number, sport: number, dst: number, dport: number): boolean {
    const p = this.pu;
    p.src = src;
    p.sport = sport;
    p.dst = dst;
    p.dport = dport;
    return t.track(p, this.sim.now, this.ct);
  }

  /**
   * One datagram to kube-dns: its conntrack entry (existing, or new with the rules' DNAT), then the
   * replica. `chosen`: the rules' pick already made for it (udpPair), else null.
   */
  private udpQuery(l: Lookup, q: DnsQuery, chosen: Endpoint | null): void {
    const natInConntrack = this.mode.natInConntrack;
    const client = clientIp(l.node, l.pod);
    const sport = this.sport(l, q.socket);
    if (!natInConntrack) {
      // Socket-level translation (ebpf): the connect picks the backend, nothing in conntrack.
      const ep = this.choose(l.node, this.services.udp);
      this.toReplica(l, q, ep, null, client, sport, this.firstPacketNs(l.node, this.services.udp, ep ? 1 : 0));
      return;
    }
    const t = this.conntrack.table(l.node);
    const existing = t.findNode(UDP, client, sport, this.vip, DNS_PORT, this.sim.now);
    if (existing >= 0 && (existing & 1) === 0) {
      this.udpPacket(t, client, sport, this.vip, DNS_PORT);
      const e = t.entry(existing >> 1);
      this.toReplica(l, q, this.endpointAt(e.reply.src, e.reply.sport), t, client, sport, 0);
      return;
    }
    const ep = chosen ?? this.choose(l.node, this.services.udp);
    const cost = this.firstPacketNs(l.node, this.services.udp, ep ? 1 : 0);
    if (!this.udpPacket(t, client, sport, this.vip, DNS_PORT) || this.ct.entry < 0) {
      this.lost(l);
      return;
    }
    const entry = this.ct.entry;
    if (!ep) {
      // kube-proxy's REJECT for a Service without endpoints: the packet dies in filter before confirm.
      t.abandon(entry, this.sim.now);
      this.toReplica(l, q, null, null, client, sport, cost);
      return;
    }
    t.setDnat(entry, parseIPv4(ep.ip), ep.port);
    if (!t.confirm(entry, this.sim.now)) {
      this.lost(l);
      return;
    }
    this.entriesCreated++;
    this.toReplica(l, q, ep, t, client, sport, cost);
  }

  /**
   * Two datagrams of one socket sent together (one sendmmsg, or musl's sendto loop: one thread).
   * They race when handled on two CPUs within one conntrack window (sim/conntrack/clash-timing.ts);
   * then each has its own unconfirmed entry and, per the mode (udp-nat-choice.ts), its own DNAT
   * target, and the kernel decides at the second's confirm (clash.ts, clash-table.ts). Otherwise the
   * first confirms its entry and the second follows it.
   */
  private udpPair(l: Lookup, a: DnsQuery, b: DnsQuery): void {
    const client = clientIp(l.node, l.pod);
    const sport = this.sport(l, a.socket);
    const t = this.mode.natInConntrack ? this.conntrack.table(l.node) : null;
    const epA = t && t.findNode(UDP, client, sport, this.vip, DNS_PORT, this.sim.now) < 0 ? this.choose(l.node, this.services.udp) : null;
    if (!t || !epA) {
      this.udpQuery(l, a, null);
      this.udpQuery(l, b, null);
      return;
    }
    const cost = this.firstPacketNs(l.node, this.services.udp, 1);
    const costs = this.costs;
    const gap = this.race.exponential(SENDMMSG_GAP_NS);
    const crossCpu = this.race.random() < crossCpuProbability(this.o.dns.sendPattern, this.o.dns.nodeCpus);
    const timing = raceTiming(gap, crossCpu, raceWindowNs(costs, cost), natToConfirmNs(costs));
    if (timing === 'apart') {
      this.udpQuery(l, a, epA);
      this.udpQuery(l, b, null);
      return;
    }
    const epB = secondPicksOwnTarget(this.natChoice, gap, costs) ? this.choose(l.node, this.services.udp)! : epA;
    const okA = this.udpPacket(t, client, sport, this.vip, DNS_PORT) && this.ct.entry >= 0;
    const eA = this.ct.entry;
    const okB = this.udpPacket(t, client, sport, this.vip, DNS_PORT) && this.ct.entry >= 0;
    const eB = this.ct.entry;
    if (okA) t.setDnat(eA, parseIPv4(epA.ip), epA.port);
    if (okB) t.setDnat(eB, parseIPv4(epB.ip), epB.port);
    if (okA && t.confirm(eA, this.sim.now)) {
      this.entriesCreated++;
      this.toReplica(l, a, epA, t, client, sport, cost);
    } else this.lost(l);
    if (!okB) return this.lost(l);
    const second = this.confirmSecond(t, eB, epA.endpoint === epB.endpoint, timing);
    if (second === 'dropped') return this.lost(l);
    this.toReplica(l, b, second === 'own' ? epB : epA, t, client, sport, cost);
  }

  /**
   * The second datagram's confirm. clash-table.ts confirms against the table's real tuples; the one
   * case it cannot see is NAT moving the second's source port when the first was confirmed just
   * before the second's source-NAT step (before 4e35c1cb9460, 5.0): then the tuples differ and no
   * merge applies (clash.ts resolveClash), so the outcome comes from raceOutcome and is applied here.
   */
  private confirmSecond(t: ConntrackTable, e: number, sameTarget: boolean, timing: RaceTiming): 'own' | 'winner' | 'dropped' {
    const now = this.sim.now;
    if (timing === 'overlap-first-confirmed' && sameTarget && !this.clashRules.sameOriginKeepsPort) {
      const r = raceOutcome({ rules: this.clashRules, nat: this.natChoice.kind, firstTarget: 'a', secondTarget: 'a', timing });
      t.abandon(e, now);
      t.stats.insertFailed += r.counters.insertFailed;
      t.stats.drop += r.counters.drop;
      t.stats.clashResolve += r.counters.clashResolve;
      return r.outcome === 'dropped' ? 'dropped' : 'own';
    }
    const r = t.confirmRacing(e, now, this.clashRules);
    if (r.entry < 0) return 'dropped';
    if (r.result.outcome === 'no race') this.entriesCreated++;
    return r.result.outcome === 'resolved (adopts winner)' ? 'winner' : 'own';
  }

  /** A query that never reaches a server (dropped by conntrack): the library's timer decides. */
  private lost(l: Lookup): void {
    if (l.measured) this.metrics.lostQueries++;
  }

  /** The replica an existing entry's DNAT names (its reply source), listed in the rules or not. */
  private endpointAt(ip: number, port: number): Endpoint {
    return makeEndpoint({ ip: formatIPv4(ip), port });
  }

  /**
   * The datagram (after `firstNs` of rules) reaches endpoint `ep` (null: the rules REJECT it). What
   * the pod IP does decides: a replica answers, a refusing pod sends ICMP, a gone one is silent.
   * The answer's reply packet goes back through the node's table `t` (when the query had an entry).
   */
  private toReplica(l: Lookup, q: DnsQuery, ep: Endpoint | null, t: ConntrackTable | null, client: number, sport: number, firstNs: number): void {
    const arrive = Math.max(1, Math.round(firstNs + this.o.rttNs / 2));
    if (!ep) {
      this.sim.schedule(Math.max(1, Math.round(firstNs)), onDeliver, this.delivery(l, q, null, null, 0, 0, 0, 0));
      return;
    }
    const state = this.pods.state(ep.ip);
    if (state === 'unreachable') return this.lost(l);
    if (state === 'refusing') {
      this.sim.schedule(arrive * 2, onDeliver, this.delivery(l, q, null, null, 0, 0, 0, 0));
      return;
    }
    const hop: ReplicaHop = { model: this, ip: ep.ip, query: q, reply: (answer) => {
      if (answer === null) return this.lost(l);
      this.sim.schedule(Math.max(1, Math.round(this.o.rttNs / 2)), onDeliver, this.delivery(l, q, answer, t, parseIPv4(ep.ip), ep.port, client, sport));
    } };
    this.sim.schedule(arrive, onReplicaArrival, hop);
  }

  private delivery(l: Lookup, q: DnsQuery, answer: DnsAnswer | null, table: ConntrackTable | null, src: number, sportSrc: number, dst: number, dport: number): Delivery {
    return { lookup: l, query: q.id, answer, table, src, sport: sportSrc, dst, dport };
  }

  /** @internal A query reaches the replica at `hop.ip`. */
  replicaArrival(hop: ReplicaHop): void {
    this.replica(hop.ip).query(hop.query, hop.reply);
  }

  /** use-vc: a TCP connection to kube-dns's dns-tcp port per query (handshake, query, answer). */
  private viaTcp(l: Lookup, q: DnsQuery): void {
    const ep = this.choose(l.node, this.services.tcp);
    const cost = this.firstPacketNs(l.node, this.services.tcp, ep ? 1 : 0);
    const client = clientIp(l.node, l.pod);
    if (ep && this.mode.natInConntrack) {
      const t = this.conntrack.table(l.node);
      const p = this.pt;
      p.src = client;
      p.sport = this.sport(l, 1000 + q.id);
      p.dst = this.vip;
      p.dport = DNS_PORT;
      p.tcpFlags = TCP_SYN;
      if (!t.track(p, this.sim.now, this.ct) || this.ct.entry < 0) return this.lost(l);
      t.setDnat(this.ct.entry, parseIPv4(ep.ip), ep.port);
      if (!t.confirm(this.ct.entry, this.sim.now)) return this.lost(l);
      this.entriesCreated++;
    }
    // The handshake's round trip comes before the query's.
    this.toReplica(l, q, ep, null, client, 0, cost + this.o.rttNs);
  }

  // ---- NodeLocal DNSCache

  /**
   * The pod's datagram to the node's cache: NOTRACK (no conntrack entry, no kube-proxy NAT:
   * kubernetes/dns cmd/node-cache/app/cache_app.go), a hop on the node each way.
   */
  private viaNodeCache(l: Lookup, q: DnsQuery): void {
    const cache = this.nodeCache(l.node);
    const hop = NODE_LOCAL_HOP_NS;
    this.sim.schedule(hop, onNodeCacheArrival, { model: this, cache, query: q, reply: (answer: DnsAnswer | null) => {
      if (answer === null) return this.lost(l);
      this.sim.schedule(hop, onDeliver, this.delivery(l, q, answer, null, 0, 0, 0, 0));
    } } satisfies NodeCacheHop);
  }

  /** @internal */
  nodeCacheArrival(h: NodeCacheHop): void {
    h.cache.query(h.query, h.reply);
  }

  /**
   * node-cache's cluster-domain forward: TCP (force_tcp) through kube-dns-upstream to the replica the
   * node's rules pick, on a pooled connection (no new conntrack entry per query). A replica that is
   * gone never answers: forward's read timeout acts.
   */
  private clusterDnsFrom(node: number): UpstreamExchange {
    return (q, answered) => {
      const ep = this.choose(node, this.services.upstreamTcp);
      if (!ep || this.pods.state(ep.ip) !== 'accepting') return;
      const hop: ReplicaHop = { model: this, ip: ep.ip, query: q, reply: (answer) => {
        if (answer !== null) this.sim.schedule(Math.max(1, Math.round(this.o.rttNs / 2)), onAnswered, { answered, answer });
      } };
      this.sim.schedule(Math.max(1, Math.round(this.o.rttNs / 2)), onReplicaArrival, hop);
    };
  }

  private upstream(prefix: string): UpstreamExchange {
    const c = this.o.dns.coredns;
    return simulatedUpstream(this.sim, { latency: c.upstreamLatency, loss: c.upstreamLoss }, this.authority.external, this.sim.rng(`${prefix}/upstream-latency`), this.sim.rng(`${prefix}/upstream-loss`));
  }

  private replica(ip: string): CoreDnsReplica {
    let r = this.replicas.get(ip);
    if (!r) {
      const c = this.o.dns.coredns;
      const base = kubeadmCoreDns({ disableClusterCache: !c.cacheClusterLocal });
      const config: CoreDnsConfig = { ...base, lameduckNs: c.lameduckNs, forward: { ...base.forward, maxConcurrent: c.maxConcurrent }, cache: base.cache && { ...base.cache, successCapacity: c.cacheSize, denialCapacity: c.cacheSize } };
      const prefix = `dns/coredns/${ip}`;
      r = new CoreDnsReplica(this.sim, `coredns@${ip}`, config, this.costs, { authority: this.authority.cluster, upstreams: [this.upstream(prefix)] }, prefix);
      this.replicas.set(ip, r);
      if (this.terminated.has(ip)) r.terminate();
      this.onNewReplica?.(r);
    }
    return r;
  }

  /**
   * The kubelet sent SIGTERM to the CoreDNS pod at `ip`: health's lameduck, then the process exits
   * (sim/dns/coredns: queries after that get no answer).
   */
  terminate(ip: string): void {
    if (this.terminated.has(ip)) return;
    this.terminated.add(ip);
    this.replicas.get(ip)?.terminate();
  }

  private nodeCache(node: number): NodeLocalDnsCache {
    let c = this.nodeCaches.get(node);
    if (!c) {
      const prefix = `dns/node-local/${node}`;
      c = new NodeLocalDnsCache(this.sim, `node-${node}`, nodeLocalDnsDefaults(), this.costs, { clusterDns: this.clusterDnsFrom(node), upstreams: [this.upstream(prefix)] }, prefix);
      this.nodeCaches.set(node, c);
      this.onNewReplica?.(c);
    }
    return c;
  }
}

/** A query on its way to a replica. */
interface ReplicaHop {
  model: DnsTraffic;
  ip: string;
  query: DnsQuery;
  reply: (answer: DnsAnswer | null) => void;
}

interface NodeCacheHop {
  model: DnsTraffic;
  cache: NodeLocalDnsCache;
  query: DnsQuery;
  reply: (answer: DnsAnswer | null) => void;
}

const onReplicaArrival = (h: ReplicaHop) => h.model.replicaArrival(h);
const onNodeCacheArrival = (h: NodeCacheHop) => h.model.nodeCacheArrival(h);
const onAnswered = (a: { answered: (answer: DnsAnswer) => void; answer: DnsAnswer }) => a.answered(a.answer);
const onArrival = (t: DnsTraffic) => t.arrive();
const onTimeout = (l: Lookup) => l.model.timeout(l);
const onDeliver = (d: Delivery) => d.lookup.model.deliver(d);
