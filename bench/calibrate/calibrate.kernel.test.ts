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
import { DEFAULT_COSTS } from '../../sim/net/cost-model.ts';
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
