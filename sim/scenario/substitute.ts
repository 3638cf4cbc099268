import type { SweepValue } from './schema.ts';
import type { FieldPath } from './field-origins.ts';

/**
 * `${param}` references to sweep parameters. A string that is exactly one reference takes the value
 * with its type ("${services}" -> 1000, a number); a reference inside longer text is spliced in as
 * text ("svc-${services}" -> "svc-1000"). The `sweep`, `exclude` and `quick` sections are never substituted.
 */
const NAME = '[A-Za-z_][A-Za-z0-9_]*';
const WHOLE = new RegExp(`^\\$\\{(${NAME})\\}$`);
const ANY = new RegExp(`\\$\\{(${NAME})\\}`, 'g');
/** A string holding at least one reference, as a regular expression's source (the JSON Schema's `pattern`). */
export const REFERENCE_PATTERN = `\\$\\{${NAME}\\}`;
export const NOT_SUBSTITUTED: ReadonlySet<string> = new Set(['sweep', 'exclude', 'quick']);

export interface Reference {
  param: string;
  path: FieldPath;
}

/** Every reference in the template, in document order. */
export function findReferences(template: unknown): Reference[] {
  const out: Reference[] = [];
  walk(template, [], (value, path) => {
    for (const m of value.matchAll(ANY)) out.push({ param: m[1]!, path });
  });
  return out;
}

/** A copy of the template with the point's values substituted; `used` collects the paths substituted. */
export function substitute(
  template: unknown,
  point: Readonly<Record<string, SweepValue>>,
  used?: { path: FieldPath; param: string }[],
): unknown {
  return copy(template, [], (text, path) => {
    const whole = WHOLE.exec(text);
    if (whole) {
      const name = whole[1]!;
      if (!Object.hasOwn(point, name)) return text;
      used?.push({ path, param: name });
      return point[name];
    }
    return text.replace(ANY, (ref, name: string) => {
      if (!Object.hasOwn(point, name)) return ref;
      used?.push({ path, param: name });
      return String(point[name]);
    });
  });
}

function walk(v: unknown, path: FieldPath, visit: (text: string, path: FieldPath) => void): void {
  if (typeof v === 'string') visit(v, path);
  else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i], visit));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (path.length === 0 && NOT_SUBSTITUTED.has(k)) continue;
      walk(x, [...path, k], visit);
    }
  }
}

function copy(v: unknown, path: FieldPath, onString: (text: string, path: FieldPath) => unknown): unknown {
  if (typeof v === 'string') return onString(v, path);
  if (Array.isArray(v)) return v.map((x, i) => copy(x, [...path, i], onString));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      out[k] = path.length === 0 && NOT_SUBSTITUTED.has(k) ? x : copy(x, [...path, k], onString);
    }
    return out;
  }
  return v;
}
