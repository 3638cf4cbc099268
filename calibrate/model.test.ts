import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_COSTS, WALK_CACHE_RULES, withCosts } from '../sim/cost/cost-model.ts';
import { iptablesLinesPerService } from '../sim/proxy/cost/iptables.ts';
import { parseIptablesSave } from '../sim/netfilter/iptables-save.ts';
import { fitCostModel, predictedRestoreNs, predictedWalkNs, sig3, simulatedVsMeasured, type CalibrationPoints } from './model.ts';
import { iptablesRestoreInput, nftablesInput } from './rulesets.ts';
import { kubeProxyNftTransactions } from './kube-proxy-nft.ts';
import { nftablesModel, nftablesTableObjects } from '../sim/proxy/cost/nftables.ts';
import { calibrationCharts, calibrationReport } from './report.ts';
import { buildCalibrationFile } from './calibrate.ts';
import { QUICK_PLAN } from './plan.ts';

/** Points a kernel with known costs would give, so the fit must recover those costs. */
function synthetic(): CalibrationPoints {
  const p: CalibrationPoints = { walk: [], restore: [], update: [], vmap: [] };
  for (const [b, perRule, base, perLine, perRuleUpdate] of [
    ['legacy', 5, 9e6, 8000, 4000],
    ['nft', 11, 40e6, 15000, 100],
  ] as const) {
    for (const k of [100, 1000, 5000]) {
      p.walk.push({ backend: b, position: k, walkRepeat: 10, withRulesNs: 0, withoutRulesNs: 0, walkNs: k * perRule, p50Ns: 0, connects: 100 });
    }
    for (const n of [100, 1000, 2500]) {
      const set = iptablesRestoreInput(n, 4);
      p.restore.push({ backend: b, services: n, lines: set.lines, rules: set.rules, ns: base + perLine * set.lines, wallNs: 0 });
      p.update.push({ backend: b, services: n, rules: set.rules, ns: 2e6 + perRuleUpdate * set.rules, wallNs: 0 });
    }
  }
  for (const n of [100, 1000]) {
    const kp = kubeProxyNftTransactions(n, 4, 3);
    const kpPartialLines = kp.partials.reduce((a, t) => a + t.lines, 0) / 3;
    p.vmap.push({
      services: n, lines: 1000 + 10 * n, loadNs: 0, loadWallNs: 0, p10Ns: 40_000, p50Ns: 45_000, p99Ns: 90_000, cpuNs: 0, connects: 100,
      kpLines: kp.full.lines, kpObjects: kp.objects, kpLoadNs: 5e6 + 20_000 * kp.full.lines,
      // (+1: the stale endpoint chain's delete a second later, which the model counts with the change)
      kpPartialLines, kpPartialNs: 5e6 + 20_000 * (kpPartialLines + 1) + 3e6 + 1000 * kp.objects,
    });
  }
  p.conntrack = { packets: 1000, sameFlowNs: [2000, 2000], newFlowNs: [2600, 2600], untrackedNs: [1900, 1900], untrackedNewFlowNs: [2000, 2000], filterBalanced: true };
  return p;
}

test('fitCostModel recovers the costs the points were made with, as CostModel field names', () => {
  const m = fitCostModel(synthetic());
  assert.deepEqual(m.costs.perRuleNs, { legacy: 5, nft: 11 });
  // A walk linear in k: no long-walk term, and 0 written so the file's figures go together.
  assert.deepEqual(m.costs.perRuleLogNs, { legacy: 0, nft: 0 });
  assert.equal(m.costs.nftRuleNs, 11);
  assert.deepEqual(m.costs.restoreNsPerLine, { legacy: 8000, nft: 15000 });
  assert.deepEqual(m.costs.restoreBaseNs, { legacy: 9e6, nft: 40e6 });
  assert.deepEqual(m.costs.singleUpdateNsPerRule, { legacy: 4000, nft: 100 });
  assert.deepEqual(m.costs.singleUpdateBaseNs, { legacy: 2e6, nft: 2e6 });
  assert.equal(m.costs.nftNsPerLine, 20_000);
  assert.equal(m.costs.nftTransactionBaseNs, 5e6);
  // two sizes: the straight line, and 0 for the growth it cannot tell apart
  assert.equal(m.costs.nftNsPerLinePerObject, 0);
  assert.equal(m.costs.nftNsPerTableObject, 1000);
  assert.equal(m.costs.nftTableFetchNs, 3e6 + 20_000);
  // 2000 - 1900 = 100 ns for the one lookup; a new flow 2600 - 2000 = 600 ns for a lookup and an insert
  assert.equal(m.costs.conntrackLookupNs, 100);
  assert.equal(m.costs.conntrackInsertNs, 500);
  assert.deepEqual(m.warnings, []);
  for (const f of Object.values(m.fits)) assert.ok(f.r2 > 0.999999 || Number.isNaN(f.r2) || f.gives.length === 0);
  // every key is a CostModel field, so withCosts (what the scenario loader applies) takes it
  for (const k of Object.keys(m.costs)) assert.ok(k in DEFAULT_COSTS, k);
});

test('a negative fitted cost is left out with a warning, so the default stays in force', () => {
  const p = synthetic();
  p.walk = p.walk.map((w) => ({ ...w, walkNs: w.backend === 'legacy' ? -w.position * 0.01 : w.walkNs }));
  p.conntrack!.untrackedNs = [2100, 2100];
  const m = fitCostModel(p);
  assert.deepEqual(m.costs.perRuleNs, { nft: 11 });
  assert.equal(m.costs.conntrackLookupNs, undefined);
  assert.ok(m.warnings.some((w) => w.startsWith('perRuleNs.legacy fitted')));
  assert.ok(m.warnings.some((w) => w.startsWith('conntrackLookupNs fitted')));
  assert.equal(withCosts(DEFAULT_COSTS, m.costs).perRuleNs.legacy, DEFAULT_COSTS.perRuleNs.legacy);
});

test('the walk fit recovers a per-rule cost that grows with ln(k), and keeps a flat backend a line', () => {
  const p: CalibrationPoints = { walk: [], restore: [], update: [], vmap: [] };
  const ks = [100, 250, 500, 1000, 2500, 5000, 10_000];
  // legacy as measured on this project's host (2.2 ns a rule at 100, 4.5 at 10k), 2% noise either way
  for (const [i, k] of ks.entries()) {
    const noise = 1 + (i % 2 ? 0.02 : -0.02);
    p.walk.push({ backend: 'legacy', position: k, walkRepeat: 1, withRulesNs: 0, withoutRulesNs: 0, walkNs: k * (2.2 + 0.5 * Math.log(k / WALK_CACHE_RULES)) * noise, p50Ns: 0, connects: 1 });
    p.walk.push({ backend: 'nft', position: k, walkRepeat: 1, withRulesNs: 0, withoutRulesNs: 0, walkNs: k * 9.4 * noise, p50Ns: 0, connects: 1 });
  }
  const m = fitCostModel(p);
  assert.ok(Math.abs(m.costs.perRuleNs!.legacy! / 2.2 - 1) < 0.05, String(m.costs.perRuleNs!.legacy));
  assert.ok(Math.abs(m.costs.perRuleLogNs!.legacy! / 0.5 - 1) < 0.1, String(m.costs.perRuleLogNs!.legacy));
  assert.equal(m.fits['walk.legacy']!.throughOrigin, true);
  assert.equal(m.fits['walk.legacy']!.intercept, 0);
  assert.match(m.fits['walk.legacy']!.second!.x, /^k x ln\(k \/ 100\)/);
  assert.equal(m.costs.perRuleLogNs!.nft, 0);
  assert.equal(m.fits['walk.nft']!.second, undefined);
  assert.ok(Math.abs(m.costs.perRuleNs!.nft! / 9.4 - 1) < 0.02);
  // What a scenario charges with these costs (through the iptables mode model) follows the curve:
  // within the noise plus the model's few fixed rules at every size, where one constant misses by 40%.
  const model = withCosts(DEFAULT_COSTS, m.costs);
  for (const r of simulatedVsMeasured(p, model, 4)) assert.ok(Math.abs(r.relError) < 0.06, `${r.backend} ${r.services}: ${(r.relError * 100).toFixed(1)}%`);
  const flat = withCosts(model, { perRuleLogNs: { legacy: 0 } });
  assert.ok(Math.abs(predictedWalkNs(flat, 'legacy', 10_000) / predictedWalkNs(model, 'legacy', 10_000) - 1) > 0.4);
});

test('conntrack points from the probe without the balancing filter rule give no conntrack figures', () => {
  const p = synthetic();
  delete p.conntrack!.filterBalanced;
  const m = fitCostModel(p);
  assert.equal(m.costs.conntrackLookupNs, undefined);
  assert.equal(m.costs.conntrackInsertNs, undefined);
  assert.equal(m.conntrack, undefined);
});

test('the nft -f fits take kube-proxy transactions: a per-line cost growing with the table, and a per-transaction cost per object already there', () => {
  const p: CalibrationPoints = { walk: [], restore: [], update: [], vmap: [] };
  for (const n of [100, 1000, 2500, 5000]) {
    const kp = kubeProxyNftTransactions(n, 4, 3);
    const partialLines = kp.partials.reduce((a, t) => a + t.lines, 0) / 3;
    p.vmap.push({
      services: n, lines: 0, loadNs: 1, loadWallNs: 0, p10Ns: 0, p50Ns: 0, p99Ns: 0, cpuNs: 0, connects: 1,
      kpLines: kp.full.lines, kpObjects: kp.objects, kpLoadNs: 8e6 + kp.full.lines * (30_000 + 0.4 * kp.objects),
      kpPartialLines: partialLines, kpPartialNs: 8e6 + partialLines * (30_000 + 0.4 * kp.objects) + 6e6 + 2500 * kp.objects,
    });
  }
  const m = fitCostModel(p);
  assert.equal(m.costs.nftTransactionBaseNs, 8e6);
  assert.equal(m.costs.nftNsPerLine, 30_000);
  assert.equal(m.costs.nftNsPerLinePerObject, 0.4);
  assert.equal(m.costs.nftNsPerTableObject, 2500);
  assert.equal(m.costs.nftTableFetchNs, 6e6);
  assert.equal(m.fits.nftTransaction!.second!.x, 'input lines x objects in the table');
  assert.deepEqual(m.warnings, []);
  // Points without kube-proxy's transactions (older files) give no nft -f figures.
  for (const v of p.vmap) delete v.kpLoadNs, delete v.kpPartialNs;
  const old = fitCostModel(p);
  assert.equal(old.costs.nftNsPerLine, undefined);
  assert.equal(old.costs.nftNsPerTableObject, undefined);
});

test("the probe's kube-proxy transactions are the nftables proxier's, in the lines and objects the mode model charges", () => {
  const kp = kubeProxyNftTransactions(50, 4, 3);
  const model = nftablesModel({ costs: DEFAULT_COSTS, iptablesBackend: 'nft' });
  assert.equal(kp.full.lines, model.syncCost({ full: true, services: 50, servicesWithoutEndpoints: 0, endpoints: 200, changed: [] }).units);
  assert.equal(kp.full.text.trimEnd().split('\n').length, kp.full.lines);
  // the first partial sync, one service from 4 endpoints to 3, and the delete of its stale endpoint
  // chain a second later, which the model counts with it
  assert.equal(kp.partials[0]!.lines + 1, model.syncCost({ full: false, services: 50, servicesWithoutEndpoints: 0, endpoints: 199, changed: [{ before: 4, after: 3 }] }).units);
  assert.equal(kp.objects, nftablesTableObjects(50, 200));
  assert.throws(() => kubeProxyNftTransactions(2, 4, 3), /3 partial syncs need as many services/);
});

test('the restore rule set has the lines per service the iptables mode model charges, and parses', () => {
  for (const e of [1, 4]) {
    const a = iptablesRestoreInput(100, e);
    const b = iptablesRestoreInput(101, e);
    assert.equal(b.lines - a.lines, iptablesLinesPerService(e));
  }
  const set = iptablesRestoreInput(50, 4);
  const r = parseIptablesSave(set.text, 'calibration');
  assert.equal(r.ruleLines, set.rules);
  assert.equal(r.ruleset.tables.get('nat')!.chains.get('KUBE-SERVICES')!.rules.length, 50);
  // above 1000 endpoints kube-proxy drops the per-endpoint comments, as the rule set does
  assert.match(iptablesRestoreInput(10, 4).text, /-> 10\.244/);
  assert.doesNotMatch(iptablesRestoreInput(300, 4).text, /-> 10\.244/);
  assert.equal(nftablesInput(10, 4).text.split('\n').filter((l) => l.startsWith('add element')).length, 10);
});

test('with the calibrated costs, the model predicts what was measured', () => {
  const p = synthetic();
  const m = fitCostModel(p);
  const costs = withCosts(DEFAULT_COSTS, m.costs);
  assert.equal(predictedWalkNs(costs, 'legacy', 1000), 5000);
  const rows = simulatedVsMeasured(p, costs, 4);
  assert.equal(rows.length, 16);
  assert.deepEqual([...new Set(rows.map((r) => r.quantity))], ['walk', 'restore', 'nft-full', 'nft-partial']);
  // the model counts kube-proxy's fixed chains too (a few dozen lines), so restore agrees within 5%
  for (const r of rows) assert.ok(Math.abs(r.relError) < 0.05, `${r.quantity} ${r.backend} ${r.services}: ${r.relError}`);
  assert.ok(predictedRestoreNs(costs, 'nft', 1000, 4) > predictedRestoreNs(costs, 'legacy', 1000, 4));
});

test('report: charts for each measured quantity and a Markdown page with fits and the agreement verdict', () => {
  const host = { kernel: 'k', iptables: 'i', nft: 'n', conntrack: 'c', cpuModel: 'cpu', cpus: 2, loadavgStart: [1], loadavgEnd: [1] };
  const file = buildCalibrationFile(synthetic(), host, QUICK_PLAN, '2026-01-01T00:00:00.000Z', 'svcsim calibrate --quick');
  // The defaults the report compares with are fixed here (not DEFAULT_COSTS, which a calibration may change).
  const defaults = withCosts(DEFAULT_COSTS, { perRuleNs: { legacy: 4.6 } });
  const calibrated = withCosts(defaults, file.costs);
  const charts = calibrationCharts(file, defaults, calibrated);
  assert.deepEqual(charts.map((c) => c.name), ['walk-simulated-vs-measured', 'restore-simulated-vs-measured', 'nft-sync-simulated-vs-measured', 'single-update', 'nft-vmap-connect']);
  const md = calibrationReport(file, defaults, calibrated, { jsonName: 'cal.json', chartDir: 'cal-charts', charts });
  assert.match(md, /`perRuleNs\.legacy` \| 4\.6 \| 5 \| 1\.09x \| walk\.legacy \| 1\.000 \| 3 \|/);
  assert.match(md, /Calibrated costs: worst [+-]\d+\.\d% .*within the 25% target/);
  assert.match(md, /costs: \{ calibration: \.\/cal\.json \}/);
  assert.match(md, /!\[iptables walk cost: simulated vs measured\]\(cal-charts\/walk-simulated-vs-measured\.svg\)/);
  assert.equal(sig3(123456), 123000);
  assert.equal(sig3(87_654_321), 87_700_000);
  assert.equal(sig3(4.4449), 4.44);
});

test('the file svcsim calibrate writes has only keys the scenario loader accepts', async () => {
  const { CALIBRATION_FILE_KEYS, parseCalibration } = await import('../sim/scenario/calibration-file.ts');
  const file = buildCalibrationFile(synthetic(), { kernel: 'k', iptables: 'i', nft: 'n', conntrack: 'c', cpuModel: 'm', cpus: 2, loadavgStart: [0], loadavgEnd: [0] }, QUICK_PLAN, '2026-12-04T00:00:00Z', 'svcsim calibrate --quick');
  for (const k of Object.keys(file)) assert.ok((CALIBRATION_FILE_KEYS as readonly string[]).includes(k), `${k} is written by calibrate but refused by the loader`);
  assert.deepEqual(parseCalibration(JSON.stringify(file), 'cal.json', 'w'), file.costs);
});

test('the restore fit recovers a per-line cost that grows with the table, and the model predicts with it', () => {
  const p: CalibrationPoints = { walk: [], restore: [], update: [], vmap: [] };
  const truth = { legacy: [9e6, 4000, 0.05], nft: [15e6, 12_000, 0.08] } as const;
  for (const b of ['legacy', 'nft'] as const) {
    const [base, perLine, perLinePerRule] = truth[b];
    for (const n of [100, 250, 500, 1000, 2500, 5000, 10_000]) {
      const set = iptablesRestoreInput(n, 4);
      p.restore.push({ backend: b, services: n, lines: set.lines, rules: set.rules, ns: base + set.lines * (perLine + perLinePerRule * set.rules), wallNs: 0 });
    }
  }
  const m = fitCostModel(p);
  assert.deepEqual(m.costs.restoreBaseNs, { legacy: 9e6, nft: 15e6 });
  assert.deepEqual(m.costs.restoreNsPerLine, { legacy: 4000, nft: 12_000 });
  assert.deepEqual(m.costs.restoreNsPerLinePerRule, { legacy: 0.05, nft: 0.08 });
  assert.ok(m.fits['restore.legacy']!.r2 > 0.9999);
  assert.equal(m.fits['restore.legacy']!.second!.x, 'input lines x rules in the table');
  assert.deepEqual(m.fits['restore.nft']!.gives, ['restoreBaseNs.nft', 'restoreNsPerLine.nft', 'restoreNsPerLinePerRule.nft']);
  // The iptables mode model charges the same curve: within 1% of the points at 100..10k services
  // (its rule count differs from the generated rule set's by the few fixed rules).
  const model = withCosts(DEFAULT_COSTS, m.costs);
  for (const r of simulatedVsMeasured(p, model, 4).filter((x) => x.quantity === 'restore')) {
    assert.ok(Math.abs(r.relError) < 0.01, `${r.backend} ${r.services}: ${(r.relError * 100).toFixed(2)}%`);
  }
  // superlinear: ten times the services take more than ten times as long
  assert.ok(predictedRestoreNs(model, 'legacy', 10_000, 4) > 10 * predictedRestoreNs(model, 'legacy', 1000, 4));
});

test('mergePoints takes each size as the median of the runs that measured it', async () => {
  const { mergePoints } = await import('./model.ts');
  const run = (scale: number): CalibrationPoints => {
    const p = synthetic();
    for (const r of p.restore) r.ns *= scale;
    for (const w of p.walk) w.walkNs *= scale;
    return p;
  };
  const merged = mergePoints([run(1), run(3), run(2)]);
  const one = synthetic();
  assert.equal(merged.restore.length, one.restore.length);
  merged.restore.forEach((r, i) => assert.equal(r.ns, one.restore[i]!.ns * 2));
  merged.walk.forEach((w, i) => {
    assert.equal(w.walkNs, one.walk[i]!.walkNs * 2);
    assert.equal(w.connects, 3 * one.walk[i]!.connects);
  });
  assert.equal(merged.conntrack!.sameFlowNs.length, 3 * one.conntrack!.sameFlowNs.length);
  assert.equal(merged.conntrack!.filterBalanced, true);
  // Bursts of the older, unbalanced probe are left out of the pool when balanced ones exist.
  const old = run(1);
  delete old.conntrack!.filterBalanced;
  old.conntrack!.sameFlowNs = [9999, 9999];
  const mixed = mergePoints([run(1), old]);
  assert.deepEqual(mixed.conntrack!.sameFlowNs, one.conntrack!.sameFlowNs);
  assert.equal(mergePoints([old, old]).conntrack!.filterBalanced, undefined);
  // a size only one run measured is kept as it was
  const extra = run(1);
  extra.restore.push({ ...extra.restore[0]!, services: 7777, ns: 42 });
  assert.equal(mergePoints([extra, run(1)]).restore.find((r) => r.services === 7777)!.ns, 42);
});
