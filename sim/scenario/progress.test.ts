import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { loadScenarioText } from './load.ts';
import { isCi, studyProgress } from './progress.ts';
import { planRuns } from './sweep.ts';

/** What studyProgress writes: a redrawn bar on a terminal, one line per run in CI logs and pipes. */
const STUDY = `name: progress
question: Which progress does a terminal get, and which a log?
duration: 2s
cluster: { nodes: 2, services: { count: 10, endpointsPerService: 2 } }
proxy: { mode: "\${mode}" }
sweep:
  mode: [iptables, nftables]
`;

function sink(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string; cursorTo: () => boolean; clearLine: () => boolean; moveCursor: () => boolean } {
  let text = '';
  const w = new Writable({
    write(chunk, _enc, done) {
      text += String(chunk);
      done();
    },
  });
  // The few TTY methods cli-progress calls to redraw its line.
  return Object.assign(w, { isTTY, columns: 120, text: () => text, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
}

function drive(stream: ReturnType<typeof sink>, env: NodeJS.ProcessEnv): string {
  const study = loadScenarioText(STUDY, 'progress.yaml', { replications: 1 });
  const runs = planRuns(
    study.points.map((p) => p.params),
    1,
    study.seed,
  );
  const progress = studyProgress(study, stream, env);
  progress.start(runs.length);
  runs.forEach((r, i) => progress.runDone(i + 1, r));
  progress.stop();
  return stream.text();
}

test('not a terminal, or CI set: one plain line per finished run with the point and the simulated time so far', () => {
  const expected = 'progress: run 1/2 done (mode=iptables replication 0), 2s simulated\nprogress: run 2/2 done (mode=nftables replication 0), 4s simulated\n';
  assert.equal(drive(sink(false), {}), expected);
  assert.equal(drive(sink(true), { CI: 'true' }), expected);
});

test('a terminal: the cli-progress bar with runs done and simulated time, no per-run lines', () => {
  const text = drive(sink(true), {});
  assert.match(text, /progress \[[^\]]*\] 2\/2 runs \| 4s simulated \| ETA/);
  assert.doesNotMatch(text, /run 1\/2 done/);
});

test('CI values that mean "no" do not count as CI', () => {
  assert.equal(isCi({ CI: 'false' }), false);
  assert.equal(isCi({ CI: '0' }), false);
  assert.equal(isCi({ CI: '' }), false);
  assert.equal(isCi({ CI: '1' }), true);
});
