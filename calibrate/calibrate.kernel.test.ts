/**
 * The calibration against this host's real kernel, in its smallest form (SMOKE_PLAN, seconds):
 * every probe runs in namespaces it creates, the fits come out as CostModel fields, the files are
 * written, and no namespace is left behind, also after SIGTERM. Skips, saying what is missing,
 * where the host cannot run it (not root, no netns, no iptables/nft/conntrack).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_COSTS } from '../sim/cost/cost-model.ts';
import { buildCalibrationFile, measure, writeCalibration } from './calibrate.ts';
import { missingPrerequisites } from './preflight.ts';
import { SMOKE_PLAN } from './plan.ts';

const missing = missingPrerequisites();
const skip = missing.length ? `needs the real kernel: missing ${missing.join('; ')}` : false;
if (skip) process.stdout.write(`# calibrate.kernel.test: skipped: ${skip}\n`);

const ours = (prefix: string) =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));

test('smoke calibration: every probe runs, fits name CostModel fields, files written, namespaces removed', { skip, timeout: 240_000 }, async () => {
  const { points, host } = await measure(SMOKE_PLAN, () => {});
  assert.equal(points.restore.length, 4);
  assert.equal(points.walk.length, 4);
  assert.equal(points.vmap.length, 2);
  for (const r of points.restore) assert.ok(r.ns > 0 && r.lines > 0);
  // a bigger table takes longer to restore on either backend
  for (const b of ['legacy', 'nft'] as const) {
    const [small, big] = points.restore.filter((r) => r.backend === b);
    assert.ok(big!.ns > small!.ns, `${b}: ${big!.ns} <= ${small!.ns}`);
  }
  // kube-proxy's own nftables transactions loaded: a bigger table's full sync and partial syncs take longer
  for (const v of points.vmap) assert.ok(v.kpLoadNs! > 0 && v.kpPartialNs! > 0 && v.kpLines! > 0 && v.kpObjects! > 0, JSON.stringify(v));
  assert.ok(points.vmap[1]!.kpLoadNs! > points.vmap[0]!.kpLoadNs!);
  // the conntrack bursts ran against the balanced namespace
  assert.equal(points.conntrack?.filterBalanced, true);
  assert.deepEqual(ours(`svcsim-cal-${process.pid}-`), []);
  const file = buildCalibrationFile(points, host, SMOKE_PLAN, '2026-01-01T00:00:00.000Z', 'test');
  for (const k of Object.keys(file.costs)) assert.ok(k in DEFAULT_COSTS, k);
  assert.ok(file.costs.restoreNsPerLine?.legacy! > 0);
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-cal-'));
  try {
    const out = await writeCalibration(file, join(dir, 'cal.json'));
    assert.equal(JSON.parse(readFileSync(out.json, 'utf8')).kind, 'svcsim-calibration');
    assert.match(readFileSync(out.report, 'utf8'), /## Simulated vs measured/);
    for (const c of out.charts) assert.ok(existsSync(c));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM in the middle of a probe removes the namespaces it made', { skip, timeout: 60_000 }, async () => {
  const script = fileURLToPath(new URL('./testing/hold-namespace.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const name = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (c) => reject(new Error(`helper exited ${c} before creating its namespace`)));
  });
  assert.ok(ours(name).length === 1, `${name} was not created`);
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 143);
  assert.deepEqual(ours(name), []);
});

/**
 * `svcsim calibrate --quick` as a user runs it, interrupted: once while its first namespaces are
 * being made and measured (restore), once in the middle of the walk probe (a server process and
 * three namespaces live). Each time the command must end promptly with 130 (SIGINT) or 143
 * (SIGTERM), leaving no `svcsim-cal-<pid>-*` namespace and no process of its own behind.
 */
async function interruptCalibrate(signal: 'SIGINT' | 'SIGTERM', when: RegExp): Promise<{ code: number | null; pid: number; afterSignalMs: number; stderr: string }> {
  const cli = fileURLToPath(new URL('../sim/cli.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-cal-int-'));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'calibrate', '--quick', '--out', join(dir, 'cal.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`calibrate never printed ${when}: ${stderr}`)), 180_000);
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (when.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (c) => {
        clearTimeout(timer);
        reject(new Error(`calibrate exited ${c} before ${when}: ${stderr}`));
      });
    });
    assert.ok(ours(`svcsim-cal-${child.pid}-`).length > 0, 'the calibration had namespaces when it was interrupted');
    const t0 = Date.now();
    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill(signal);
    });
    assert.equal(existsSync(join(dir, 'cal.json')), false, 'an interrupted calibration writes no file');
    return { code, pid: child.pid!, afterSignalMs: Date.now() - t0, stderr };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SIGTERM during the restore probe: exit 143, nothing left behind', { skip, timeout: 240_000 }, async () => {
  const r = await interruptCalibrate('SIGTERM', /calibrate: restore legacy services=\d+/);
  assert.equal(r.code, 143, r.stderr);
  assert.deepEqual(ours(`svcsim-cal-${r.pid}-`), []);
  assert.match(r.stderr, /SIGTERM: removed the namespaces and processes it had made/);
});

test('SIGINT during the walk probe (server running): exit 130 within seconds, nothing left behind', { skip, timeout: 300_000 }, async () => {
  const r = await interruptCalibrate('SIGINT', /calibrate: walk legacy position=\d+/);
  assert.equal(r.code, 130, r.stderr);
  assert.ok(r.afterSignalMs < 10_000, `took ${r.afterSignalMs} ms to stop`);
  assert.deepEqual(ours(`svcsim-cal-${r.pid}-`), []);
  const agent = fileURLToPath(new URL('./agent.mjs', import.meta.url));
  const left = spawnSync('pgrep', ['-f', `${agent} serve`], { encoding: 'utf8' }).stdout.trim();
  assert.equal(left, '', `calibration server processes left: ${left}`);
});
