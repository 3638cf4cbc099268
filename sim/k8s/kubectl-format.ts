import { stringify } from 'yaml';
import type { KubeObject } from './objects.ts';

/**
 * Objects printed the way `kubectl get -o yaml|json` prints them: keys in alphabetical order at every
 * level (kubectl marshals unstructured maps, and Go sorts map keys), `- ` list items not indented under
 * their key, JSON indented by 4, and a `kind: List` wrapper with `metadata.resourceVersion: ""`.
 * An EndpointSlice's empty `endpoints`/`ports` come back from the API server's protobuf storage as
 * null, so they print as `null`, as on a real cluster.
 */
function normalise(v: unknown, key?: string, parentKind?: string): unknown {
  if (Array.isArray(v)) {
    if (v.length === 0 && parentKind === 'EndpointSlice' && (key === 'endpoints' || key === 'ports')) return null;
    return v.map((x) => normalise(x));
  }
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const kind = typeof o.kind === 'string' && typeof o.apiVersion === 'string' ? o.kind : undefined;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) {
      const x = o[k];
      if (x === undefined) continue;
      out[k] = normalise(x, k, kind);
    }
    return out;
  }
  return v;
}

export function asList(items: readonly KubeObject[]): unknown {
  return { apiVersion: 'v1', items, kind: 'List', metadata: { resourceVersion: '' } };
}

export function toKubectlYaml(obj: unknown): string {
  return stringify(normalise(obj), { indentSeq: false, lineWidth: 0, nullStr: 'null' });
}

export function toKubectlJson(obj: unknown): string {
  return JSON.stringify(normalise(obj), null, 4) + '\n';
}
