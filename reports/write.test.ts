import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { InputError } from '../sim/io/input-error.ts';
import { parseSummaryDoc } from './summary-json.ts';
import { fixtureInput, fixtureRuns } from './testing/fixture.ts';
import { checkXml } from './testing/xml-check.ts';
import { writeRunOutputs } from './write.ts';

// Golden files: set UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
const G = 'test/golden/reports';
function golden(name: string, actual: string): void {
  const p = join(G, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'svcsim-reports-'));

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]))
    .sort();
}

/** PNG: the 8-byte signature, then an IHDR chunk of 13 bytes with its CRC, and IEND at the end. */
function checkPng(png: Buffer): { width: number; height: number } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  assert.equal(png.readUInt32BE(8), 13, 'IHDR length');
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  assert.equal(png.readUInt32BE(29), crc32(png.subarray(12, 29)), 'IHDR CRC');
  assert.equal(png.subarray(png.length - 8, png.length - 4).toString('latin1'), 'IEND');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

test('writeRunOutputs: the run folder, byte-identical on a second write, valid SVG and PNG charts, golden report.md', async () => {
  const a = tmp();
  const b = tmp();
  const junit = join(a, 'ci', 'junit.xml');
  const first = await writeRunOutputs(fixtureInput(), a, { junit });
  // Same input with the runs in another order (as another --jobs would finish them).
  const shuffled = fixtureInput();
  shuffled.runs = [...shuffled.runs].reverse();
  shuffled.timeseries = [...shuffled.timeseries!].reverse();
  const second = await writeRunOutputs(shuffled, b);

  const expected = [
    'charts/conntrack-entries-over-time.png',
    'charts/conntrack-entries-over-time.svg',
    'charts/first-packet-latency-p99.png',
    'charts/first-packet-latency-p99.svg',
    'charts/sync-duration.png',
    'charts/sync-duration.svg',
    'report.html',
    'report.md',
    'runs.csv',
    'summary.csv',
    'summary.json',
    'timeseries.csv',
  ];
  assert.deepEqual(listFiles(b), expected, 'no temporary file left behind');
  assert.deepEqual([...second.files].sort(), expected);
  assert.deepEqual(first.files.slice(-1), ['ci/junit.xml']);
  assert.equal(first.reportPath, join(a, 'report.html'));
  for (const f of expected) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs between two writes`);

  for (const f of expected.filter((x) => x.endsWith('.svg'))) {
    const svg = readFileSync(join(a, f), 'utf8');
    const root = checkXml(svg);
    assert.equal(root.name, 'svg', f);
    assert.equal(root.attributes.xmlns, 'http://www.w3.org/2000/svg', f);
    const png = checkPng(readFileSync(join(a, f.replace(/\.svg$/, '.png'))));
    // PNG at twice the SVG's size (PNG_SCALE).
    assert.deepEqual(png, { width: 2 * Number(root.attributes.width), height: 2 * Number(root.attributes.height) }, f);
  }
  const svg = readFileSync(join(a, 'charts/first-packet-latency-p99.svg'), 'utf8');
  assert.match(svg, />First-packet latency p99</);
  assert.match(svg, />firstPacketLatency\.p99 \(µs\)</, 'the axis names the unit it scaled to');

  const md = readFileSync(join(a, 'report.md'), 'utf8');
  golden('report.md', md);
  const html = readFileSync(join(a, 'report.html'), 'utf8');
  assert.equal((html.match(/<svg /g) ?? []).length, 3, 'charts inline');
  assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'self-contained: no script, no link out');
  assert.match(html, /<td class="FAILED">FAILED<\/td><td>iptables\.failedConnections\.rate &lt;= 0\.1%<\/td>/);
  checkXml(html.replace('<!DOCTYPE html>\n', '').replace(/<meta [^>]*>/g, ''));

  const junitRoot = checkXml(readFileSync(junit, 'utf8'));
  assert.deepEqual([junitRoot.name, junitRoot.attributes.tests, junitRoot.attributes.failures], ['testsuites', '4', '1']);

  assert.equal(first.failedExpectations, 2);
  assert.deepEqual(
    first.expectations.filter((e) => !e.passed).map((e) => e.message),
    [
      'expect[1] iptables.failedConnections.rate <= 0.1% at mode=iptables services=100: FAILED, mean 0.25% over 3 replications, 95% CI 0.126%..0.374%: over the limit 0.1% by 0.15% (150%)',
      'expect[1] iptables.failedConnections.rate <= 0.1% at mode=iptables services=1000: FAILED, mean 0.25% over 3 replications, 95% CI 0.126%..0.374%: over the limit 0.1% by 0.15% (150%)',
    ],
  );
  assert.equal(
    first.headline,
    [
      'point                        firstPacketLatency.p99  syncDuration.mean  failedConnections.rate  firstPacketLatency.p50',
      'mode=iptables services=100                     38µs               10ms                   0.25%                    19µs',
      'mode=iptables services=1000                   200µs              100ms                   0.25%                   100µs',
      'mode=nftables services=100                     25µs               10ms                   0.05%                  12.5µs',
      'mode=nftables services=1000                    25µs              100ms                   0.05%                  12.5µs',
      'mode=ipvs services=100                         30µs                4ms                   0.05%                    15µs',
      'mode=ipvs services=1000                        30µs               40ms                   0.05%                    15µs',
      '(means over 3 replications per point)',
    ].join('\n'),
  );

  const doc = parseSummaryDoc(readFileSync(join(a, 'summary.json'), 'utf8'), 'summary.json');
  assert.equal(doc.partial, false);
  assert.deepEqual(doc.runs, { expected: 18, finished: 18 });
  assert.deepEqual((doc.scenario as { sweep: unknown }).sweep, { mode: ['iptables', 'nftables', 'ipvs'], services: [100, 1000] });
  assert.ok(Number.isNaN(doc.points.find((p) => p.point.mode === 'ipvs' && p.point.services === 1000)!.metrics['tailDrops.count']!.mean));
});

test('writeRunOutputs: an interrupted run is marked partial and its missing points fail as not measured', async () => {
  const dir = tmp();
  const input = fixtureInput({ partial: true, expectations: ['ipvs.firstPacketLatency.p99 < 1ms'] });
  input.runs = input.runs.filter((r) => r.point.mode !== 'ipvs');
  input.timeseries = [];
  input.meta.charts = [];
  const out = await writeRunOutputs(input, dir);
  assert.equal(out.failedExpectations, 1);
  assert.match(out.expectations[0]!.message, /at mode=ipvs: NOT MEASURED \(no selected point ran\)/);
  assert.match(out.headline, /PARTIAL/);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  assert.match(md, /^> \*\*Partial results\.\*\* The run was interrupted: 12 of 18 runs finished\./m);
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<p class="notice"><strong>Partial results\.<\/strong>/);
  const doc = parseSummaryDoc(readFileSync(join(dir, 'summary.json'), 'utf8'), 'summary.json');
  assert.equal(doc.partial, true);
  assert.deepEqual(doc.runs, { expected: 18, finished: 12 });
  assert.equal(readFileSync(join(dir, 'timeseries.csv'), 'utf8'), 'mode,services,replication,t_s,series,value\n');
});

test('writeRunOutputs: a mistake in an expect: line throws an InputError before any file is written', async () => {
  const dir = join(tmp(), 'out');
  const input = fixtureInput({ expectations: ['firstPacketLatency.p99 < 100'] });
  await assert.rejects(writeRunOutputs(input, dir), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.match(e.message, /^expect\[0\], column 26 of "firstPacketLatency\.p99 < 100": expected a duration such as 100us/);
    return true;
  });
  assert.equal(existsSync(dir), false);
});

test('writeRunOutputs: a chart of a metric no run measured is named in the report, not drawn', async () => {
  const dir = tmp();
  const input = fixtureInput({ expectations: [] });
  input.runs = fixtureRuns(1);
  input.timeseries = [];
  input.meta.charts = [{ title: 'Drops', x: 'services', y: 'conntrack.drops' }];
  const out = await writeRunOutputs(input, dir);
  assert.ok(!out.files.some((f) => f.startsWith('charts/')));
  assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /\*\*Drops\*\*: not drawn \(no point measured conntrack\.drops\)\./);
});

test('writeRunOutputs: lines selecting only sweep values --quick or --set left out are listed as not checked', async () => {
  const dir = tmp();
  const input = fixtureInput({ expectations: ['ebpf.firstPacketLatency.p99 < 10us', 'nftables.firstPacketLatency.p99 < 100us'] });
  input.meta.declaredSweep = { mode: ['iptables', 'nftables', 'ipvs', 'ebpf'] };
  const out = await writeRunOutputs(input, dir);
  assert.deepEqual(out.notChecked, ['expect[0] ebpf.firstPacketLatency.p99 < 10us']);
  assert.equal(out.failedExpectations, 0);
  assert.deepEqual(
    out.expectations.map((e) => e.index),
    [1, 1],
  );
  assert.match(readFileSync(join(dir, 'report.md'), 'utf8'), /Not checked in this run, as they select only sweep values that --quick or --set left out: expect\\\[0\\\] ebpf\.firstPacketLatency\.p99 \\< 10us\./);
});

test("writeRunOutputs: the study's answer: findings open the report's answer, before the chart-by-chart sentences", async () => {
  const input = fixtureInput();
  input.meta.findings = [{ say: 'Fastest mode at 1000 Services?', rank: { y: 'firstPacketLatency.p99', by: 'mode', where: { services: 1000 } } }];
  const dir = tmp();
  await writeRunOutputs(input, dir);
  const md = readFileSync(join(dir, 'report.md'), 'utf8');
  const finding = md.indexOf('- Fastest mode at 1000 Services: firstPacketLatency.p99 at services=1000, lowest first: nftables 25µs ≤ ipvs 30µs ≤ iptables 200µs');
  const charts = md.indexOf('Chart by chart:');
  assert.ok(finding > md.indexOf('## Answer from the figures') && charts > finding, md.slice(0, 1500));
  input.meta.findings = [{ say: 'x', rank: { y: 'firstPacketLatency.p99', by: 'mod' } }];
  await assert.rejects(writeRunOutputs(input, tmp()), /answer\[0\]\.rank\.by: expected a sweep parameter/);
});
