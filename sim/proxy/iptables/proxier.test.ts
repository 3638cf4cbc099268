import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { proxyStateFromObjects } from '../from-api.ts';
import { FAKE_PROXIER_OPTIONS, testService, testSlice } from './golden-fixtures.ts';
import { normalizeRestoreText } from './normalize.ts';
import { IptablesProxier, restoreText } from './proxier.ts';

const golden = (name: string) => readFileSync(new URL(`../../../test/golden/proxy/iptables/${name}`, import.meta.url), 'utf8');
const p80 = [{ name: 'p80', port: 80 }];

test('TestOverallIPTablesRules: same rules as kube-proxy after its normalisation', () => {
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
    testService('ns3', 'svc3', {
      type: 'NodePort',
      clusterIP: '172.30.0.43',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3003 }],
    }),
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
    testService('ns6', 'svc6', {
      type: 'ClusterIP',
      clusterIP: '172.30.0.46',
      ports: [{ name: 'p80', port: 80, protocol: 'TCP', targetPort: 80 }],
    }),
  ];
  const slices = [
    testSlice('ns1', 'svc1', [{ ip: '10.180.0.1' }], p80),
    // No nodeName: not local, so svc2 (Local policy) has no local endpoints.
    testSlice('ns2', 'svc2', [{ ip: '10.180.0.2' }], p80),
    testSlice('ns3', 'svc3', [{ ip: '10.180.0.3' }], p80),
    testSlice('ns4', 'svc4', [{ ip: '10.180.0.4' }, { ip: '10.180.0.5', nodeName: 'test-node' }], p80),
    testSlice('ns5', 'svc5', [{ ip: '10.180.0.3' }], p80),
  ];
  const state = proxyStateFromObjects(services, slices, 'test-node');
  const r = new IptablesProxier(FAKE_PROXIER_OPTIONS).sync({ state, full: true });
  assert.equal(normalizeRestoreText(restoreText(r)), normalizeRestoreText(golden('overall.rules')));
  // kube-proxy's metric check in the same test: nat rules total = the -A lines of the nat table.
  const natA = restoreText(r).split('*nat\n')[1]!.split('\n').filter((l) => l.startsWith('-A')).length;
  assert.equal(r.natRulesTotal, natA);
});
