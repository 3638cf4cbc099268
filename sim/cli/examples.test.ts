import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildProgram } from '../cli.ts';
import { EXAMPLES_HEADING } from './examples.ts';

/**
 * Every subcommand's --help ends with one or two examples, and each example it shows runs: through
 * the CLI, from the repository's root, with `out/` moved to a temporary folder (the examples write
 * there, and a test must not fill the worktree's out/). A command line is expected to exit with the
 * status its `# exit status N` comment names, else 0; an example marked "(needs root)" (calibrate
 * measuring the real kernel) is shown but not run. The descriptions speak in one voice: sentence
 * case, no trailing period.
 */

const out = mkdtempSync(join(tmpdir(), 'svcsim-examples-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));

function svcsim(args: string[], timeoutMs = 180_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** Shell words as the examples write them: spaces separate, single quotes group. */
function words(line: string): string[] {
  const result: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|(\S+)/g)) result.push(m[1] ?? m[2]!);
  return result;
}

interface Shown {
  line: string;
  exit: number;
  needsRoot: boolean;
}

function examplesIn(help: string): Shown[][] {
  const at = help.indexOf(`\n${EXAMPLES_HEADING}\n`);
  assert.ok(at >= 0, 'no Examples: section');
  const groups: Shown[][] = [];
  let needsRoot = false;
  for (const line of help.slice(at).split('\n').slice(2)) {
    if (line.startsWith('  # ')) {
      needsRoot = line.endsWith('(needs root)');
      groups.push([]);
      continue;
    }
    const m = /^ {2}\$ (svcsim .*?)(?: {3}# exit status (\d+))?$/.exec(line);
    if (m) groups.at(-1)!.push({ line: m[1]!, exit: Number(m[2] ?? 0), needsRoot });
  }
  return groups;
}

const commands = buildProgram().commands.filter((c) => c.name() !== 'help');

test('every command description is in one voice: sentence case, no trailing period', () => {
  for (const c of [buildProgram(), ...commands, ...buildProgram().commands]) {
    const d = c.description();
    assert.match(d, /^[A-Z]/, `${c.name()}: ${d}`);
    assert.doesNotMatch(d, /\.$/, `${c.name()}: ${d}`);
  }
});

for (const c of commands) {
  test(`svcsim ${c.name()} --help shows one or two examples, and each runs`, { timeout: 600_000 }, async () => {
    const help = await svcsim([c.name(), '--help']);
    assert.equal(help.status, 0, help.stderr);
    // The examples come after the options.
    assert.ok(help.stdout.indexOf('Options:') < help.stdout.indexOf(EXAMPLES_HEADING), help.stdout);
    const groups = examplesIn(help.stdout);
    assert.ok(groups.length >= 1 && groups.length <= 2, `${groups.length} examples`);
    for (const group of groups) {
      assert.ok(group.some((shown) => words(shown.line)[1] === c.name()), `an example of ${c.name()} that does not run it`);
      for (const shown of group) {
        const args = words(shown.line).slice(1).map((w) => w.replace(/^out\//, `${out}/`));
        if (shown.needsRoot) continue;
        const r = await svcsim(args);
        assert.equal(r.status, shown.exit, `${shown.line}\n${r.stderr}`);
      }
    }
  });
}
