import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { jobManifestsText, type JobFlags } from './job.ts';

/**
 * The end-to-end checks with the real model and the real command line:
 * - the args of the Indexed Job's pod, as `svcsim job` prints them, run here with JOB_COMPLETION_INDEX
 *   set and `$(VAR)` expanded as the kubelet expands it, for 3 shards one after the other and all at
 *   once; the merge Job's args join them; the folder equals an unsharded run byte for byte;
 * - a study killed with SIGKILL after its first run record appeared, run again with --resume, gives
 *   the bytes of an uninterrupted run.
 */
const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const STUDY = `name: sharded
question: Do the pods of the Job give the bytes of one run?
seed: 7
replications: 2
duration: 2s
warmup: 500ms
cluster:
  nodes: 2
  services: { count: "\${services}", endpointsPerService: 3 }
proxy: { mode: "\${mode}" }
traffic: { connectionsPerSecond: 50 }
sweep:
  mode: [iptables, nftables]
  services: [10, 30]
charts:
  - { title: First-packet latency p99, x: services, y: firstPacketLatency.p99, color: mode, xScale: log }
expect:
  - failedConnections.rate <= 1%
`;

const JOB_FLAGS: JobFlags = { shards: '3', image: 'svcsim:test', retries: '3', jobs: '1', storage: 'pvc', storageSize: '1Gi', set: [] };

function svcsimArgs(args: string[]): string[] {
  return ['--import', 'tsx', CLI, ...args];
}

/** The container's args as the pod runs them: `$(VAR)` expanded from its environment (kubelet's rule). */
function expand(args: readonly string[], env: Record<string, string>): string[] {
  return args.map((a) => a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env[name] ?? whole));
}

/** The pod's paths mapped onto a local folder: /study and /results are the volumes' mount paths. */
function local(args: readonly string[], dir: string): string[] {
  return args.map((a) => a.replace(/^\/study\//, `${dir}/study/`).replace(/^\/results\//, `${dir}/results/`));
}

interface JobArgs {
  shard: string[];
  merge: string[];
  env: { name: string }[] | undefined;
}

function jobArgs(file: string): JobArgs {
  const docs = parseAllDocuments(jobManifestsText(file, JOB_FLAGS)).map((d) => d.toJS() as { kind: string; metadata: { labels: Record<string, string> }; spec: { completionMode?: string; template: { spec: { containers: { args: string[]; env?: { name: string }[] }[] } } } });
  const run = docs.find((d) => d.kind === 'Job' && d.spec.completionMode === 'Indexed')!;
  const merge = docs.find((d) => d.kind === 'Job' && d.metadata.labels['svcsim.io/step'] === 'merge')!;
  return { shard: run.spec.template.spec.containers[0]!.args, merge: merge.spec.template.spec.containers[0]!.args, env: run.spec.template.spec.containers[0]!.env };
}

function runPod(args: string[], dir: string, index: number): ChildProcess {
  const env = { JOB_COMPLETION_INDEX: String(index) };
  return spawn(process.execPath, svcsimArgs(local(expand(args, env), dir)), { cwd: ROOT, env: { ...process.env, ...env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }> {
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += String(c)));
  child.stdout?.resume();
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, err })));
}

function svcsim(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, svcsimArgs(args), { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CI: '1' } });
  return { status: r.status, stderr: r.stderr };
}

function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

function assertSameFolder(a: string, b: string): void {
  const files = listFiles(a);
  assert.ok(files.includes('report.html') && files.includes('runs.csv') && files.some((f) => f.startsWith('charts/')));
  assert.deepEqual(listFiles(b), files);
  for (const f of files) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), `${f} differs`);
}

const whole = (() => {
  let made: Promise<{ dir: string; file: string; out: string }> | undefined;
  return () =>
    (made ??= (async () => {
      const dir = mkdtempSync(join(tmpdir(), 'svcsim-job-'));
      mkdirSync(join(dir, 'study'));
      const file = join(dir, 'study', 'sharded.yaml');
      writeFileSync(file, STUDY);
      const out = join(dir, 'whole');
      const r = svcsim(['scenario', file, '--out', out, '--jobs', '1']);
      assert.equal(r.status, 0, r.stderr);
      return { dir, file, out };
    })());
})();

test("the Job's pods, run here one after the other and all at once, merge into the unsharded bytes", async () => {
  const { dir, file, out } = await whole();
  const args = jobArgs(file);
  // The Job leaves JOB_COMPLETION_INDEX to the Job controller: the pod template must not set it.
  assert.equal(args.env?.some((e) => e.name === 'JOB_COMPLETION_INDEX') ?? false, false);
  for (const [mode, base] of [
    ['sequential', join(dir, 'seq')],
    ['parallel', join(dir, 'par')],
  ] as const) {
    mkdirSync(join(base, 'study'), { recursive: true });
    writeFileSync(join(base, 'study', 'sharded.yaml'), STUDY);
    if (mode === 'sequential') {
      for (let i = 0; i < 3; i++) assert.equal((await exited(runPod(args.shard, base, i))).code, 0);
    } else {
      const results = await Promise.all([0, 1, 2].map((i) => exited(runPod(args.shard, base, i))));
      for (const r of results) assert.equal(r.code, 0, r.err);
    }
    for (let i = 0; i < 3; i++) assert.ok(existsSync(join(base, 'results', `shard-${i}`, 'records', 'study.json')), `${mode}: shard ${i} wrote its folder`);
    const merged = svcsim(local(args.merge, base));
    assert.equal(merged.status, 0, merged.stderr);
    assertSameFolder(out, join(base, 'results', 'merged'));
  }
});

test('merge run as the CLI exits 2 and names the missing shard', async () => {
  const { dir, file } = await whole();
  const base = join(dir, 'missing');
  mkdirSync(join(base, 'study'), { recursive: true });
  writeFileSync(join(base, 'study', 'sharded.yaml'), STUDY);
  const args = jobArgs(file);
  for (const i of [0, 2]) assert.equal((await exited(runPod(args.shard, base, i))).code, 0);
  const r = svcsim(local(args.merge, base));
  assert.equal(r.status, 2);
  assert.match(r.stderr, new RegExp(`^svcsim: ${base}/results/shard-1: expected a svcsim study folder`));
});

test('a study killed with SIGKILL after its first run record, resumed, gives the uninterrupted bytes', async () => {
  const { dir, file, out } = await whole();
  const resumed = join(dir, 'resumed');
  const child = spawn(process.execPath, svcsimArgs(['scenario', file, '--out', resumed, '--jobs', '1']), { cwd: ROOT, env: { ...process.env, CI: '1' }, stdio: 'ignore' });
  const records = join(resumed, 'records');
  const recorded = () => (existsSync(records) ? readdirSync(records).filter((f) => /^run-.*\.json$/.test(f)).length : 0);
  const killedAfter = await new Promise<number>((resolve) => {
    const poll = setInterval(() => {
      if (recorded() === 0) return;
      clearInterval(poll);
      child.kill('SIGKILL');
      child.on('close', () => resolve(recorded()));
    }, 20);
  });
  assert.ok(killedAfter >= 1 && killedAfter < 8, `killed after ${killedAfter} of 8 runs`);
  assert.equal(existsSync(join(resumed, 'runs.csv')), false);
  const r = svcsim(['scenario', file, '--out', resumed, '--jobs', '1', '--resume']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`; ${killedAfter} already recorded \\(--resume\\)`));
  assertSameFolder(out, resumed);
});
