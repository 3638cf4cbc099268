import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KERNEL_MEMORY_FIGURES as F, legacyNatBytes } from '../sim/proxy/cost/kernel-memory.ts';
import { fitKernelMemory, GENERATOR_NAT_BLOB, modelBytes, pointCounts } from './kernel-memory-fit.ts';
import type { KernelMemoryFile } from './kernel-memory.ts';

const here = dirname(fileURLToPath(import.meta.url));
const file = JSON.parse(readFileSync(join(here, 'measured', 'kernel-memory.json'), 'utf8')) as KernelMemoryFile;
const fit = fitKernelMemory(file);

test('the kernel-memory model\'s figures are the fit of the committed measurement', () => {
  assert.deepEqual({ nat: F.FIXED_BLOBS.nat, filter: F.FIXED_BLOBS.filter - F.NFACCT_RULE, mangle: F.FIXED_BLOBS.mangle }, fit.legacy.fixedBlobs);
  // legacy charges nothing measurable beyond its kvmalloc'd blobs, so the model has no term for it
  assert.ok(fit.legacy.worstBeyondBlobsBytes <= 16 * 1024, `legacy: up to ${fit.legacy.worstBeyondBlobsBytes} bytes beyond the blobs`);
  assert.deepEqual(F.NFT_BACKEND, {
    fixed: fit.nft.fixedBytes,
    perPort: Math.round(fit.nft.perPortBytes),
    perEndpoint: Math.round(fit.nft.perEndpointBytes),
    perEndpointComment: Math.round(fit.nft.perEndpointCommentBytes),
  });
  assert.deepEqual(F.NFTABLES, { fixed: fit.nftables.fixedBytes, perPort: Math.round(fit.nftables.perPortBytes), perEndpoint: Math.round(fit.nftables.perEndpointBytes) });
});

test('legacy: the nat table\'s blob is exactly what the entries\' sizes add up to, at every measured size', () => {
  const legacy = file.points.filter((p) => p.backend === 'legacy' && p.services > 0);
  assert.ok(legacy.length >= 6);
  for (const p of legacy) {
    const c = pointCounts(p);
    assert.equal(GENERATOR_NAT_BLOB + legacyNatBytes(c), p.tables!.nat!.blobBytes, `${p.services}x${p.endpointsPerService}`);
  }
});

test('the model is within 10% of every measured point, each backend', () => {
  for (const p of file.points) {
    const err = (modelBytes(p) - p.bytes) / p.bytes;
    assert.ok(Math.abs(err) <= 0.1, `${p.backend} ${p.services}x${p.endpointsPerService}: model ${Math.round(modelBytes(p))}, measured ${p.bytes} (${(err * 100).toFixed(1)}%)`);
  }
  assert.ok(fit.nft.r2 > 0.99 && fit.nftables.r2 > 0.98, `R^2 nft ${fit.nft.r2}, nftables ${fit.nftables.r2}`);
});

test('kernel-memory --from: a file that is not a measurement, or an unknown option, is one message and exit 2', async () => {
  const { main } = await import('./kernel-memory.ts');
  const dir = mkdtempSync(join(tmpdir(), 'kmem-'));
  let err = '';
  const write = process.stderr.write;
  process.stderr.write = ((s: string | Uint8Array) => ((err += String(s)), true)) as typeof process.stderr.write;
  try {
    writeFileSync(join(dir, 'bad.json'), '{"points": []}');
    assert.equal(await main(['--from', join(dir, 'bad.json')]), 2);
    assert.match(err, /bad\.json: kernel-memory: no fixed point \(services 0\) for legacy/);
    err = '';
    writeFileSync(join(dir, 'broken.json'), '{');
    assert.equal(await main(['--from', join(dir, 'broken.json')]), 2);
    assert.match(err, /broken\.json: .*JSON/);
    err = '';
    assert.equal(await main(['--frm', 'x']), 2);
    assert.match(err, /Unknown option '--frm'[\s\S]*usage: sudo npx tsx calibrate\/kernel-memory\.ts/);
  } finally {
    process.stderr.write = write;
    rmSync(dir, { recursive: true });
  }
});
