import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DNS_AUTOSCALER_DEFAULTS, linearReplicas, type ClusterSize } from './autoscaler.ts';

const size = (nodes: number, cores: number, schedulable = nodes, schedulableCores = cores): ClusterSize => ({ totalNodes: nodes, totalCores: cores, schedulableNodes: schedulable, schedulableCores });

test('defaults (256 cores, 16 nodes per replica): the larger of ceil(cores/256) and ceil(nodes/16)', () => {
  assert.equal(linearReplicas(DNS_AUTOSCALER_DEFAULTS, size(100, 400)), 7); // nodes: 7, cores: 2
  assert.equal(linearReplicas(DNS_AUTOSCALER_DEFAULTS, size(16, 4096)), 16); // cores: 16, nodes: 1
  assert.equal(linearReplicas(DNS_AUTOSCALER_DEFAULTS, size(17, 34)), 2);
});

test('preventSinglePointFailure: 2 replicas once there is more than one node, 1 on a single node', () => {
  assert.equal(linearReplicas(DNS_AUTOSCALER_DEFAULTS, size(2, 4)), 2);
  assert.equal(linearReplicas(DNS_AUTOSCALER_DEFAULTS, size(1, 4)), 1);
  assert.equal(linearReplicas({ ...DNS_AUTOSCALER_DEFAULTS, preventSinglePointFailure: false }, size(2, 4)), 1);
  // It is applied after the clamp, so it wins over max.
  assert.equal(linearReplicas({ ...DNS_AUTOSCALER_DEFAULTS, max: 1 }, size(5, 8)), 2);
});

test('min and max clamp each count; min 0 reads as 1; a per-replica of 0 gives 1', () => {
  const p = { ...DNS_AUTOSCALER_DEFAULTS, preventSinglePointFailure: false };
  assert.equal(linearReplicas({ ...p, min: 3 }, size(1, 1)), 3);
  assert.equal(linearReplicas({ ...p, max: 4 }, size(1000, 1000)), 4);
  assert.equal(linearReplicas({ ...p, min: 0 }, size(0, 0)), 1);
  assert.equal(linearReplicas({ ...p, nodesPerReplica: 0, coresPerReplica: 0 }, size(1000, 1000)), 1);
});

test('includeUnschedulableNodes chooses the totals over the schedulable counts', () => {
  const s = size(64, 128, 16, 32);
  assert.equal(linearReplicas(DNS_AUTOSCALER_DEFAULTS, s), 4);
  assert.equal(linearReplicas({ ...DNS_AUTOSCALER_DEFAULTS, includeUnschedulableNodes: false }, s), 2);
});

test('property: replicas never fall as the cluster grows, and stay at least min', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 5 }), (n, extra, coresPerNode, min) => {
      const p = { ...DNS_AUTOSCALER_DEFAULTS, min };
      const a = linearReplicas(p, size(n, n * coresPerNode));
      const b = linearReplicas(p, size(n + extra, (n + extra) * coresPerNode));
      assert.ok(b >= a && a >= min);
    }),
  );
});
