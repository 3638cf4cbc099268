import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DEFAULT_COSTS, withCosts } from '../../sim/cost/cost-model.ts';
import { fitCostModel } from '../model.ts';
import { fitEbpf } from './fit.ts';
import { mergeEbpfPoints } from './merge.ts';
import type { EbpfConnectPoint, EbpfPoints } from './probe.ts';
import { ebpfReportSection } from './report.ts';

const point = (services: number, programNs: number, withNs = 17_000, withoutNs = 15_000): EbpfConnectPoint => ({
  services, endpointsPerService: 4, withNs, withoutNs, withP50Ns: withNs + 1000, withoutP50Ns: withoutNs + 1000, withCpuNs: 40_000, withoutCpuNs: 39_000, programNs, connects: 400,
});

const points = (programs: [number, number][]): EbpfPoints => ({
  connect: programs.map(([n, p]) => point(n, p)),
  packet: { packets: 1000, sameFlowNs: [4700, 4600, 4800], withoutNs: [4100, 4000, 4200], newFlowNs: [5300, 5200], withoutNewFlowNs: [4300, 4200], programSameFlowNs: [340, 350, 360], programNewFlowNs: [660, 670] },
  tools: 'clang 14; bpftool 7.1',
});

test('ebpfLookupNs is the program run time over its 3 lookups, the median from 1,000 services up; flat maps raise no warning', () => {
  const f = fitEbpf(points([[1000, 3000], [10_000, 3300], [50_000, 3150]]));
  assert.equal(f.costs.ebpfLookupNs, 1050);
  assert.equal(f.figures.flat, true);
  assert.deepEqual(f.warnings, []);
});

test('a map size whose lookups differ by more than 25% is reported as not flat, and does not set the figure when smaller than 1,000', () => {
  const f = fitEbpf(points([[100, 1800], [1000, 3000], [50_000, 3000]]));
  assert.equal(f.costs.ebpfLookupNs, 1000);
  assert.equal(f.figures.flat, false);
  assert.match(f.warnings[0]!, /not flat.*100 services 600 ns/);
});

test('per packet: the CPU difference with the CT program is ebpfDatapathNs; a new flow adds what the program adds on a miss', () => {
  const f = fitEbpf(points([[1000, 3000]]));
  assert.equal(f.costs.ebpfDatapathNs, 600);
  assert.equal(f.costs.ebpfCtCreateNs, 600 + (665 - 350));
});

test('noise that makes the per-packet difference negative writes nothing and says so; no points fit nothing', () => {
  const p = points([[1000, 3000]]);
  p.packet!.withoutNs = [5000, 5000, 5000];
  const f = fitEbpf(p);
  assert.equal(f.costs.ebpfDatapathNs, undefined);
  assert.match(f.warnings.join(' '), /ebpfDatapathNs fitted .* <= 0/);
  assert.deepEqual(fitEbpf(undefined).costs, {});
  const never = fitEbpf(points([[1000, 0]]));
  assert.equal(never.costs.ebpfLookupNs, undefined);
  assert.match(never.warnings[0]!, /never ran/);
});

test('fitCostModel carries the ebpf fields and figures; a file loads them over the defaults', () => {
  const m = fitCostModel({ walk: [], restore: [], update: [], vmap: [], ebpf: points([[1000, 3000], [5000, 3000]]) });
  assert.equal(m.costs.ebpfLookupNs, 1000);
  assert.equal(m.ebpf?.lookupNs, 1000);
  const loaded = withCosts(DEFAULT_COSTS, m.costs);
  assert.equal(loaded.ebpfDatapathNs, 600);
  assert.equal(fitCostModel({ walk: [], restore: [], update: [], vmap: [] }).ebpf, undefined);
});

test('merging runs: each size the median of the runs, bursts pooled; one run is itself', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 100, max: 9000 }), { minLength: 1, maxLength: 5 }), (programs) => {
      const runs = programs.map((p) => points([[1000, p], [5000, p]]));
      const m = mergeEbpfPoints(runs)!;
      const sorted = [...programs].sort((a, b) => a - b);
      const mid = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2;
      assert.equal(m.connect.length, 2);
      assert.equal(m.connect[0]!.programNs, mid);
      assert.equal(m.packet!.sameFlowNs.length, 3 * programs.length);
      if (programs.length === 1) assert.equal(m, runs[0]);
    }),
  );
  assert.equal(mergeEbpfPoints([undefined, undefined]), undefined);
});

test("the report's ebpf section: a row per map size against 3 x ebpfLookupNs, and both packet kinds", () => {
  const p = points([[1000, 3000], [50_000, 3600]]);
  const f = fitEbpf(p);
  const cal = withCosts(DEFAULT_COSTS, f.costs);
  const text = ebpfReportSection(p, f.figures, DEFAULT_COSTS, cal).join('\n');
  assert.match(text, /\| 50000 \| 3\.60 us \| 1\.20 us \|/);
  assert.match(text, /\| one flow \(CT hit\) \|/);
  assert.match(text, /a new flow each/);
  assert.deepEqual(ebpfReportSection(undefined, undefined, DEFAULT_COSTS, cal), []);
});
