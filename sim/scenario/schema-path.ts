import { scenarioJsonSchema } from './schema.ts';

/**
 * Questions about the scenario schema at a field path, answered from its JSON Schema (the same
 * document editors get): which fields an object accepts (for "did you mean") and which JSON types a
 * field takes (so `--set proxy.minSyncPeriod=0s` stays a string and `--set seed=7` becomes a number).
 */
type Json = Record<string, unknown>;

let cached: Json | undefined;
function root(): Json {
  return (cached ??= scenarioJsonSchema());
}

/** The schema alternatives that describe the value at `path` (several where the schema has anyOf). */
export function schemasAt(path: readonly (string | number)[]): Json[] {
  let current = expand(root());
  for (const key of path) {
    const next: Json[] = [];
    for (const s of current) {
      if (typeof key === 'number' || /^\d+$/.test(String(key))) {
        if (s.items && typeof s.items === 'object') next.push(...expand(s.items as Json));
      }
      const props = s.properties as Record<string, Json> | undefined;
      if (props && Object.hasOwn(props, String(key))) next.push(...expand(props[String(key)]!));
      else if (s.additionalProperties && typeof s.additionalProperties === 'object') next.push(...expand(s.additionalProperties as Json));
    }
    current = next;
    if (current.length === 0) break;
  }
  return current;
}

/** The fields an object at `path` accepts, in schema order. */
export function fieldsAt(path: readonly (string | number)[]): string[] {
  const out: string[] = [];
  for (const s of schemasAt(path)) {
    for (const k of Object.keys((s.properties as Json | undefined) ?? {})) if (!out.includes(k)) out.push(k);
  }
  return out;
}

/** Whether an object at `path` takes arbitrary keys (a map such as `sweep`). */
export function isOpenMap(path: readonly (string | number)[]): boolean {
  return schemasAt(path).some((s) => s.additionalProperties !== undefined && s.additionalProperties !== false);
}

/** JSON types (string, number, integer, boolean, array, object, null) a field at `path` accepts. */
export function typesAt(path: readonly (string | number)[]): Set<string> {
  const out = new Set<string>();
  for (const s of schemasAt(path)) {
    if (typeof s.type === 'string') out.add(s.type);
    else if (Array.isArray(s.type)) for (const t of s.type) out.add(String(t));
    else if (s.const !== undefined) out.add(typeof s.const);
    else if (Array.isArray(s.enum)) for (const v of s.enum) out.add(typeof v);
  }
  return out;
}

function expand(s: Json): Json[] {
  const alts = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (Array.isArray(alts)) return alts.flatMap(expand);
  return [s];
}
