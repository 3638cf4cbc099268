import { InputError } from '../io/input-error.ts';
import type { ModelConfig } from '../run/config.ts';
import type { ResolvedScenario } from './schema.ts';

/**
 * Service ports above which `dataPlane: rules` is refused: each node's rules are generated, parsed
 * and compiled per sync (a few hundred ms per thousand ports), which suits the "few thousand
 * Services" studies the walk is for; larger studies are what the formula is for.
 */
export const MAX_WALKED_SERVICE_PORTS = 5000;

/**
 * The `dataPlane` part of run-point.ts: with `rules`, the config's dataPlane, after refusing, with
 * the field named, what the walk does not cover. It walks a pod's first packet to a ClusterIP of a
 * synthetic cluster; the formula alone costs external clients' packets (node ports, load balancers:
 * external-run.ts), DNS lookups through kube-dns (dns-run.ts), and the node-port and load-balancer
 * rules external Services add to every ClusterIP walk (FirstPacketInput.node); clusters from
 * manifests may hold any of these.
 */
export function withDataPlane(s: ResolvedScenario, config: ModelConfig): ModelConfig {
  if (s.dataPlane !== 'rules') return config;
  const refuse = (field: string, found: string) => {
    throw new InputError('dataPlane', `formula with ${field} (dataPlane rules walks pod-to-ClusterIP first packets of a synthetic cluster; the formula costs the rest)`, `rules with ${field} ${found}`);
  };
  if (s.cluster.manifests !== undefined) refuse('cluster.manifests', JSON.stringify(s.cluster.manifests));
  if (config.external) refuse('external', 'set');
  if (config.dns) refuse('dns', 'set');
  if (config.cluster.serviceTypes) refuse('cluster.services.nodePort, loadBalancer or externalIPs', 'above 0');
  const ports = config.cluster.services * (config.cluster.portsPerService ?? 1);
  if (ports > MAX_WALKED_SERVICE_PORTS)
    throw new InputError('dataPlane', `formula for more than ${MAX_WALKED_SERVICE_PORTS} service ports (each node's rules are rebuilt per sync with rules)`, `rules with ${ports} service ports`);
  return { ...config, dataPlane: 'rules' };
}
