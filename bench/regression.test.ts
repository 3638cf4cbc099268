import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bestOf, compareResults, compareTask, comparisonTable } from './regression.ts';
import { parseResults, RESULTS_SCHEMA, type TaskResultRecord } from './results.ts';
import { fakeResults, fakeTask } from './testing/fake-results.ts';

const task = fakeTask;
const results = (tasks: TaskResultRecord[]) => fakeResults(tasks);

test('a real 25% regression on a quiet run fails', () => {
  const c = compareResults(results([task('a', 100, 2)]), results([task('a', 125, 2)]));
  assert.equal(c.failed, true);
  assert.equal(c.tasks[0]!.verdict, 'slower');
  assert.ok(Math.abs(c.tasks[0]!.change! - 1.25) < 1e-12);
});

test('a 15% slowdown within the 20% threshold passes', () => {
  const c = compareResults(results([task('a', 100, 3)]), results([task('a', 115, 3)]));
  assert.equal(c.failed, false);
  assert.equal(c.tasks[0]!.verdict, 'ok');
});

test('a 30% slowdown within the combined margin of error of noisy measurements passes', () => {
  // rme 25% and 30%: combined sqrt(25^2 + 30^2) = 39% > 30%
  const c = compareResults(results([task('a', 100, 25)]), results([task('a', 130, 30)]));
  assert.equal(c.failed, false);
  assert.ok(Math.abs(c.tasks[0]!.noise! - Math.hypot(0.25, 0.3)) < 1e-12);
});

test('a slowdown beyond the combined margin of error fails even when noisy', () => {
  const c = compareResults(results([task('a', 100, 25)]), results([task('a', 150, 30)]));
  assert.equal(c.failed, true);
});

test('a faster task is reported, not failed', () => {
  const c = compareResults(results([task('a', 100, 2)]), results([task('a', 60, 2)]));
  assert.equal(c.failed, false);
  assert.equal(c.tasks[0]!.verdict, 'faster');
});

test('a new task never fails; a baseline task the run did not produce fails, unless outside its filter or form', () => {
  const base = results([task('old', 100, 1), task('both', 10, 1)]);
  const c = compareResults(base, results([task('both', 10, 1), task('fresh', 5, 1)]));
  assert.equal(c.failed, true);
  const verdicts = Object.fromEntries(c.tasks.map((t) => [t.name, t.verdict]));
  assert.deepEqual(verdicts, { both: 'ok', fresh: 'new', old: 'missing' });
  const table = comparisonTable(c);
  assert.match(table, /fresh\s+new \(not in baseline\)/);
  assert.match(table, /old\s+MISSING \(fails\)/);
  assert.equal(compareResults(base, results([task('both', 10, 1), task('fresh', 5, 1)])).failed, true);
  assert.equal(compareResults(base, { ...results([task('both', 10, 1)]), filter: 'bo' }).failed, false);
  assert.equal(compareResults(base, { ...results([task('both', 10, 1)]), filter: 'o' }).failed, true);
  assert.equal(compareResults(base, { ...results([task('both', 10, 1)]), quick: false }).failed, false);
  assert.equal(compareResults(base, results([task('both', 10, 1), task('old', 100, 1)])).failed, false);
});

test('an errored task fails even when a merged run gave it a figure', () => {
  const base = results([task('a', 100, 1), task('b', 10, 1)]);
  const errored = { ...results([task('a', 100, 1)]), errors: [{ name: 'b', message: 'boom' }] };
  const c = compareResults(base, errored);
  assert.equal(c.failed, true);
  assert.deepEqual(c.tasks.map((t) => [t.name, t.verdict]), [['a', 'ok'], ['b', 'error']]);
  const merged = bestOf([results([task('a', 100, 1), task('b', 10, 1)]), errored]);
  assert.equal(compareResults(base, merged).tasks.find((t) => t.name === 'b')!.verdict, 'error');
  assert.throws(() => bestOf([{ ...base, filter: 'a' }, { ...base, filter: 'b' }]), /different --filter/);
  // a filtered retry beside a whole run adds figures; the merge still expects every task
  const retry = { ...results([task('b', 9, 1)]), filter: 'b' };
  const merged2 = bestOf([retry, results([task('a', 100, 1), task('b', 10, 1)])]);
  assert.equal(merged2.filter, undefined);
  assert.deepEqual(merged2.tasks.map((t) => [t.name, t.ratio]), [['b', 9], ['a', 100]]);
  assert.throws(() => parseResults(JSON.stringify({ ...base, errors: undefined }), 'r.json'), /r\.json: expected "errors" to be an array/);
});

test('property: the verdict is slower exactly when change exceeds 1 + max(threshold, noise)', () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.01, max: 1e6, noNaN: true }),
      fc.double({ min: 0.2, max: 5, noNaN: true }),
      fc.double({ min: 0, max: 80, noNaN: true }),
      fc.double({ min: 0, max: 80, noNaN: true }),
      fc.double({ min: 0.01, max: 0.5, noNaN: true }),
      (base, factor, rmeA, rmeB, threshold) => {
        const v = compareTask(task('x', base, rmeA), task('x', base * factor, rmeB), threshold);
        const allowed = Math.max(threshold, Math.hypot(rmeA, rmeB) / 100);
        assert.equal(v.verdict === 'slower', (base * factor) / base > 1 + allowed);
      },
    ),
  );
});

test('parseResults names the file and the field that is wrong', () => {
  assert.throws(() => parseResults('{', 'b.json'), /b\.json: not JSON/);
  assert.throws(() => parseResults('{"schema": 9, "tasks": []}', 'b.json'), /b\.json: expected a bench results file with schema 2, found schema 9$/);
  assert.throws(() => parseResults('{"schema": 1, "tasks": []}', 'b.json'), /b\.json: expected a bench results file with schema 2, found schema 1 \(ratios of means, .*re-take it/);
  assert.throws(
    () => parseResults(JSON.stringify({ schema: RESULTS_SCHEMA, tasks: [{ name: 'a', ratio: 'fast', ratioRme: 1 }] }), 'b.json'),
    /b\.json: tasks\[0\]\.ratio: expected a number, found "fast"/,
  );
  assert.equal(parseResults(JSON.stringify(results([task('a', 1, 1)])), 'b.json').tasks[0]!.name, 'a');
});

test('tasks doing a different count of units per call are compared per unit', () => {
  const base = { ...task('hold', 100, 2), per: { unit: 'event', count: 1000 } };
  const sameSpeed = { ...task('hold', 20, 2), per: { unit: 'event', count: 200 } };
  assert.equal(compareTask(base, sameSpeed, 0.2).verdict, 'ok');
  assert.ok(Math.abs(compareTask(base, sameSpeed, 0.2).change! - 1) < 1e-12);
  const slower = { ...task('hold', 30, 2), per: { unit: 'event', count: 200 } };
  assert.equal(compareTask(base, slower, 0.2).verdict, 'slower');
  // different units cannot be compared per unit: per call it is
  const other = { ...task('hold', 100, 2), per: { unit: 'packet', count: 10 } };
  assert.equal(compareTask(base, other, 0.2).change, 1);
});

test('bestOf takes each task from its fastest run (per unit), so noise in one run does not fail a task', () => {
  const a = results([task('x', 100, 2), task('y', 50, 2)]);
  const b = results([task('x', 300, 2), task('y', 40, 3), task('z', 1, 1)]);
  const m = bestOf([a, b]);
  assert.equal(m.runs, 2);
  assert.deepEqual(m.tasks.map((t) => [t.name, t.ratio, t.runSpreadPct]), [['x', 100, 200], ['y', 40, 25], ['z', 1, 0]]);
  assert.equal(m.reference.measurements.length, 2);
  // a run 3x slower on x alone fails; with the other run beside it, x is judged by its best
  assert.equal(compareResults(a, b).failed, true);
  assert.equal(compareResults(a, bestOf([b, a])).failed, false);
  // a baseline whose runs of the same code differed by 200% on x allows x that much, no more
  assert.equal(compareTask(m.tasks[0]!, task('x', 290, 2), 0.2).verdict, 'ok');
  assert.equal(compareTask(m.tasks[0]!, task('x', 310, 2), 0.2).verdict, 'slower');
  assert.equal(compareTask(m.tasks[1]!, task('y', 52, 2), 0.2).verdict, 'slower');
  // per unit: 2000 ns over 100 events beats 1500 ns over 50
  const p1 = results([{ ...task('h', 2000, 1), per: { unit: 'event', count: 100 } }]);
  const p2 = results([{ ...task('h', 1500, 1), per: { unit: 'event', count: 50 } }]);
  assert.equal(bestOf([p2, p1]).tasks[0]!.ratio, 2000);
  assert.equal(bestOf([a]), a);
  assert.throws(() => bestOf([a, { ...b, quick: false }], ['q.json', 'f.json']), /q\.json, f\.json: runs of both the quick and the full form/);
});
