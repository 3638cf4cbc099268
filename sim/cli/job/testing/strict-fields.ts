import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fields of a manifest that its Kubernetes type does not have (a misspelt `backofLimitPerIndex`),
 * as `kubectl apply --validate=strict` reports them. kubernetes-models' `validate()` checks types,
 * enums and required fields against the OpenAPI schema but lets unknown fields through (the schema
 * does not close its objects), so the tests add this check: it reads the fields of each type from
 * the library's declaration files, which are generated from the same OpenAPI schema.
 */
const NODE_MODULES = fileURLToPath(new URL('../../../../node_modules/', import.meta.url));

export const KIND_TYPES: Record<string, string> = {
  ConfigMap: 'kubernetes-models/v1/ConfigMap.d.ts',
  PersistentVolumeClaim: 'kubernetes-models/v1/PersistentVolumeClaim.d.ts',
  Job: 'kubernetes-models/batch/v1/Job.d.ts',
};

interface TypeInfo {
  /** Field name to the declaration file of its type (an object or a list of objects), or null for a leaf. */
  fields: Map<string, { file: string | null; list: boolean }>;
}

const cache = new Map<string, TypeInfo | null>();

/** Paths (`spec.template.spec.containers[0].bogus`) of the fields of `value` its kind does not have. */
export function unknownFields(value: Record<string, unknown>): string[] {
  const file = KIND_TYPES[String(value.kind)];
  if (!file) return [`kind ${String(value.kind)}: no type known`];
  const out: string[] = [];
  walk(value, join(NODE_MODULES, file), '', out);
  return out;
}

function walk(value: unknown, file: string, path: string, out: string[]): void {
  const info = typeInfo(file);
  if (!info || value === null || typeof value !== 'object' || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value)) {
    const field = info.fields.get(key);
    const here = path ? `${path}.${key}` : key;
    if (!field) {
      out.push(here);
      continue;
    }
    if (!field.file) continue;
    if (field.list && Array.isArray(v)) v.forEach((item, i) => walk(item, field.file!, `${here}[${i}]`, out));
    else walk(v, field.file, here, out);
  }
}

function typeInfo(file: string): TypeInfo | null {
  if (cache.has(file)) return cache.get(file)!;
  const text = readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) {
    imports.set(m[1]!, m[2]!.startsWith('.') ? join(dirname(file), `${m[2]}.d.ts`) : join(NODE_MODULES, `${m[2]}.d.ts`));
  }
  const body = /^export interface I\w+(?: extends \w+)? \{\n([\s\S]*?)\n\}$/m.exec(text);
  if (!body) {
    cache.set(file, null);
    return null;
  }
  const fields = new Map<string, { file: string | null; list: boolean }>();
  for (const m of body[1]!.matchAll(/^ {4}"([^"]+)"\??: (.+)$/gm)) {
    const type = m[2]!.replace(/;$/, '');
    const ref = /^(?:Array<)?(IIo\w+)>?$/.exec(type);
    fields.set(m[1]!, { file: ref ? (imports.get(ref[1]!) ?? null) : null, list: type.startsWith('Array<') });
  }
  const info = { fields };
  cache.set(file, info);
  return info;
}
