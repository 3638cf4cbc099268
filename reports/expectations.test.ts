import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from '../sim/io/input-error.ts';
import { checkExpectations, parseExpectation, parseExpectations } from './expectations.ts';
import { summarizePoints } from './summarize.ts';
import { fixtureInput } from './testing/fixture.ts';
import type { Sweep } from './points.ts';

const sweep: Sweep = { mode: ['iptables', 'nftables', 'ipvs'], services: [100, 1000], minSyncPeriod: ['0.5', '1s'] };

function inputError(line: string, pattern: RegExp, s: Sweep = sweep): void {
  assert.throws(
    () => parseExpectation(line, 3, s),
    (e: unknown) => {
      assert.ok(e instanceof InputError, `not an InputError: ${String(e)}`);
      assert.match(e.message, pattern);
      return true;
    },
  );
}

test('the two forms of the issue parse into selector, metric, operator and a limit in base units', () => {
  const [a, b] = parseExpectations(['nftables.firstPacketLatency.p99 < 100us', 'iptables.failedConnections.rate <= 0.1%'], sweep);
  assert.deepEqual(
    { selector: a!.selector, metric: a!.metric, op: a!.op, limit: a!.limit, kind: a!.limitKind },
    { selector: { mode: 'nftables' }, metric: 'firstPacketLatency.p99', op: '<', limit: 100_000, kind: 'duration' },
  );
  assert.deepEqual({ selector: b!.selector, metric: b!.metric, op: b!.op, limit: b!.limit }, { selector: { mode: 'iptables' }, metric: 'failedConnections.rate', op: '<=', limit: 0.001 });
});

test('selectors: no prefix selects every point; several prefixes; values with dots; the explicit form', () => {
  assert.deepEqual(parseExpectation('firstPacketLatency.p99 < 1ms', 0, sweep).selector, {});
  assert.deepEqual(parseExpectation('ipvs.1000.syncDuration.mean >= 2ms', 0, sweep).selector, { mode: 'ipvs', services: '1000' });
  // `0.5` is a value of minSyncPeriod: the whole value is the prefix, not `0`.
  const dotted = parseExpectation('0.5.syncDuration.mean < 1s', 0, sweep);
  assert.deepEqual([dotted.selector, dotted.metric], [{ minSyncPeriod: '0.5' }, 'syncDuration.mean']);
  const explicit = parseExpectation(' mode=ipvs, services=1k : syncDuration.mean < 50ms ', 0, sweep);
  assert.deepEqual([explicit.selector, explicit.metric, explicit.text], [{ mode: 'ipvs', services: '1000' }, 'syncDuration.mean', 'mode=ipvs, services=1k : syncDuration.mean < 50ms']);
  // A first segment that is no sweep value is part of the metric's name.
  assert.deepEqual(parseExpectation('conntrack.entries.max < 10k', 0, sweep).metric, 'conntrack.entries.max');
  // When the runs' metrics are known, a metric whose first segment equals a sweep value stays whole.
  const known = parseExpectation('ipvs.objects < 100', 0, { mode: ['ipvs', 'iptables'] }, { knownMetrics: ['ipvs.objects'] });
  assert.deepEqual([known.selector, known.metric], [{}, 'ipvs.objects']);
});

test('limits: durations, percent, multipliers and plain numbers', () => {
  const limit = (line: string): number => parseExpectation(line, 0, sweep).limit;
  assert.equal(limit('syncDuration.mean < 1.5s'), 1.5e9);
  assert.equal(limit('syncDuration.mean < 250ms'), 250e6);
  assert.equal(limit('syncDuration.mean < 10µs'), 10e3);
  assert.equal(limit('syncDuration.mean < 2m'), 120e9);
  assert.equal(limit('syncDuration.mean < 0'), 0);
  assert.equal(limit('failedConnections.rate < 0.002'), 0.002);
  assert.equal(limit('rulesVisited.mean <= 2.5k'), 2500);
  assert.equal(limit('conntrackBytes > 1e6'), 1e6);
});

test('mistakes: one InputError naming expect[i], the column and the line, what was expected and found', () => {
  const where = (col: number, line: string): string => `^expect\\[3\\], column ${col} of ${JSON.stringify(line).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `;
  inputError('firstPacketLatency.p99 100us', new RegExp(where(1, 'firstPacketLatency.p99 100us') + 'expected an expectation such as .* found no comparison'));
  inputError('firstPacketLatency.p99 < 100zz', new RegExp(where(26, 'firstPacketLatency.p99 < 100zz') + 'expected a number with an optional unit .*, found "100zz"'));
  inputError('firstPacketLatency.p99 < 100', new RegExp(where(26, 'firstPacketLatency.p99 < 100') + 'expected a duration such as 100us .*found "100" \\(add a unit, e\\.g\\. 100us\\)'));
  inputError('failedConnections.rate < 5ms', /column 26 .*expected a value without a time unit \(failedConnections\.rate is measured as ratio\), found "5ms"/);
  inputError('rulesVisited.count < 5%', /column 22 .*expected a plain number \(rulesVisited\.count is a count, not a ratio\)/);
  inputError('firstPacketLatency.p99 < 1ms < 2ms', /column 30 .*expected one comparison per line, found "<"/);
  inputError(' < 1ms', /column 2 .*expected a metric before </);
  inputError('syncDuration.mean <=', /column 21 .*expected a value after <=/);
  inputError('mode=ipvs,service=100:syncDuration.mean < 1s', /column 11 .*expected a sweep parameter \(mode, services, minSyncPeriod\), found "service" \(did you mean services\?\)/);
  inputError('mode=ipvs,services=300:syncDuration.mean < 1s', /column 20 .*expected a value of services \(100, 1000\), found "300"/);
  inputError('mode=ipvs,mode=iptables:syncDuration.mean < 1s', /expected mode selected once/);
  inputError('mode ipvs:syncDuration.mean < 1s', /column 1 .*expected a selector of parameter=value pairs/);
  inputError('ipvs.first Packet.p99 < 1ms', /column 6 .*expected a metric name such as firstPacketLatency\.p99, found "first Packet\.p99"/);
  inputError('a.syncDuration.mean < 1s', /expected "a" to be the value of one sweep parameter, found a value of x and y \(write x=a:metric to choose\)/, { x: ['a', 'b'], y: ['a'] });
  inputError('iptables.ipvs.syncDuration.mean < 1s', /expected mode selected once, found iptables and ipvs/);
  assert.throws(() => parseExpectations(['ok.metric < 1', 42], sweep), /^InputError: expect\[1\]: expected an expectation such as .*, found number$/);
  assert.throws(
    () => parseExpectation('firstPacketLatncy.p99 < 1ms', 0, sweep, { knownMetrics: ['firstPacketLatency.p99'] }),
    /found "firstPacketLatncy\.p99" \(did you mean firstPacketLatency\.p99\?\)/,
  );
  // The scenario loader can name the place in its own terms.
  assert.throws(
    () => parseExpectation('x.p99 < 1zz', 2, sweep, { where: (i, col) => `s.yaml:${10 + i}:${4 + col}` }),
    /^InputError: s\.yaml:12:13: expected a number/,
  );
});

test('checking: the mean against the limit at each selected point; a failure says which point and by how much', () => {
  const input = fixtureInput();
  const { names, points } = summarizePoints(input.runs, input.meta.sweep);
  const parsed = parseExpectations(
    [
      'ipvs.syncDuration.mean > 5ms',
      'mode=iptables,services=1000:firstPacketLatency.p99 < 150us',
      'ipvs.tailDrops.count <= 1',
      'nftables.rulesVisited.mean == 4',
      'nftables.rulesVisited.mean != 4',
      'firstPacketLatncy.p99 < 1ms',
    ],
    input.meta.sweep,
  );
  const results = checkExpectations(parsed, points, names);
  assert.deepEqual(
    results.map((r) => [r.index, r.status, r.message]),
    [
      [0, 'fail', 'expect[0] ipvs.syncDuration.mean > 5ms at mode=ipvs services=100: FAILED, mean 4ms over 3 replications, 95% CI 4ms..4ms: under the limit 5ms by 999µs (20%)'],
      [0, 'pass', 'expect[0] ipvs.syncDuration.mean > 5ms at mode=ipvs services=1000: ok (mean 40ms over 3 replications, 95% CI 40ms..40ms)'],
      [1, 'fail', 'expect[1] mode=iptables,services=1000:firstPacketLatency.p99 < 150us at mode=iptables services=1000: FAILED, mean 200µs over 3 replications, 95% CI 199µs..201µs: over the limit 150us by 50µs (33.3%)'],
      [2, 'pass', 'expect[2] ipvs.tailDrops.count <= 1 at mode=ipvs services=100: ok (mean 1 over 3 replications, 95% CI -1.48..3.48)'],
      [2, 'not-measured', 'expect[2] ipvs.tailDrops.count <= 1 at mode=ipvs services=1000: NOT MEASURED (no replication measured tailDrops.count)'],
      [3, 'pass', 'expect[3] nftables.rulesVisited.mean == 4 at mode=nftables services=100: ok (mean 4 over 3 replications, 95% CI 4..4)'],
      [3, 'pass', 'expect[3] nftables.rulesVisited.mean == 4 at mode=nftables services=1000: ok (mean 4 over 3 replications, 95% CI 4..4)'],
      [4, 'fail', 'expect[4] nftables.rulesVisited.mean != 4 at mode=nftables services=100: FAILED, mean 4 over 3 replications, 95% CI 4..4: equal to the limit 4'],
      [4, 'fail', 'expect[4] nftables.rulesVisited.mean != 4 at mode=nftables services=1000: FAILED, mean 4 over 3 replications, 95% CI 4..4: equal to the limit 4'],
      ...['iptables services=100', 'iptables services=1000', 'nftables services=100', 'nftables services=1000', 'ipvs services=100', 'ipvs services=1000'].map((p) => [
        5,
        'not-measured',
        `expect[5] firstPacketLatncy.p99 < 1ms at mode=${p}: NOT MEASURED (the runs report no metric firstPacketLatncy.p99; did you mean firstPacketLatency.p99?)`,
      ]),
    ],
  );
  // The mean is 4.001ms (4ms shown with three digits): 999µs under the limit.
  assert.equal(results[0]!.excess, 999_000);
  assert.equal(results[0]!.excessRelative, 0.1998);
  assert.equal(results[1]!.excess, 0);
  assert.ok(results.every((r) => r.passed === (r.status === 'pass')));
});

test('a sweep reduced by --quick or --set: a line selecting only values it left out is marked, not checked', () => {
  const run: Sweep = { mode: ['iptables', 'nftables'], services: [100, 1000] };
  const declaredSweep: Sweep = { mode: ['iptables', 'nftables', 'ebpf'] };
  const [ebpf, explicit, nft, typo] = parseExpectations(
    ['ebpf.firstPacketLatency.p99 < 10us', 'mode=ebpf:failedConnections.rate == 0', 'nftables.firstPacketLatency.p99 < 100us', 'ebfp.firstPacketLatency.p99 < 10us'],
    run,
    { declaredSweep },
  );
  assert.deepEqual([ebpf!.selector, ebpf!.metric, ebpf!.outOfRun], [{ mode: 'ebpf' }, 'firstPacketLatency.p99', true]);
  assert.deepEqual([explicit!.selector, explicit!.outOfRun], [{ mode: 'ebpf' }, true]);
  assert.equal(nft!.outOfRun, undefined);
  // Not a value of either list: still read as part of the metric name, so the run reports it missing.
  assert.deepEqual([typo!.selector, typo!.metric], [{}, 'ebfp.firstPacketLatency.p99']);
  const input = fixtureInput();
  const { names, points } = summarizePoints(input.runs, input.meta.sweep);
  const results = checkExpectations([ebpf!, explicit!, nft!], points, names);
  assert.deepEqual(
    results.map((r) => r.index),
    [2, 2],
  );
  // Without the declared lists the explicit form is the mistake it always was.
  assert.throws(() => parseExpectation('mode=ebpf:failedConnections.rate == 0', 0, run), /expected a value of mode \(iptables, nftables\), found "ebpf"/);
});
