import { test } from 'node:test';
import assert from 'node:assert/strict';
import { syntheticExternalServices } from './external-services.ts';
import { loadScenarioText } from '../scenario/load.ts';
import { InputError } from '../io/input-error.ts';

const types = { nodePort: 0.5, loadBalancer: 0.25, externalIPs: 0, loadBalancerSourceRanges: [] };

test('externalTrafficPolicy by share: the first externally reachable Services in index order are Local, only they get a healthCheckNodePort', () => {
  // 8 Services: 2 LoadBalancer, 4 NodePort; half of those 6 (3) Local.
  const out = syntheticExternalServices(8, 1, { ...types, externalTrafficPolicy: { Local: 0.5 } });
  assert.deepEqual(out.map((p) => [p.kind, p.local]), [
    ['LoadBalancer', true],
    ['LoadBalancer', true],
    ['NodePort', true],
    ['NodePort', false],
    ['NodePort', false],
    ['NodePort', false],
  ]);
  assert.deepEqual(out.map((p) => p.healthCheckNodePort > 0), [true, true, false, false, false, false]);
  assert.ok(syntheticExternalServices(8, 1, { ...types, externalTrafficPolicy: 'Local' }).every((p) => p.local));
  assert.ok(syntheticExternalServices(8, 1, { ...types, externalTrafficPolicy: { Local: 0 } }).every((p) => !p.local));
});

test('a share of Local outside 0..1 is refused with its place', () => {
  assert.throws(
    () => loadScenarioText('name: t\nquestion: q\ncluster:\n  services: { count: 4, endpointsPerService: 1, nodePort: 1, externalTrafficPolicy: { Local: 2 } }\n', 'etp.yaml'),
    (e: unknown) => e instanceof InputError && e.exitCode === 2 && /etp\.yaml:4:\d+/.test(e.message) && /externalTrafficPolicy/.test(e.message),
  );
});
