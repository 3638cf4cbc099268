#!/usr/bin/env node
// `svcsim` (npx svcsim, npm link): runs the command in this one process. It runs the compiled CLI in
// dist/ (scripts/build.mjs, which `npm ci` runs as the `prepare` script) when dist/ was built from
// the sources as they are now; otherwise it runs the TypeScript sources through tsx's loader,
// registered in this process, so a stale build never runs: with a note on stderr when dist/ is out
// of date, silently when there is none (a checkout that was never built). docs/design.md, "The
// command's build".
//
// Paths are this file's (import.meta.url is its real path, through a symlink too), not the cwd's:
// `npx svcsim` and a global `npm link` run it from anywhere.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DIST_DIR, buildState } from './build-state.js';
import { installSourceStacks } from './source-stack.js';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const argv = process.argv.slice(2);
const build = await buildState(root);
if (build.state === 'fresh') {
  const dist = pathToFileURL(join(root, DIST_DIR, '/')).href;
  installSourceStacks(dist);
  const { runCommandLine } = await import(`${dist}cli.js`);
  runCommandLine(argv);
} else {
  if (build.state === 'stale') {
    process.stderr.write(`svcsim: ${DIST_DIR}/ is out of date (${build.reason}); running the TypeScript sources instead, which starts slower. Rebuild with: npm run build\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  const { runCommandLine } = await import(pathToFileURL(join(root, 'sim', 'cli.ts')).href);
  runCommandLine(argv);
}
