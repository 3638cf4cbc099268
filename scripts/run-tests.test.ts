import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// The guard behind `npm test`: a tiny project of fixture files is laid out in a temporary directory
// and scripts/run-tests.mjs is run there, as `npm test` runs it at the repository root.
const script = join(dirname(fileURLToPath(import.meta.url)), 'run-tests.mjs');

function runIn(files: Record<string, string>) {
  const dir = mkdtempSync(join(realpathSync(tmpdir()), 'svcsim-guard-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    // NODE_TEST_CONTEXT, set for this test file, would make the inner runner skip its files.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const res = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8', env });
    return { status: res.status, out: res.stdout + res.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const passing = `import { test } from 'node:test';\ntest('one', () => {});\n`;

test('passes when a test ran and passed', () => {
  const r = runIn({ 'sim/a.test.ts': passing });
  assert.equal(r.status, 0, r.out);
});

test('fails when a test fails', () => {
  const r = runIn({
    'sim/a.test.ts': passing,
    'sim/b.test.ts': `import { test } from 'node:test';\nimport assert from 'node:assert';\ntest('bad', () => assert.equal(1, 2));\n`,
  });
  assert.equal(r.status, 1, r.out);
});

test('fails when there is no test file', () => {
  const r = runIn({ 'sim/a.ts': 'export const x = 1;\n' });
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /no \*\.test\.ts files found/);
});

test('fails when every test file is empty', () => {
  const r = runIn({ 'sim/a.test.ts': '', 'bench/b.test.ts': '// nothing yet\n' });
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /no test ran in 2 file\(s\)/);
});

test('fails when every describe block is skipped', () => {
  const r = runIn({
    'sim/a.test.ts': `import { describe, it } from 'node:test';\ndescribe.skip('later', () => { it('x', () => {}); });\ndescribe('also', { skip: true }, () => { it('y', () => {}); });\n`,
  });
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /no test ran in 1 file\(s\)/);
});

test('fails when every test is skipped or todo', () => {
  const r = runIn({
    'sim/a.test.ts': `import { test } from 'node:test';\ntest.skip('x', () => {});\ntest.todo('y');\n`,
  });
  assert.equal(r.status, 1, r.out);
  assert.match(r.out, /2 skipped or todo/);
});

test('a skipped test beside one that ran is fine', () => {
  const r = runIn({
    'sim/a.test.ts': `import { describe, it } from 'node:test';\ndescribe('s', () => { it('ran', () => {}); it.skip('later', () => {}); });\n`,
  });
  assert.equal(r.status, 0, r.out);
});

test('fails when a test file does not load', () => {
  const r = runIn({ 'sim/a.test.ts': passing, 'sim/b.test.ts': `import { nothing } from './missing.ts';\nnothing();\n` });
  assert.equal(r.status, 1, r.out);
});
