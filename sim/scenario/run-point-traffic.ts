import { InputError } from '../io/input-error.ts';
import type { ModelConfig } from '../run/config.ts';
import type { RunPointInput } from './run-point-contract.ts';

/**
 * `traffic.services` as a weight per service port of the run's timeline: a Service's weight split
 * evenly over its ports, 0 for Services not listed. A synthetic cluster's Services are
 * `<namespace>/svc-<i>` (namespace default) with `portsPerService` ports each, in index order; a
 * cluster from manifests has its service ports in `manifest.ports`. Every name must be a Service of
 * the cluster, and some weight must be above 0 (exit 2 otherwise).
 */
export function serviceWeights(s: RunPointInput['scenario'], cluster: ModelConfig['cluster']): { serviceWeights?: number[] } {
  const wanted = s.traffic.services;
  if (wanted === undefined) return {};
  const portsOf = new Map<string, number[]>();
  const add = (key: string, i: number) => {
    const l = portsOf.get(key);
    if (l) l.push(i);
    else portsOf.set(key, [i]);
  };
  if (cluster.manifest) cluster.manifest.ports.forEach((p, i) => add(`${p.portName.namespace}/${p.portName.name}`, i));
  else {
    const per = cluster.portsPerService ?? 1;
    for (let i = 0; i < cluster.services; i++) for (let k = 0; k < per; k++) add(`default/svc-${i}`, i * per + k);
  }
  const weights = new Array<number>(cluster.manifest ? cluster.manifest.ports.length : cluster.services * (cluster.portsPerService ?? 1)).fill(0);
  let sum = 0;
  for (const [key, w] of Object.entries(wanted)) {
    const ports = portsOf.get(key);
    if (!ports) {
      const some = [...portsOf.keys()].slice(0, 5).join(', ') + (portsOf.size > 5 ? ', ...' : '');
      throw new InputError(`traffic.services.${key}`, `a Service of the cluster with a ClusterIP port (${some})`, key);
    }
    for (const i of ports) weights[i] = w / ports.length;
    sum += w;
  }
  if (!(sum > 0)) throw new InputError('traffic.services', 'some weight above 0', 'every weight 0');
  return { serviceWeights: weights };
}

/**
 * `traffic.sourceNodes`: "all", a count of the first nodes, or node names (a synthetic cluster's
 * `node-<i>`, a manifest cluster's own), each of which must be a node of the cluster (exit 2).
 */
export function sourceNodes(s: RunPointInput['scenario'], cluster: ModelConfig['cluster']): { sourceNodes: number; sourceNodeIndexes?: number[] } {
  const want = s.traffic.sourceNodes;
  if (want === 'all') return { sourceNodes: cluster.nodes };
  if (typeof want === 'number') return { sourceNodes: Math.min(want, cluster.nodes) };
  // The DNS clients (dns-traffic.ts) live on the first nodes; they would not follow the names.
  if (s.dns) throw new InputError('traffic.sourceNodes', '"all" or a count with dns: (DNS clients run on the first nodes)', `node names (${want.join(', ')})`);
  const names = cluster.manifest ? cluster.manifest.nodeNames : Array.from({ length: cluster.nodes }, (_, n) => `node-${n}`);
  const indexes = want.map((name, j) => {
    const i = names.indexOf(name);
    if (i < 0) throw new InputError(`traffic.sourceNodes[${j}]`, `a node of the cluster (${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''})`, name);
    return i;
  });
  return { sourceNodes: indexes.length, sourceNodeIndexes: indexes };
}
