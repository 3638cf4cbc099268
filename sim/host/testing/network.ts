/**
 * Nodes joined by links, on the simulator's clock: the nodes' uplinks share one L2 segment (the node
 * network), and each pod hangs off its node's pod interface by a veth. A packet moves as an event: it
 * leaves a namespace after the processing time its path charged (PathResult.costNs) plus the link's
 * one-way latency, and arrives at the next namespace, which runs its own packet path.
 *
 * Simplifications, stated: no queueing or bandwidth (a node processes packets independently, so
 * delay = cost + latency); pods are endpoints with an application callback, not namespaces with their
 * own netfilter and conntrack; a next hop that nobody on the segment owns is dropped as the kernel does
 * when neighbour (ARP) resolution fails (net/core/neighbour.c __neigh_event_send -> neigh_invalidate,
 * counted in the neighbour table's "unresolved_discards"), but at once instead of after the 3 s of
 * ARP retries. REJECT's ICMP error is reported through `onDrop`, not sent as a packet. skb->mark does
 * not survive a namespace crossing (skb_scrub_packet), so it is cleared on every link.
 *
 * Packet accounting (docs/design.md): every packet handed to sendFromPod/sendFromHost is, at every moment
 * between events, exactly one of delivered (to a pod's or a host's application), dropped (with a
 * reason), or in flight on a link: `counters.sent === delivered + droppedTotal() + inFlight`.
 */
import type { Simulator } from '../../engine/simulator.ts';
import type { Nanos } from '../../engine/time.ts';
import { formatIPv4, type IPv4 } from '../../net/ipv4.ts';
import { ConntrackGcWorker, type GcWorkerOptions } from '../../conntrack/gc.ts';
import { makePacket, TCP_SYN, type Packet } from '../../net/packet.ts';
import type { Node, PathResult } from '../node.ts';

export const DROP_NEIGH_UNREACHABLE = 'neighbour unreachable';
export const DROP_NO_POD = 'no such pod';

/** An application on a pod or on a node's host network: gets each packet delivered to it. */
export type App = (p: Packet, net: Network) => void;

export interface NetworkOptions {
  /** One-way latency of the node segment (default 50 us, a same-zone datacenter hop). */
  wireLatencyNs?: Nanos;
  /** One-way latency of a pod's veth (default 2 us). */
  vethLatencyNs?: Nanos;
}

export interface AttachOptions {
  /** The interface on the node segment (default 'eth0') and the pods' bridge or veth side (default 'cni0'). */
  uplink?: string;
  podIface?: string;
  /**
   * Run the node's conntrack gc worker on the simulator (sim/conntrack/gc.ts), as the kernel always
   * does; without it expired entries are reaped only when a lookup or early_drop meets them. Off by
   * default because the worker reschedules itself forever: a run then needs an end time.
   */
  conntrackGc?: boolean | GcWorkerOptions;
}

/** Where a packet was seen, for taps and drop callbacks. */
export interface Where {
  /** Node name, or `pod/<ip>`, or `host/<ip>` for a segment host. */
  at: string;
  /** Interface it arrived on ('' for a locally generated packet). */
  iface: string;
}

export class NetworkCounters {
  sent = 0;
  delivered = 0;
  inFlight = 0;
  readonly dropped = new Map<string, number>();
  droppedTotal(): number {
    let n = 0;
    for (const v of this.dropped.values()) n += v;
    return n;
  }
}

interface NodeEntry {
  node: Node;
  uplink: string;
  podIface: string;
  /** Address of the uplink, by which peers reach this node. */
  ip: IPv4;
  hostApp: App | null;
  gc: ConntrackGcWorker | null;
}

interface PodEntry {
  ip: IPv4;
  node: NodeEntry;
  app: App | null;
}

const K_NODE = 0;
const K_POD = 1;
const K_HOST = 2;

/** One packet on one link, the data of its arrival event (a record, not a closure). */
interface Hop {
  net: Network;
  p: Packet;
  kind: number;
  node: NodeEntry | null;
  pod: PodEntry | null;
  iface: string;
  /** The segment host's address (K_HOST). */
  ip: IPv4;
}

function arrive(h: Hop, sim: Simulator): void {
  h.net.arrive(h, sim.now);
}

export class Network {
  readonly counters = new NetworkCounters();
  readonly wireLatencyNs: Nanos;
  readonly vethLatencyNs: Nanos;
  /** Called with every packet as it arrives at the end of a link (before the receiver touches it). */
  tap: ((now: Nanos, p: Packet, where: Where) => void) | null = null;
  /** Called for every dropped packet, with the reason and the PathResult when a node dropped it. */
  onDrop: ((now: Nanos, p: Packet, reason: string, where: Where, res: PathResult | null) => void) | null = null;

  private readonly nodes = new Map<string, NodeEntry>();
  private readonly byUplinkIp = new Map<IPv4, NodeEntry>();
  private readonly pods = new Map<IPv4, PodEntry>();
  /** Hosts on the node segment that are not nodes (clients outside the cluster). */
  private readonly hosts = new Map<IPv4, App | null>();

  constructor(readonly sim: Simulator, options: NetworkOptions = {}) {
    this.wireLatencyNs = options.wireLatencyNs ?? 50_000;
    this.vethLatencyNs = options.vethLatencyNs ?? 2_000;
  }

  addNode(node: Node, options: AttachOptions = {}): void {
    const uplink = options.uplink ?? 'eth0';
    const ifc = node.interfaces.find((i) => i.name === uplink);
    if (!ifc) throw new RangeError(`node ${node.name} has no interface ${uplink}`);
    if (this.nodes.has(node.name)) throw new RangeError(`node ${node.name} is already attached`);
    const e: NodeEntry = { node, uplink, podIface: options.podIface ?? 'cni0', ip: ifc.addr, hostApp: null, gc: null };
    if (options.conntrackGc) {
      e.gc = new ConntrackGcWorker(this.sim, node.conntrack, options.conntrackGc === true ? {} : options.conntrackGc);
      e.gc.start();
    }
    this.nodes.set(node.name, e);
    this.byUplinkIp.set(ifc.addr, e);
  }

  /** The node's conntrack gc worker, when attached with conntrackGc. */
  conntrackGc(name: string): ConntrackGcWorker | null {
    return this.entry(name).gc;
  }

  node(name: string): Node {
    return this.entry(name).node;
  }

  /** The application that receives packets delivered to the node's own addresses. */
  setHostApp(nodeName: string, app: App | null): void {
    this.entry(nodeName).hostApp = app;
  }

  /** A pod with address `ip` behind `nodeName`'s pod interface. */
  addPod(nodeName: string, ip: IPv4, app: App | null = null): void {
    if (this.pods.has(ip)) throw new RangeError(`pod ${formatIPv4(ip)} already exists`);
    this.pods.set(ip, { ip, node: this.entry(nodeName), app });
  }

  /** The pod is gone: packets still in flight to it, or routed to it later, are dropped. */
  removePod(ip: IPv4): boolean {
    return this.pods.delete(ip);
  }

  /** A host on the node segment that is not a node (an external client or a load balancer). */
  addHost(ip: IPv4, app: App | null = null): void {
    this.hosts.set(ip, app);
  }

  /** A pod's application sends `p` (its source should be the pod's address): it crosses the veth to the node. */
  sendFromPod(podIp: IPv4, p: Packet): void {
    const pod = this.pods.get(podIp);
    this.counters.sent++;
    if (!pod) {
      this.drop(p, DROP_NO_POD, `pod/${formatIPv4(podIp)}`, '', null);
      return;
    }
    p.mark = 0;
    this.put(p, K_NODE, pod.node, null, pod.node.podIface, this.vethLatencyNs);
  }

  /** A process on the node's host network sends `p`: OUTPUT path now, then the link. */
  sendFromHost(nodeName: string, p: Packet): void {
    this.counters.sent++;
    this.forwardFrom(this.entry(nodeName), p, this.entry(nodeName).node.send(p, this.sim.now));
  }

  /** A segment host (addHost) sends `p` onto the node segment, to the node owning `p.dst`'s next hop. */
  sendFromSegmentHost(p: Packet, nextHop: IPv4 = p.dst): void {
    this.counters.sent++;
    const n = this.byUplinkIp.get(nextHop);
    if (!n) {
      this.drop(p, DROP_NEIGH_UNREACHABLE, `host/${formatIPv4(p.src)}`, '', null);
      return;
    }
    this.put(p, K_NODE, n, null, n.uplink, this.wireLatencyNs);
  }

  /** Conservation of packets; throws if it does not hold (for tests and end-of-run checks). */
  checkConservation(): void {
    const c = this.counters;
    if (c.sent !== c.delivered + c.droppedTotal() + c.inFlight) {
      throw new Error(`packet accounting: sent ${c.sent} != delivered ${c.delivered} + dropped ${c.droppedTotal()} + in flight ${c.inFlight}`);
    }
  }

  // ---------------------------------------------------------------- internals

  /** @internal the arrival event (called by the shared handler). */
  arrive(h: Hop, now: Nanos): void {
    this.counters.inFlight--;
    const p = h.p;
    if (h.kind === K_NODE) {
      const n = h.node!;
      if (this.tap) this.tap(now, p, { at: n.node.name, iface: h.iface });
      this.forwardFrom(n, p, n.node.receive(p, h.iface, now));
      return;
    }
    if (h.kind === K_POD) {
      const pod = h.pod!;
      const where = `pod/${formatIPv4(pod.ip)}`;
      if (this.tap) this.tap(now, p, { at: where, iface: 'eth0' });
      // The pod may have been deleted while the packet was on the veth.
      if (this.pods.get(pod.ip) !== pod) {
        this.drop(p, DROP_NO_POD, where, 'eth0', null);
        return;
      }
      this.counters.delivered++;
      if (pod.app) pod.app(p, this);
      return;
    }
    const ip = h.ip;
    if (this.tap) this.tap(now, p, { at: `host/${formatIPv4(ip)}`, iface: 'eth0' });
    this.counters.delivered++;
    const app = this.hosts.get(ip);
    if (app) app(p, this);
  }

  /** What a node decided for `p`: deliver to its host app, put on a link, or count the drop. */
  private forwardFrom(n: NodeEntry, p: Packet, res: PathResult): void {
    if (res.delivery === 'local') {
      this.counters.delivered++;
      if (n.hostApp) n.hostApp(p, this);
      return;
    }
    if (res.delivery === 'none') {
      this.drop(p, res.dropReason ?? 'unknown', n.node.name, p.inIface, res);
      return;
    }
    const delay = res.costNs;
    if (res.outIface === n.podIface) {
      const pod = this.pods.get(res.nextHop);
      if (!pod || pod.node !== n) {
        this.drop(p, DROP_NEIGH_UNREACHABLE, n.node.name, p.inIface, res);
        return;
      }
      p.mark = 0;
      this.put(p, K_POD, null, pod, 'eth0', delay + this.vethLatencyNs);
      return;
    }
    if (res.outIface === n.uplink) {
      const peer = this.byUplinkIp.get(res.nextHop);
      if (peer) {
        p.mark = 0;
        this.put(p, K_NODE, peer, null, peer.uplink, delay + this.wireLatencyNs);
        return;
      }
      if (this.hosts.has(res.nextHop)) {
        p.mark = 0;
        this.put(p, K_HOST, null, null, '', delay + this.wireLatencyNs, res.nextHop);
        return;
      }
    }
    this.drop(p, DROP_NEIGH_UNREACHABLE, n.node.name, p.inIface, res);
  }

  private put(p: Packet, kind: number, node: NodeEntry | null, pod: PodEntry | null, iface: string, delay: Nanos, ip: IPv4 = 0): void {
    this.counters.inFlight++;
    const h: Hop = { net: this, p, kind, node, pod, iface, ip };
    this.sim.schedule(Math.max(0, Math.round(delay)), arrive, h);
  }

  private drop(p: Packet, reason: string, at: string, iface: string, res: PathResult | null): void {
    const d = this.counters.dropped;
    d.set(reason, (d.get(reason) ?? 0) + 1);
    if (this.onDrop) this.onDrop(this.sim.now, p, reason, { at, iface }, res);
  }

  private entry(name: string): NodeEntry {
    const e = this.nodes.get(name);
    if (!e) throw new RangeError(`no node named ${name}`);
    return e;
  }
}

/**
 * The answer of the other end: addresses and ports swapped, the given TCP flags. Default size: a
 * SYN/ACK with the usual options (60 bytes), a bare TCP segment (40), or 60 for other protocols.
 */
export function replyTo(p: Packet, tcpFlags: number, size = p.proto !== 'tcp' || tcpFlags & TCP_SYN ? 60 : 40): Packet {
  return makePacket({ proto: p.proto, src: p.dst, sport: p.dport, dst: p.src, dport: p.sport, tcpFlags: p.proto === 'tcp' ? tcpFlags : 0, size });
}
