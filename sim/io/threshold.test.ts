import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from './input-error.ts';
import { parseThreshold } from './threshold.ts';

test('--threshold: N% is a percent, a bare number a fraction', () => {
  assert.equal(parseThreshold('5%'), 0.05);
  assert.equal(parseThreshold('0.5%'), 0.005);
  assert.equal(parseThreshold('20%'), 0.2);
  assert.equal(parseThreshold('200%'), 2);
  assert.equal(parseThreshold(' 5 % '), 0.05);
  assert.equal(parseThreshold('0.05'), 0.05);
  assert.equal(parseThreshold('.2'), 0.2);
  assert.equal(parseThreshold('0'), 0);
  assert.equal(parseThreshold('0%'), 0);
  // .ci/run's bench:gate --threshold 1: 100%
  assert.equal(parseThreshold('1'), 1);
  assert.equal(parseThreshold('1.0'), 1);
});

test('--threshold: a bare number above 1 is refused with a hint to write the percent sign', () => {
  assert.throws(
    () => parseThreshold('5'),
    (e: unknown) =>
      e instanceof InputError &&
      e.message === '--threshold: expected a fraction such as 0.05 or a percentage such as 5%, found "5" (did you mean 5%? A bare number is a fraction: 1 is 100%)',
  );
  assert.throws(() => parseThreshold('1.5'), /found "1\.5" \(did you mean 1\.5%\?/);
});

test('--threshold: anything else is refused, naming the flag', () => {
  for (const bad of ['', 'five', '-5%', '-0.1', '5%%', '%', '0x1', '1e-1', '5 percent', 'Infinity', 'NaN']) {
    assert.throws(
      () => parseThreshold(bad),
      (e: unknown) => e instanceof InputError && e.message === `--threshold: expected a fraction such as 0.05 or a percentage such as 5%, found ${JSON.stringify(bad)}`,
      bad,
    );
  }
});
