import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DIST_DIR, MANIFEST, MANIFEST_SCHEMA, buildState, inputRecord } from './build-state.js';

// A package root with two sources and a manifest of them, as scripts/build.mjs writes it.
async function packageRoot(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'svcsim-build-state-'));
  mkdirSync(join(root, 'sim'));
  mkdirSync(join(root, DIST_DIR));
  writeFileSync(join(root, 'sim', 'a.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'sim', 'b.ts'), 'export const b = 2;\n');
  const inputs = { 'sim/a.ts': await inputRecord(root, 'sim/a.ts'), 'sim/b.ts': await inputRecord(root, 'sim/b.ts') };
  writeFileSync(join(root, DIST_DIR, MANIFEST), JSON.stringify({ schema: MANIFEST_SCHEMA, inputs }));
  return root;
}

function withRoot(name: string, fn: (root: string) => Promise<void>): void {
  test(name, async () => {
    const root = await packageRoot();
    try {
      await fn(root);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

withRoot('a build whose inputs are as recorded is fresh', async (root) => {
  assert.deepEqual(await buildState(root), { state: 'fresh' });
});

withRoot('a new mtime with the same content is still fresh (a fresh clone, touch, a checkout back and forth)', async (root) => {
  utimesSync(join(root, 'sim', 'a.ts'), new Date(2030, 0, 1), new Date(2030, 0, 1));
  assert.deepEqual(await buildState(root), { state: 'fresh' });
});

withRoot('a change of content is stale, even at the same size and with the old mtime put back', async (root) => {
  const file = join(root, 'sim', 'b.ts');
  const { mtimeMs } = await inputRecord(root, 'sim/b.ts');
  writeFileSync(file, 'export const b = 3;\n');
  utimesSync(file, new Date(mtimeMs), new Date(mtimeMs + 1));
  assert.deepEqual(await buildState(root), { state: 'stale', reason: 'sim/b.ts changed' });
});

withRoot('a change of size is stale', async (root) => {
  writeFileSync(join(root, 'sim', 'a.ts'), 'export const a = 10;\n');
  assert.deepEqual(await buildState(root), { state: 'stale', reason: 'sim/a.ts changed' });
});

withRoot('a deleted input is stale', async (root) => {
  rmSync(join(root, 'sim', 'a.ts'));
  assert.deepEqual(await buildState(root), { state: 'stale', reason: 'sim/a.ts is gone' });
});

withRoot('no manifest is a missing build; a manifest of another schema is stale', async (root) => {
  writeFileSync(join(root, DIST_DIR, MANIFEST), JSON.stringify({ schema: MANIFEST_SCHEMA + 1, inputs: {} }));
  assert.equal((await buildState(root)).state, 'stale');
  rmSync(join(root, DIST_DIR), { recursive: true });
  assert.deepEqual(await buildState(root), { state: 'missing' });
});
