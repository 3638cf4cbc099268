import { scenarioJsonSchema } from './schema.ts';
import { NOT_SUBSTITUTED, REFERENCE_PATTERN } from './substitute.ts';

/**
 * The JSON Schema of scenario files as written, before `${param}` substitution: what `svcsim schema`
 * prints and editors check a study against (`# yaml-language-server: $schema=...`).
 *
 * The zod schema describes a scenario after substitution, when `services: { count: "${services}" }`
 * has become `count: 1000`. A file holds the reference itself, so here every field that can hold a
 * scalar also accepts a string containing a reference (substitute.ts: a whole-field reference takes
 * the swept value with its type, one inside longer text is spliced in, so "${t}ms" is a duration
 * once substituted). The loader still validates each point with zod after substitution; this schema
 * only keeps an editor from flagging references. `sweep`, `exclude` and `quick` are not substituted
 * and keep their plain schema.
 *
 * Not used for the loader's own questions about fields (schema-path.ts): there `seed` must stay an
 * integer field, or `--set seed=7` would be read as the string "7".
 */
type Json = Record<string, unknown>;


export function scenarioFileJsonSchema(): Json {
  const schema = scenarioJsonSchema();
  const props = schema.properties as Record<string, Json>;
  const out: Record<string, Json> = {};
  for (const [k, v] of Object.entries(props)) out[k] = NOT_SUBSTITUTED.has(k) ? v : acceptReferences(v);
  return { title: 'svcsim scenario', ...schema, properties: out };
}

/** A copy of `node` in which every value position that can hold a scalar also takes a reference. */
function acceptReferences(node: Json): Json {
  const copy: Json = { ...node };
  if (copy.properties) {
    copy.properties = Object.fromEntries(Object.entries(copy.properties as Record<string, Json>).map(([k, v]) => [k, acceptReferences(v)]));
  }
  if (copy.additionalProperties && typeof copy.additionalProperties === 'object') copy.additionalProperties = acceptReferences(copy.additionalProperties as Json);
  if (copy.items && typeof copy.items === 'object') copy.items = acceptReferences(copy.items as Json);
  for (const key of ['anyOf', 'oneOf'] as const) {
    // Branches are alternatives of one value: recurse into their fields, but wrap the value once.
    if (Array.isArray(copy[key])) copy[key] = (copy[key] as Json[]).map((b) => withoutOwnWrap(acceptReferences(b)));
  }
  if (!holdsScalar(node)) return copy;
  // Keep what an editor shows (description, default) on the outer schema.
  const { description, default: def, ...rest } = copy;
  return {
    ...(description !== undefined ? { description } : {}),
    ...(def !== undefined ? { default: def } : {}),
    anyOf: [rest, { type: 'string', pattern: REFERENCE_PATTERN, description: 'A reference to a sweep parameter, such as "${services}".' }],
  };
}

/** A branch of an anyOf was wrapped by its own recursion; unwrap it, the parent wraps once. */
function withoutOwnWrap(b: Json): Json {
  const alts = b.anyOf as Json[] | undefined;
  if (Array.isArray(alts) && alts.length === 2 && (alts[1] as Json).pattern === REFERENCE_PATTERN) {
    const { anyOf: _, ...meta } = b;
    return { ...meta, ...alts[0] };
  }
  return b;
}

/** Whether a schema accepts some string, number or boolean (a sweep value can only be a scalar). */
function holdsScalar(s: Json): boolean {
  const alts = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (Array.isArray(alts)) return alts.some(holdsScalar);
  const types = s.type === undefined ? [] : Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
  if (types.length) return types.some((t) => t !== 'object' && t !== 'array');
  // enum/const and the unconstrained schema ({}: an unrepresentable zod type) take scalars too.
  return true;
}
