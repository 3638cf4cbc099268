import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { InputError } from '../io/input-error.ts';
import { parseExact, readRunRecords, RECORD_FORMAT, recordFileName, runId, stringifyExact, writeRunRecord, type RunRecord } from './run-records.ts';

test('every double, NaN, the infinities and -0 come back from a record as the same number', () => {
  fc.assert(
    fc.property(fc.array(fc.double()), fc.dictionary(fc.string(), fc.double()), (list, metrics) => {
      const back = parseExact(stringifyExact({ list, metrics })) as { list: number[]; metrics: Record<string, number> };
      assert.equal(back.list.length, list.length);
      list.forEach((v, i) => assert.ok(Object.is(back.list[i], v), `${v}`));
      assert.deepEqual(Object.keys(back.metrics), Object.keys(metrics));
      for (const k of Object.keys(metrics)) assert.ok(Object.is(back.metrics[k], metrics[k]));
    }),
  );
  assert.equal(stringifyExact([NaN, -0, Infinity]), '[{"$number":"NaN"},{"$number":"-0"},{"$number":"Infinity"}]');
});

test("a run's id depends on its parameters and replication only, not on their order", () => {
  assert.equal(runId({ mode: 'ipvs', services: 100 }, 1), runId({ services: 100, mode: 'ipvs' }, 1));
  assert.notEqual(runId({ mode: 'ipvs', services: 100 }, 1), runId({ mode: 'ipvs', services: 100 }, 2));
  assert.notEqual(runId({ mode: 'ipvs', services: 100 }, 1), runId({ mode: 'ipvs', services: '100' }, 1));
  assert.match(runId({}, 0), /^[0-9a-f]{16}$/);
});

test('records are read back whole; temporary files are not records; a broken record is an InputError', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-records-'));
  const record: RunRecord = { format: RECORD_FORMAT, id: runId({ a: 1 }, 0), index: 0, point: { a: 1 }, replication: 0, seed: 42, result: { metrics: { x: NaN, y: 1.5 }, timeseries: [{ t: 0, series: 's', value: -0 }] } };
  writeRunRecord(dir, record);
  writeFileSync(join(dir, `.${recordFileName('0123456789abcdef')}.999.tmp`), '{"half');
  const read = readRunRecords(dir);
  assert.deepEqual([...read.keys()], [record.id]);
  assert.ok(Object.is(read.get(record.id)!.result.metrics.x, NaN));
  assert.ok(Object.is(read.get(record.id)!.result.timeseries[0]!.value, -0));
  assert.equal(readRunRecords(join(dir, 'none')).size, 0);
  writeFileSync(join(dir, recordFileName('0123456789abcdef')), '{"half');
  assert.throws(() => readRunRecords(dir), (e: unknown) => e instanceof InputError && /run-0123456789abcdef\.json: expected a run record/.test(e.message));
});
