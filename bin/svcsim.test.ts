import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, rmSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

// The launcher must find tsx and the CLI from its own location, whatever the cwd: `npx svcsim` and a
// global `npm link` run it from anywhere.
const bin = join(dirname(fileURLToPath(import.meta.url)), 'svcsim.js');
// A directory with no node_modules anywhere above it.
const outside = realpathSync(tmpdir());

function run(file: string, args: string[], cwd: string) {
  // NODE_PATH could paper over a cwd-relative lookup; the launcher must not need it.
  const env = { ...process.env };
  delete env.NODE_PATH;
  return spawnSync(process.execPath, [file, ...args], { cwd, encoding: 'utf8', env });
}

test('bin/svcsim.js runs the CLI from a cwd outside the repository', () => {
  const res = run(bin, ['schema'], outside);
  assert.equal(res.status, 0, res.stderr);
  assert.equal(JSON.parse(res.stdout).title, 'svcsim scenario');
});

test('bin/svcsim.js passes the CLI exit status through (unknown command: 2)', () => {
  const res = run(bin, ['no-such-command'], outside);
  assert.equal(res.status, 2);
  assert.match(res.stderr, /unknown command 'no-such-command'/);
});

test('bin/svcsim.js works through a symlink, as a global npm link installs it', () => {
  const dir = mkdtempSync(join(outside, 'svcsim-link-'));
  try {
    const link = join(dir, 'svcsim');
    symlinkSync(bin, link);
    const res = run(link, ['schema'], dir);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(JSON.parse(res.stdout).title, 'svcsim scenario');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('svcsim --version and -V print the package.json version and exit 0', () => {
  const pkg = JSON.parse(readFileSync(join(dirname(bin), '..', 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const res = run(bin, [flag], outside);
    assert.equal(res.status, 0, res.stderr);
    assert.equal(res.stdout, `${pkg.version}\n`);
    assert.equal(res.stderr, '');
  }
});
