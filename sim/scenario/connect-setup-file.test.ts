import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONNECT_KERNEL } from '../cost/connect-latency-default.ts';
import { loadScenarioText } from './load.ts';
import { modelConfig } from './run-point.ts';

/** A study as if it were scenarios/x.yaml: its relative paths resolve from scenarios/. */
const AT = fileURLToPath(new URL('../../scenarios/connect-setup-test.yaml', import.meta.url));

const study = (connectSetup: string) => `name: cs
question: Which kernel distribution do runs draw from?
duration: 2s
cluster: { nodes: 3, services: { count: 10, endpointsPerService: 2 } }
connectSetup: ${connectSetup}
`;

test('connectSetup: zones and round trips reach the run; calibration draws from the file\'s kernel point', () => {
  const loaded = loadScenarioText(study('{ zones: 3, roundTrip: { sameZone: 100us }, calibration: ../calibrate/measured/connect-latency.json }'), AT);
  const c = modelConfig({ scenario: loaded.points[0]!.scenario, seed: 1, point: {}, replication: 0 }).connectSetup!;
  assert.equal(c.zones, 3);
  assert.deepEqual(c.roundTrip.sameZone, { kind: 'constant', value: 100_000 });
  assert.deepEqual(c.roundTrip.otherZone, { kind: 'lognormal', median: 1_030_000, p99: 3_370_000 });
  assert.deepEqual(c.kernel.ns.map((v) => Math.round(v)), DEFAULT_CONNECT_KERNEL.ns);
  const plain = loadScenarioText(study('{ zones: 2 }'), AT);
  assert.equal(modelConfig({ scenario: plain.points[0]!.scenario, seed: 1, point: {}, replication: 0 }).connectSetup!.kernel, DEFAULT_CONNECT_KERNEL);
});

test('a calibration that is missing or not a connect-latency file is named at its line', () => {
  assert.throws(() => loadScenarioText(study('{ calibration: nowhere.json }'), AT), /connect-setup-test\.yaml:5:30: connectSetup\.calibration: expected a path to a connect-latency file \(relative to the scenario file\), found "nowhere\.json": no such file/);
  assert.throws(() => loadScenarioText(study('{ calibration: ../calibrate/measured/calibration.json }'), AT), /connect-setup-test\.yaml:5:30: connectSetup\.calibration: expected a connect-latency file written by calibrate\/connect-distribution\.ts \(kind "svcsim-connect-distribution"\), found kind "svcsim-calibration"/);
});
