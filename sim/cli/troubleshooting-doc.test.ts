import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runMain } from './testing/run-main.ts';

// docs/troubleshooting.md runs as documented: every `npx svcsim ...` command of a ```sh block that a
// ```text block follows is run (from the repository's root, as the page says) and must exit with the
// status its `# exit status N` comment names (else 0), and its output must have every line of the
// ```text block, in that order.

const DOC = 'docs/troubleshooting.md';

interface Documented {
  line: string;
  args: string[];
  exit: number;
  shown: string[];
}

/** The fenced blocks in order, each with its language and the blank-line-separated position. */
function fences(md: string): { lang: string; body: string[]; end: number }[] {
  const lines = md.split('\n');
  const out: { lang: string; body: string[]; end: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)$/.exec(lines[i]!);
    if (!open) continue;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && lines[j] !== '```') body.push(lines[j++]!);
    out.push({ lang: open[1]!, body, end: j });
    i = j;
  }
  return out;
}

function documented(md: string): Documented[] {
  const out: Documented[] = [];
  const fs = fences(md);
  fs.forEach((f, k) => {
    const next = fs[k + 1];
    // A command block directly followed (one blank line) by the text it prints.
    if (f.lang !== 'sh' || next?.lang !== 'text' || md.split('\n').slice(f.end + 1, f.end + 3).join('\n') !== '\n```text') return;
    assert.equal(f.body.length, 1, `one command per block: ${f.body.join(' ')}`);
    const m = /^npx svcsim (.*?)(?: {3}# exit status (\d+))?$/.exec(f.body[0]!);
    assert.ok(m, f.body[0]);
    out.push({ line: f.body[0]!, args: m[1]!.split(/\s+/), exit: Number(m[2] ?? 0), shown: next.body });
  });
  return out;
}


test('every example of docs/troubleshooting.md runs and prints the lines shown', async () => {
  const examples = documented(readFileSync(DOC, 'utf8'));
  assert.ok(examples.length >= 13, `${examples.length} examples found`);
  const whys = examples.filter((e) => e.args[0] === 'why');
  assert.ok(whys.some((e) => e.exit === 0) && whys.some((e) => e.exit === 1), 'both verdicts are shown');
  for (const e of examples) {
    const r = await runMain(e.args);
    assert.equal(r.code, e.exit, `${e.line}\n${r.err}`);
    const got = r.out.split('\n');
    let at = 0;
    for (const want of e.shown) {
      const k = got.indexOf(want, at);
      assert.ok(k >= 0, `${e.line}\nmissing or out of order: ${want}\n--- output:\n${r.out}`);
      at = k + 1;
    }
  }
});

test('the page names a command for each cause of issue 19', () => {
  const md = readFileSync(DOC, 'utf8');
  for (const f of ['healthy', 'selector-mismatch', 'crashloop', 'pending', 'image-pull', 'readiness', 'terminating', 'target-port', 'coredns-down', 'local-policy', 'source-ranges']) {
    assert.match(md, new RegExp(`npx svcsim why --cluster [^\\n]*examples/why/${f}\\.yaml`), f);
  }
  assert.match(md, /--from node\/node-a/);
  for (const mode of ['nftables', 'ipvs']) assert.match(md, new RegExp(`--mode ${mode}`));
});
