import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice, Service } from '../k8s/objects.ts';
import { endpointsFromSlices, proxyStateFromObjects, servicePortsFromService } from './from-api.ts';
import { changedServices } from './proxy-state.ts';

const svc = (spec: Service['spec'], name = 'svc1', status?: Service['status']): Service => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'ns1' },
  spec,
  ...(status ? { status } : {}),
});

const slice = (endpoints: EndpointSlice['endpoints'], name = 'svc1-abc'): EndpointSlice => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name, namespace: 'ns1', labels: { 'kubernetes.io/service-name': 'svc1' } },
  addressType: 'IPv4',
  endpoints,
  ports: [{ name: 'p80', port: 80, protocol: 'TCP' }],
});

test('service ports carry kube-proxy names, policies and affinity defaults', () => {
  const [sp] = servicePortsFromService(
    svc(
      {
        type: 'LoadBalancer',
        clusterIP: '172.30.0.41',
        ports: [{ name: 'p80', port: 80, nodePort: 3001 }],
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 30000,
        sessionAffinity: 'ClientIP',
        loadBalancerSourceRanges: [' 203.0.113.0/25 ', 'fd00::/64'],
        externalIPs: ['192.168.99.11', '2001:db8::1'],
      },
      'svc1',
      { loadBalancer: { ingress: [{ ip: '1.2.3.4' }, { ip: '5.6.7.8', ipMode: 'Proxy' }] } },
    ),
  );
  assert.ok(sp);
  assert.equal(sp.nameString, 'ns1/svc1:p80');
  assert.equal(sp.id, 'ns1/svc1:p80/TCP');
  assert.equal(sp.protocol, 'TCP');
  assert.equal(sp.nodePort, 3001);
  assert.equal(sp.externalPolicyLocal, true);
  assert.equal(sp.healthCheckNodePort, 30000);
  assert.equal(sp.stickyMaxAgeSeconds, 10800);
  assert.deepEqual(sp.loadBalancerSourceRanges, ['203.0.113.0/25']);
  assert.deepEqual(sp.externalIPs, ['192.168.99.11']);
  assert.deepEqual(sp.loadBalancerVIPs, ['1.2.3.4']);
});

test('headless, ExternalName and IPv6-only services get no ports', () => {
  assert.equal(servicePortsFromService(svc({ clusterIP: 'None', ports: [{ port: 80 }] })).length, 0);
  assert.equal(servicePortsFromService(svc({ type: 'ExternalName', externalName: 'x.example' })).length, 0);
  assert.equal(servicePortsFromService(svc({ clusterIP: 'fd00::1', ports: [{ port: 80 }] })).length, 0);
  // externalTrafficPolicy means nothing for a plain ClusterIP service without external IPs.
  const [sp] = servicePortsFromService(svc({ clusterIP: '10.0.0.1', ports: [{ port: 80 }], externalTrafficPolicy: 'Local' }));
  assert.equal(sp?.externalPolicyLocal, false);
  assert.equal(sp?.nameString, 'ns1/svc1');
});

test('endpoints merge across slices, dedupe, prefer the local copy, sort as strings', () => {
  const m = endpointsFromSlices(
    [
      slice([{ addresses: ['10.180.0.2'] }, { addresses: ['10.180.0.10'], nodeName: 'other' }]),
      slice([{ addresses: ['10.180.0.10'], nodeName: 'node1' }, { addresses: ['fd00::5'] }], 'svc1-def'),
    ],
    'node1',
  );
  const list = m.get('ns1/svc1:p80/TCP');
  assert.ok(list);
  assert.deepEqual(
    list.map((e) => e.endpoint),
    ['10.180.0.10:80', '10.180.0.2:80'],
  );
  assert.equal(list[0]!.isLocal, true);
});

test('changedServices reports the namespaced names whose ports or endpoints changed', () => {
  const s1 = svc({ clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80 }] });
  const s2 = svc({ clusterIP: '172.30.0.42', ports: [{ name: 'p80', port: 80 }] }, 'svc2');
  const a = proxyStateFromObjects([s1, s2], [slice([{ addresses: ['10.180.0.1'] }])], 'node1');
  const b = proxyStateFromObjects([s1, s2], [slice([{ addresses: ['10.180.0.1'], conditions: { ready: false } }])], 'node1');
  assert.deepEqual([...changedServices(a, a)], []);
  assert.deepEqual([...changedServices(a, b)], ['ns1/svc1']);
  const c = proxyStateFromObjects([s1], [slice([{ addresses: ['10.180.0.1'] }])], 'node1');
  assert.deepEqual([...changedServices(a, c)], ['ns1/svc2']);
});
