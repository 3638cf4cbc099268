import { readFileSync } from 'node:fs';
import { LineCounter, parseAllDocuments, isMap, isSeq, isScalar, type Document, type Node } from 'yaml';
import { InputError, combineInputErrors } from './input-error.ts';
import { printableMessage, textOf } from './excerpt.ts';

/**
 * YAML read with positions kept, so every error about a value can name the file, line and column
 * where the value is written, not just its field path.
 */
export interface YamlSource {
  file: string;
  text: string;
  docs: Document.Parsed[];
  lines: LineCounter;
}

/** Reads and parses a YAML file (one or more documents). Syntax errors become InputErrors with line:col, all of them. */
export function readYamlFile(file: string, expected = 'YAML'): YamlSource {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError(file, 'a readable file', code === 'ENOENT' ? 'no such file' : String(code ?? e));
  }
  return parseYamlText(textOf(file, bytes, expected), file);
}

export function parseYamlText(text: string, file: string): YamlSource {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(docs) ? docs : [docs as unknown as Document.Parsed];
  // The parser recovers after an error and goes on, so independent mistakes (a duplicate key in one
  // place, an unclosed bracket in another) are all reported; where it reports several errors at one
  // position, the first explains it.
  const problems: InputError[] = [];
  for (const err of list.flatMap((d) => d.errors)) {
    const pos = lines.linePos(err.pos[0]);
    const where = `${file}:${pos.line}:${pos.col}`;
    if (!problems.some((p) => p.where === where)) problems.push(new InputError(where, 'valid YAML', printableMessage(err.message.split('\n')[0]!)));
  }
  if (problems.length > 0) throw combineInputErrors(problems);
  return { file, text, docs: list, lines };
}

/**
 * The `file:line:col` of the node at `path` (keys and list indexes) inside document `doc`, or of the
 * deepest ancestor that exists (so a missing field points at the object that lacks it).
 */
export function locate(src: YamlSource, path: readonly (string | number)[], doc = 0): string {
  const pos = locatePosition(src, path, doc);
  return pos ? `${src.file}:${pos.line}:${pos.col}` : src.file;
}

/** The line and column `locate` names, or undefined where the document has no position at all. */
export function locatePosition(src: YamlSource, path: readonly (string | number)[], doc = 0): { line: number; col: number } | undefined {
  let node: unknown = src.docs[doc]?.contents;
  let best: Node | undefined = node as Node | undefined;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      node = pair.value ?? pair.key;
    } else if (isSeq(node)) {
      node = node.items[Number(key)];
    } else break;
    if (node && (node as Node).range) best = node as Node;
  }
  const offset = best?.range?.[0];
  return offset === undefined ? undefined : src.lines.linePos(offset);
}

/** A field path as users read it: `cluster.services.count`, `sweep.mode[2]`. */
export function formatPath(path: readonly (string | number | symbol)[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += (out ? '.' : '') + String(p);
  }
  return out || '(top level)';
}
