import { isMap, isScalar, isSeq, type Node } from 'yaml';
import type { YamlSource } from '../io/yaml-source.ts';
import { formatPath } from '../io/yaml-source.ts';

/**
 * Where each value of the resolved scenario came from, so an error names the place the user wrote it:
 * a line and column in the file, a `--set` flag, or a `quick:` block entry copied over the field.
 * Values not registered here sit at their own path in the file.
 */
export type FieldPath = readonly (string | number)[];

export type Origin = { kind: 'file'; path: FieldPath } | { kind: 'flag'; label: string };

export interface Place {
  /** What to print before the message: "file:line:col: field.path" or "--set x=y". */
  where: string;
  /** For ordering several problems as they appear in the file (flags first). */
  line: number;
  col: number;
}

export class FieldOrigins {
  private readonly origins = new Map<string, { path: FieldPath; origin: Origin }>();

  constructor(readonly src: YamlSource) {}

  /** Values at `path` (and below) came from `origin`. A later registration of the same path wins. */
  register(path: FieldPath, origin: Origin): void {
    this.origins.set(JSON.stringify(path.map(String)), { path, origin });
  }

  /** The origin covering `path`: the longest registered prefix, remapped; else the path in the file. */
  resolve(path: FieldPath): Origin {
    for (let n = path.length; n >= 0; n--) {
      const hit = this.origins.get(JSON.stringify(path.slice(0, n).map(String)));
      if (!hit) continue;
      if (hit.origin.kind === 'flag') return hit.origin;
      return { kind: 'file', path: [...hit.origin.path, ...path.slice(n)] };
    }
    return { kind: 'file', path };
  }

  /** Place of the value at `path`, named by `fieldPath` (defaults to the path itself). */
  place(path: FieldPath, opts: { key?: boolean; label?: string } = {}): Place {
    const origin = this.resolve(path);
    const label = opts.label ?? formatPath(path);
    if (origin.kind === 'flag') return { where: origin.label, line: 0, col: 0 };
    const pos = positionOf(this.src, origin.path, opts.key ?? false);
    return { where: `${this.src.file}:${pos.line}:${pos.col}: ${label}`, line: pos.line, col: pos.col };
  }
}

/**
 * Line and column of the node at `path` in the file's first document, or of the deepest ancestor that
 * exists (a missing field points at the object that lacks it). With `key`, the last step names a map
 * key and the position is the key's own (an unknown field is reported where its name is written).
 */
export function positionOf(src: YamlSource, path: FieldPath, key: boolean): { line: number; col: number } {
  let node: unknown = src.docs[0]?.contents;
  let offset: number | undefined = (node as Node | undefined)?.range?.[0];
  path.forEach((step, i) => {
    if (node === undefined) return;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(step));
      if (!pair) return void (node = undefined);
      const last = i === path.length - 1;
      const keyNode = pair.key as Node;
      node = key && last ? keyNode : (pair.value ?? keyNode);
    } else if (isSeq(node)) {
      node = node.items[Number(step)];
    } else node = undefined;
    const r = (node as Node | undefined)?.range;
    if (r) offset = r[0];
  });
  if (offset === undefined) return { line: 1, col: 1 };
  return src.lines.linePos(offset);
}
