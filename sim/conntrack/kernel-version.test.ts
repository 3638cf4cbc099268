import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clashRules, cpuStatNames, kernelVersionText, parseKernelVersion, type KernelVersion } from './kernel-version.ts';

function v(text: string): KernelVersion {
  const r = parseKernelVersion(text);
  if (!r.ok) throw new Error(r.message);
  return r.version;
}

test('kernel.version: the named releases and the ends of the known range parse', () => {
  for (const text of ['4.14', '4.19', '5.4', '5.10', '6.1', '4.4', '4.20', '5.0', '5.19', '6.0', '6.18']) {
    assert.equal(kernelVersionText(v(text)), text);
  }
  assert.deepEqual(v('5.10'), { major: 5, minor: 10 });
});

test('kernel.version: anything else is refused with what was expected', () => {
  for (const bad of ['4.3', '3.10', '6.19', '5.20', '4.21', '7.0', '2.6', '5', '5.x', '5.4.0', ' 5.4', '05.4', '5.04', '', 'latest']) {
    const r = parseKernelVersion(bad);
    assert.equal(r.ok, false, bad);
    if (!r.ok) assert.match(r.message, /^expected a kernel release "X\.Y" from 4\.4 to 6\.18 as a quoted string/, bad);
  }
  const outside = parseKernelVersion('6.19');
  assert.ok(!outside.ok && /6\.19 is outside that range$/.test(outside.message));
  // YAML reads 5.10 as the number 5.1: a number is never taken, whatever its value.
  for (const n of [5.1, 5.4, 6]) {
    const r = parseKernelVersion(n);
    assert.ok(!r.ok && /a YAML number loses trailing zeros \(5\.10 reads 5\.1\): quote it$/.test(r.message), String(n));
  }
  for (const other of [null, undefined, true, { major: 5 }, ['5.4']]) assert.equal(parseKernelVersion(other).ok, false);
});

test('clash rules per named release: what each kernel does on a clash (docs/research/dns-notes-checked.md C2-C7)', () => {
  const table: Record<string, unknown> = {
    '4.4': { allowClash: false, mergeIdentical: false, sameOriginKeepsPort: false, clashEntries: 'none', counting: 'insert-failed-all' },
    '4.14': { allowClash: true, mergeIdentical: false, sameOriginKeepsPort: false, clashEntries: 'none', counting: 'insert-failed-all' },
    '4.19': { allowClash: true, mergeIdentical: true, sameOriginKeepsPort: false, clashEntries: 'none', counting: 'insert-failed-all' },
    '5.4': { allowClash: true, mergeIdentical: true, sameOriginKeepsPort: true, clashEntries: 'none', counting: 'insert-failed-all' },
    '5.6': { allowClash: true, mergeIdentical: true, sameOriginKeepsPort: true, clashEntries: 'until-reply', counting: 'insert-failed-merge' },
    '5.9': { allowClash: true, mergeIdentical: true, sameOriginKeepsPort: true, clashEntries: 'fixed', counting: 'insert-failed-merge' },
    '5.10': { allowClash: true, mergeIdentical: true, sameOriginKeepsPort: true, clashEntries: 'fixed', counting: 'clash-resolve' },
    '6.1': { allowClash: true, mergeIdentical: true, sameOriginKeepsPort: true, clashEntries: 'fixed', counting: 'clash-resolve' },
  };
  for (const [text, rules] of Object.entries(table)) assert.deepEqual(clashRules(v(text)), rules, text);
  // The boundaries: 4.6/4.7, 4.18/4.19, 4.20/5.0, 5.5/5.6, 5.8/5.9, 5.9/5.10.
  assert.equal(clashRules(v('4.6')).allowClash, false);
  assert.equal(clashRules(v('4.7')).allowClash, true);
  assert.equal(clashRules(v('4.18')).mergeIdentical, false);
  assert.equal(clashRules(v('4.20')).sameOriginKeepsPort, false);
  assert.equal(clashRules(v('5.0')).sameOriginKeepsPort, true);
  assert.equal(clashRules(v('5.5')).clashEntries, 'none');
  assert.equal(clashRules(v('5.8')).clashEntries, 'until-reply');
  assert.equal(clashRules(v('5.9')).counting, 'insert-failed-merge');
});

test('conntrack -S counters per release: ignore until 5.9, clash_resolve from 5.10, chaintoolong from 5.15', () => {
  const old = ['found', 'invalid', 'ignore', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart'];
  assert.deepEqual(cpuStatNames(v('4.14')), old);
  assert.deepEqual(cpuStatNames(v('5.9')), old);
  const mid = ['found', 'invalid', 'insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart', 'clash_resolve'];
  assert.deepEqual(cpuStatNames(v('5.10')), mid);
  assert.deepEqual(cpuStatNames(v('5.14')), mid);
  assert.deepEqual(cpuStatNames(v('5.15')), [...mid, 'chaintoolong']);
  assert.deepEqual(cpuStatNames(v('6.1')), [...mid, 'chaintoolong']);
});
