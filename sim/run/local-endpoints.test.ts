import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeEndpoint, type Endpoint } from '../proxy/endpoint.ts';
import { EndpointTimeline } from '../proxy/sync/endpoint-timeline.ts';
import { clusterIPPort } from '../proxy/service-port.ts';
import { LocalEndpoints } from './local-endpoints.ts';

const ep = (ip: string, nodeName: string, state: 'ready' | 'terminating' = 'ready'): Endpoint =>
  makeEndpoint({ ip, port: 8080, nodeName, ready: state === 'ready', serving: true, terminating: state === 'terminating' });

test('per node and version: its own endpoints, their count, and the Services it has none of', () => {
  const t = new EndpointTimeline();
  const a = ep('10.244.0.2', 'n0');
  const b = ep('10.244.0.3', 'n1');
  const c = ep('10.244.0.4', 'n1');
  t.addService(clusterIPPort('ns', 's0', 'http', '10.96.0.10', 80, 'TCP'), [a, b, c]);
  t.addService(clusterIPPort('ns', 's1', 'http', '10.96.0.11', 80, 'TCP'), [b]);
  const l = new LocalEndpoints(t, ['n0', 'n1', 'n2']);
  assert.deepEqual(l.at(0, 0, 0), [a]);
  assert.deepEqual(l.at(1, 0, 0), [b, c]);
  assert.deepEqual([0, 1, 2].map((n) => l.totalAt(n, 0)), [1, 3, 0]);
  assert.deepEqual([0, 1, 2].map((n) => l.withoutAt(n, 0)), [1, 0, 2]);
  // v1: n0's only endpoint of s0 goes; v2: s1 moves from n1 to n2; v3: s0 on n1 becomes terminating only.
  t.apply(0, [b, c], 0);
  const d = ep('10.244.0.5', 'n2');
  t.apply(1, [d], 0);
  const bt = ep('10.244.0.3', 'n1', 'terminating');
  const ct = ep('10.244.0.4', 'n1', 'terminating');
  t.apply(0, [bt, ct, d], 0);
  assert.deepEqual([0, 1, 2].map((n) => l.withoutAt(n, 1)), [2, 0, 2]);
  assert.deepEqual([0, 1, 2].map((n) => l.withoutAt(n, 2)), [2, 1, 1]);
  assert.deepEqual([0, 1, 2].map((n) => l.totalAt(n, 2)), [0, 2, 1]);
  // No ready endpoint on n1: CategorizeEndpoints falls back to its serving-terminating ones.
  assert.deepEqual(l.at(1, 0, 3), [bt, ct]);
  assert.deepEqual(l.at(2, 0, 3), [d]);
  assert.deepEqual([0, 1, 2].map((n) => l.withoutAt(n, 3)), [2, 1, 0]);
  assert.deepEqual(l.at(0, 0, 0), [a], 'earlier versions stay answerable');
  assert.equal(l.withoutAt(0, 0), 1);
});
