import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clusterNameIndex, syntheticAddress } from './names.ts';

const idx = clusterNameIndex({
  domain: 'cluster.local',
  services: [
    { name: 'web', namespace: 'shop', clusterIP: '10.96.0.20' },
    { name: 'db', namespace: 'shop', clusterIP: 'None', readyAddresses: ['10.244.1.7', '10.244.2.8'] },
    { name: 'idle', namespace: 'shop', clusterIP: 'None', readyAddresses: [] },
  ],
  namespaces: ['empty'],
  missingExternal: ['gone.example.com'],
});
const a = (name: string) => idx.answer(name, 'A');
const aaaa = (name: string) => idx.answer(name, 'AAAA');

test('a Service name answers its ClusterIP; AAAA is NODATA in an IPv4-only cluster', () => {
  assert.deepEqual(a('web.shop.svc.cluster.local'), { rcode: 'NOERROR', addresses: ['10.96.0.20'], ttl: 30 });
  assert.deepEqual(a('WEB.shop.svc.cluster.local.'), a('web.shop.svc.cluster.local'), 'case and a trailing dot do not matter');
  assert.deepEqual(aaaa('web.shop.svc.cluster.local'), { rcode: 'NOERROR', addresses: [], ttl: 30 });
});

test('a headless Service answers its ready pods; with none the name does not exist', () => {
  assert.deepEqual(a('db.shop.svc.cluster.local').addresses, ['10.244.1.7', '10.244.2.8']);
  assert.equal(a('idle.shop.svc.cluster.local').rcode, 'NXDOMAIN');
});

test('pods insecure: a dashed IP in an existing namespace answers that IP', () => {
  assert.deepEqual(a('10-244-1-7.shop.pod.cluster.local').addresses, ['10.244.1.7']);
  assert.equal(a('10-244-1-7.nowhere.pod.cluster.local').rcode, 'NXDOMAIN');
  assert.equal(a('10-244-1-999.shop.pod.cluster.local').rcode, 'NXDOMAIN');
});

test('under the cluster domain: what does not exist is NXDOMAIN (never forwarded); namespaces and the apex are NODATA', () => {
  for (const n of ['nope.shop.svc.cluster.local', 'web.other.svc.cluster.local', 'example.com.cluster.local', 'web.shop.svc.cluster.local.shop.svc.cluster.local']) assert.equal(a(n).rcode, 'NXDOMAIN', n);
  for (const n of ['shop.svc.cluster.local', 'empty.svc.cluster.local', 'svc.cluster.local', 'cluster.local']) assert.deepEqual([a(n).rcode, a(n).addresses], ['NOERROR', []], n);
});

test('outside the domain: the upstream knows every name but the missing ones; a resolver outside the cluster knows no cluster name', () => {
  assert.deepEqual(a('example.com').addresses, [syntheticAddress('example.com')]);
  assert.equal(a('gone.example.com').rcode, 'NXDOMAIN');
  assert.equal(aaaa('example.com').rcode, 'NOERROR');
  assert.equal(idx.answerUpstream('web.shop.svc.cluster.local', 'A').rcode, 'NXDOMAIN');
  assert.equal(idx.answerUpstream('example.com', 'A').addresses[0], syntheticAddress('example.com'));
});

test('property: synthetic addresses are stable and in 198.18.0.0/15', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 60 }), (name) => {
      const ip = syntheticAddress(name);
      assert.equal(ip, syntheticAddress(name));
      assert.match(ip, /^198\.(18|19)\.\d{1,3}\.\d{1,3}$/);
      assert.ok(ip.split('.').every((o) => Number(o) <= 255));
    }),
  );
});
