import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputError } from '../io/input-error.ts';
import { DEFAULT_COSTS } from '../cost/cost-model.ts';
import { parseCalibration } from './calibration-file.ts';
import { loadScenario } from './load.ts';

/**
 * A calibration file's keys are checked, not filtered: a misspelt field would otherwise be dropped
 * and its default silently stay in force.
 */
const FILE = (costs: string, extra = '') => `{
  "kind": "svcsim-calibration",
  "version": 1,${extra}
  "costs": ${costs}
}
`;

function rejects(text: string, message: RegExp): void {
  assert.throws(() => parseCalibration(text, 'cal.json', 'scenario.yaml:9:5: costs.calibration'), (e: unknown) => {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.exitCode, 2);
    assert.match(e.message, message);
    return true;
  });
}

test('known keys load, at the top level or under costs', () => {
  assert.deepEqual(parseCalibration(FILE('{ "perRuleNs": { "legacy": 4.1 }, "hookNs": 140 }'), 'cal.json', 'w'), { perRuleNs: { legacy: 4.1 }, hookNs: 140 });
  assert.deepEqual(parseCalibration('{ "nftRuleNs": 9 }', 'cal.json', 'w'), { nftRuleNs: 9 });
});

test('a misspelt cost field is an error with file, line:column, key path and the closest name', () => {
  rejects(FILE('{\n    "perRuleNs": { "legacy": 4.1 },\n    "restoreNsPerLiné": { "nft": 1 }\n  }'), /^cal\.json:6:25: costs\.restoreNsPerLiné: expected a CostModel field .*found unknown key "restoreNsPerLiné" \(did you mean 'restoreNsPerLine'\?\)$/);
});

test('a misspelt backend inside a per-backend field is an error', () => {
  rejects(FILE('{ "perRuleNs": { "legacy": 4.1, "nfts": 9 } }'), /^cal\.json:4:\d+: costs\.perRuleNs\.nfts: expected one of legacy, nft, found unknown key "nfts" \(did you mean 'nft'\?\)$/);
});

test('an unknown top-level key of a calibration file is an error', () => {
  rejects(FILE('{}', '\n  "measuredAtt": "2026-12-04",'), /^cal\.json:4:\d+: measuredAtt: expected one of the keys svcsim calibrate writes .*found unknown key "measuredAtt" \(did you mean 'measuredAt'\?\)$/);
});

test('a bare file with `costs` misspelt is an error pointing at it', () => {
  rejects('{ "cost": { "hookNs": 1 } }', /^cal\.json:1:\d+: cost: expected a CostModel field .*\(did you mean 'costs'\?\)$/);
});

test('wrong value types name the key path', () => {
  rejects(FILE('{ "hookNs": -1 }'), /costs\.hookNs: expected a non-negative number of ns, found -1$/);
  rejects(FILE('{ "perRuleNs": 4 }'), /costs\.perRuleNs: expected an object of non-negative numbers keyed by legacy \/ nft, found 4$/);
  rejects(FILE('{ "perRuleNs": { "nft": "9" } }'), /costs\.perRuleNs\.nft: expected a non-negative number of ns, found "9"$/);
  rejects('[1]', /^cal\.json: expected a JSON object/);
  rejects('{ "hookNs": 1', /^scenario\.yaml:9:5: costs\.calibration: expected a JSON calibration file, found cal\.json: /);
});

test('every CostModel field is accepted (the list follows DEFAULT_COSTS)', () => {
  const costs = JSON.stringify(DEFAULT_COSTS);
  assert.deepEqual(parseCalibration(FILE(costs), 'cal.json', 'w'), DEFAULT_COSTS);
});

const SCENARIO = `name: cal
question: Does a calibration file load?
duration: 1s
cluster: { nodes: 1, services: { count: 10, endpointsPerService: 2 } }
proxy: { mode: iptables }
costs:
  calibration: ./cal.json
`;

test('through a scenario: a good file overrides the defaults, a misspelt key stops the load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-cal-file-'));
  writeFileSync(join(dir, 's.yaml'), SCENARIO);
  writeFileSync(join(dir, 'cal.json'), FILE('{ "perRuleNs": { "legacy": 4.1 } }'));
  const [point] = loadScenario(join(dir, 's.yaml')).points;
  assert.equal(point!.scenario.costs.perRuleNs.legacy, 4.1);
  assert.equal(point!.scenario.costs.perRuleNs.nft, DEFAULT_COSTS.perRuleNs.nft);
  writeFileSync(join(dir, 'cal.json'), FILE('{ "perRuleNS": { "legacy": 4.1 } }'));
  assert.throws(() => loadScenario(join(dir, 's.yaml')), /cal\.json:4:\d+: costs\.perRuleNS: .*did you mean 'perRuleNs'\?/);
});

test('the command exits 2 with one message and writes nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-cal-file-'));
  writeFileSync(join(dir, 's.yaml'), SCENARIO);
  writeFileSync(join(dir, 'cal.json'), FILE('{ "restoreBaseNz": { "legacy": 1 } }'));
  const out = join(dir, 'out');
  const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', cli, 'scenario', join(dir, 's.yaml'), '--out', out], { encoding: 'utf8', env: { ...process.env, CI: 'true' } });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /cal\.json:4:\d+: costs\.restoreBaseNz: expected a CostModel field .*did you mean 'restoreBaseNs'\?/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(existsSync(out), false);
});
