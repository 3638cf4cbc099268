import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECOND } from '../../engine/time.ts';
import { answerProbe, type NodeProbeState } from './probe.ts';
import { healthTimeoutFor } from './proxy-health.ts';

const SVC = { namespace: 'shop', name: 'web' };
const fresh = { healthTimeout: healthTimeoutFor(), families: [{ lastUpdated: 0, oldestPendingQueued: undefined }], node: { deleting: false, toBeDeletedTaint: false } };
const base: NodeProbeState = { reachable: true, proxy: fresh, localReadyEndpoints: 1 };

test('each probe target reads its own part of the node state', () => {
  const tainted: NodeProbeState = { ...base, proxy: { ...fresh, node: { deleting: false, toBeDeletedTaint: true } } };
  const rows: { name: string; target: Parameters<typeof answerProbe>[0]; s: NodeProbeState; ok: boolean; answered: boolean }[] = [
    { name: 'healthz, fine node', target: 'kube-proxy-healthz', s: base, ok: true, answered: true },
    { name: 'healthz, tainted node', target: 'kube-proxy-healthz', s: tainted, ok: false, answered: true },
    { name: 'hcnp ignores the taint', target: 'health-check-node-port', s: tainted, ok: true, answered: true },
    { name: 'hcnp without local endpoints', target: 'health-check-node-port', s: { ...base, localReadyEndpoints: 0 }, ok: false, answered: true },
    { name: 'traffic port accepts', target: 'traffic-port', s: { ...base, trafficPort: 'accepts' }, ok: true, answered: true },
    { name: 'traffic port refuses (RST)', target: 'traffic-port', s: { ...base, trafficPort: 'refuses' }, ok: false, answered: true },
    { name: 'traffic port drops', target: 'traffic-port', s: { ...base, trafficPort: 'drops' }, ok: false, answered: false },
    { name: 'node gone', target: 'kube-proxy-healthz', s: { ...base, reachable: false }, ok: false, answered: false },
  ];
  for (const r of rows) assert.deepEqual(answerProbe(r.target, r.s, SVC, 10 * SECOND), { ok: r.ok, answered: r.answered }, r.name);
});

test('a stale proxy fails both HTTP probes', () => {
  const stale: NodeProbeState = { ...base, proxy: { ...fresh, families: [{ lastUpdated: 0, oldestPendingQueued: 0 }] } };
  assert.equal(answerProbe('kube-proxy-healthz', stale, SVC, 60 * SECOND).ok, false);
  assert.equal(answerProbe('health-check-node-port', stale, SVC, 60 * SECOND).ok, false);
  assert.equal(answerProbe('health-check-node-port', stale, SVC, 59 * SECOND).ok, true);
});
