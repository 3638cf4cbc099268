import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
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

// As a fresh clone has it: the tracked files only (no dist/), the dependencies installed (here the
// worktree's node_modules, linked), then `npm run prepare`, the script `npm ci` runs by itself.
const repo = join(dirname(bin), '..');
const trace = ['trace', '--rules', 'test/golden/netfilter/kube-proxy-legacy.iptables-save', '--packet', 'tcp 10.244.2.8:40000 > 10.96.112.40:80', '--node-ip', '172.18.0.3'];

function cloneOfTrackedFiles(): string {
  const dir = mkdtempSync(join(outside, 'svcsim-clone-'));
  const files = spawnSync('git', ['ls-files', '-z'], { cwd: repo, encoding: 'utf8' });
  assert.equal(files.status, 0, files.stderr);
  for (const f of files.stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(repo, f))) continue; // deleted in the worktree, not yet committed
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    copyFileSync(join(repo, f), join(dir, f));
  }
  symlinkSync(realpathSync(join(repo, 'node_modules')), join(dir, 'node_modules'));
  return dir;
}

// Fails the process the moment it starts another one: the command must run in one process.
function noChildProcessPreload(dir: string): string {
  const file = join(dir, 'no-child-process.mjs');
  writeFileSync(
    file,
    `import cp from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
for (const name of ['spawn', 'spawnSync', 'fork', 'exec', 'execSync', 'execFile', 'execFileSync']) {
  cp[name] = () => { process.stderr.write('started a child process: ' + name + '\\n'); process.exit(99); };
}
syncBuiltinESMExports();
`,
  );
  return file;
}

test('a fresh clone built by `npm run prepare` runs the compiled command in one process, with the sources\' output', async () => {
  const dir = cloneOfTrackedFiles();
  try {
    const prepare = spawnSync('npm', ['run', '--silent', 'prepare'], { cwd: dir, encoding: 'utf8' });
    assert.equal(prepare.status, 0, prepare.stderr);
    const { buildState } = await import('./build-state.js');
    assert.deepEqual(await buildState(dir), { state: 'fresh' });
    const preload = noChildProcessPreload(dir);
    const fromSources = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...trace], { cwd: repo, encoding: 'utf8' });
    for (const args of [trace, ['--help'], ['trace', '--help'], ['schema'], ['no-such-command']]) {
      const expected = args === trace ? fromSources : spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { cwd: repo, encoding: 'utf8' });
      const r = spawnSync(process.execPath, ['--import', preload, join(dir, 'bin', 'svcsim.js'), ...args], { cwd: repo, encoding: 'utf8' });
      assert.equal(r.stderr, expected.stderr, args.join(' '));
      assert.equal(r.status, expected.status, args.join(' '));
      assert.equal(r.stdout, expected.stdout, args.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a stale build never runs: the command says so and runs the sources; with no build it runs them silently', () => {
  const dir = cloneOfTrackedFiles();
  try {
    assert.equal(spawnSync('npm', ['run', '--silent', 'prepare'], { cwd: dir, encoding: 'utf8' }).status, 0);
    // A change the stale build does not have: schema prints one more key.
    const schemaTs = join(dir, 'sim', 'cli', 'schema.ts');
    const text = readFileSync(schemaTs, 'utf8');
    writeFileSync(schemaTs, text.replace(/export function scenarioSchemaText\(\): string \{/, '$&\n  if (process.env.SVCSIM_TEST_STALE) return "{\\"stale\\": false}\\n";'));
    const env = { ...process.env, SVCSIM_TEST_STALE: '1' };
    let r = spawnSync(process.execPath, [join(dir, 'bin', 'svcsim.js'), 'schema'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(r.stdout, '{"stale": false}\n');
    assert.equal(r.stderr, 'svcsim: dist/ is out of date (sim/cli/schema.ts changed); running the TypeScript sources instead, which starts slower. Rebuild with: npm run build\n');
    assert.equal(r.status, 0);
    rmSync(join(dir, 'dist'), { recursive: true });
    r = spawnSync(process.execPath, [join(dir, 'bin', 'svcsim.js'), 'schema'], { cwd: dir, encoding: 'utf8', env });
    assert.equal(r.stdout, '{"stale": false}\n');
    assert.equal(r.stderr, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
