import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { InputError } from '../../io/input-error.ts';
import type { EndpointSlice, Service } from '../../k8s/objects.ts';
import { formatIPv4, parseIPv4 } from '../../net/ipv4.ts';
import { IpvsConnectionTable } from '../../ipvs/testing/connection-table.ts';
import { totalNetlinkOps } from '../../ipvs/service-table.ts';
import { proxyStateFromObjects } from '../from-api.ts';
import { testService, testSlice } from '../testing/golden-fixtures.ts';
import { IpvsProxier, type IpvsProxierOptions } from './proxier.ts';
import { renderIpvsMode } from './render.ts';

// UPDATE_GOLDEN=1 rewrites the golden files after an intended change; review the diff.
function golden(name: string, actual: string): void {
  const p = `test/golden/ipvs/proxier/${name}`;
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}

/** kube-proxy's NewFakeProxier in pkg/proxy/ipvs/proxier_test.go: testHostname, rr, no local detector. */
const HOST = 'test-hostname';
function fakeOptions(nodeIPs: string[]): IpvsProxierOptions {
  return { nodeName: HOST, nodeIPs, randomFully: false };
}

function state(services: Service[], slices: EndpointSlice[]) {
  return proxyStateFromObjects(services, slices, HOST);
}

/** The fake IPVS state as kube-proxy's tests compare it: services and their destinations. */
function ipvsState(p: IpvsProxier): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const { vs } of p.table.entries()) {
    out[`${formatIPv4(vs.addr)}:${vs.port}/${vs.protocol} ${vs.scheduler}`] = vs.dests.map((d) => `${formatIPv4(d.addr)}:${d.port} w${d.weight}`).sort();
  }
  return out;
}

/** checkIptables: a rule in `chain` (either table) jumping to `to`, matching `set` when given. */
function hasJump(restore: string[], chain: string, to: string, set = ''): boolean {
  return restore.some(
    (l) => l.startsWith(`-A ${chain} `) && l.endsWith(`-j ${to}`) && (set === '' || l.includes(`--match-set ${set} `)),
  );
}

const nodePortSvc = (protocol: 'TCP' | 'UDP' | 'SCTP', local = false) =>
  testService('ns1', 'svc1', {
    type: 'NodePort',
    clusterIP: '10.20.30.41',
    ...(local ? { externalTrafficPolicy: 'Local' as const } : {}),
    ports: [{ name: 'p80', port: 80, protocol, nodePort: 3001 }],
  });

test('TestNodePortIPv4 "1 service with node port, has 2 endpoints": ClusterIP and NodePort virtual servers', () => {
  const p = new IpvsProxier(fakeOptions(['100.101.102.103']));
  p.sync(state([nodePortSvc('TCP')], [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }], [{ name: 'p80', port: 80 }])]));
  assert.deepEqual(ipvsState(p), {
    '10.20.30.41:80/TCP rr': ['10.180.0.1:80 w1'],
    '100.101.102.103:3001/TCP rr': ['10.180.0.1:80 w1'],
  });
  assert.deepEqual(p.dummyAddresses, ['10.20.30.41']);
});

test('TestNodePortIPv4 "1 UDP service with node port, has endpoints": sets and jumps', () => {
  const p = new IpvsProxier(fakeOptions(['100.101.102.103']));
  const r = p.sync(state([nodePortSvc('UDP')], [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }], [{ name: 'p80', port: 80, protocol: 'UDP' }])]));
  assert.deepEqual(ipvsState(p), {
    '10.20.30.41:80/UDP rr': ['10.180.0.1:80 w1'],
    '100.101.102.103:3001/UDP rr': ['10.180.0.1:80 w1'],
  });
  assert.deepEqual([...p.ipsets.get('KUBE-NODE-PORT-UDP')!], ['3001']);
  assert.ok(hasJump(r.restoreLines, 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'KUBE-NODE-PORT-UDP'));
  assert.ok(hasJump(r.restoreLines, 'KUBE-NODE-PORT', 'ACCEPT', 'KUBE-HEALTH-CHECK-NODE-PORT'));
  assert.ok(hasJump(r.restoreLines, 'KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-CLUSTER-IP'));
  assert.ok(hasJump(r.restoreLines, 'KUBE-SERVICES', 'KUBE-NODE-PORT'));
  assert.ok(hasJump(r.restoreLines, 'KUBE-SERVICES', 'ACCEPT', 'KUBE-CLUSTER-IP'));
});

test('TestNodePortIPv4 "service has node port but no endpoints": virtual servers without real servers', () => {
  const p = new IpvsProxier(fakeOptions(['100.101.102.103']));
  p.sync(state([nodePortSvc('TCP')], []));
  assert.deepEqual(ipvsState(p), { '10.20.30.41:80/TCP rr': [], '100.101.102.103:3001/TCP rr': [] });
});

test('TestNodePortIPv4 "node port service with protocol sctp on a node with multiple nodeIPs"', () => {
  const ips = ['100.101.102.103', '100.101.102.104', '100.101.102.105'];
  const p = new IpvsProxier(fakeOptions(ips));
  p.sync(state([nodePortSvc('SCTP')], [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }], [{ name: 'p80', port: 80, protocol: 'SCTP' }])]));
  const expected: Record<string, string[]> = { '10.20.30.41:80/SCTP rr': ['10.180.0.1:80 w1'] };
  for (const ip of ips) expected[`${ip}:3001/SCTP rr`] = ['10.180.0.1:80 w1'];
  assert.deepEqual(ipvsState(p), expected);
  assert.deepEqual([...p.ipsets.get('KUBE-NODE-PORT-SCTP-HASH')!].sort(), ips.map((ip) => `${ip},sctp:3001`));
});

test('TestNodePortIPv4 "node port service with protocol sctp and externalTrafficPolicy local"', () => {
  const p = new IpvsProxier(fakeOptions(['100.101.102.103']));
  const r = p.sync(
    state(
      [nodePortSvc('SCTP', true)],
      [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1', nodeName: HOST }, { ip: '10.180.1.1', nodeName: 'otherHost' }], [{ name: 'p80', port: 80, protocol: 'SCTP' }])],
    ),
  );
  assert.deepEqual(ipvsState(p), {
    '10.20.30.41:80/SCTP rr': ['10.180.0.1:80 w1', '10.180.1.1:80 w1'],
    '100.101.102.103:3001/SCTP rr': ['10.180.0.1:80 w1'],
  });
  assert.deepEqual([...p.ipsets.get('KUBE-NODE-PORT-SCTP-HASH')!], ['100.101.102.103,sctp:3001']);
  assert.deepEqual([...p.ipsets.get('KUBE-NODE-PORT-LOCAL-SCTP-HASH')!], ['100.101.102.103,sctp:3001']);
  const local = r.restoreLines.findIndex((l) => hasJump([l], 'KUBE-NODE-PORT', 'RETURN', 'KUBE-NODE-PORT-LOCAL-SCTP-HASH'));
  const masq = r.restoreLines.findIndex((l) => hasJump([l], 'KUBE-NODE-PORT', 'KUBE-MARK-MASQ', 'KUBE-NODE-PORT-SCTP-HASH'));
  assert.ok(local >= 0 && masq > local, 'the Local RETURN comes before the masquerade jump');
  assert.ok(hasJump(r.restoreLines, 'KUBE-NODE-PORT', 'ACCEPT', 'KUBE-HEALTH-CHECK-NODE-PORT'));
});

test('TestExternalIPsNoEndpoint: the external IP gets a virtual server without real servers', () => {
  const p = new IpvsProxier(fakeOptions([]));
  p.sync(
    state(
      [testService('ns1', 'svc1', { type: 'ClusterIP', clusterIP: '10.20.30.41', externalIPs: ['50.60.70.81'], ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }] })],
      [],
    ),
  );
  assert.deepEqual(ipvsState(p), { '10.20.30.41:80/TCP rr': [], '50.60.70.81:80/TCP rr': [] });
});

test('TestOnlyLocalExternalIPs: with externalTrafficPolicy Local an external IP has only the local endpoint (IPv6 external IPs filtered out)', () => {
  const p = new IpvsProxier(fakeOptions([]));
  p.sync(
    state(
      [
        testService('ns1', 'svc1', {
          type: 'NodePort',
          clusterIP: '10.20.30.41',
          externalIPs: ['50.60.70.81', '2012::51', '127.0.0.1'],
          externalTrafficPolicy: 'Local',
          ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
        }),
      ],
      [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1', nodeName: HOST }, { ip: '10.180.1.1', nodeName: 'other-node' }], [{ name: 'p80', port: 80 }])],
    ),
  );
  const vs = ipvsState(p);
  // "Expect 3 ipvs services": the ClusterIP and the two IPv4 external IPs.
  assert.deepEqual(Object.keys(vs).sort(), ['10.20.30.41:80/TCP rr', '127.0.0.1:80/TCP rr', '50.60.70.81:80/TCP rr']);
  assert.deepEqual(vs['50.60.70.81:80/TCP rr'], ['10.180.0.1:80 w1']);
  assert.deepEqual(vs['127.0.0.1:80/TCP rr'], ['10.180.0.1:80 w1']);
  assert.deepEqual(vs['10.20.30.41:80/TCP rr'], ['10.180.0.1:80 w1', '10.180.1.1:80 w1']);
});

test('TestOnlyLocalNodePorts: the NodePort has only the local endpoint; KUBE-NODE-PORT returns Local ports before masquerading', () => {
  const p = new IpvsProxier(fakeOptions(['100.101.102.103']));
  const r = p.sync(
    state(
      [nodePortSvc('TCP', true)],
      [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1', nodeName: HOST }, { ip: '10.180.1.1', nodeName: 'other-node' }], [{ name: 'p80', port: 80 }])],
    ),
  );
  assert.deepEqual(ipvsState(p)['100.101.102.103:3001/TCP rr'], ['10.180.0.1:80 w1']);
  assert.deepEqual([...p.ipsets.get('KUBE-NODE-PORT-TCP')!], ['3001']);
  assert.deepEqual([...p.ipsets.get('KUBE-NODE-PORT-LOCAL-TCP')!], ['3001']);
  const order = ['RETURN|KUBE-NODE-PORT-LOCAL-TCP', 'KUBE-MARK-MASQ|KUBE-NODE-PORT-TCP', 'ACCEPT|KUBE-HEALTH-CHECK-NODE-PORT'].map(
    (x) => {
      const [to, set] = x.split('|') as [string, string];
      return r.restoreLines.findIndex((l) => hasJump([l], 'KUBE-NODE-PORT', to, set));
    },
  );
  assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > order[k - 1]!)), `KUBE-NODE-PORT rules in kube-proxy's order: ${order}`);
  assert.ok(hasJump(r.restoreLines, 'KUBE-SERVICES', 'KUBE-MARK-MASQ', 'KUBE-CLUSTER-IP'));
  assert.ok(hasJump(r.restoreLines, 'KUBE-SERVICES', 'KUBE-NODE-PORT'));
  assert.ok(hasJump(r.restoreLines, 'KUBE-SERVICES', 'ACCEPT', 'KUBE-CLUSTER-IP'));
});

test('TestHealthCheckNodePort: KUBE-HEALTH-CHECK-NODE-PORT holds the health check ports of Local-policy services only', () => {
  const svc = (name: string, hc: number, policy: 'Local' | 'Cluster') =>
    testService('ns1', name, {
      type: 'LoadBalancer',
      clusterIP: '10.20.30.41',
      externalTrafficPolicy: policy,
      healthCheckNodePort: hc,
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3000 }],
    });
  const p = new IpvsProxier(fakeOptions(['100.101.102.103']));
  p.sync(state([svc('valid-svc1', 30000, 'Local'), svc('valid-svc2', 30001, 'Local'), svc('invalid-svc3', 30002, 'Cluster')], []));
  assert.deepEqual([...p.ipsets.get('KUBE-HEALTH-CHECK-NODE-PORT')!].sort(), ['30000', '30001']);
});

function lbCase() {
  return state(
    [
      testService(
        'ns1',
        'svc1',
        {
          type: 'LoadBalancer',
          clusterIP: '10.20.30.41',
          externalTrafficPolicy: 'Local',
          healthCheckNodePort: 30000,
          externalIPs: ['50.60.70.81'],
          loadBalancerSourceRanges: ['1.2.3.0/24'],
          sessionAffinity: 'ClientIP',
          ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }],
        },
        [{ ip: '1.2.3.4' }],
      ),
    ],
    [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1', nodeName: HOST }, { ip: '10.180.1.1', nodeName: 'other' }], [{ name: 'p80', port: 80 }])],
  );
}

test('LoadBalancer with Local policy, externalIP, source ranges and ClientIP affinity: golden ipvsadm, ipset save, iptables-save', () => {
  const r = renderIpvsMode(lbCase(), { nodeName: HOST, nodeIP: '100.101.102.103', clusterCIDR: '10.0.0.0/8' });
  golden('lb-local.ipvsadm', r.ipvsadm);
  golden('lb-local.ipset', r.ipsets);
  golden('lb-local.iptables-save', r.iptablesSave);
  // Source ranges that exclude the node: the node may not reach the VIP (KUBE-IPVS-OUT-FILTER).
  assert.match(r.iptablesSave, /-A KUBE-IPVS-OUT-FILTER -s 1\.2\.3\.4\/32 -m ipvs --vaddr 1\.2\.3\.4 --vproto tcp --vport 80 -j DROP/);
  assert.deepEqual(r.dummyAddresses, ['1.2.3.4', '10.20.30.41', '50.60.70.81']);
});

test('source ranges containing the node IP admit the VIP as source (KUBE-LOAD-BALANCER-SOURCE-IP), no out filter', () => {
  const r = renderIpvsMode(lbCase(), { nodeName: HOST, nodeIP: '1.2.3.9' });
  assert.match(r.ipsets, /^add KUBE-LOAD-BALANCER-SOURCE-IP 1\.2\.3\.4,tcp:80,1\.2\.3\.4$/m);
  assert.doesNotMatch(r.iptablesSave, /-m ipvs/);
});

test('mh scheduler: virtual servers carry mh-port (kube-proxy FlagSourceHash)', () => {
  const r = renderIpvsMode(state([nodePortSvc('TCP')], []), { nodeName: HOST, scheduler: 'mh' });
  assert.match(r.ipvsadm, /^TCP {2}10\.20\.30\.41:80 mh \(mh-port\)$/m);
});

test('a second identical sync changes nothing; netlink objects are counted per sync', () => {
  const p = new IpvsProxier(fakeOptions(['100.101.102.103']));
  const s = state([nodePortSvc('TCP')], [testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }, { ip: '10.180.0.2' }], [{ name: 'p80', port: 80 }])]);
  const first = p.sync(s);
  assert.deepEqual(first.netlink, { newService: 2, setService: 0, delService: 0, newDest: 4, setDest: 0, delDest: 0 });
  assert.equal(first.addressesBound, 1);
  assert.equal(first.ipsetAdded, 3); // KUBE-CLUSTER-IP, KUBE-NODE-PORT-TCP, KUBE-IPVS-IPS
  assert.equal(first.objectsChanged, 6 + 1 + 3);
  const second = p.sync(s);
  assert.equal(second.objectsChanged, 0);
  assert.equal(second.virtualServersListed, 2);
  // Removing the Service deletes its virtual servers, unbinds its address and empties the sets.
  const third = p.sync(state([], []));
  assert.equal(third.netlink.delService, 2);
  assert.equal(third.addressesUnbound, 1);
  assert.equal(third.ipsetDeleted, 3);
  assert.equal(p.table.size, 0);
});

test('graceful termination: a TCP real server with connections goes to weight 0 and is deleted by the minute check once idle', () => {
  const p = new IpvsProxier(fakeOptions([]));
  const slice = (ips: string[]) => testSlice('ns1', 'svc1', ips.map((ip) => ({ ip })), [{ name: 'p80', port: 80 }]);
  const svc = testService('ns1', 'svc1', { clusterIP: '10.20.30.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] });
  p.sync(state([svc], [slice(['10.180.0.1', '10.180.0.2'])]));
  const ct = new IpvsConnectionTable(p.table);
  const vip = parseIPv4('10.20.30.41');
  const conns = [1, 2].map((i) => ct.connect('TCP', parseIPv4('10.244.9.9'), 40000 + i, vip, 80, 0)!);
  const a = conns.find((c) => formatIPv4(c.dest.addr) === '10.180.0.1')!;
  ct.setState(a, 'ESTABLISHED', 0);

  const r = p.sync(state([svc], [slice(['10.180.0.2'])]));
  assert.equal(r.netlink.setDest, 1);
  assert.equal(r.gracefulPending, 1);
  assert.deepEqual(ipvsState(p), { '10.20.30.41:80/TCP rr': ['10.180.0.1:80 w0', '10.180.0.2:80 w1'] });
  assert.deepEqual(p.graceful.names(), ['10.20.30.41:80/TCP/10.180.0.1:80']);
  // New connections avoid the quiescent server; the established one continues.
  for (let i = 0; i < 4; i++) assert.equal(formatIPv4(ct.connect('TCP', parseIPv4('10.244.9.9'), 41000 + i, vip, 80, 0)!.dest.addr), '10.180.0.2');
  assert.equal(ct.lookup('TCP', a.caddr, a.cport, vip, 80, 1), a);
  assert.equal(totalNetlinkOps(p.gracefulCheck()), 0);
  ct.setState(a, 'CLOSE', 0);
  ct.expire(11_000_000_000);
  assert.equal(p.gracefulCheck().delDest, 1);
  assert.deepEqual(ipvsState(p), { '10.20.30.41:80/TCP rr': ['10.180.0.2:80 w1'] });
});

test('graceful termination: UDP real servers are deleted at once; a returning endpoint is re-added at weight 1', () => {
  const p = new IpvsProxier(fakeOptions([]));
  const udp = testService('ns1', 'dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
  const tcp = testService('ns1', 'web', { clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  const s1 = (ips: string[]) => [
    testSlice('ns1', 'dns', ips.map((ip) => ({ ip })), [{ name: 'dns', port: 53, protocol: 'UDP' }]),
    testSlice('ns1', 'web', ips.map((ip) => ({ ip })), [{ name: 'http', port: 80 }]),
  ];
  p.sync(state([udp, tcp], s1(['10.1.0.1', '10.1.0.2'])));
  const ct = new IpvsConnectionTable(p.table);
  for (let i = 0; i < 4; i++) {
    ct.connect('UDP', parseIPv4('10.9.0.1'), 5000 + i, parseIPv4('10.96.0.10'), 53, 0);
    ct.connect('TCP', parseIPv4('10.9.0.1'), 5000 + i, parseIPv4('10.96.0.11'), 80, 0);
  }
  p.sync(state([udp, tcp], s1(['10.1.0.2'])));
  assert.deepEqual(ipvsState(p), {
    '10.96.0.10:53/UDP rr': ['10.1.0.2:53 w1'],
    '10.96.0.11:80/TCP rr': ['10.1.0.1:80 w0', '10.1.0.2:80 w1'],
  });
  const back = p.sync(state([udp, tcp], s1(['10.1.0.1', '10.1.0.2'])));
  assert.deepEqual(ipvsState(p), {
    '10.96.0.10:53/UDP rr': ['10.1.0.1:53 w1', '10.1.0.2:53 w1'],
    '10.96.0.11:80/TCP rr': ['10.1.0.1:80 w1', '10.1.0.2:80 w1'],
  });
  assert.equal(back.gracefulPending, 0);
  assert.equal(back.netlink.delDest, 1); // MoveRSOutofGracefulDeleteList, then NEW_DEST
});

test('bad options are InputErrors naming the flag', () => {
  const bad = (o: Partial<IpvsProxierOptions>, re: RegExp) =>
    assert.throws(() => new IpvsProxier({ nodeName: HOST, ...o }), (e: unknown) => e instanceof InputError && re.test(e.message));
  bad({ scheduler: 'lblc' }, /--ipvs-scheduler: expected one of rr, wrr, lc, wlc, sh, dh, sed, nq, mh, found "lblc"/);
  bad({ clusterCIDR: '10.0.0.0' }, /--cluster-cidr/);
  bad({ nodeIP: 'x' }, /--node-ip/);
  bad({ masqueradeBit: 32 }, /--iptables-masquerade-bit/);
});
