/**
 * The kernel-memory measurement against this host's real kernel, in its quick form (seconds): the
 * legacy tables' blobs come out exactly as the model adds up the entries, every load is charged,
 * and no namespace or cgroup is left behind. Skips, saying what is missing, where the host cannot
 * run it (not root, no netns or iptables/nft, no kernel memory accounting).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KERNEL_MEMORY_FIGURES as F, legacyNatBytes } from '../sim/proxy/cost/kernel-memory.ts';
import { GENERATOR_NAT_BLOB, modelBytes, pointCounts } from './kernel-memory-fit.ts';
import { CGROUP_PREFIX, main, missingKmem, type KernelMemoryFile } from './kernel-memory.ts';
import { NAMESPACE_PREFIX } from './namespaces.ts';
import { captureText } from '../sim/io/testing/capture-text.ts';
import { missingPrerequisites } from './preflight.ts';

const missing = [...missingPrerequisites(), ...[missingKmem()].filter((m) => m !== undefined)];
const skip = missing.length ? `needs the real kernel: missing ${missing.join('; ')}` : false;
if (skip) process.stdout.write(`# kernel-memory.kernel.test: skipped: ${skip}\n`);

test('quick kernel-memory measurement: exact legacy blobs, every load charged, nothing left behind', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kmem-'));
  try {
    const out = join(dir, 'km.json');
    const { value: code } = await captureText(() => main(['--quick', '--out', out]));
    assert.equal(code, 0);
    const file = JSON.parse(readFileSync(out, 'utf8')) as KernelMemoryFile;
    assert.equal(file.points.length, 3 * 5);
    const fixed = file.points.find((p) => p.backend === 'legacy' && p.services === 0)!;
    assert.deepEqual(
      Object.fromEntries(Object.entries(fixed.tables!).map(([n, t]) => [n, t.blobBytes])),
      { nat: F.FIXED_BLOBS.nat, filter: F.FIXED_BLOBS.filter - F.NFACCT_RULE, mangle: F.FIXED_BLOBS.mangle },
    );
    for (const p of file.points.filter((q) => q.backend === 'legacy' && q.services > 0)) {
      const c = pointCounts(p);
      assert.equal(p.tables!.nat!.blobBytes, GENERATOR_NAT_BLOB + legacyNatBytes(c), `${p.services}x${p.endpointsPerService}`);
    }
    // One sample a point, beside the rest of the test suite: held to looser bounds than the committed
    // measurement's 10%. The fixed tables (20-45 KB) are judged in bytes: a concurrent namespace's
    // frees or a slab page move them by tens of percent.
    for (const p of file.points) {
      assert.ok(p.bytes > 0, `${p.backend} ${p.services}x${p.endpointsPerService}: nothing charged`);
      const off = modelBytes(p) - p.bytes;
      if (p.services === 0) assert.ok(Math.abs(off) < 64 * 1024, `${p.backend} fixed tables: model off by ${off} bytes`);
      else assert.ok(Math.abs(off / p.bytes) < 0.25, `${p.backend} ${p.services}x${p.endpointsPerService}: model off by ${((off / p.bytes) * 100).toFixed(0)}%`);
    }
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    assert.ok(!netns.includes(NAMESPACE_PREFIX), netns);
    for (const root of ['/sys/fs/cgroup/memory', '/sys/fs/cgroup']) {
      if (existsSync(root)) assert.deepEqual(readdirSync(root).filter((n) => n.startsWith(CGROUP_PREFIX)), []);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
