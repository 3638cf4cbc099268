import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Simulator } from '../../engine/simulator.ts';
import { SECOND } from '../../engine/time.ts';
import { compileRuleset, type CompiledRuleset } from '../../netfilter/compile.ts';
import { proxyStateFromObjects } from '../../proxy/from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from '../../proxy/testing/golden-fixtures.ts';
import { nodeRuleset } from '../../proxy/iptables/node-ruleset.ts';
import { conntrackList } from '../../conntrack/testing/list.ts';
import { DROP_TABLE_FULL } from '../../conntrack/common.ts';
import { formatIPv4, parseCidr, parseIPv4 } from '../../net/ipv4.ts';
import { makePacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet } from '../../net/packet.ts';
import { decodeIPv4, parsePcap, PcapWriter } from '../../net/pcap.ts';
import { DROP_NEIGH_UNREACHABLE, DROP_NO_POD, Network, replyTo } from './network.ts';
import { podNetworkNode } from './pod-network-node.ts';

const ip = (s: string) => parseIPv4(s);
const A_IP = ip('192.168.0.2');
const B_IP = ip('192.168.0.3');
const A_PODS = parseCidr('10.0.1.0/24');
const B_PODS = parseCidr('10.0.2.0/24');
const CLIENT = ip('10.0.1.5');
const VIP = ip('172.30.0.41');
const BACKENDS = ['10.0.2.10', '10.0.2.11'];

let rules: CompiledRuleset | undefined;
/** One kube-proxy rule-set version shared by both nodes (clusterCIDR 10.0.0.0/8). */
function kubeProxyRules(): CompiledRuleset {
  if (rules) return rules;
  const services = [
    testService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
    testService('ns2', 'svc2', { clusterIP: '172.30.0.42', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
  ];
  const slices = [testSlice('ns1', 'svc1', BACKENDS.map((a) => ({ ip: a })), [{ name: 'p80', port: 8080 }])];
  rules = compileRuleset(nodeRuleset(proxyStateFromObjects(services, slices, 'test-node'), { ...FAKE_PROXIER_OPTIONS, nfacct: false }).ruleset);
  return rules;
}

/** Two nodes (conntrack max ctMax on a, ctMaxB on b), host-gw routing; backends on B answer each TCP segment as a tiny server would. */
function cluster(sim: Simulator, ctMax = 1000, ctMaxB = ctMax): Network {
  const net = new Network(sim);
  const rs = kubeProxyRules();
  net.addNode(podNetworkNode({
    name: 'a', nodeIp: A_IP, podCidr: A_PODS, peers: [{ nodeIp: B_IP, podCidr: B_PODS }], gateway: ip('192.168.0.1'),
    ruleset: rs, conntrack: { max: ctMax, buckets: 4 }, random: sim.rng('node/a/netfilter'),
  }));
  net.addNode(podNetworkNode({
    name: 'b', nodeIp: B_IP, podCidr: B_PODS, peers: [{ nodeIp: A_IP, podCidr: A_PODS }], gateway: ip('192.168.0.1'),
    ruleset: rs, conntrack: { max: ctMaxB, buckets: 4 }, random: sim.rng('node/b/netfilter'),
  }));
  for (const b of BACKENDS) net.addPod('b', ip(b), server(ip(b)));
  return net;
}

/** SYN -> SYN/ACK, FIN -> FIN/ACK, anything else unanswered. */
function server(self: number) {
  return (p: Packet, net: Network) => {
    if (p.proto !== 'tcp') return;
    if (p.tcpFlags & TCP_SYN && !(p.tcpFlags & TCP_ACK)) net.sendFromPod(self, replyTo(p, TCP_SYN | TCP_ACK));
    else if (p.tcpFlags & TCP_FIN) net.sendFromPod(self, replyTo(p, TCP_FIN | TCP_ACK));
  };
}

test('a pod connects to a ClusterIP across nodes: DNAT on the client node, replies come back from the Service address; pcap of the trace', () => {
  const sim = new Simulator({ seed: 3 });
  const net = cluster(sim);
  const got: Packet[] = [];
  let synAckAt = -1;
  net.addPod('a', CLIENT, (p, n) => {
    got.push({ ...p });
    if (synAckAt < 0) synAckAt = sim.now;
    if (p.tcpFlags === (TCP_SYN | TCP_ACK)) n.sendFromPod(CLIENT, replyTo(p, TCP_ACK));
    if (p.tcpFlags === (TCP_FIN | TCP_ACK)) n.sendFromPod(CLIENT, replyTo(p, TCP_ACK));
  });
  // One capture at every link end, and one of node a alone (what tcpdump -i any on a would show).
  const pcap = new PcapWriter();
  const onA = new PcapWriter();
  net.tap = (now, p, where) => {
    pcap.add(now, p);
    if (where.at === 'a') onA.add(now, p);
  };
  net.sendFromPod(CLIENT, makePacket({ proto: 'tcp', src: CLIENT, sport: 40000, dst: VIP, dport: 80, tcpFlags: TCP_SYN }));
  sim.run(SECOND);
  net.sendFromPod(CLIENT, makePacket({ proto: 'tcp', src: CLIENT, sport: 40000, dst: VIP, dport: 80, tcpFlags: TCP_FIN | TCP_ACK, size: 40 }));
  sim.run(2 * SECOND);

  // The client only ever sees the Service address.
  assert.deepEqual(got.map((p) => [formatIPv4(p.src), p.sport, p.tcpFlags]), [
    ['172.30.0.41', 80, TCP_SYN | TCP_ACK],
    ['172.30.0.41', 80, TCP_FIN | TCP_ACK],
  ]);
  // The round trip is two veth hops and one wire hop each way plus both nodes' path costs, both ways.
  const links = 2 * (2 * net.vethLatencyNs + net.wireLatencyNs);
  assert.ok(synAckAt > links + 4 * 600 && synAckAt < links + 20_000, `SYN/ACK at ${synAckAt} ns`);
  net.checkConservation();
  assert.deepEqual([net.counters.sent, net.counters.delivered, net.counters.inFlight, net.counters.droppedTotal()], [6, 6, 0, 0]);

  const a = net.node('a').conntrack;
  const b = net.node('b').conntrack;
  const lineA = conntrackList(a, 2 * SECOND);
  const backend = a.get({ proto: 'tcp', src: CLIENT, sport: 40000, dst: VIP, dport: 80 }, 2 * SECOND)!.reply.src;
  assert.ok(BACKENDS.includes(formatIPv4(backend)));
  assert.match(lineA, new RegExp(`^tcp +6 \\d+ TIME_WAIT src=10\\.0\\.1\\.5 dst=172\\.30\\.0\\.41 sport=40000 dport=80 src=${formatIPv4(backend).replace(/\./g, '\\.')} dst=10\\.0\\.1\\.5 sport=8080 dport=40000 \\[ASSURED\\] mark=0 use=1\\n$`));
  // B saw the connection already translated: no NAT there.
  assert.match(conntrackList(b, 2 * SECOND), new RegExp(`src=10\\.0\\.1\\.5 dst=${formatIPv4(backend).replace(/\./g, '\\.')} sport=40000 dport=8080 src=`));

  // The capture: SYN at A, at B, at the backend; SYN/ACK back; ... each hop once, in time order.
  const { records } = parsePcap(pcap.toBytes());
  assert.equal(records.length, 18);
  const d = records.map((r) => decodeIPv4(r.data));
  assert.ok(d.every((x) => x.ipChecksumOk && x.l4ChecksumOk));
  assert.deepEqual(d.slice(0, 3).map((x) => [formatIPv4(x.dst), x.dport]), [
    ['172.30.0.41', 80], [formatIPv4(backend), 8080], [formatIPv4(backend), 8080],
  ]);
  for (let i = 1; i < records.length; i++) assert.ok(records[i]!.timeNs >= records[i - 1]!.timeNs);
  assert.equal(onA.count, 6);
  // SVCSIM_PCAP_OUT=FILE keeps node a's capture, for a look in Wireshark.
  if (process.env.SVCSIM_PCAP_OUT) onA.writeTo(process.env.SVCSIM_PCAP_OUT);
});

test('drops are counted where they happen: REJECT, no neighbour, a pod deleted under a packet, early_drop fallout', () => {
  const syn = (sport: number, dst: string) => makePacket({ proto: 'tcp', src: CLIENT, sport, dst: ip(dst), dport: 80, tcpFlags: TCP_SYN });
  {
    const sim = new Simulator({ seed: 4 });
    const net = cluster(sim);
    const reasons: string[] = [];
    net.onDrop = (_now, _p, reason, where) => reasons.push(`${where.at}: ${reason}`);
    net.addPod('a', CLIENT, null);
    net.sendFromPod(CLIENT, syn(1000, '172.30.0.42')); // a Service without endpoints: REJECT in filter
    net.sendFromPod(CLIENT, syn(1001, '10.0.1.99')); // nobody with that address on the bridge
    net.sendFromPod(CLIENT, syn(1002, '192.168.0.77')); // nobody with that address on the node segment
    sim.run();
    assert.deepEqual(reasons, ['a: iptables REJECT (filter/FORWARD)', `a: ${DROP_NEIGH_UNREACHABLE}`, `a: ${DROP_NEIGH_UNREACHABLE}`]);
    net.checkConservation();
  }
  {
    // The backend pod is deleted while the SYN is on its veth.
    const sim = new Simulator({ seed: 4 });
    const net = cluster(sim);
    const reasons: string[] = [];
    net.onDrop = (_now, _p, reason, where) => reasons.push(`${where.at}: ${reason}`);
    net.addPod('a', CLIENT, null);
    net.tap = (_now, p, where) => {
      if (where.at === 'b') sim.schedule(1, () => net.removePod(p.dst));
    };
    net.sendFromPod(CLIENT, syn(1003, '172.30.0.41'));
    sim.run();
    assert.equal(reasons.length, 1);
    assert.match(reasons[0]!, new RegExp(`^pod/10\\.0\\.2\\.1[01]: ${DROP_NO_POD}$`));
    net.checkConservation();
  }
  {
    // A two-entry table on a: the third SYN evicts an unreplied entry (early_drop); that connection's
    // SYN/ACK then finds no entry, is INVALID, and kube-proxy's KUBE-FORWARD rule drops it.
    const sim = new Simulator({ seed: 4 });
    const net = cluster(sim, 2, 1000);
    const reasons: string[] = [];
    net.onDrop = (_now, _p, reason, where) => reasons.push(`${where.at}: ${reason}`);
    net.addPod('a', CLIENT, null);
    for (let i = 0; i < 3; i++) net.sendFromPod(CLIENT, syn(2000 + i, '172.30.0.41'));
    sim.run();
    // early_drop deletes every non-assured entry of the first chain that has one (early_drop_list), and
    // an INVALID SYN/ACK allocates (and may evict) before the TCP tracker refuses it: init_conntrack allocates,
    // then nf_conntrack_tcp_packet runs tcp_new for an unconfirmed entry (nf_conntrack_proto_tcp.c).
    const ct = net.node('a').conntrack;
    assert.ok(ct.stats.earlyDrop >= 1);
    assert.ok(ct.stats.invalid >= 1);
    assert.deepEqual(reasons, Array(ct.stats.invalid).fill('a: iptables DROP (filter/FORWARD)'));
    assert.deepEqual([net.counters.sent, net.counters.delivered], [6, 6 - ct.stats.invalid]);
    net.checkConservation();
  }
  {
    // All entries assured: a new SYN is dropped by conntrack itself.
    const sim = new Simulator({ seed: 4 });
    const net = cluster(sim, 2, 1000);
    const reasons: string[] = [];
    net.onDrop = (_now, _p, reason, where) => reasons.push(`${where.at}: ${reason}`);
    net.addPod('a', CLIENT, (p, n) => {
      if (p.tcpFlags === (TCP_SYN | TCP_ACK)) n.sendFromPod(CLIENT, replyTo(p, TCP_ACK));
    });
    net.sendFromPod(CLIENT, syn(3000, '172.30.0.41'));
    net.sendFromPod(CLIENT, syn(3001, '172.30.0.41'));
    sim.run();
    net.sendFromPod(CLIENT, syn(3002, '172.30.0.41'));
    sim.run();
    assert.deepEqual(reasons, [`a: ${DROP_TABLE_FULL}`]);
    assert.equal(net.node('a').counters.dropped.get(DROP_TABLE_FULL), 1);
    net.checkConservation();
  }
});

test('accounting: sent = delivered + dropped by reason + in flight at every stopping time (property)', () => {
  const dsts = ['172.30.0.41', '172.30.0.42', '10.0.2.10', '10.0.2.11', '10.0.1.5', '10.0.1.6', '10.0.3.1', '192.168.0.2', '192.168.0.3', '192.168.0.9', '8.8.8.8'];
  const action = fc.record({
    at: fc.integer({ min: 0, max: 2_000_000 }),
    from: fc.constantFrom('pod', 'host-a', 'host-b', 'segment'),
    dst: fc.constantFrom(...dsts),
    sport: fc.integer({ min: 30000, max: 30005 }),
    dport: fc.constantFrom(80, 8080, 53),
    proto: fc.constantFrom('tcp' as const, 'udp' as const),
    flags: fc.constantFrom(TCP_SYN, TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST),
    removeBackend: fc.boolean(),
  });
  fc.assert(
    fc.property(fc.array(action, { maxLength: 40 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 3_000_000 }), (actions, ctMax, stopAt) => {
      const sim = new Simulator({ seed: 5 });
      const net = cluster(sim, ctMax);
      net.addPod('a', CLIENT, (p, n) => {
        if (p.proto === 'tcp' && p.tcpFlags === (TCP_SYN | TCP_ACK)) n.sendFromPod(CLIENT, replyTo(p, TCP_ACK));
      });
      net.addHost(ip('192.168.0.9'), null);
      let removed = false;
      for (const a of actions) {
        sim.scheduleAt(a.at, () => {
          const p = makePacket({ proto: a.proto, src: CLIENT, sport: a.sport, dst: ip(a.dst), dport: a.dport, tcpFlags: a.proto === 'tcp' ? a.flags : 0 });
          if (a.from === 'pod') net.sendFromPod(CLIENT, p);
          else if (a.from === 'segment') {
            p.src = ip('192.168.0.9');
            net.sendFromSegmentHost(p, A_IP);
          } else {
            p.src = a.from === 'host-a' ? A_IP : B_IP;
            net.sendFromHost(a.from === 'host-a' ? 'a' : 'b', p);
          }
          if (a.removeBackend && !removed) removed = net.removePod(ip(BACKENDS[0]!));
        });
      }
      sim.run(stopAt);
      net.checkConservation();
      sim.run();
      net.checkConservation();
      assert.equal(net.counters.inFlight, 0);
      assert.ok(net.counters.sent >= actions.length);
    }),
    { numRuns: 100, seed: 7 },
  );
});

test('with the gc worker, entries of finished connections leave the table without any further packet', () => {
  const sim = new Simulator({ seed: 6 });
  const net = new Network(sim);
  const rs = kubeProxyRules();
  const mk = (name: string, nodeIp: number, podCidr: typeof A_PODS, peerIp: number, peerPods: typeof A_PODS) =>
    podNetworkNode({ name, nodeIp, podCidr, peers: [{ nodeIp: peerIp, podCidr: peerPods }], ruleset: rs, conntrack: { max: 1000 }, random: sim.rng(`node/${name}/netfilter`) });
  net.addNode(mk('a', A_IP, A_PODS, B_IP, B_PODS), { conntrackGc: true });
  net.addNode(mk('b', B_IP, B_PODS, A_IP, A_PODS));
  for (const b of BACKENDS) net.addPod('b', ip(b), server(ip(b)));
  net.addPod('a', CLIENT, (p, n) => {
    if (p.tcpFlags === (TCP_SYN | TCP_ACK) || p.tcpFlags === (TCP_FIN | TCP_ACK)) n.sendFromPod(CLIENT, replyTo(p, TCP_ACK));
  });
  net.sendFromPod(CLIENT, makePacket({ proto: 'tcp', src: CLIENT, sport: 40000, dst: VIP, dport: 80, tcpFlags: TCP_SYN }));
  sim.run(SECOND);
  net.sendFromPod(CLIENT, makePacket({ proto: 'tcp', src: CLIENT, sport: 40000, dst: VIP, dport: 80, tcpFlags: TCP_FIN | TCP_ACK }));
  sim.run(2 * SECOND);
  assert.equal(net.node('a').conntrack.count, 1);
  // TIME_WAIT ends at about 122 s; the worker's first pass is at 60 s, then it adapts its interval.
  sim.run(200 * SECOND);
  assert.equal(net.node('a').conntrack.count, 0, 'reaped by the worker');
  assert.ok(net.conntrackGc('a')!.reaped === 1);
  assert.equal(net.node('b').conntrack.count, 1, 'b has no worker: its expired entry waits for a lookup');
  assert.equal(net.conntrackGc('b'), null);
  net.checkConservation();
});
