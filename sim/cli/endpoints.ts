import type { Command } from 'commander';
import { stringify } from 'yaml';
import { InputError } from '../io/input-error.ts';
import { loadManifests } from '../k8s/manifests.ts';
import { computeEndpointSlices } from '../k8s/static-endpoints.ts';
import { explainService, formatExplanation } from '../k8s/explain.ts';
import { asList, toKubectlJson, toKubectlYaml } from '../k8s/kubectl-format.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim endpoints --cluster MANIFESTS.yaml [--output yaml|json] [--explain NS/SVC]`: the
 * EndpointSlices the controller would write for these Services and Pods, or, with --explain, pod by
 * pod why each is in or out of one Service's endpoints (text, or with --output the same record as
 * YAML or JSON).
 */
export interface EndpointsOptions {
  cluster: string[];
  /** undefined: YAML slices, or the explanation as text. */
  output?: string;
  explain?: string;
  maxEndpointsPerSlice: string;
  seed: string;
}

export function runEndpoints(opts: EndpointsOptions): string {
  if (opts.output !== undefined && opts.output !== 'yaml' && opts.output !== 'json') throw new InputError('--output', 'yaml or json', JSON.stringify(opts.output));
  const max = Number(opts.maxEndpointsPerSlice);
  if (!Number.isInteger(max) || max < 1 || max > 1000) {
    // kube-controller-manager validates --max-endpoints-per-slice to 1..1000.
    throw new InputError('--max-endpoints-per-slice', 'a whole number 1-1000', JSON.stringify(opts.maxEndpointsPerSlice));
  }
  const manifests = loadManifests(opts.cluster);
  const options = { maxEndpointsPerSlice: max, seed: opts.seed };
  if (opts.explain !== undefined) {
    const e = explainService(manifests, opts.explain, options);
    // Text for a reader by default; an explicit --output gives the same record as structured data
    // (so `--output yaml` never prints prose a YAML parser would choke on).
    if (opts.output === 'json') return JSON.stringify(e, null, 2) + '\n';
    if (opts.output === 'yaml') return stringify(e, { indentSeq: false, lineWidth: 0 });
    return formatExplanation(e);
  }
  const list = asList(computeEndpointSlices(manifests, options));
  return opts.output === 'json' ? toKubectlJson(list) : toKubectlYaml(list);
}

export function registerEndpoints(program: Command): void {
  const command = program
    .command('endpoints')
    .description('Print the EndpointSlices the controller would write for the Services and Pods in the manifests, or explain one Service')
    .requiredOption('--cluster <file...>', 'Kubernetes manifests: a YAML stream or a kind: List, as kubectl get -o yaml prints them')
    .option('--output <format>', 'yaml (default) or json; with --explain, the explanation as YAML or JSON instead of text')
    .option('--explain <namespace/service>', 'say pod by pod why each is in or out of this Service\'s endpoints')
    .option('--max-endpoints-per-slice <n>', 'the controller\'s --max-endpoints-per-slice', '100')
    .option('--seed <seed>', 'seed for generated slice names', '1')
    .action((opts: EndpointsOptions) => {
      process.stdout.write(runEndpoints(opts));
    });
  addExamples(command, [
    { say: 'Print the EndpointSlices for the Services and Pods of a manifest', run: ['svcsim endpoints --cluster test/golden/k8s/mixed.yaml'] },
    { say: 'Say pod by pod why a Service has no endpoints', run: ['svcsim endpoints --cluster test/golden/k8s/label-mismatch.yaml --explain shop/web'] },
  ]);
}
