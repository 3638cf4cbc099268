import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { InputError } from '../io/input-error.ts';
import { runMergeCommand } from './merge.ts';
import { runScenarioCommand, type ScenarioFlags } from './scenario.ts';

/**
 * `svcsim merge` with the stand-in model (sim/scenario/testing/deterministic-model.ts), so the shards
 * are quick: three shards merge into the bytes of the unsharded run; missing, duplicated and
 * mismatched shards are refused as InputErrors (exit 2) that name them. The same with the real model,
 * run as the pods of the Job run it, is sim/cli/job-local.test.ts.
 */
const MODEL = new URL('../scenario/testing/deterministic-model.ts', import.meta.url).href;

const STUDY = `name: stand-in
question: Do shards merge into the unsharded bytes?
seed: 1
replications: 2
duration: 2s
cluster:
  nodes: 2
  services: { count: "\${services}", endpointsPerService: 3 }
proxy: { mode: "\${mode}" }
sweep:
  mode: [iptables, nftables]
  services: [10, 30, 100]
charts:
  - { title: First-packet latency p99, x: services, y: firstPacketLatency.p99, color: mode, xScale: log }
expect:
  - failedConnections.rate <= 1%
`;

const quiet = () => new Writable({ write: (_c, _e, done) => done() });
const io = () => ({ out: quiet(), err: quiet(), modelUrl: MODEL });

async function scenario(file: string, out: string, extra: Partial<ScenarioFlags> = {}): Promise<number> {
  return runScenarioCommand([file], { set: [], jobs: '2', out, ...extra }, io());
}

/** Every file under dir, relative, sorted. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

function assertSameFolder(a: string, b: string): void {
  const files = listFiles(a);
  assert.deepEqual(listFiles(b), files);
  for (const f of files) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
}

async function shards(dir: string, file: string, count: number, extra: Partial<ScenarioFlags> = {}): Promise<string[]> {
  const dirs: string[] = [];
  for (let i = 0; i < count; i++) {
    const out = join(dir, `shard-${i}${extra.seed ? `-seed${extra.seed}` : ''}`);
    assert.equal(await scenario(file, out, { shard: `${i}/${count}`, ...extra }), 0);
    dirs.push(out);
  }
  return dirs;
}

async function refusal(dirs: string[], out: string): Promise<string> {
  let message = '';
  await assert.rejects(runMergeCommand(dirs, { out }, quiet()), (e: unknown) => {
    assert.ok(e instanceof InputError);
    assert.equal(e.exitCode, 2);
    message = e.message;
    return true;
  });
  return message;
}

const setup = (() => {
  let made: Promise<{ dir: string; file: string; shardDirs: string[]; whole: string }> | undefined;
  return () =>
    (made ??= (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'svcsim-merge-'));
      const file = join(dir, 'stand-in.yaml');
      writeFileSync(file, STUDY);
      const whole = join(dir, 'whole');
      assert.equal(await scenario(file, whole), 0);
      return { dir, file, shardDirs: await shards(dir, file, 3), whole };
    })());
})();

test('three shards merge into the bytes of the unsharded run, records and all, in any order', async () => {
  const { dir, shardDirs, whole } = await setup();
  // Each shard holds a share: no shard folder has an output, and the shares add up to the study.
  const held = shardDirs.map((d) => listFiles(d).filter((f) => /records\/run-/.test(f)).length);
  assert.equal(held.reduce((a, b) => a + b, 0), 12);
  assert.ok(held.every((n) => n > 0));
  const merged = join(dir, 'merged');
  assert.equal(await runMergeCommand([...shardDirs].reverse(), { out: merged }, quiet()), 0);
  assertSameFolder(whole, merged);
});

test('merge refuses a shard left out, naming the shard and its runs', async () => {
  const { dir, shardDirs } = await setup();
  const message = await refusal(shardDirs.slice(0, 2), join(dir, 'out-missing'));
  assert.match(message, /^shard 2\/3: expected its folder among those given, found none \(it holds run \d+ \(mode=/);
});

test("merge refuses a shard that did not finish, naming the folder and the missing run", async () => {
  const { dir, shardDirs } = await setup();
  const cut = join(dir, 'shard-1-cut');
  cpSync(shardDirs[1]!, cut, { recursive: true });
  const record = readdirSync(join(cut, 'records')).find((f) => f.startsWith('run-'))!;
  rmSync(join(cut, 'records', record));
  const message = await refusal([shardDirs[0]!, cut, shardDirs[2]!], join(dir, 'out-cut'));
  assert.match(message, new RegExp(`^${cut} \\(shard 1/3\\): expected its \\d+ runs recorded, found \\d+; missing run \\d+ \\(mode=\\w+, services=\\d+, replication \\d\\) \\(the shard did not finish: run it again with --resume\\)$`));
});

test('merge refuses a run recorded twice and a folder given twice', async () => {
  const { dir, shardDirs } = await setup();
  const copy = join(dir, 'shard-2-copy');
  cpSync(shardDirs[2]!, copy, { recursive: true });
  const message = await refusal([...shardDirs, copy], join(dir, 'out-dup'));
  assert.match(message, new RegExp(`^${shardDirs[2]} and ${copy}: expected each run in one folder, found \\d+ runs in each of them: run \\d+ \\(`));
  const twice = await refusal([...shardDirs, shardDirs[0]!], join(dir, 'out-twice'));
  assert.equal(twice, `${shardDirs[0]}: expected each folder once, found the folder given twice (also as ${shardDirs[0]})`);
});

test('merge refuses shards of another seed, another study file, other options or another code version', async () => {
  const { dir, file, shardDirs } = await setup();
  const [other] = await shards(dir, file, 3, { seed: '2' });
  assert.match(await refusal([shardDirs[0]!, other!, shardDirs[2]!], join(dir, 'o1')), new RegExp(`^${other} \\(shard 0/3\\): expected the seed of ${shardDirs[0]}, 1, found 2$`));

  const edited = join(dir, 'edited.yaml');
  writeFileSync(edited, STUDY.replace('question: Do', 'question: Will'));
  const [otherFile] = await shards(mkdtempSync(join(dir, 'e-')), edited, 3);
  assert.match(await refusal([shardDirs[0]!, otherFile!], join(dir, 'o2')), /expected the study file of .*, stand-in\.yaml \(sha256 [0-9a-f]{12}\), found edited\.yaml \(sha256 [0-9a-f]{12}\)$/);

  const [otherSet] = await shards(mkdtempSync(join(dir, 's-')), file, 3, { set: ['duration=3s'] });
  assert.match(await refusal([shardDirs[0]!, otherSet!], join(dir, 'o3')), /expected the study as run \(--set, --quick, --replications\) of /);

  const otherCode = join(dir, 'shard-1-other-code');
  cpSync(shardDirs[1]!, otherCode, { recursive: true });
  const manifest = join(otherCode, 'records', 'study.json');
  writeFileSync(manifest, readFileSync(manifest, 'utf8').replace(/"codeVersion":"([^"]+)"/, '"codeVersion":"9.9.9+src.000000000000"'));
  assert.match(await refusal([shardDirs[0]!, otherCode, shardDirs[2]!], join(dir, 'o4')), /\(shard 1\/3\): expected the code version of .*, \d+\.\d+\.\d+\+src\.[0-9a-f]{12}, found 9\.9\.9\+src\.000000000000$/);
});

test('merge refuses a folder that is not a study folder, and --out one of the shards', async () => {
  const { dir, shardDirs } = await setup();
  const empty = mkdtempSync(join(dir, 'empty-'));
  assert.match(await refusal([shardDirs[0]!, empty], join(dir, 'o5')), new RegExp(`^${empty}: expected a svcsim study folder \\(with records/study.json, written by svcsim scenario\\), found none$`));
  assert.match(await refusal(shardDirs, shardDirs[0]!), /^--out: expected a folder other than the shard folders/);
});

test('--resume refuses a folder of another shard or seed, and on a finished folder runs nothing and writes the same bytes', async () => {
  const { dir, file, shardDirs, whole } = await setup();
  const refused = async (extra: Partial<ScenarioFlags>, out: string) => {
    let message = '';
    await assert.rejects(scenario(file, out, { resume: true, ...extra }), (e: unknown) => e instanceof InputError && e.exitCode === 2 && ((message = e.message), true));
    return message;
  };
  assert.match(await refused({ shard: '1/3' }, shardDirs[0]!), /^--resume .*records\/study\.json: expected a folder left by this study \(shard 1\/3\), found shard 0\/3 \(run without --resume to start over, or give another --out\)$/);
  assert.match(await refused({ seed: '5' }, whole), /expected a folder left by this study \(seed 5\), found seed 1/);
  const again = join(dir, 'whole-again');
  cpSync(whole, again, { recursive: true });
  const err: string[] = [];
  const io2 = { out: quiet(), err: new Writable({ write: (c, _e, done) => (err.push(String(c)), done()) }), modelUrl: MODEL };
  assert.equal(await runScenarioCommand([file], { set: [], jobs: '2', out: again, resume: true }, io2), 0);
  assert.match(err.join(''), /on 0 workers; 12 already recorded \(--resume\)/);
  assertSameFolder(whole, again);
});
