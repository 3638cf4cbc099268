import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layers point one way. docs/design.md gives the layers in order in a ```layers block, one per
 * line, each with the layers it may import (`host: netfilter nftables conntrack ipvs cost net
 * engine io`). A layer may import only layers listed before it, and only those it names, so the
 * kernel models know nothing of each other and k8s nothing of the kernel. This test reads every
 * import of every non-test file in those layers and fails on an import the block does not allow,
 * and on any import of bench/ (benchmarks measure the product; the product never needs them).
 */

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Layers {
  order: string[];
  allowed: Map<string, Set<string>>;
}

function parseLayers(markdown: string): Layers {
  const block = /```layers\n([\s\S]*?)```/.exec(markdown);
  if (!block) throw new Error('docs/design.md has no ```layers block');
  const order: string[] = [];
  const allowed = new Map<string, Set<string>>();
  for (const line of block[1]!.split('\n')) {
    const text = line.replace(/#.*/, '').trim();
    if (!text) continue;
    const m = /^([\w-]+):\s*(.*)$/.exec(text);
    if (!m) throw new Error(`layers block: expected "name: imports...", found ${JSON.stringify(line)}`);
    const deps = m[2]!.split(/\s+/).filter(Boolean);
    for (const d of deps) {
      if (!allowed.has(d)) throw new Error(`layers block: ${m[1]} names ${d}, which is not listed before it`);
    }
    order.push(m[1]!);
    allowed.set(m[1]!, new Set(deps));
  }
  return { order, allowed };
}

/** The layer a repository path belongs to: sim/<layer>/..., sim/<layer>.ts, or a top-level folder. */
function layerOf(path: string, layers: Layers): string | undefined {
  const parts = path.split(sep).join('/').split('/');
  const name = parts[0] === 'sim' ? parts[1]!.replace(/\.ts$/, '') : parts[0]!;
  return layers.allowed.has(name) ? name : undefined;
}

/** Relative module specifiers of static imports, re-exports and dynamic import() calls. */
function importsOf(source: string): string[] {
  const found: string[] = [];
  const re = /(?:\bfrom\s+|\bimport\s*\(\s*|^\s*import\s+)(['"])(\.{1,2}\/[^'"]+)\1/gm;
  for (const m of source.matchAll(re)) found.push(m[2]!);
  return found;
}

function sourceFiles(dir: string, found: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'measured') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, found);
    else if (/\.(ts|mjs)$/.test(name) && !name.endsWith('.test.ts')) found.push(p);
  }
  return found;
}

/** Every import that breaks the layering, as "file: imports target (layer a may not import b)". */
function violations(root: string, layers: Layers): string[] {
  const bad: string[] = [];
  // sim/ holds most layers as folders; a layer outside it (reports, calibrate) is a top-level folder.
  const tops = ['sim', ...layers.order.filter((l) => statExists(join(root, l)))];
  for (const top of tops) {
    for (const file of sourceFiles(join(root, top))) {
      const from = relative(root, file);
      const fromLayer = layerOf(from, layers);
      if (fromLayer === undefined) continue;
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const target = relative(root, resolve(dirname(file), spec));
        if (target.split(sep)[0] === 'bench') {
          bad.push(`${from}: imports ${target} (nothing outside bench/ may import bench/)`);
          continue;
        }
        const toLayer = layerOf(target, layers);
        if (toLayer === undefined || toLayer === fromLayer) continue;
        if (!layers.allowed.get(fromLayer)!.has(toLayer)) {
          const above = layers.order.indexOf(toLayer) > layers.order.indexOf(fromLayer);
          bad.push(`${from}: imports ${target} (${fromLayer} may not import ${toLayer}${above ? ', a layer above it' : ''})`);
        }
      }
    }
  }
  return bad;
}

function statExists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

const layers = parseLayers(readFileSync(join(repo, 'docs', 'design.md'), 'utf8'));

test('every layer under sim/ (and calibrate/, reports/) imports only the layers docs/design.md allows', () => {
  assert.deepEqual(violations(repo, layers), []);
});

test('every folder under sim/ is a layer docs/design.md names', () => {
  const folders = readdirSync(join(repo, 'sim')).filter((n) => statSync(join(repo, 'sim', n)).isDirectory());
  assert.deepEqual(folders.filter((f) => !layers.allowed.has(f)), []);
});

test('a planted upward import, an import between peers and an import of bench/ are each caught', () => {
  const root = mkdtempSync(join(tmpdir(), 'svcsim-layering-'));
  try {
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('sim/net/packet.ts', "import { Node } from '../host/node.ts';\n");
    write('sim/host/node.ts', "import { ConntrackTable } from '../conntrack/table.ts';\n");
    write('sim/conntrack/table.ts', "export * from '../net/packet.ts';\n");
    write('sim/netfilter/evaluate.ts', "import '../conntrack/table.ts';\n");
    write('sim/run/run-model.ts', "const m = await import('../../bench/median.ts');\n");
    write('sim/run/run-model.test.ts', "import '../cli/scenario.ts';\n");
    assert.deepEqual(violations(root, layers), [
      'sim/net/packet.ts: imports sim/host/node.ts (net may not import host, a layer above it)',
      'sim/netfilter/evaluate.ts: imports sim/conntrack/table.ts (netfilter may not import conntrack, a layer above it)',
      'sim/run/run-model.ts: imports bench/median.ts (nothing outside bench/ may import bench/)',
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the import reader sees static, re-exported, side-effect and dynamic imports', () => {
  const src = [
    "import { a } from './a.ts';",
    "import type {\n  B,\n} from '../b.ts';",
    "export * from './c.ts';",
    "import './d.ts';",
    "const { e } = await import('../../e.ts');",
    "import { readFileSync } from 'node:fs';",
  ].join('\n');
  assert.deepEqual(importsOf(src), ['./a.ts', '../b.ts', './c.ts', './d.ts', '../../e.ts']);
});
