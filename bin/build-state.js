// Whether dist/ (the compiled CLI, scripts/build.mjs) was built from the sources as they are now.
// bin/svcsim.js asks at every call, so it must cost little: the build writes a manifest of its
// inputs (path, size, mtime, SHA-256), and a file whose size and mtime are unchanged is taken as
// unchanged. A file whose mtime moved (a fresh clone, `touch`, a checkout back and forth) is hashed
// and compared, so an mtime alone never makes a build stale, and a content change always does.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const DIST_DIR = 'dist';
export const MANIFEST = 'build-manifest.json';
export const MANIFEST_SCHEMA = 1;

/** The manifest's record of one input, relative to the package root. */
export async function inputRecord(root, path) {
  const st = statSync(join(root, path));
  return { size: st.size, mtimeMs: st.mtimeMs, sha256: await sha256(join(root, path)) };
}

async function sha256(file) {
  // node:crypto is loaded only when a file must be hashed: most calls never need it.
  const { createHash } = await import('node:crypto');
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * { state: 'fresh' } when dist/ matches the sources; { state: 'missing' } when there is no build;
 * { state: 'stale', reason } naming the first input that differs.
 */
export async function buildState(root) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(root, DIST_DIR, MANIFEST), 'utf8'));
  } catch (e) {
    if (e.code === 'ENOENT') return { state: 'missing' };
    return { state: 'stale', reason: `${DIST_DIR}/${MANIFEST} is unreadable (${e.message})` };
  }
  if (manifest.schema !== MANIFEST_SCHEMA) return { state: 'stale', reason: `${DIST_DIR}/${MANIFEST} has schema ${manifest.schema}, this svcsim reads ${MANIFEST_SCHEMA}` };
  for (const [path, rec] of Object.entries(manifest.inputs)) {
    let st;
    try {
      st = statSync(join(root, path));
    } catch {
      return { state: 'stale', reason: `${path} is gone` };
    }
    if (st.size === rec.size && st.mtimeMs === rec.mtimeMs) continue;
    if (st.size !== rec.size || (await sha256(join(root, path))) !== rec.sha256) return { state: 'stale', reason: `${path} changed` };
  }
  return { state: 'fresh' };
}
