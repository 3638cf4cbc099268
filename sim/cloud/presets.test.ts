import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECOND } from '../engine/time.ts';
import { healthCheckFor, healthCheckProblems, PRESET_NAMES, PRESETS } from './presets.ts';

test('every preset is a valid health check for both policies, and Local probes the healthCheckNodePort', () => {
  for (const name of PRESET_NAMES) {
    const p = PRESETS[name];
    for (const policy of ['Cluster', 'Local'] as const) assert.deepEqual(healthCheckProblems(healthCheckFor(p, policy)), [], `${name} ${policy}`);
    assert.equal(p.Local.target, 'health-check-node-port', name);
    assert.equal(p.Local.path, '/healthz', name);
    assert.ok(p.sources.length > 0, name);
  }
});

test('provider defaults as their controllers write them', () => {
  // ingress-gce healthchecksl4.go: shared 8s/1s/1/3 on kube-proxy, local 3s/1s/1/2.
  assert.deepEqual(
    [PRESETS.gcp.Cluster.interval, PRESETS.gcp.Cluster.timeout, PRESETS.gcp.Cluster.healthyThreshold, PRESETS.gcp.Cluster.unhealthyThreshold, PRESETS.gcp.Cluster.port],
    [8 * SECOND, SECOND, 1, 3, 10256],
  );
  assert.deepEqual([PRESETS.gcp.Local.interval, PRESETS.gcp.Local.unhealthyThreshold], [3 * SECOND, 2]);
  // cloud-provider-aws: NLB TCP traffic port 30/10/3/3; Local HTTP 10/10/2/2; classic ELB 10/5/2/6.
  assert.equal(PRESETS['aws-nlb'].Cluster.target, 'traffic-port');
  assert.deepEqual([PRESETS['aws-nlb'].Local.interval, PRESETS['aws-nlb'].Local.timeout, PRESETS['aws-nlb'].Local.healthyThreshold], [10 * SECOND, 10 * SECOND, 2]);
  assert.deepEqual([PRESETS['aws-elb'].Cluster.interval, PRESETS['aws-elb'].Cluster.timeout, PRESETS['aws-elb'].Cluster.healthyThreshold, PRESETS['aws-elb'].Cluster.unhealthyThreshold], [10 * SECOND, 5 * SECOND, 2, 6]);
  // cloud-provider-azure consts: 5 s, 2 probes; no new flows when all are down.
  assert.deepEqual([PRESETS.azure.Cluster.interval, PRESETS.azure.Cluster.unhealthyThreshold, PRESETS.azure.whenAllUnhealthy], [5 * SECOND, 2, 'none']);
  assert.equal(PRESETS['azure-shared'].Cluster.target, 'kube-proxy-healthz');
});

test('health check problems name the field and what was found', () => {
  const ok = PRESETS.gcp.Local;
  assert.deepEqual(healthCheckProblems({ ...ok, timeout: 4 * SECOND }), ['timeout: expected a duration from 0 to the interval, found 4000000000 ns']);
  assert.deepEqual(healthCheckProblems({ ...ok, interval: 0, timeout: 0 }), ['interval: expected a positive duration, found 0 ns']);
  assert.deepEqual(healthCheckProblems({ ...ok, healthyThreshold: 0, unhealthyThreshold: 1.5 }), [
    'healthyThreshold: expected a whole number >= 1, found 0',
    'unhealthyThreshold: expected a whole number >= 1, found 1.5',
  ]);
});
