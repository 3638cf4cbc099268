import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { svcsimVersion } from './version.ts';

/**
 * The code version a study folder records, so shards and resumed runs made by different code are
 * never merged into one set of outputs: `<package version>+src.<12 hex digits>`, e.g.
 * `0.1.0+src.3f2a9c01b7de`.
 *
 * The digest is SHA-256 over the path and bytes of every source file that decides a run's numbers or
 * the outputs made from them: the .ts files under sim/ and reports/ (tests and `testing/` helpers left
 * out: they change no output), package.json and package-lock.json (the dependencies' versions), in
 * path order. Sources rather than the git commit, because an image built for a cluster holds no .git
 * folder and a working tree with uncommitted edits is a different program from its commit: two
 * machines agree on the version exactly when they would compute the same numbers.
 */
const SOURCE_FOLDERS = ['sim', 'reports'];
const SOURCE_FILES = ['package.json', 'package-lock.json'];

let cached: string | undefined;

export function codeVersion(): string {
  return (cached ??= `${svcsimVersion()}+src.${sourceDigest(sourceRoot(fileURLToPath(import.meta.url)))}`);
}

/**
 * The folder holding sim/ and reports/: the nearest above `file` with both. Should the CLI one day
 * run from a bundle without its sources, the bundle file itself is what the digest covers.
 */
export function sourceRoot(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (SOURCE_FOLDERS.every((f) => existsSync(join(dir, f)))) return dir;
    if (dirname(dir) === dir) return file;
  }
}

/** The digest part of codeVersion for the sources under `root`. */
export function sourceDigest(root: string): string {
  const hash = createHash('sha256');
  if (statSync(root).isFile()) return hash.update(readFileSync(root)).digest('hex').slice(0, 12);
  for (const file of sourceFiles(root)) {
    const bytes = readFileSync(join(root, file));
    hash.update(`${file}\n${bytes.length}\n`).update(bytes);
  }
  return hash.digest('hex').slice(0, 12);
}

/** The files the digest covers, relative to root with / separators, sorted. */
export function sourceFiles(root: string): string[] {
  const files: string[] = [];
  for (const folder of SOURCE_FOLDERS) {
    for (const entry of readdirSync(join(root, folder), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile() || !entry.name.endsWith('.ts') || entry.name.endsWith('.test.ts')) continue;
      const rel = relative(root, join(entry.parentPath, entry.name)).split('\\').join('/');
      if (!rel.split('/').includes('testing')) files.push(rel);
    }
  }
  for (const f of SOURCE_FILES) {
    try {
      readFileSync(join(root, f));
      files.push(f);
    } catch {
      // package-lock.json is absent from a package installed from the registry; the version covers it.
    }
  }
  return files.sort();
}
