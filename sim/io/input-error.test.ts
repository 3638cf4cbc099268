import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, InputErrorList, combineInputErrors, isInputError } from './input-error.ts';

test('one problem is thrown as itself; several read one per line, first one first', () => {
  const a = new InputError('s.yaml:3:11', 'a duration such as "30s"', '"30 parsecs"');
  const b = new InputError('s.yaml:4:15', 'a positive integer', '-1');
  assert.equal(combineInputErrors([a]), a);
  const both = combineInputErrors([a, b]);
  assert.ok(both instanceof InputErrorList && isInputError(both));
  assert.equal(both.message, `${a.message}\n${b.message}`);
  assert.equal(both.where, 's.yaml:3:11');
  assert.equal(both.exitCode, 2);
  assert.throws(() => new InputErrorList([]), RangeError);
});
