import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECOND } from '../../engine/time.ts';
import type { Node } from '../../k8s/objects.ts';
import { eligibilityOf, healthTimeoutFor, healthz, livez, nodeEligible, ProxierHealthTracker, proxyHealth, type ProxyHealthState } from './proxy-health.ts';

// Rules from kubernetes/kubernetes pkg/proxy/healthcheck/proxy_health.go (Health, NodeEligible,
// healthzHandler, livezHandler) and cmd/kube-proxy/app/server.go (healthTimeout = 2 x syncPeriod).

const T = healthTimeoutFor(30 * SECOND); // 60 s
const ELIGIBLE = { deleting: false, toBeDeletedTaint: false };

function state(families: ProxyHealthState['families'], ...node: [ProxyHealthState['node']] | []): ProxyHealthState {
  // An explicit undefined node (not known yet) differs from leaving it out (eligible).
  return { healthTimeout: T, families, node: node.length === 0 ? ELIGIBLE : node[0] };
}

test('healthTimeout is twice the sync period (60 s with the default 30 s)', () => {
  assert.equal(healthTimeoutFor(), 60 * SECOND);
  assert.equal(healthTimeoutFor(10 * SECOND), 20 * SECOND);
});

test('proxy health: table of queued / applied marks', () => {
  const now = 1000 * SECOND;
  const rows: { name: string; families: ProxyHealthState['families']; healthy: boolean }[] = [
    { name: 'nothing pending', families: [{ lastUpdated: now - 500 * SECOND, oldestPendingQueued: undefined }], healthy: true },
    { name: 'pending, younger than the timeout', families: [{ lastUpdated: now - 500 * SECOND, oldestPendingQueued: now - T + 1 }], healthy: true },
    { name: 'pending exactly the timeout (the code keeps it only while < timeout)', families: [{ lastUpdated: now - 500 * SECOND, oldestPendingQueued: now - T }], healthy: false },
    { name: 'pending longer than the timeout', families: [{ lastUpdated: now - 500 * SECOND, oldestPendingQueued: now - 2 * T }], healthy: false },
    { name: 'never Updated: ignored even with an old pending mark (start-up)', families: [{ lastUpdated: undefined, oldestPendingQueued: now - 10 * T }], healthy: true },
    { name: 'no families at all', families: [], healthy: true },
    {
      name: 'dual-stack: one late family makes it unhealthy',
      families: [
        { lastUpdated: now - SECOND, oldestPendingQueued: undefined },
        { lastUpdated: now - 100 * SECOND, oldestPendingQueued: now - 61 * SECOND },
      ],
      healthy: false,
    },
  ];
  for (const r of rows) assert.equal(proxyHealth(state(r.families), now).healthy, r.healthy, r.name);
});

test('lastUpdated is the most recent family update; healthz reports now when healthy', () => {
  const s = state([
    { lastUpdated: 5 * SECOND, oldestPendingQueued: undefined },
    { lastUpdated: 9 * SECOND, oldestPendingQueued: undefined },
  ]);
  assert.equal(proxyHealth(s, 20 * SECOND).lastUpdated, 9 * SECOND);
  assert.equal(healthz(s, 20 * SECOND).body.lastUpdated, 20 * SECOND);
  const late = state([{ lastUpdated: 5 * SECOND, oldestPendingQueued: 6 * SECOND }]);
  assert.equal(healthz(late, 100 * SECOND).body.lastUpdated, 5 * SECOND);
});

test('node eligibility: deletionTimestamp, the autoscaler taint, an unknown node', () => {
  assert.equal(nodeEligible(ELIGIBLE), true);
  assert.equal(nodeEligible({ deleting: true, toBeDeletedTaint: false }), false);
  assert.equal(nodeEligible({ deleting: false, toBeDeletedTaint: true }), false);
  assert.equal(nodeEligible(undefined), false);
});

test('eligibilityOf reads the Node object: any effect of the ToBeDeletedByClusterAutoscaler key counts', () => {
  const node = (extra: Partial<Node['metadata']>, taints: NonNullable<Node['spec']['taints']>): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', ...extra }, spec: { taints } });
  assert.deepEqual(eligibilityOf(node({}, [])), ELIGIBLE);
  assert.deepEqual(eligibilityOf(node({}, [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1767225600', effect: 'NoSchedule' }])), { deleting: false, toBeDeletedTaint: true });
  assert.deepEqual(eligibilityOf(node({}, [{ key: 'DeletionCandidateOfClusterAutoscaler', effect: 'PreferNoSchedule' }])), ELIGIBLE);
  assert.deepEqual(eligibilityOf(node({ deletionTimestamp: '2026-01-01T00:00:10Z' }, [])), { deleting: true, toBeDeletedTaint: false });
  assert.equal(eligibilityOf(undefined), undefined);
});

test('/healthz fails on node state, /livez ignores it', () => {
  const fresh = [{ lastUpdated: 0, oldestPendingQueued: undefined }];
  const stale = [{ lastUpdated: 0, oldestPendingQueued: 0 }];
  const now = 70 * SECOND;
  const rows = [
    { families: fresh, node: ELIGIBLE, healthz: 200, livez: 200 },
    { families: fresh, node: { deleting: false, toBeDeletedTaint: true }, healthz: 503, livez: 200 },
    { families: fresh, node: { deleting: true, toBeDeletedTaint: false }, healthz: 503, livez: 200 },
    { families: fresh, node: undefined, healthz: 503, livez: 200 },
    { families: stale, node: ELIGIBLE, healthz: 503, livez: 503 },
  ];
  for (const r of rows) {
    const s = state(r.families, r.node);
    assert.equal(healthz(s, now).status, r.healthz, JSON.stringify(r));
    assert.equal(livez(s, now).status, r.livez, JSON.stringify(r));
    assert.equal(healthz(s, now).body.nodeEligible, nodeEligible(r.node));
    assert.equal('nodeEligible' in livez(s, now).body, false);
  }
});

test('the tracker keeps the oldest pending mark until an update clears it', () => {
  const t = new ProxierHealthTracker();
  t.updated(0); // SyncLoop start
  t.queuedUpdate(10 * SECOND);
  t.queuedUpdate(20 * SECOND); // does not move the oldest mark
  assert.equal(t.oldestPendingQueued, 10 * SECOND);
  const s = state([t]);
  assert.equal(healthz(s, 69 * SECOND).status, 200);
  assert.equal(healthz(s, 70 * SECOND).status, 503);
  t.updated(75 * SECOND);
  assert.equal(t.oldestPendingQueued, undefined);
  assert.equal(healthz(s, 75 * SECOND).status, 200);
});
