import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDuration, formatDuration } from './time.ts';
import { InputError } from '../io/input-error.ts';

test('durations parse to integer nanoseconds', () => {
  assert.equal(parseDuration('250ms'), 250_000_000);
  assert.equal(parseDuration('10us'), 10_000);
  assert.equal(parseDuration('1.5s'), 1_500_000_000);
  assert.equal(parseDuration('2m'), 120_000_000_000);
  assert.equal(parseDuration('7ns'), 7);
  assert.equal(parseDuration('1h'), 3_600_000_000_000);
});

test('bad durations name the field, what was expected and what was found', () => {
  const err = (v: unknown) => {
    try {
      parseDuration(v, 'proxy.minSyncPeriod');
    } catch (e) {
      assert.ok(e instanceof InputError);
      return e.message;
    }
    assert.fail('no error');
  };
  assert.match(err('250'), /^proxy\.minSyncPeriod: expected a duration with a unit .* found "250" \(add a unit, e\.g\. "250ms"\)$/);
  assert.match(err('fast'), /found "fast"/);
  assert.match(err('1.5ns'), /whole number of nanoseconds/);
  assert.match(err(5), /found the number 5/);
  assert.match(err('-3s'), /found "-3s"/);
});

test('formatDuration picks a readable unit', () => {
  assert.equal(formatDuration(1_500_000), '1.5ms');
  assert.equal(formatDuration(42), '42ns');
  assert.equal(formatDuration(90 * 1e9), '1.5m');
});
