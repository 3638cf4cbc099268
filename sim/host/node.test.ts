import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RandomStream } from '../engine/random.ts';
import { SECOND } from '../engine/time.ts';
import { compileRuleset, type CompiledRuleset } from '../netfilter/compile.ts';
import type { TraceStep } from '../netfilter/context.ts';
import { newHookResult } from '../netfilter/context.ts';
import { evaluateHook } from '../netfilter/evaluate.ts';
import { RecentTables } from '../netfilter/recent.ts';
import { parseIptablesSave } from '../netfilter/iptables-save.ts';
import { pickRangeAddress } from '../netfilter/nat-range.ts';
import { proxyStateFromObjects } from '../proxy/from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from '../proxy/testing/golden-fixtures.ts';
import { nodeRuleset } from '../proxy/iptables/node-ruleset.ts';
import { DROP_TABLE_FULL, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IPS_ASSURED } from '../conntrack/common.ts';
import { KERNEL_TIMEOUTS } from '../conntrack/timeouts.ts';
import { conntrackList } from '../conntrack/testing/list.ts';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { formatIPv4, parseCidr, parseIPv4 } from '../net/ipv4.ts';
import { makePacket, TCP_ACK, TCP_FIN, TCP_SYN, type Packet } from '../net/packet.ts';
import { DROP_NO_ROUTE, Node, type NodeOptions } from './node.ts';

const ip = (s: string) => parseIPv4(s);
const NODE_IP = ip('192.168.0.2');
const PEER_IP = ip('192.168.0.3');
const GATEWAY = ip('192.168.0.1');
const CLIENT = ip('10.0.1.5');
const VIP = ip('172.30.0.41');
const VIP_NO_EP = ip('172.30.0.42');
const BACKENDS = ['10.180.0.1', '10.180.0.2', '10.180.0.3'];

let shared: CompiledRuleset | undefined;
/** kube-proxy's rules for test-node (clusterCIDR 10.0.0.0/8): svc1 with three endpoints, svc2 with none. */
function kubeProxyRules(): CompiledRuleset {
  if (shared) return shared;
  const services = [
    testService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
    testService('ns2', 'svc2', { clusterIP: '172.30.0.42', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
  ];
  const slices = [testSlice('ns1', 'svc1', BACKENDS.map((a) => ({ ip: a })), [{ name: 'p80', port: 8080 }])];
  const state = proxyStateFromObjects(services, slices, 'test-node');
  shared = compileRuleset(nodeRuleset(state, { ...FAKE_PROXIER_OPTIONS, nfacct: false }).ruleset);
  return shared;
}

/** test-node: eth0 192.168.0.2/24, pod bridge cni0 10.0.1.1/24, the endpoints' pod CIDR via 192.168.0.3, default via .1. */
function makeNode(extra: Partial<NodeOptions> = {}): Node {
  return new Node({
    name: 'test-node',
    interfaces: [
      { name: 'eth0', addr: NODE_IP, prefix: 24 },
      { name: 'cni0', addr: ip('10.0.1.1'), prefix: 24 },
    ],
    routes: [
      { dst: parseCidr('10.180.0.0/24'), dev: 'eth0', via: PEER_IP },
      // A default route: without one, Service IPs (which no interface owns) are unreachable before DNAT.
      { dst: parseCidr('0.0.0.0/0'), dev: 'eth0', via: GATEWAY },
    ],
    conntrack: { max: 1000 },
    ruleset: kubeProxyRules(),
    random: new RandomStream(7, 'node/test-node/netfilter'),
    ...extra,
  });
}

function tcp(src: number, sport: number, dst: number, dport: number, flags: number): Packet {
  return makePacket({ proto: 'tcp', src, sport, dst, dport, tcpFlags: flags });
}

const natSteps = (steps: TraceStep[]) => steps.filter((s) => s.table === 'nat');

test('a ClusterIP SYN from a pod is DNATed to an endpoint, the reply is un-DNATed, later packets skip the nat table', () => {
  const node = makeNode();
  const steps: TraceStep[] = [];
  node.setNetfilterTrace(steps);

  const syn = tcp(CLIENT, 40000, VIP, 80, TCP_SYN);
  const r1 = node.receive(syn, 'cni0', 1000);
  assert.equal(r1.delivery, 'forward');
  assert.equal(r1.outIface, 'eth0');
  assert.equal(r1.nextHop, PEER_IP);
  assert.ok(r1.newConnection && r1.dnat);
  assert.equal(r1.ctinfo, IP_CT_NEW);
  const backend = syn.dst;
  assert.ok(BACKENDS.includes(formatIPv4(backend)), formatIPv4(backend));
  assert.equal(syn.dport, 8080);
  // The source is in the cluster CIDR: no masquerade.
  assert.equal(syn.src, CLIENT);
  assert.ok(natSteps(steps).some((s) => s.chain === 'KUBE-SERVICES'));
  const firstRules = r1.hook.rulesVisited;
  const firstCost = r1.costNs;
  assert.equal(syn.costNs, firstCost);
  assert.ok(firstCost >= 4 * DEFAULT_COSTS.hookNs + DEFAULT_COSTS.conntrackLookupNs + DEFAULT_COSTS.conntrackInsertNs);
  assert.equal(node.conntrack.count, 1);
  assert.equal(
    conntrackList(node.conntrack, 1000),
    `tcp      6 120 SYN_SENT src=10.0.1.5 dst=172.30.0.41 sport=40000 dport=80 [UNREPLIED] src=${formatIPv4(backend)} dst=10.0.1.5 sport=8080 dport=40000 mark=0 use=1\n`,
  );

  // The endpoint answers from its own address; the node gives the client the Service address back.
  steps.length = 0;
  const synack = tcp(backend, 8080, CLIENT, 40000, TCP_SYN | TCP_ACK);
  const r2 = node.receive(synack, 'eth0', 2000);
  assert.equal(r2.delivery, 'forward');
  assert.equal(r2.outIface, 'cni0');
  assert.equal(r2.nextHop, CLIENT);
  assert.equal(r2.ctinfo, IP_CT_ESTABLISHED_REPLY);
  assert.equal(formatIPv4(synack.src), '172.30.0.41');
  assert.equal(synack.sport, 80);
  assert.equal(natSteps(steps).length, 0, 'replies never walk nat');
  assert.ok(!r2.newConnection);

  // The client's ACK follows the entry to the same endpoint without walking nat.
  steps.length = 0;
  const ack = tcp(CLIENT, 40000, VIP, 80, TCP_ACK);
  const r3 = node.receive(ack, 'cni0', 3000);
  assert.equal(r3.delivery, 'forward');
  assert.equal(r3.ctinfo, IP_CT_ESTABLISHED);
  assert.equal(ack.dst, backend);
  assert.equal(ack.dport, 8080);
  assert.equal(natSteps(steps).length, 0, 'later packets never walk nat');
  assert.ok(r3.hook.rulesVisited < firstRules);
  assert.ok(r3.costNs < firstCost);
  const e = node.conntrack.get({ proto: 'tcp', src: CLIENT, sport: 40000, dst: VIP, dport: 80 }, 3000)!;
  assert.equal(e.state, 'ESTABLISHED');
  assert.ok(e.status & IPS_ASSURED);
  assert.equal(node.conntrack.count, 1);
  assert.deepEqual([node.counters.received, node.counters.forwarded, node.counters.dropped.size], [3, 3, 0]);
});

test('the node path costs and verdicts equal evaluateHook for a first packet', () => {
  const node = makeNode({ random: new RandomStream(11, 's') });
  const p = tcp(CLIENT, 40001, VIP, 80, TCP_SYN);
  const r = node.receive(p, 'cni0', 0);
  // The same packet through evaluateHook hook by hook (same stream draws).
  const q = tcp(CLIENT, 40001, VIP, 80, TCP_SYN);
  q.inIface = 'cni0';
  const hr = newHookResult();
  const ctx = {
    backend: 'legacy' as const, costs: DEFAULT_COSTS, firstPacket: true, ctState: 2, random: new RandomStream(11, 's'),
    recent: new RecentTables(), nowNs: 0, ipsets: null, localAddrs: node.localAddrs, conntrack: null, trace: null,
  };
  for (const h of ['PREROUTING', 'FORWARD', 'POSTROUTING'] as const) {
    if (h === 'FORWARD') q.outIface = 'eth0';
    assert.equal(evaluateHook(node.ruleset, h, q, ctx, hr), 'ACCEPT');
  }
  assert.equal(q.dst, p.dst);
  assert.equal(r.hook.rulesVisited, hr.rulesVisited);
  // The same terms, added in another order: equal to rounding.
  assert.ok(Math.abs(r.hook.costNs - hr.costNs) < 1e-9, `${r.hook.costNs} vs ${hr.costNs}`);
  const expected = hr.costNs + DEFAULT_COSTS.conntrackLookupNs + DEFAULT_COSTS.conntrackInsertNs;
  assert.ok(Math.abs(r.costNs - expected) < 1e-9, `${r.costNs} vs ${expected}`);
});

test('traffic from outside the cluster CIDR is masqueraded; the reply is un-SNATed then un-DNATed', () => {
  const node = makeNode();
  const ext = ip('192.168.0.9');
  const syn = tcp(ext, 50000, VIP, 80, TCP_SYN);
  const r1 = node.receive(syn, 'eth0', 0);
  assert.equal(r1.delivery, 'forward');
  assert.equal(syn.src, NODE_IP, 'MASQUERADE takes eth0 address');
  assert.equal(syn.sport, 50000, 'source port kept when free');
  const backend = syn.dst;
  const synack = tcp(backend, 8080, NODE_IP, 50000, TCP_SYN | TCP_ACK);
  const r2 = node.receive(synack, 'eth0', 10);
  assert.equal(r2.delivery, 'forward', 'a reply to the masqueraded address is forwarded, not delivered locally');
  assert.equal(synack.dst, ext);
  assert.equal(synack.src, VIP);
  assert.equal(synack.sport, 80);
});

test('a locally generated packet to a ClusterIP is DNATed in OUTPUT and rerouted; later packets follow the entry', () => {
  const node = makeNode();
  const trace: string[] = [];
  node.trace = trace;
  const p = tcp(NODE_IP, 33000, VIP, 80, TCP_SYN);
  const r = node.send(p, 0);
  assert.equal(r.delivery, 'forward');
  assert.ok(trace.includes('reroute'));
  assert.equal(r.nextHop, PEER_IP);
  const backend = p.dst;
  // A retransmitted SYN before any reply: ctinfo is still NEW, but the entry is confirmed and its NAT
  // initialised, so the nat table is not walked again and the same endpoint is used.
  const again = tcp(NODE_IP, 33000, VIP, 80, TCP_SYN);
  const r2 = node.send(again, 5);
  assert.equal(r2.delivery, 'forward');
  assert.equal(r2.ctinfo, IP_CT_NEW);
  assert.equal(again.dst, backend);
  assert.ok(!r2.newConnection);
  assert.ok(trace.includes('nat dst ' + formatIPv4(backend) + ':8080'));
  const reply = tcp(backend, 8080, NODE_IP, 33000, TCP_SYN | TCP_ACK);
  const r3 = node.receive(reply, 'eth0', 10);
  assert.equal(r3.delivery, 'local');
  assert.equal(reply.src, VIP);
  assert.equal(reply.sport, 80);
});

test('a ClusterIP without endpoints is rejected in filter and leaves no conntrack entry', () => {
  const node = makeNode();
  const r = node.receive(tcp(CLIENT, 40000, VIP_NO_EP, 80, TCP_SYN), 'cni0', 0);
  assert.equal(r.verdict, 'REJECT');
  assert.equal(r.delivery, 'none');
  assert.equal(r.dropReason, 'iptables REJECT (filter/FORWARD)');
  assert.equal(node.conntrack.count, 0);
  assert.equal(node.counters.dropped.get('iptables REJECT (filter/FORWARD)'), 1);
});

test('without a matching route the packet is dropped after PREROUTING and its new entry freed', () => {
  const node = makeNode({ routes: [] });
  const r = node.receive(tcp(CLIENT, 40000, ip('8.8.8.8'), 53, TCP_SYN), 'cni0', 0);
  assert.equal(r.dropReason, DROP_NO_ROUTE);
  assert.equal(node.conntrack.count, 0);
  assert.equal(node.counters.dropped.get(DROP_NO_ROUTE), 1);
  // Locally generated: ip_route_output fails before OUTPUT, so nothing is tracked at all.
  const r2 = node.send(tcp(NODE_IP, 40000, VIP, 80, TCP_SYN), 0);
  assert.equal(r2.dropReason, DROP_NO_ROUTE);
  assert.equal(r2.hook.hooks, 0);
});

/** SYN, SYN/ACK, ACK through the node: an ASSURED entry. */
function handshake(node: Node, sport: number, now: number): void {
  const syn = tcp(CLIENT, sport, VIP, 80, TCP_SYN);
  assert.equal(node.receive(syn, 'cni0', now).delivery, 'forward');
  assert.equal(node.receive(tcp(syn.dst, 8080, CLIENT, sport, TCP_SYN | TCP_ACK), 'eth0', now).delivery, 'forward');
  assert.equal(node.receive(tcp(CLIENT, sport, VIP, 80, TCP_ACK), 'cni0', now).delivery, 'forward');
}

test('table full: a new connection evicts a non-assured entry (early_drop), else it is dropped with the reason', () => {
  // One bucket, so early_drop's 8-bucket scan sees every entry.
  const node = makeNode({ conntrack: { max: 4, buckets: 1 } });
  for (let i = 0; i < 3; i++) handshake(node, 41000 + i, 0);
  node.receive(tcp(CLIENT, 42000, VIP, 80, TCP_SYN), 'cni0', 0); // unreplied: not assured
  assert.equal(node.conntrack.count, 4);
  const r = node.receive(tcp(CLIENT, 42001, VIP, 80, TCP_SYN), 'cni0', 0);
  assert.equal(r.delivery, 'forward');
  assert.equal(node.conntrack.stats.earlyDrop, 1);
  assert.equal(node.conntrack.get({ proto: 'tcp', src: CLIENT, sport: 42000, dst: VIP, dport: 80 }, 0), undefined);
  assert.equal(node.conntrack.count, 4);

  // Make the newest one assured too: now every entry is assured and a new SYN is dropped.
  const be = node.conntrack.get({ proto: 'tcp', src: CLIENT, sport: 42001, dst: VIP, dport: 80 }, 0)!.reply.src;
  node.receive(tcp(be, 8080, CLIENT, 42001, TCP_SYN | TCP_ACK), 'eth0', 0);
  node.receive(tcp(CLIENT, 42001, VIP, 80, TCP_ACK), 'cni0', 0);
  const dropped = node.receive(tcp(CLIENT, 42002, VIP, 80, TCP_SYN), 'cni0', 0);
  assert.equal(dropped.verdict, 'DROP');
  assert.equal(dropped.dropReason, DROP_TABLE_FULL);
  assert.equal(node.counters.dropped.get(DROP_TABLE_FULL), 1);
  assert.equal(node.conntrack.stats.drop, 1);
  assert.equal(node.conntrack.count, 4);
  // Packets of existing connections still pass.
  assert.equal(node.receive(tcp(CLIENT, 41000, VIP, 80, TCP_ACK), 'cni0', 0).delivery, 'forward');
});

test('TIME_WAIT: the entry lives nf_conntrack_tcp_timeout_time_wait (120 s), then the tuple starts afresh', () => {
  const node = makeNode();
  handshake(node, 43000, 0);
  const be = node.conntrack.get({ proto: 'tcp', src: CLIENT, sport: 43000, dst: VIP, dport: 80 }, 0)!.reply.src;
  const t0 = SECOND;
  node.receive(tcp(CLIENT, 43000, VIP, 80, TCP_FIN | TCP_ACK), 'cni0', t0);
  node.receive(tcp(be, 8080, CLIENT, 43000, TCP_ACK), 'eth0', t0);
  node.receive(tcp(be, 8080, CLIENT, 43000, TCP_FIN | TCP_ACK), 'eth0', t0);
  node.receive(tcp(CLIENT, 43000, VIP, 80, TCP_ACK), 'cni0', t0);
  const tuple = { proto: 'tcp' as const, src: CLIENT, sport: 43000, dst: VIP, dport: 80 };
  assert.equal(node.conntrack.get(tuple, t0)!.state, 'TIME_WAIT');
  assert.match(conntrackList(node.conntrack, t0 + SECOND), /^tcp {6}6 119 TIME_WAIT src=10\.0\.1\.5 /);
  const tw = KERNEL_TIMEOUTS.tcp.timeWait;
  assert.equal(tw, 120 * SECOND);
  assert.ok(node.conntrack.get(tuple, t0 + tw - 1), 'still there 1 ns before expiry');
  assert.equal(node.conntrack.get(tuple, t0 + tw), undefined, 'gone at expiry');
  assert.equal(node.conntrack.stats.expired, 1);
  assert.equal(node.conntrack.count, 0);
  // The same 5-tuple is a new connection again: it walks nat and gets a (possibly different) endpoint.
  const r = node.receive(tcp(CLIENT, 43000, VIP, 80, TCP_SYN), 'cni0', t0 + tw + 1);
  assert.ok(r.newConnection && r.dnat);
});

test('accounting: every packet is delivered, forwarded or dropped with a reason (property)', () => {
  const addrs = [CLIENT, ip('10.0.1.6'), VIP, VIP_NO_EP, NODE_IP, ip('192.168.0.9'), ip('10.180.0.1'), ip('10.180.0.2'), ip('8.8.8.8')];
  const pkt = fc.record({
    proto: fc.constantFrom('tcp' as const, 'udp' as const),
    src: fc.constantFrom(...addrs),
    dst: fc.constantFrom(...addrs),
    sport: fc.constantFrom(80, 8080, 40000, 40001),
    dport: fc.constantFrom(80, 8080, 40000, 53),
    flags: fc.constantFrom(TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_FIN | TCP_ACK, 0x04),
    local: fc.boolean(),
    iface: fc.constantFrom('eth0', 'cni0'),
    dt: fc.integer({ min: 0, max: 200 * SECOND }),
  });
  fc.assert(
    fc.property(fc.array(pkt, { maxLength: 60 }), fc.integer({ min: 1, max: 6 }), (pkts, max) => {
      const node = makeNode({ conntrack: { max, buckets: 2 } });
      let now = 0;
      let outcomes = 0;
      for (const k of pkts) {
        now += k.dt;
        const p = makePacket({ proto: k.proto, src: k.src, dst: k.dst, sport: k.sport, dport: k.dport, tcpFlags: k.proto === 'tcp' ? k.flags : 0 });
        const r = k.local ? node.send(p, now) : node.receive(p, k.iface, now);
        assert.ok((r.delivery === 'none') === (r.dropReason !== null), 'a reason iff dropped');
        assert.ok(r.costNs >= 0 && p.costNs === r.costNs);
        assert.ok(node.conntrack.count <= max);
        outcomes++;
      }
      const c = node.counters;
      assert.equal(c.received + c.generated, outcomes);
      assert.equal(c.received + c.generated, c.delivered + c.forwarded + c.droppedTotal());
    }),
    { numRuns: 150, seed: 42 },
  );
});

test('an unbound local socket gets its source address from routing; a local destination loops back through INPUT', () => {
  const node = makeNode();
  const p = tcp(0, 33001, VIP, 80, TCP_SYN);
  const r = node.send(p, 0);
  assert.equal(r.delivery, 'forward');
  assert.equal(p.src, NODE_IP, 'eth0 address: the default route and the endpoint route both leave by eth0');
  const q = tcp(0, 33002, ip('10.0.1.1'), 22, TCP_SYN);
  const trace: string[] = [];
  node.trace = trace;
  const r2 = node.send(q, 0);
  assert.equal(r2.delivery, 'local');
  assert.equal(q.src, ip('10.0.1.1'));
  assert.deepEqual(trace.filter((s) => /^[A-Z]+$/.test(s)), ['OUTPUT', 'POSTROUTING', 'PREROUTING', 'INPUT']);
  assert.equal(node.conntrack.count, 2);
});

test('SNAT and MASQUERADE ranges: the address from find_best_ips_proto, the port from the range, none left drops', () => {
  const rules = (post: string) =>
    compileRuleset(parseIptablesSave(`*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -o eth0 ${post}\nCOMMIT\n`).ruleset);
  const server = ip('10.180.0.1');
  const snat = makeNode({ ruleset: rules('-j SNAT --to-source 192.168.0.50-192.168.0.60:2000-2010') });
  const p = tcp(CLIENT, 50000, server, 80, TCP_SYN);
  assert.equal(snat.receive(p, 'cni0', 0).delivery, 'forward');
  assert.equal(formatIPv4(p.src), formatIPv4(pickRangeAddress(ip('192.168.0.50'), ip('192.168.0.60'), CLIENT, server, false)));
  assert.ok(p.sport >= 2000 && p.sport <= 2010, `port ${p.sport} in 2000-2010`);
  // Two ports for three connections to one server port: the third finds no free tuple (nf_nat drops it).
  const masq = makeNode({ ruleset: rules('-j MASQUERADE --to-ports 3000-3001') });
  const ports = [40001, 40002, 40003].map((sport, k) => {
    const q = tcp(CLIENT, sport, server, 80, TCP_SYN);
    const r = masq.receive(q, 'cni0', k);
    return r.delivery === 'forward' ? `${formatIPv4(q.src)}:${q.sport}` : r.delivery;
  });
  assert.deepEqual(ports.slice(0, 2).sort(), ['192.168.0.2:3000', '192.168.0.2:3001']);
  assert.notEqual(ports[2], 'forward');
  assert.ok(!ports[2]!.includes(':'), `third connection dropped, got ${ports[2]}`);
});
