/**
 * The ebpf probe against this host's real kernel, in its smallest form (SMOKE_EBPF): the programs
 * are built, loaded, attached and timed, and everything is removed afterwards (the namespaces, the
 * cgroup, the bpffs mount and its pins, the scratch directory; kernel.bpf_stats_enabled restored),
 * also after SIGTERM. Skips, saying what is missing, without root, the tools or BPF.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NamespaceRegistry } from '../namespaces.ts';
import { missingPrerequisites } from '../preflight.ts';
import { fitEbpf } from './fit.ts';
import { SMOKE_EBPF } from './plan.ts';
import { ebpfMissing } from './preflight.ts';
import { measureEbpf } from './probe.ts';
import { leftovers } from './session.ts';

const missing = [...missingPrerequisites(), ...ebpfMissing()];
const skip = missing.length ? `needs the real kernel with BPF: missing ${missing.join('; ')}` : false;
if (skip) process.stdout.write(`# ebpf.kernel.test: skipped: ${skip}\n`);

const namespaces = (prefix: string) =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(prefix));
const mounted = (path: string) => readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path);
const stats = () => readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim();

test('the ebpf probe loads its programs, measures each map size and both packet kinds, and removes everything', { skip, timeout: 300_000 }, async () => {
  const before = stats();
  const reg = new NamespaceRegistry();
  try {
    const p = await measureEbpf(reg, { ...SMOKE_EBPF, endpointsPerService: 4 }, () => {});
    assert.deepEqual(p.connect.map((c) => c.services), SMOKE_EBPF.services);
    for (const c of p.connect) {
      // the program ran on every measured connect and translated it (the connects reached the server)
      assert.ok(c.programNs > 0, JSON.stringify(c));
      assert.ok(c.withNs > 0 && c.withoutNs > 0);
    }
    const pk = p.packet!;
    assert.equal(pk.sameFlowNs.length, SMOKE_EBPF.rounds);
    // a miss that inserts costs the program more than a hit
    assert.ok(pk.programNewFlowNs[0]! > pk.programSameFlowNs[0]!, JSON.stringify(pk));
    assert.ok(fitEbpf(p).figures.lookupNs! > 0);
  } finally {
    reg.close();
  }
  assert.deepEqual(namespaces(`svcsim-cal-${process.pid}-`), []);
  assert.deepEqual(leftovers(), []);
  assert.equal(stats(), before);
});

test('SIGTERM while a program is attached removes the cgroup, the bpffs mount, the namespace, and restores the statistics switch', { skip, timeout: 90_000 }, async () => {
  const before = stats();
  const script = fileURLToPath(new URL('../testing/hold-ebpf.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const held = await new Promise<{ pid: number; ns: string; cgroup: string; bpffs: string; scratch: string }>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => resolve(JSON.parse(d.toString())));
    child.once('exit', (c) => reject(new Error(`helper exited ${c} before attaching its program`)));
  });
  assert.ok(existsSync(held.cgroup) && mounted(held.bpffs) && namespaces(held.ns).length === 1);
  assert.match(spawnSync('bpftool', ['cgroup', 'show', held.cgroup], { encoding: 'utf8' }).stdout, /connect4/);
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.kill('SIGTERM');
  });
  assert.equal(code, 143);
  assert.equal(existsSync(held.cgroup), false);
  assert.equal(mounted(held.bpffs), false);
  assert.equal(existsSync(held.scratch), false);
  assert.deepEqual(namespaces(held.ns), []);
  assert.equal(stats(), before);
});
