import type { Simulator } from '../engine/simulator.ts';
import { ConntrackGcWorker } from '../conntrack/gc.ts';
import { ConntrackTable } from '../conntrack/table.ts';
import { CtLookup } from '../conntrack/common.ts';
import type { ConntrackTimeouts } from '../conntrack/timeouts.ts';
import { makePacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import { cleanStaleUdpEntries } from '../proxy/conntrack-cleanup.ts';

/**
 * The conntrack table of each client node, fed with the packets of every connection its pods open:
 * the SYN creates the entry and records the DNAT kube-proxy's rules chose; the backend's SYN-ACK (or
 * RST) and the client's ACK move it to ESTABLISHED (assured); the FIN exchange at close leaves it in
 * TIME_WAIT for nf_conntrack_tcp_timeout_time_wait. This is what fills nf_conntrack_max under a high
 * connection rate (conntrack-pressure study).
 *
 * Tables exist only on nodes that host clients; the metrics are those of each such node.
 *
 * Client pods use addresses from 172.16.0.0/12 (not the pod CIDR, so they never collide with
 * endpoints) and source ports from the kernel's default ip_local_port_range, 32768-60999, in turn.
 */
const PORT_LO = 32768;
const PORT_HI = 60999;
const CLIENT_BASE = parseIPv4('172.16.0.0');
const UDP = PROTOCOL_NUMBER.udp;

export interface OpenResult {
  /** Entry number in the node's table, or -1 when conntrack dropped the SYN. */
  entry: number;
  dropReason: string | null;
  sport: number;
  client: number;
}

/** A UDP client socket's conntrack binding to a Service: where its datagrams are DNATed. */
export interface UdpBinding {
  ep: number;
  epPort: number;
  sport: number;
  client: number;
}

/**
 * A UDP client pod's long-lived socket: one source port for the pod's whole life, the pattern
 * (statsd, syslog, DNS forwarders, game and media clients) for which stale UDP conntrack entries
 * matter. Chosen inside ip_local_port_range.
 */
const UDP_SPORT = 40000;

export class ClientConntrack {
  private readonly tables = new Map<number, ConntrackTable>();
  private readonly ports = new Map<number, number>();
  private readonly ct = new CtLookup();
  private readonly p: Packet = makePacket({ proto: 'tcp', src: 0, dst: 0 });
  private readonly pu: Packet = makePacket({ proto: 'udp', src: 0, dst: 0 });

  constructor(
    private readonly sim: Simulator,
    private readonly max: number,
    private readonly buckets: number,
    private readonly timeouts: ConntrackTimeouts,
  ) {}

  table(node: number): ConntrackTable {
    let t = this.tables.get(node);
    if (!t) {
      t = new ConntrackTable({ max: this.max, buckets: this.buckets, timeouts: this.timeouts, now: this.sim.now });
      this.tables.set(node, t);
      // Each node's gc worker reaps expired entries (sim/conntrack/gc.ts); until it or a lookup meets
      // them they still count in nf_conntrack_count, as in the kernel.
      new ConntrackGcWorker(this.sim, t).start();
    }
    return t;
  }

  get nodes(): IterableIterator<[number, ConntrackTable]> {
    return this.tables.entries();
  }

  /** The SYN of a new connection from client pod `pod` on `node` to vip:port, DNATed to ep:epPort. */
  open(node: number, pod: number, vip: number, port: number, ep: number, epPort: number, now: number): OpenResult {
    const t = this.table(node);
    const client = clientIp(node, pod);
    const key = node * 256 + pod;
    const sport = this.ports.get(key) ?? PORT_LO;
    this.ports.set(key, sport >= PORT_HI ? PORT_LO : sport + 1);
    const ok = this.send(t, client, sport, vip, port, TCP_SYN, now);
    if (!ok || this.ct.entry < 0) return { entry: -1, dropReason: this.ct.dropReason ?? 'conntrack: invalid', sport, client };
    const e = this.ct.entry;
    t.setDnat(e, ep, epPort);
    if (!t.confirm(e, now)) return { entry: -1, dropReason: 'conntrack insert failed', sport, client };
    return { entry: e, dropReason: null, sport, client };
  }

  /** The backend answered: SYN-ACK then the client's ACK (ESTABLISHED, assured). */
  established(node: number, o: OpenResult, ep: number, epPort: number, vip: number, port: number, now: number): void {
    const t = this.table(node);
    this.send(t, ep, epPort, o.client, o.sport, TCP_SYN | TCP_ACK, now);
    this.send(t, o.client, o.sport, vip, port, TCP_ACK, now);
  }

  /** The backend refused: its RST kills the unreplied entry. */
  reset(node: number, o: OpenResult, ep: number, epPort: number, now: number): void {
    this.send(this.table(node), ep, epPort, o.client, o.sport, TCP_RST | TCP_ACK, now);
  }

  /** Orderly close, client first: FIN, ACK, FIN, ACK; the entry ends in TIME_WAIT. */
  close(node: number, o: OpenResult, ep: number, epPort: number, vip: number, port: number, now: number): void {
    const t = this.table(node);
    this.send(t, o.client, o.sport, vip, port, TCP_FIN | TCP_ACK, now);
    this.send(t, ep, epPort, o.client, o.sport, TCP_ACK, now);
    this.send(t, ep, epPort, o.client, o.sport, TCP_FIN | TCP_ACK, now);
    this.send(t, o.client, o.sport, vip, port, TCP_ACK, now);
  }

  /**
   * The server closes first and the client application never does: the backend's FIN, the client
   * kernel's ACK, and nothing more, so the entry stays in CLOSE_WAIT (nf_conntrack_proto_tcp.c:
   * ESTABLISHED -FIN-> FIN_WAIT -ACK from the other side-> CLOSE_WAIT) until
   * nf_conntrack_tcp_timeout_close_wait, which kube-proxy raises from the kernel's 60 s to 1 h.
   */
  serverCloseUnanswered(node: number, o: OpenResult, ep: number, epPort: number, vip: number, port: number, now: number): void {
    const t = this.table(node);
    this.send(t, ep, epPort, o.client, o.sport, TCP_FIN | TCP_ACK, now);
    this.send(t, o.client, o.sport, vip, port, TCP_ACK, now);
  }

  /** The pod's socket sends to vip:port over a live entry: the DNAT it keeps using; null if there is none yet. */
  udpBinding(node: number, pod: number, vip: number, port: number, now: number): UdpBinding | null {
    const t = this.tables.get(node);
    if (!t) return null;
    const client = clientIp(node, pod);
    const n = t.findNode(UDP, client, UDP_SPORT, vip, port, now);
    if (n < 0 || (n & 1) !== 0) return null;
    // The datagram itself refreshes the entry's timer, answered or not: a socket that keeps sending to
    // a gone endpoint keeps its stale entry alive for good, unless something deletes it.
    this.sendUdp(t, client, UDP_SPORT, vip, port, now);
    const e = t.entry(n >> 1);
    return { ep: e.reply.src, epPort: e.reply.sport, sport: UDP_SPORT, client };
  }

  /** The socket's first datagram to vip:port, DNATed by the rules to ep:epPort. */
  udpOpen(node: number, pod: number, vip: number, port: number, ep: number, epPort: number, now: number): OpenResult {
    const t = this.table(node);
    const client = clientIp(node, pod);
    const ok = this.sendUdp(t, client, UDP_SPORT, vip, port, now);
    if (!ok || this.ct.entry < 0) return { entry: -1, dropReason: this.ct.dropReason ?? 'conntrack: invalid', sport: UDP_SPORT, client };
    const e = this.ct.entry;
    if (!t.isConfirmed(e)) {
      t.setDnat(e, ep, epPort);
      if (!t.confirm(e, now)) return { entry: -1, dropReason: 'conntrack insert failed', sport: UDP_SPORT, client };
    }
    return { entry: e, dropReason: null, sport: UDP_SPORT, client };
  }

  /** The backend's answer datagram (the entry is replied; assured once traffic flows both ways). */
  udpReply(node: number, b: UdpBinding, now: number): void {
    this.sendUdp(this.table(node), b.ep, b.epPort, b.client, b.sport, now);
  }

  /**
   * kube-proxy's conntrack reconciliation at the end of a sync on `node` (cleanStaleUdpEntries,
   * sim/proxy/conntrack-cleanup.ts): UDP entries to a Service frontend whose DNAT target is not one of
   * its serving endpoints are deleted, so the socket's next datagram is balanced again by the rules.
   */
  udpReconcile(node: number, servingIPs: (ip: number, port: number) => ReadonlySet<number> | null, now: number): number {
    const t = this.tables.get(node);
    return t ? cleanStaleUdpEntries(t, servingIPs, now) : 0;
  }

  private sendUdp(t: ConntrackTable, src: number, sport: number, dst: number, dport: number, now: number): boolean {
    const p = this.pu;
    p.src = src;
    p.sport = sport;
    p.dst = dst;
    p.dport = dport;
    return t.track(p, now, this.ct);
  }

  private send(t: ConntrackTable, src: number, sport: number, dst: number, dport: number, flags: number, now: number): boolean {
    const p = this.p;
    p.src = src;
    p.sport = sport;
    p.dst = dst;
    p.dport = dport;
    p.tcpFlags = flags;
    return t.track(p, now, this.ct);
  }
}

/** The address of client pod `pod` on `node` (172.16.0.0/12, a /24 per node). */
export function clientIp(node: number, pod: number): number {
  return (CLIENT_BASE + node * 256 + 2 + pod) >>> 0;
}
