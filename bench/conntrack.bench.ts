/**
 * The conntrack table's own speed at nf_conntrack sizes 1e4..1e6 (hash buckets = size / 4, as kube-proxy
 * sets hashsize), with the table already holding `size` ESTABLISHED TCP connections:
 *
 * - insert: 1000 new connections per call, each a SYN through nf_conntrack_in (alloc) and confirm (hash
 *   insert of both tuples); the call then deletes them again so the table stays at its size (the delete
 *   is inside the timing: the figure is insert + delete).
 * - lookup: 1000 packets of resident connections (an ACK in the original direction: hash lookup plus the
 *   TCP state update), spread over the whole table.
 * - expire: 1000 unreplied UDP entries are added, the clock moves past their 30 s timeout, and one full
 *   gc pass (ConntrackTable.gcScan over every bucket) reaps them; the pass also visits every resident
 *   entry, which is the real cost of the kernel's gc worker at that size.
 *
 * And the node packet path (sim/host/node.ts) with kube-proxy's rules for `services` ClusterIPs (one
 * endpoint each, on another node):
 * - node/first packet: 1000 SYNs of new connections from a pod, each through PREROUTING (conntrack,
 *   the nat walk that picks the DNAT), routing, FORWARD, POSTROUTING and confirm; the entries are
 *   deleted after the batch (inside the timing).
 * - node/established packet: 1000 ACKs of established connections (conntrack lookup, NAT from the
 *   entry, no nat walk).
 *
 * - client tables: what a large scenario pays per node (sim/run/client-conntrack.ts keeps
 *   one table per client node): 1000 tables at kube-proxy's defaults (nf_conntrack_max 131072,
 *   32768 buckets), each given 20 connections and one full gc pass. The hash is sized to use, so this
 *   does not grow with nf_conntrack_buckets; before, each table allocated 128 KiB of bucket heads.
 *
 * Figures reported beside the timing say what one call did in the simulated table and path.
 */
import { ConntrackTable } from '../sim/conntrack/table.ts';
import { CtLookup } from '../sim/conntrack/common.ts';
import { GcScanResult } from '../sim/conntrack/gc-scan.ts';
import { KERNEL_TIMEOUTS, kubeProxyHashsize, type ConntrackTimeouts } from '../sim/conntrack/timeouts.ts';
import { makePacket, TCP_ACK, TCP_SYN, type Packet } from '../sim/net/packet.ts';
import { compileRuleset } from '../sim/netfilter/compile.ts';
import { proxyStateFromObjects } from '../sim/proxy/from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from '../sim/proxy/testing/golden-fixtures.ts';
import { nodeRuleset } from '../sim/proxy/iptables/node-ruleset.ts';
import { RandomStream } from '../sim/engine/random.ts';
import { Node } from '../sim/host/node.ts';
import type { BenchSuite, BenchTask } from './suite.ts';

const BATCH = 1000;
const SECOND = 1e9;
const VIP = 0xac1e0029; // 172.30.0.41
const BACKEND = 0x0ab40001; // 10.180.0.1
/** Resident entries must outlive every expire step (31 s of simulated time per call): 1000 days. */
const TIMEOUTS: ConntrackTimeouts = { ...KERNEL_TIMEOUTS, tcp: { ...KERNEL_TIMEOUTS.tcp, established: 1000 * 86400 * SECOND } };

/** Client address and port of resident connection i (unique for i < 2^22). */
function residentSrc(i: number): number {
  return (0x0a000000 + (i >>> 10)) >>> 0;
}
function residentSport(i: number): number {
  return 10000 + (i & 1023);
}

/** A table holding `size` ESTABLISHED connections to a DNATed Service (SYN, SYN/ACK, ACK each). */
function filledTable(size: number): ConntrackTable {
  const t = new ConntrackTable({ max: 0, buckets: kubeProxyHashsize(size), timeouts: TIMEOUTS });
  const lk = new CtLookup();
  const p = makePacket({ proto: 'tcp', src: 0, dst: VIP, sport: 0, dport: 80 });
  for (let i = 0; i < size; i++) {
    set(p, residentSrc(i), residentSport(i), VIP, 80, TCP_SYN);
    t.track(p, 0, lk);
    t.setDnat(lk.entry, BACKEND, 8080);
    t.confirm(lk.entry, 0);
    set(p, BACKEND, 8080, residentSrc(i), residentSport(i), TCP_SYN | TCP_ACK);
    t.track(p, 0, lk);
    set(p, residentSrc(i), residentSport(i), VIP, 80, TCP_ACK);
    t.track(p, 0, lk);
  }
  if (t.count !== size) throw new Error(`conntrack bench: filled ${t.count} entries, wanted ${size}`);
  return t;
}

function set(p: Packet, src: number, sport: number, dst: number, dport: number, flags: number): void {
  p.src = src;
  p.sport = sport;
  p.dst = dst;
  p.dport = dport;
  p.tcpFlags = flags;
}

function insertTask(size: number): BenchTask {
  let t: ConntrackTable;
  const lk = new CtLookup();
  const ids = new Int32Array(BATCH);
  const p = makePacket({ proto: 'tcp', src: 0, dst: VIP, sport: 0, dport: 80 });
  let round = 0;
  return {
    name: `conntrack/insert size=${size}`,
    beforeAll: () => {
      t = filledTable(size);
    },
    fn: () => {
      // New clients each round (11.x.y.z), so the hash chains they land in vary.
      const base = (0x0b000000 + (round++ & 0xffff) * BATCH) >>> 0;
      for (let k = 0; k < BATCH; k++) {
        set(p, base + k, 40000, VIP, 80, TCP_SYN);
        t.track(p, 0, lk);
        t.confirm(lk.entry, 0);
        ids[k] = lk.entry;
      }
      for (let k = 0; k < BATCH; k++) t.remove(ids[k]!, 0);
    },
    per: { unit: 'insert+delete', count: BATCH },
    figures: () => ({ entries: t.count, buckets: t.buckets }),
  };
}

function lookupTask(size: number): BenchTask {
  let t: ConntrackTable;
  const lk = new CtLookup();
  const p = makePacket({ proto: 'tcp', src: 0, dst: VIP, sport: 0, dport: 80 });
  let x = 12345;
  let found = 0;
  return {
    name: `conntrack/lookup size=${size}`,
    beforeAll: () => {
      t = filledTable(size);
    },
    fn: () => {
      found = 0;
      for (let k = 0; k < BATCH; k++) {
        // A fixed LCG spreads the lookups over the table (no Math.random: runs repeat).
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        const i = x % size;
        set(p, residentSrc(i), residentSport(i), VIP, 80, TCP_ACK);
        t.track(p, SECOND, lk);
        if (lk.entry >= 0) found++;
      }
      if (found !== BATCH) throw new Error(`conntrack bench: ${BATCH - found} lookups missed`);
    },
    per: { unit: 'lookup', count: BATCH },
    figures: () => ({ entries: t.count, found }),
  };
}

function expireTask(size: number): BenchTask {
  let t: ConntrackTable;
  const lk = new CtLookup();
  const r = new GcScanResult();
  const p = makePacket({ proto: 'udp', src: 0, dst: 0x0a60000a, sport: 0, dport: 53 });
  let now = SECOND;
  let round = 0;
  return {
    name: `conntrack/expire size=${size}`,
    beforeAll: () => {
      t = filledTable(size);
    },
    fn: () => {
      const base = (0x0c000000 + (round++ & 0xffff) * BATCH) >>> 0;
      for (let k = 0; k < BATCH; k++) {
        set(p, base + k, 5353, 0x0a60000a, 53, 0);
        t.track(p, now, lk);
        t.confirm(lk.entry, now);
      }
      now += TIMEOUTS.udp.unreplied + SECOND;
      t.gcScan(0, t.buckets, now, r);
      if (r.expired !== BATCH) throw new Error(`conntrack bench: gc reaped ${r.expired}, wanted ${BATCH}`);
    },
    per: { unit: 'expired entry', count: BATCH },
    figures: () => ({ entries: t.count, scannedPerPass: r.scanned, reapedPerPass: r.expired }),
  };
}

const CLIENT_TABLES = 1000;
const CLIENT_CONNECTIONS = 20;

function clientTablesTask(): BenchTask {
  const lk = new CtLookup();
  const r = new GcScanResult();
  const p = makePacket({ proto: 'tcp', src: 0, dst: VIP, sport: 0, dport: 80 });
  let heads = 0;
  let scanned = 0;
  return {
    name: `conntrack/client tables nodes=${CLIENT_TABLES}`,
    fn: () => {
      heads = 0;
      scanned = 0;
      for (let i = 0; i < CLIENT_TABLES; i++) {
        const t = new ConntrackTable({ max: 131072, buckets: kubeProxyHashsize(131072), timeouts: TIMEOUTS });
        for (let k = 0; k < CLIENT_CONNECTIONS; k++) {
          set(p, (0xac100000 + i) >>> 0, 32768 + k, VIP, 80, TCP_SYN);
          t.track(p, 0, lk);
          t.setDnat(lk.entry, BACKEND + k, 8080);
          t.confirm(lk.entry, 0);
        }
        t.gcScan(0, t.buckets, SECOND, r);
        heads += t.physicalBuckets;
        scanned += r.scanned;
      }
    },
    per: { unit: 'table', count: CLIENT_TABLES },
    figures: () => ({ bucketHeadsPerTable: heads / CLIENT_TABLES, nodesScannedPerTable: scanned / CLIENT_TABLES }),
  };
}

/** ClusterIP of service i: 172.30.0.0/16 from .0.1 up. */
function clusterIp(i: number): number {
  return (0xac1e0000 + i + 1) >>> 0;
}

/** A node (pod bridge cni0 10.0.1.0/24, eth0 192.168.0.2/24) with kube-proxy's rules for `services` ClusterIPs. */
function kubeProxyNode(services: number): Node {
  const svcs = [];
  const slices = [];
  for (let i = 0; i < services; i++) {
    const ip = clusterIp(i);
    const dotted = `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
    svcs.push(testService('bench', `svc${i}`, { clusterIP: dotted, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }));
    const j = i + 1;
    slices.push(testSlice('bench', `svc${i}`, [{ ip: `10.${180 + (j >> 16)}.${(j >> 8) & 255}.${j & 255}` }], [{ name: 'p80', port: 8080 }]));
  }
  const rs = compileRuleset(nodeRuleset(proxyStateFromObjects(svcs, slices, 'test-node'), { ...FAKE_PROXIER_OPTIONS, nfacct: false }).ruleset);
  return new Node({
    name: 'bench',
    interfaces: [
      { name: 'eth0', addr: 0xc0a80002, prefix: 24 },
      { name: 'cni0', addr: 0x0a000101, prefix: 24 },
    ],
    routes: [{ dst: { addr: 0, prefix: 0, mask: 0 }, dev: 'eth0', via: 0xc0a80001 }],
    conntrack: { max: 0, buckets: 65536 },
    ruleset: rs,
    random: new RandomStream(1, 'bench/netfilter'),
  });
}

function nodeFirstPacketTask(services: number): BenchTask {
  let node: Node;
  const p = makePacket({ proto: 'tcp', src: 0, dst: 0, sport: 0, dport: 80 });
  const ids = new Int32Array(BATCH);
  let x = 7;
  let rules = 0;
  let simNs = 0;
  return {
    name: `node/first packet services=${services}`,
    beforeAll: () => {
      node = kubeProxyNode(services);
    },
    fn: () => {
      rules = 0;
      simNs = 0;
      for (let k = 0; k < BATCH; k++) {
        x = (Math.imul(x, 1103515245) + 12345) >>> 0;
        set(p, 0x0a000105, 20000 + k, clusterIp(x % services), 80, TCP_SYN);
        p.costNs = 0;
        const r = node.receive(p, 'cni0', SECOND);
        if (r.delivery !== 'forward' || !r.dnat) throw new Error(`node bench: SYN not DNATed and forwarded (${r.dropReason})`);
        rules += r.hook.rulesVisited;
        simNs += r.costNs;
        ids[k] = r.ctEntry;
      }
      for (let k = 0; k < BATCH; k++) node.conntrack.remove(ids[k]!, SECOND);
    },
    per: { unit: 'first packet', count: BATCH },
    figures: () => ({ rulesVisitedPerPacket: rules / BATCH, simulatedNsPerPacket: Math.round(simNs / BATCH) }),
  };
}

function nodeEstablishedTask(services: number): BenchTask {
  let node: Node;
  const p = makePacket({ proto: 'tcp', src: 0, dst: 0, sport: 0, dport: 80 });
  let rules = 0;
  let simNs = 0;
  return {
    name: `node/established packet services=${services}`,
    beforeAll: () => {
      node = kubeProxyNode(services);
      for (let k = 0; k < BATCH; k++) {
        set(p, 0x0a000105, 30000 + k, clusterIp(k % services), 80, TCP_SYN);
        const r = node.receive(p, 'cni0', 0);
        set(p, p.dst, p.dport, 0x0a000105, 30000 + k, TCP_SYN | TCP_ACK);
        node.receive(p, 'eth0', 0);
        if (r.delivery !== 'forward') throw new Error('node bench: handshake failed');
      }
    },
    fn: () => {
      rules = 0;
      simNs = 0;
      for (let k = 0; k < BATCH; k++) {
        set(p, 0x0a000105, 30000 + k, clusterIp(k % services), 80, TCP_ACK);
        p.costNs = 0;
        const r = node.receive(p, 'cni0', SECOND);
        if (r.delivery !== 'forward' || r.newConnection) throw new Error('node bench: ACK not forwarded on its entry');
        rules += r.hook.rulesVisited;
        simNs += r.costNs;
      }
    },
    per: { unit: 'packet', count: BATCH },
    figures: () => ({ rulesVisitedPerPacket: rules / BATCH, simulatedNsPerPacket: Math.round(simNs / BATCH) }),
  };
}

const suite: BenchSuite = {
  name: 'conntrack',
  tasks: ({ quick }) => {
    const sizes = quick ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
    const services = quick ? [1000] : [1000, 10_000];
    return [
      ...sizes.flatMap((s) => [insertTask(s), lookupTask(s), expireTask(s)]),
      ...services.flatMap((n) => [nodeFirstPacketTask(n), nodeEstablishedTask(n)]),
      clientTablesTask(),
    ];
  },
};
export default suite;
