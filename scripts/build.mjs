#!/usr/bin/env node
// `npm run build` (and `prepare`, which `npm ci` and `npm install` run): compiles the svcsim command
// into dist/ with esbuild, which tsx already brings. Development and tests run the TypeScript
// through tsx; bin/svcsim.js runs dist/ when it is fresh (docs/design.md, "The command's build").
//
// - One entry, sim/cli.ts, bundled with code splitting: each subcommand's `import()` in the
//   SUBCOMMANDS table becomes a chunk of its own, loaded only when that command runs. Packages in
//   node_modules stay imports (they load from node_modules as under tsx).
// - Every output file sits in dist/ itself, so each module's import.meta.url can be rewritten to the
//   URL of its source file (relative to dist/, so the package can move): paths a module computes
//   from its own location (scenarios/, package.json, the pool's worker.ts) stay what they are under
//   tsx.
// - Source maps beside each file, without the sources' text (the .ts files are there), so a stack
//   trace names the .ts line (bin/svcsim.js enables them).
// - Last, dist/build-manifest.json: the inputs and their hashes, which bin/build-state.js checks.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DIST_DIR, MANIFEST, MANIFEST_SCHEMA, inputRecord } from '../bin/build-state.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const self = relative(root, fileURLToPath(import.meta.url));

// esbuild is tsx's dependency; resolving it from tsx finds it whether or not npm hoisted it.
export async function loadEsbuild() {
  const fromTsx = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'));
  return import(pathToFileURL(fromTsx.resolve('esbuild')).href);
}

/**
 * Rewrites import.meta.url in this repository's TypeScript to the source file's URL, and records each
 * source as it was compiled: the mtime from before the read, the size and hash of the text read. A
 * file edited during the build then differs from its record, and the build is stale at once.
 */
function sourceUrlPlugin(outdir, compiled) {
  return {
    name: 'svcsim-source-url',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        if (/[\\/]node_modules[\\/]/.test(args.path)) return undefined;
        const { mtimeMs } = statSync(args.path);
        const bytes = readFileSync(args.path);
        const text = bytes.toString('utf8');
        const path = relative(root, args.path).split(sep).join('/');
        compiled.set(path, { size: bytes.length, mtimeMs, sha256: createHash('sha256').update(bytes).digest('hex') });
        if (/\bimport\.meta\.(dirname|filename)\b/.test(text)) {
          throw new Error(`${path}: use import.meta.url (the build rewrites it to the source's URL), not import.meta.dirname/filename`);
        }
        const url = `new URL(${JSON.stringify(relative(outdir, args.path).split(sep).join('/'))}, import.meta.url).href`;
        return { contents: text.replace(/\bimport\.meta\.url\b/g, url), loader: 'ts' };
      });
    },
  };
}

export async function build({ outdir = join(root, DIST_DIR), log = (l) => process.stderr.write(`${l}\n`) } = {}) {
  const esbuild = await loadEsbuild();
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const compiled = new Map();
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { cli: 'sim/cli.ts' },
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    chunkNames: '[name]-[hash]',
    metafile: true,
    logLevel: 'warning',
    plugins: [sourceUrlPlugin(outdir, compiled)],
  });
  const inputs = {};
  for (const path of [...Object.keys(result.metafile.inputs), self, 'bin/build-state.js'].sort()) {
    inputs[path] = compiled.get(path) ?? (await inputRecord(root, path));
  }
  writeFileSync(join(outdir, MANIFEST), `${JSON.stringify({ schema: MANIFEST_SCHEMA, esbuild: esbuild.version, inputs }, null, 1)}\n`);
  const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
  log(`svcsim build: ${Object.keys(inputs).length} sources into ${relative(root, outdir) || '.'}/ (${outputs.length} modules)`);
  return { inputs: Object.keys(inputs), outputs, metafile: result.metafile };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  build().catch((e) => {
    process.stderr.write(`svcsim build failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
