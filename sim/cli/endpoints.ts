import type { Command } from 'commander';
import { InputError } from '../engine/input-error.ts';
import { loadManifests } from '../k8s/manifests.ts';
import { computeEndpointSlices } from '../k8s/static-endpoints.ts';
import { explainService, formatExplanation } from '../k8s/explain.ts';
import { asList, toKubectlJson, toKubectlYaml } from '../k8s/kubectl-format.ts';

/**
 * `svcsim endpoints --cluster MANIFESTS.yaml [--output yaml|json] [--explain NS/SVC]`: the
 * EndpointSlices the controller would write for these Services and Pods, or, with --explain, pod by
 * pod why each is in or out of one Service's endpoints.
 */
export interface EndpointsOptions {
  cluster: string[];
  output: string;
  explain?: string;
  maxEndpointsPerSlice: string;
  seed: string;
}

export function runEndpoints(opts: EndpointsOptions): string {
  if (opts.output !== 'yaml' && opts.output !== 'json') throw new InputError('--output', 'yaml or json', JSON.stringify(opts.output));
  const max = Number(opts.maxEndpointsPerSlice);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    // kube-controller-manager validates --max-endpoints-per-slice to 1..1000.
    throw new InputError('--max-endpoints-per-slice', 'a whole number 1-1000', JSON.stringify(opts.maxEndpointsPerSlice));
  }
  const manifests = loadManifests(opts.cluster);
  const options = { maxEndpointsPerSlice: max, seed: opts.seed };
  if (opts.explain !== undefined) {
    const e = explainService(manifests, opts.explain, options);
    return opts.output === 'json' ? JSON.stringify(e, null, 2) + '\n' : formatExplanation(e);
  }
  const list = asList(computeEndpointSlices(manifests, options));
  return opts.output === 'json' ? toKubectlJson(list) : toKubectlYaml(list);
}

export function registerEndpoints(program: Command): void {
  program
    .command('endpoints')
    .description('Print the EndpointSlices the controller would write for the Services and Pods in MANIFESTS, or explain one Service')
    .requiredOption('--cluster <file...>', 'Kubernetes manifests: a YAML stream or a kind: List, as kubectl get -o yaml prints them')
    .option('--output <format>', 'yaml or json', 'yaml')
    .option('--explain <namespace/service>', 'say pod by pod why each is in or out of this Service\'s endpoints')
    .option('--max-endpoints-per-slice <n>', 'the controller\'s --max-endpoints-per-slice', '100')
    .option('--seed <seed>', 'seed for generated slice names', '1')
    .action((opts: EndpointsOptions) => {
      process.stdout.write(runEndpoints(opts));
    });
}
