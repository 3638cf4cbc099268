import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { main } from '../cli.ts';

/**
 * Random bytes given to every command that reads a file: the message is exit status 2, nothing on
 * stdout, and stderr printable. The rule checked: stderr is valid UTF-8 and ends with a newline; its
 * first line starts `svcsim: `; no line holds a control character (C0, DEL, C1), U+FFFD (a byte
 * that was not UTF-8, echoed raw) or a lone surrogate, and no line is longer than 400 characters
 * (an excerpt is at most ~60). It is one line, except from the readers that report every
 * independent mistake together (scenario files and Kubernetes manifests: render, endpoints,
 * scenario), which print one line per problem.
 */

const dir = mkdtempSync(join(tmpdir(), 'svcsim-bad-input-'));
const bad = join(dir, 'input.bin');
const validSummary = join(dir, 'summary.json');
writeFileSync(validSummary, JSON.stringify({ format: 'svcsim-summary/1' }));
const calibratingScenario = join(dir, 'calibrated.yaml');
writeFileSync(calibratingScenario, `name: calibrated\nduration: 1s\ncosts: { calibration: ${bad} }\n`);
const packet = 'tcp 10.244.1.5:40000 > 10.96.0.10:80';

interface Reader {
  name: string;
  args: string[];
  multiLine?: boolean;
}

const readers: Reader[] = [
  { name: 'trace --rules', args: ['trace', '--rules', bad, '--packet', packet] },
  { name: 'trace --ipset', args: ['trace', '--rules', 'test/golden/netfilter/kube-proxy-legacy.iptables-save', '--ipset', bad, '--packet', packet] },
  { name: 'render --cluster', args: ['render', '--mode', 'iptables', '--cluster', bad, '--node', 'node-a'], multiLine: true },
  { name: 'endpoints --cluster', args: ['endpoints', '--cluster', bad], multiLine: true },
  { name: 'scenario', args: ['scenario', bad, '--out', join(dir, 'out')], multiLine: true },
  { name: 'scenario costs.calibration', args: ['scenario', calibratingScenario, '--out', join(dir, 'out')], multiLine: true },
  { name: 'compare (baseline)', args: ['compare', bad, validSummary] },
  { name: 'compare (current)', args: ['compare', validSummary, bad] },
  { name: 'calibrate --from', args: ['calibrate', '--from', bad, '--out', join(dir, 'calibration.json')] },
];

/**
 * Runs the command in this process (fast enough for many inputs). Only stderr is captured: the test
 * runner itself writes to this process's stdout meanwhile, so "nothing on stdout" is checked through
 * the real command below, and "nothing written" by the output paths staying absent.
 */
async function inProcess(args: string[]): Promise<{ status: number; stderr: Buffer }> {
  const err: Buffer[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (err.push(Buffer.from(chunk)), true)) as typeof process.stderr.write;
  process.exitCode = undefined;
  try {
    const status = await main(args);
    return { status, stderr: Buffer.concat(err) };
  } finally {
    process.stderr.write = write;
    process.exitCode = undefined;
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\x00-\x1f\x7f-\x9f\ufffd]|[\ud800-\udfff]/u;

function checkMessage(reader: Reader, r: { status: number; stderr: Buffer }, input: Uint8Array): void {
  const ctx = `${reader.name} on ${Buffer.from(input.subarray(0, 16)).toString('hex')}... (${input.length} bytes)`;
  assert.equal(r.status, 2, `${ctx}: exit status`);
  for (const written of ['out', 'calibration.json']) assert.ok(!existsSync(join(dir, written)), `${ctx}: wrote ${written}`);
  const text = decoder.decode(r.stderr);
  assert.ok(text.endsWith('\n'), `${ctx}: ${JSON.stringify(text)}`);
  const lines = text.slice(0, -1).split('\n');
  assert.match(lines[0]!, /^svcsim: /, ctx);
  if (!reader.multiLine) assert.equal(lines.length, 1, `${ctx}: ${JSON.stringify(text)}`);
  for (const line of lines) {
    assert.doesNotMatch(line, UNPRINTABLE, `${ctx}: ${JSON.stringify(line)}`);
    assert.ok(line.length <= 400, `${ctx}: a line of ${line.length} characters: ${JSON.stringify(line.slice(0, 200))}`);
  }
}

// Random bytes (at least 8: shorter ones can be text by chance, and an empty or blank file is a valid
// empty dump), and text with a control character or a byte that is not UTF-8 spliced in.
const notText = fc.oneof(
  fc.uint8Array({ minLength: 8, maxLength: 3000 }),
  fc
    .tuple(
      fc.array(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('*filter\n', 'name: x\n', '{"format": ', 'apiVersion: v1\n', ':', '\n')), { maxLength: 30 }),
      fc.constantFrom([0x1b, 0x5b, 0x33, 0x31, 0x6d], [0x00], [0xff], [0x07], [0xc3, 0x28], [0x9b]),
      fc.nat(),
    )
    .map(([parts, odd, at]) => {
      const text = new TextEncoder().encode(parts.join(''));
      const i = at % (text.length + 1);
      return new Uint8Array([...text.subarray(0, i), ...odd, ...text.subarray(i)]);
    }),
);

for (const reader of readers) {
  test(`${reader.name}: random bytes give exit 2 and one printable message`, async () => {
    await fc.assert(
      fc.asyncProperty(notText, async (input) => {
        writeFileSync(bad, input);
        checkMessage(reader, await inProcess(reader.args), input);
      }),
      { seed: 20, numRuns: 100 },
    );
  });
}

// Text that is not a valid input but has nothing unprintable: whatever a parser echoes of it (a line
// of a dump, a value) must stay printable and short too. An input that happens to be valid (blank,
// a lone comment) may run: only a refusal is checked.
const badText = fc
  .array(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.constantFrom('*filter\n', '-A KUBE-SERVICES ', 'name: x\n', 'table ip t {\n', '{"format": "svcsim-summary/1", ', 'apiVersion: v1\nkind: Service\n', ':', '\n', '"')), { minLength: 1, maxLength: 20 })
  .map((parts) => new TextEncoder().encode(parts.join('')));

for (const reader of readers) {
  test(`${reader.name}: printable garbage text is refused with printable, short lines`, async () => {
    await fc.assert(
      fc.asyncProperty(badText, async (input) => {
        writeFileSync(bad, input);
        const r = await inProcess(reader.args);
        if (r.status === 0) return;
        checkMessage({ ...reader, multiLine: true }, r, input);
      }),
      { seed: 20, numRuns: 60 },
    );
  });
}

test('through the real command: a binary file given as a dump is echoed escaped, on one line', () => {
  writeFileSync(bad, Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x1b, 0x5b, 0x32, 0x4a, ...Array(200).fill(0x9b)]));
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', 'trace', '--rules', bad, '--packet', packet], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `svcsim: ${bad}: expected iptables-save or nft list ruleset output (a text file), found binary data "\\x7fELF\\x02\\x01\\x01\\x00\\x1b[2J${'\\x9b'.repeat(7)}"...\n`);
});

test('an iptables dump given as manifests (`*filter` reads as a YAML alias) is an input error, not an internal one', async () => {
  writeFileSync(bad, '*filter\n');
  for (const args of [['endpoints', '--cluster', bad], ['render', '--mode', 'iptables', '--cluster', bad, '--node', 'node-a']]) {
    const r = await inProcess(args);
    assert.equal(r.status, 2);
    assert.match(r.stderr.toString(), /^svcsim: .*input\.bin:1:1 \(document 1\): expected valid YAML, found Unresolved alias/);
  }
});
