import { goSharpHex08 } from '../go-hex.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { EndpointSlice, Service } from '../../k8s/objects.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { changedServices } from '../proxy-state.ts';
import { testService, testSlice } from '../testing/golden-fixtures.ts';
import { hashAndTruncate } from './chain-names.ts';
import { NftablesProxier, transactionText, type NftablesProxierOptions } from './proxier.ts';
import { renderDump, renderListRuleset } from '../../nftables/render.ts';
import { sortNftTransaction } from '../../nftables/testing/normalize.ts';
import { parseNft } from '../../nftables/parse.ts';
import { evaluateHook } from '../../nftables/evaluate.ts';
import { CT_STATE_BITS } from '../../nftables/key.ts';
import { DynamicSets } from '../../nftables/dynamic-sets.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { makePacket } from '../../net/packet.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { RandomStream } from '../../engine/random.ts';
import type { Ruleset } from '../../nftables/types.ts';

const DIR = 'test/golden/proxy/nftables';

// Set UPDATE_GOLDEN=1 to rewrite a golden file after an intended change (a missing one fails).
function golden(name: string, actual: string): void {
  const path = `${DIR}/${name}`;
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'));
}

/** NewFakeProxier (pkg/proxy/nftables/proxier_test.go): node 192.168.0.2, pod CIDR 10.0.0.0/8, services 172.30.0.0/16, mark 0x4000. */
export const FAKE_NFT_OPTIONS: NftablesProxierOptions = {
  nodeName: 'test-node',
  nodeIP: '192.168.0.2',
  clusterCIDR: '10.0.0.0/8',
  serviceCIDRs: ['172.30.0.0/16'],
  nodePortIPs: ['192.168.0.2'],
  masqueradeMark: '0x4000',
};

const p80 = [{ name: 'p80', port: 80 }];

function overallState() {
  const services = [
    testService('ns1', 'svc1', { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] }),
    testService(
      'ns2',
      'svc2',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Local',
        clusterIP: '172.30.0.42',
        ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
        externalIPs: ['192.168.99.22'],
        healthCheckNodePort: 30000,
      },
      [{ ip: '1.2.3.4' }],
    ),
    testService('ns3', 'svc3', { type: 'NodePort', clusterIP: '172.30.0.43', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3003 }] }),
    testService('ns4', 'svc4', {
      type: 'NodePort',
      clusterIP: '172.30.0.44',
      externalIPs: ['192.168.99.33'],
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
    }),
    testService(
      'ns5',
      'svc5',
      {
        type: 'LoadBalancer',
        externalTrafficPolicy: 'Cluster',
        clusterIP: '172.30.0.45',
        ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3002 }],
        healthCheckNodePort: 30000,
        loadBalancerSourceRanges: [' 203.0.113.0/25'],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      },
      [{ ip: '5.6.7.8' }],
    ),
    testService('ns6', 'svc6', { type: 'ClusterIP', clusterIP: '172.30.0.46', ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }] }),
  ];
  const slices = [
    testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }], p80),
    testSlice('ns2', 'svc2', [{ ip: '10.180.0.2' }], p80),
    testSlice('ns3', 'svc3', [{ ip: '10.180.0.3' }], p80),
    testSlice('ns4', 'svc4', [{ ip: '10.180.0.4' }, { ip: '10.180.0.5', nodeName: 'test-node' }], p80),
    testSlice('ns5', 'svc5', [{ ip: '10.180.0.3' }], p80),
  ];
  return { services, slices, state: proxyStateFromObjects(services, slices, 'test-node') };
}

test('chain name hashes match kube-proxy (servicePortChainNameBase / servicePortEndpointChainNameBase)', () => {
  assert.equal(hashAndTruncate('ns1/svc1/tcp/p80'), 'ULMVA6XW-ns1/svc1/tcp/p80');
  assert.equal(hashAndTruncate('ns1/svc1/tcp/p80__10.180.0.1/80'), '5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80');
  assert.equal(hashAndTruncate('ns5/svc5/tcp/p80__10.180.0.3/80'), 'GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80');
  const long = hashAndTruncate('x'.repeat(300));
  assert.equal(long.length, 240);
  assert.ok(long.endsWith('...'));
});

test('TestOverallNFTablesRules: same ruleset as kube-proxy after its normalisation', () => {
  const { state } = overallState();
  const p = new NftablesProxier(FAKE_NFT_OPTIONS);
  const r = p.sync({ state, full: true });
  const expected = readFileSync(`${DIR}/overall.expected.nft`, 'utf8');
  assert.equal(sortNftTransaction(renderDump(r.ruleset)), sortNftTransaction(expected));
  golden('overall.list.nft', renderListRuleset(r.ruleset));
  const text = transactionText(r);
  golden('overall.transaction.nft', text);
  assert.equal(text.trimEnd().split('\n').length, r.lines);
  // The transaction is valid nft input: applying it to an empty kernel gives the same ruleset.
  assert.equal(renderDump(parseNft(text, 'transaction')), renderDump(r.ruleset));
});

test('kube-proxy prints the mark with %#08x in production', () => {
  const { state } = overallState();
  const r = new NftablesProxier({ ...FAKE_NFT_OPTIONS, masqueradeMark: undefined }).sync({ state, full: true });
  assert.match(transactionText(r), /^add rule ip kube-proxy mark-for-masquerade mark set mark or 0x00004000$/m);
});

test('partial sync rewrites only changed services; removed endpoints leave stale chains that are deleted a second later', () => {
  const { services, slices, state } = overallState();
  const p = new NftablesProxier(FAKE_NFT_OPTIONS);
  const first = p.sync({ state, full: true, nowNs: 0 });
  // svc4 loses 10.180.0.5.
  const slices2 = slices.map((s) => (s.metadata.namespace === 'ns4' ? testSlice('ns4', 'svc4', [{ ip: '10.180.0.4' }], p80) : s));
  const state2 = proxyStateFromObjects(services, slices2, 'test-node');
  const second = p.sync({ state: state2, full: false, changedServices: new Set(['ns4/svc4']), nowNs: 2e9 });
  const text = transactionText(second);
  assert.ok(second.lines < first.lines / 3, `partial ${second.lines} vs full ${first.lines}`);
  assert.match(text, /^flush chain ip kube-proxy endpoint-5RFCDDV7-ns4\/svc4\/tcp\/p80__10.180.0.5\/80$/m);
  assert.doesNotMatch(text, /ns1\/svc1/);
  assert.match(text, /numgen random mod 1 vmap \{ 0 : goto endpoint-UNZV3OEC-ns4\/svc4\/tcp\/p80__10.180.0.4\/80 \}/);
  // A later sync more than 1s after: the stale chain is deleted in the cleanup transaction.
  const third = p.sync({ state: state2, full: false, changedServices: new Set(), nowNs: 4e9 });
  assert.deepEqual(third.cleanup.map((c) => (c.object === 'chain' ? `${c.verb} ${c.name}` : '')), ['delete endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80']);
  assert.ok(!third.ruleset.tables.get('ip kube-proxy')!.chains.has('endpoint-5RFCDDV7-ns4/svc4/tcp/p80__10.180.0.5/80'));
  // A full sync of the same state produces the same kernel state as the partial path.
  const fresh = new NftablesProxier(FAKE_NFT_OPTIONS).sync({ state: state2, full: true });
  assert.equal(sortNftTransaction(renderDump(third.ruleset)), sortNftTransaction(renderDump(fresh.ruleset)));
});

test('a service losing all endpoints moves to no-endpoint-services (element delete + add), and back', () => {
  const { services, slices, state } = overallState();
  const p = new NftablesProxier(FAKE_NFT_OPTIONS);
  p.sync({ state, full: true });
  const state2 = proxyStateFromObjects(services, slices.filter((s) => s.metadata.namespace !== 'ns1'), 'test-node');
  const r = p.sync({ state: state2, full: false, changedServices: new Set(['ns1/svc1']) });
  const text = transactionText(r);
  assert.match(text, /^add element ip kube-proxy no-endpoint-services \{ 172.30.0.41 . tcp . 80 comment "ns1\/svc1:p80" : goto reject-chain \}$/m);
  assert.match(text, /^delete element ip kube-proxy service-ips \{ 172.30.0.41 . tcp . 80 \}$/m);
  assert.equal(connect(r.ruleset, '10.0.0.2', '172.30.0.41', 80), 'REJECT');
  const back = p.sync({ state, full: false, changedServices: new Set(['ns1/svc1']) });
  assert.equal(connect(back.ruleset, '10.0.0.2', '172.30.0.41', 80), '10.180.0.1:80');
});

/** A pod's connection through a node: prerouting, forward, postrouting; returns the DNAT target or the verdict. */
function connect(rs: Ruleset, src: string, dst: string, dport: number): string {
  const ctx = {
    nowNs: 0,
    ctState: CT_STATE_BITS.new,
    localAddresses: new Set([parseIPv4('192.168.0.2')]),
    numgen: new RandomStream(7, 'proxy/nftables/test'),
    dynamic: new DynamicSets(),
    costs: DEFAULT_COSTS,
  };
  const p = makePacket({ proto: 'tcp', src: parseIPv4(src), dst: parseIPv4(dst), sport: 30000, dport });
  for (const hook of ['prerouting', 'forward', 'postrouting'] as const) {
    const r = evaluateHook(rs, hook, p, ctx);
    if (r.verdict !== 'accept') return r.verdict.toUpperCase();
  }
  return `${formatIPv4(p.dst)}:${p.dport}`;
}

test('render from API objects with defaults (nodePortAddresses all, no cluster CIDR)', () => {
  const { state } = overallState();
  const r = new NftablesProxier({ nodeName: 'test-node' }).sync({ state, full: true });
  const text = transactionText(r);
  assert.match(text, /^add rule ip kube-proxy services fib daddr type local ip daddr != 127.0.0.0\/8 meta l4proto . th dport vmap @service-nodeports$/m);
  assert.match(text, /^delete set ip kube-proxy nodeport-ips$/m);
  assert.doesNotMatch(text, /ip saddr != 10.0.0.0\/8/);
  assert.equal(connect(r.ruleset, '10.0.0.2', '172.30.0.44', 80).startsWith('10.180.0.'), true);
});

test('renderNftablesMode gives list text, transaction text and its line count', async () => {
  const { renderNftablesMode } = await import('./render.ts');
  const { state } = overallState();
  const out = renderNftablesMode(state, FAKE_NFT_OPTIONS);
  assert.equal(out.ruleset, readFileSync(`${DIR}/overall.list.nft`, 'utf8'));
  assert.equal(out.transactionLines, 177);
  assert.equal(out.transaction, readFileSync(`${DIR}/overall.transaction.nft`, 'utf8'));
});

// TestSyncProxyRulesRepeated (kubernetes/kubernetes pkg/proxy/nftables/proxier_test.go), its first
// seven syncs: the kernel's state after each (Fake.Dump() = baseRules + the step's lines, compared
// after sortNFTablesTransaction) and, where that test checks it, the number of operations in the
// sync's own transaction (LastTransaction.NumOperations(); deleting stale chains is a transaction of
// its own and is not counted).
test('TestSyncProxyRulesRepeated: state after each sync and operations per partial transaction', () => {
  const base = readFileSync(`${DIR}/base.nft`, 'utf8');
  const svc = (ns: string, name: string, ip: string, port: number, portName: string) =>
    testService(ns, name, { type: 'ClusterIP', clusterIP: ip, ports: [{ name: portName, port, protocol: 'TCP' }] });
  const svc1 = svc('ns1', 'svc1', '172.30.0.41', 80, 'p80');
  const svc2 = svc('ns2', 'svc2', '172.30.0.42', 8080, 'p8080');
  const svc3 = svc('ns3', 'svc3', '172.30.0.43', 80, 'p80');
  const svc4 = svc('ns4', 'svc4', '172.30.0.44', 80, 'p80');
  const eps1 = testSlice('ns1', 'svc1', [{ ip: '10.0.1.1' }], p80);
  const eps2 = testSlice('ns2', 'svc2', [{ ip: '10.0.2.1' }], [{ name: 'p8080', port: 8080 }]);
  const eps3 = testSlice('ns3', 'svc3', [{ ip: '10.0.3.1' }], p80);
  const eps3update = testSlice('ns3', 'svc3', [{ ip: '10.0.3.2' }], p80);
  const eps4 = testSlice('ns4', 'svc4', [{ ip: '10.0.4.1' }], p80);

  const p = new NftablesProxier(FAKE_NFT_OPTIONS);
  let prev = proxyStateFromObjects([], [], 'test-node');
  let first = true;
  const step = (n: number, services: Service[], slices: EndpointSlice[], nowNs: number, operations?: number) => {
    const state = proxyStateFromObjects(services, slices, 'test-node');
    const r = p.sync({ state, full: first, changedServices: changedServices(prev, state), nowNs });
    first = false;
    prev = state;
    const expected = base + readFileSync(`${DIR}/repeated-${n}.nft`, 'utf8');
    assert.equal(sortNftTransaction(renderDump(r.ruleset)), sortNftTransaction(expected), `state after sync ${n}`);
    if (operations !== undefined) assert.equal(r.commands.length, operations, `operations of sync ${n}`);
    return r;
  };
  step(1, [svc1, svc2], [eps1, eps2], 0);
  // Add a service and its endpoints: 2 elements, add+flush of 2 chains, 2 rules in each.
  step(2, [svc1, svc2, svc3], [eps1, eps2, eps3], 0, 10);
  // Delete a service: its chains are flushed, not deleted yet; 2 elements deleted.
  step(3, [svc1, svc3], [eps1, eps2, eps3], 0, 4);
  // Two seconds later (the test's ageStaleChains): the stale chains go in their own transaction.
  const r4 = step(4, [svc1, svc3], [eps1, eps2, eps3], 2e9, 0);
  assert.equal(r4.cleanup.length, 2);
  // A service without endpoints: cluster-ips and no-endpoint-services elements.
  step(5, [svc1, svc3, svc4], [eps1, eps2, eps3], 2e9, 2);
  // Its endpoints arrive: service-ips element added, no-endpoint-services element deleted, 2 chains.
  step(6, [svc1, svc3, svc4], [eps1, eps2, eps3, eps4], 2e9, 10);
  // An endpoint of svc3 changes: the old endpoint chain stays (flushed) until it has been stale a second.
  step(7, [svc1, svc3, svc4], [eps1, eps2, eps3update, eps4], 2e9);
});

test("Go's %#08x pads the digits to 8 and then adds 0x (src/fmt/format.go fmtInteger)", () => {
  assert.equal(goSharpHex08(1 << 14), '0x00004000');
  assert.equal(goSharpHex08(2 ** 31), '0x80000000');
  assert.equal(goSharpHex08(1), '0x00000001');
});
