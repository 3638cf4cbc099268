import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeVersion, sourceDigest, sourceFiles, sourceRoot } from './code-version.ts';

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'svcsim-version-'));
  for (const d of ['sim/run', 'sim/run/testing', 'reports']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{"version":"1.2.3"}');
  writeFileSync(join(root, 'sim/run/model.ts'), 'export const a = 1;\n');
  writeFileSync(join(root, 'sim/run/model.test.ts'), 'test\n');
  writeFileSync(join(root, 'sim/run/testing/helper.ts'), 'helper\n');
  writeFileSync(join(root, 'reports/write.ts'), 'w\n');
  writeFileSync(join(root, 'sim/run/notes.md'), 'n\n');
  return root;
}

test('the code version covers the sources and package files, not tests, test helpers or docs', () => {
  const root = tree();
  assert.deepEqual(sourceFiles(root), ['package.json', 'reports/write.ts', 'sim/run/model.ts']);
  const before = sourceDigest(root);
  for (const f of ['sim/run/model.test.ts', 'sim/run/testing/helper.ts', 'sim/run/notes.md']) writeFileSync(join(root, f), 'changed\n');
  assert.equal(sourceDigest(root), before);
  writeFileSync(join(root, 'sim/run/model.ts'), 'export const a = 2;\n');
  assert.notEqual(sourceDigest(root), before);
  assert.equal(sourceRoot(join(root, 'sim/run/model.ts')), root);
});

test("this checkout's code version is the package version and a source digest", () => {
  assert.match(codeVersion(), /^\d+\.\d+\.\d+(-[\w.]+)?\+src\.[0-9a-f]{12}$/);
});
