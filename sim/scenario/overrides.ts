import { parse as parseYamlValue } from 'yaml';
import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import type { Problems } from '../io/problems.ts';
import { formatPath } from '../io/yaml-source.ts';
import { didYouMean } from './did-you-mean.ts';
import type { FieldOrigins, FieldPath } from './field-origins.ts';
import { fieldsAt, isOpenMap, schemasAt, typesAt } from './schema-path.ts';

/**
 * Changes applied to a scenario before it is expanded and validated: `--set path=value` flags and the
 * file's own `quick:` block (for `--quick`). The value of a `--set` is typed by the schema at its path:
 * a field that takes only strings keeps the text as written (`--set name=007`), a number field gets a
 * number, and anything else is read as a YAML value (`--set sweep.mode=[iptables,ipvs]`).
 */
export interface SetOverride {
  path: FieldPath;
  value: unknown;
  /** The flag as the user wrote it, for error messages. */
  label: string;
}

/** Parses one `--set path=value` argument; the path is checked against the schema. */
export function parseSetArg(arg: string): SetOverride {
  const label = `--set ${arg}`;
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new InputError(label, 'path=value, such as proxy.mode=ipvs', JSON.stringify(arg));
  const path = parseFieldPath(arg.slice(0, eq), label);
  checkPath(path, label);
  return { path, value: typeValue(path, arg.slice(eq + 1), label), label };
}

/** `proxy.conntrack.max`, `churn[0].kind`, `sweep.services`. */
export function parseFieldPath(text: string, label: string): FieldPath {
  const out: (string | number)[] = [];
  for (const part of text.split('.')) {
    const m = /^([A-Za-z_][A-Za-z0-9_-]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) throw new InputError(label, 'a field path such as proxy.minSyncPeriod or churn[0].kind', quoteInput(text));
    out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

function checkPath(path: FieldPath, label: string): void {
  for (let i = 0; i < path.length; i++) {
    const step = path[i]!;
    if (typeof step === 'number') continue;
    const parent = path.slice(0, i);
    if (isOpenMap(parent)) continue;
    const fields = fieldsAt(parent);
    if (!fields.includes(step)) {
      throw new InputError(
        label,
        `a field of ${formatPath(parent)}${fields.length ? ` (${fields.join(', ')})` : ''}`,
        `'${step}'`,
        didYouMean(step, fields),
      );
    }
  }
  if (schemasAt(path).length === 0) throw new InputError(label, 'a path to a scenario field', formatPath(path));
}

function typeValue(path: FieldPath, text: string, label: string): unknown {
  const types = typesAt(path);
  const onlyStrings = types.size > 0 && [...types].every((t) => t === 'string');
  if (onlyStrings) return text;
  if (types.size > 0 && [...types].every((t) => t === 'number' || t === 'integer')) {
    const n = Number(text);
    if (text.trim() === '' || !Number.isFinite(n)) throw new InputError(label, 'a number', quoteInput(text));
    return n;
  }
  try {
    const v = parseYamlValue(text) as unknown;
    // A field that takes strings but got a number or boolean from YAML keeps the text: "007" stays "007".
    if (types.has('string') && typeof v !== 'string' && (typeof v !== 'object' || v === null) && !types.has(typeof v)) return text;
    return v ?? text;
  } catch {
    throw new InputError(label, 'a YAML value', quoteInput(text));
  }
}

/** Writes `value` at `path` inside `doc`, creating objects on the way. */
export function setAt(doc: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let node: any = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (node[key] === null || typeof node[key] !== 'object') node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key];
  }
  node[path[path.length - 1]!] = value;
}

export function applySet(doc: Record<string, unknown>, o: SetOverride, origins: FieldOrigins): void {
  setAt(doc, o.path, o.value);
  origins.register(o.path, { kind: 'flag', label: o.label });
}

/**
 * Applies the `quick:` block: replications, duration and warm-up replace the top-level ones, each
 * listed sweep parameter's values replace the full list, and `set:` entries act like `--set`. The
 * block's own shape is checked by the schema afterwards; here only well-formed parts are applied. A
 * `set:` entry naming no field goes to `problems`, and the other entries are still checked.
 */
export function applyQuick(doc: Record<string, unknown>, origins: FieldOrigins, problems: Problems): boolean {
  const quick = doc.quick;
  if (quick === null || typeof quick !== 'object' || Array.isArray(quick)) return false;
  const q = quick as Record<string, unknown>;
  for (const key of ['replications', 'duration', 'warmup'] as const) {
    if (q[key] !== undefined) {
      doc[key] = q[key];
      origins.register([key], { kind: 'file', path: ['quick', key] });
    }
  }
  if (q.sweep && typeof q.sweep === 'object' && !Array.isArray(q.sweep)) {
    const sweep = (doc.sweep && typeof doc.sweep === 'object' ? doc.sweep : (doc.sweep = {})) as Record<string, unknown>;
    for (const [k, v] of Object.entries(q.sweep)) {
      sweep[k] = v;
      origins.register(['sweep', k], { kind: 'file', path: ['quick', 'sweep', k] });
    }
  }
  if (q.set && typeof q.set === 'object' && !Array.isArray(q.set)) {
    for (const [k, v] of Object.entries(q.set)) {
      const label = origins.place(['quick', 'set', k], { key: true }).where;
      const path = problems.run(() => {
        const p = parseFieldPath(k, label);
        checkPath(p, label);
        return p;
      });
      if (path === undefined) continue;
      setAt(doc, path, v);
      origins.register(path, { kind: 'file', path: ['quick', 'set', k] });
    }
  }
  return true;
}
