import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type BuildResult } from '../scripts/build.mjs';
import { SUBCOMMANDS } from '../sim/cli.ts';

// What each compiled command loads: the static imports reachable from its chunk (a dynamic
// import() is loaded only when the code that calls it runs).

const out = mkdtempSync(join(tmpdir(), 'svcsim-build-'));
process.on('exit', () => rmSync(out, { recursive: true, force: true }));
let built: Promise<BuildResult> | undefined;
const result = () => (built ??= build({ outdir: out, log: () => {} }));

/** Every source file and package a compiled module loads when it is imported, by static imports only. */
function loadedBy(meta: BuildResult['metafile'], output: string): Set<string> {
  const seen = new Set<string>();
  const loaded = new Set<string>();
  const visit = (o: string) => {
    if (seen.has(o)) return;
    seen.add(o);
    for (const input of Object.keys(meta.outputs[o]!.inputs)) loaded.add(input);
    for (const imp of meta.outputs[o]!.imports) {
      if (imp.kind !== 'import-statement') continue;
      if (imp.external) loaded.add(imp.path);
      else visit(imp.path);
    }
  };
  visit(output);
  return loaded;
}

function outputOf(meta: BuildResult['metafile'], entrySource: string): string {
  for (const [o, rec] of Object.entries(meta.outputs)) if (o.endsWith('.js') && Object.keys(rec.inputs).includes(entrySource) && rec.entryPoint === entrySource) return o;
  throw new Error(`no chunk has ${entrySource} as its entry`);
}

const HEAVY = ['vega', 'vega-lite', '@resvg/resvg-js', 'sim/scenario/runner.ts', 'reports/render.ts', 'zod'];

test('dist/cli.js loads no subcommand module, and none of the charts, the runner or zod', async () => {
  const { metafile } = await result();
  const loaded = loadedBy(metafile, outputOf(metafile, 'sim/cli.ts'));
  for (const s of SUBCOMMANDS) assert.ok(!loaded.has(`sim/cli/${s.name}.ts`), `cli.js loads sim/cli/${s.name}.ts`);
  for (const h of HEAVY) assert.ok(!loaded.has(h), `cli.js loads ${h}`);
});

test('trace, render, endpoints, dns, schema and compare load no charts and no scenario runner', async () => {
  const { metafile } = await result();
  for (const name of ['trace', 'render', 'endpoints', 'dns', 'schema', 'compare']) {
    const loaded = loadedBy(metafile, outputOf(metafile, `sim/cli/${name}.ts`));
    for (const h of ['vega', 'vega-lite', '@resvg/resvg-js', 'sim/scenario/runner.ts', 'reports/render.ts']) {
      assert.ok(!loaded.has(h), `${name} loads ${h}`);
    }
  }
  // The check can fail: scenario runs studies (and imports reports/render.ts when it draws a chart).
  const scenario = loadedBy(metafile, outputOf(metafile, 'sim/cli/scenario.ts'));
  assert.ok(scenario.has('sim/scenario/runner.ts'));
});

test('the build records every source it compiled, with this script and the freshness check', async () => {
  const { inputs, metafile } = await result();
  for (const s of Object.keys(metafile.inputs)) assert.ok(inputs.includes(s), s);
  assert.ok(inputs.includes('scripts/build.mjs') && inputs.includes('bin/build-state.js'));
  assert.ok(inputs.includes('sim/cli/trace.ts'));
});
