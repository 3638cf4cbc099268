import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { quoteInput, textOf } from '../io/excerpt.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import { parseNetworkCidr } from '../k8s/ipam.ts';
import { loadManifests } from '../k8s/manifests.ts';
import { dnsNameProblem } from '../dns/pod-lookup.ts';
import { DEFAULT_KUBELET_DNS, parseHostResolvConf, type HostResolvConf, type KubeletDnsSettings } from '../dns/resolv-conf.ts';
import { RESOLVER_LIBRARIES, type ResolverLibrary } from '../dns/resolver-options.ts';
import { resolveClient } from '../why/client.ts';
import { formatWhy, whyJson } from '../why/format.ts';
import { parseTarget } from '../why/target.ts';
import { WHY_MODES, type WhyMode, type WhyReport } from '../why/types.ts';
import { runWhy } from '../why/why.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim why --cluster MANIFESTS --from NS/POD|node/NAME --to URL [--mode iptables|nftables|ipvs]
 * [--json]`: the path from a pod, or a node's host network, to a Service, checked step by step from
 * the manifests alone (sim/why/). Exit status 0 when the path holds, 1 at the first break, 2 for bad
 * input.
 */
export interface WhyOptions {
  cluster: string[];
  from: string;
  to: string;
  mode: string;
  resolver: string;
  clusterCidr: string;
  clusterDns?: string[];
  clusterDomain: string;
  nodeResolvConf?: string;
  json?: boolean;
}

/** kube-proxy's --cluster-cidr default here: the pod range of kubeadm with flannel, as the scenarios use. */
export const DEFAULT_CLUSTER_CIDR = '10.244.0.0/16';

function kubelet(opts: WhyOptions): KubeletDnsSettings {
  for (const ip of opts.clusterDns ?? []) if (tryParseIPv4(ip) === undefined) throw new InputError('--cluster-dns', 'an IPv4 address such as 10.96.0.10', quoteInput(ip));
  const why = dnsNameProblem(opts.clusterDomain);
  if (why) throw new InputError('--cluster-domain', 'a DNS domain such as cluster.local', `${quoteInput(opts.clusterDomain)}: ${why}`);
  return { clusterDns: opts.clusterDns ?? DEFAULT_KUBELET_DNS.clusterDns, clusterDomain: opts.clusterDomain.replace(/\.$/, ''), host: hostResolvConf(opts.nodeResolvConf) };
}

/** The nodes' /etc/resolv.conf (kubelet --resolv-conf): what host-network processes and Default pods use. */
function hostResolvConf(file: string | undefined): HostResolvConf {
  if (file === undefined) return DEFAULT_KUBELET_DNS.host;
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError('--node-resolv-conf', 'a readable file', `${quoteInput(file)} (${code === 'ENOENT' ? 'no such file' : String(code ?? e)})`);
  }
  return parseHostResolvConf(textOf(file, bytes, "the node's resolv.conf"));
}

export function runWhyCommand(opts: WhyOptions): WhyReport {
  if (!(WHY_MODES as readonly string[]).includes(opts.mode)) throw new InputError('--mode', WHY_MODES.join(', '), quoteInput(opts.mode));
  if (!(RESOLVER_LIBRARIES as readonly string[]).includes(opts.resolver)) throw new InputError('--resolver', RESOLVER_LIBRARIES.join(', '), quoteInput(opts.resolver));
  parseNetworkCidr(opts.clusterCidr, '--cluster-cidr');
  const target = parseTarget(opts.to);
  const settings = kubelet(opts);
  const manifests = loadManifests(opts.cluster);
  const client = resolveClient(manifests, opts.from);
  return runWhy({ manifests, client, target, mode: opts.mode as WhyMode, resolver: opts.resolver as ResolverLibrary, kubelet: settings, clusterCIDR: opts.clusterCidr });
}

export function registerWhy(program: Command): void {
  const command = program
    .command('why')
    .description('Walk the path from a pod or a node to a Service step by step (DNS, Service port, EndpointSlices, node rules, endpoint) and name the first break')
    .requiredOption('--cluster <file...>', 'Kubernetes manifests: a YAML stream or a kind: List, as kubectl get -o yaml prints them')
    .requiredOption('--from <namespace/pod|node/name>', "the client: a Pod, or node/NAME for a process on that node's host network")
    .requiredOption('--to <url>', 'what the application connects to: http://name[:port], tcp://ip:port, udp://name:port')
    .option('--mode <mode>', `kube-proxy mode: ${WHY_MODES.join(', ')}`, 'iptables')
    .option('--resolver <library>', `the client's resolver library: ${RESOLVER_LIBRARIES.join(', ')}`, 'glibc')
    .option('--cluster-cidr <cidr>', "kube-proxy's --cluster-cidr: traffic from outside it to a ClusterIP is masqueraded", DEFAULT_CLUSTER_CIDR)
    .option('--cluster-dns <ip...>', "kubelet's --cluster-dns (default 10.96.0.10, kubeadm's)")
    .option('--cluster-domain <domain>', "kubelet's --cluster-domain", 'cluster.local')
    .option('--node-resolv-conf <file>', "the nodes' resolv.conf (kubelet's --resolv-conf): what node/NAME and dnsPolicy Default pods resolve with (default: none)")
    .option('--json', 'print the steps as JSON: { from, to, mode, client, steps: [{ step, status, summary, details, fix, data }], verdict }')
    .action((opts: WhyOptions) => {
      const r = runWhyCommand(opts);
      process.stdout.write(opts.json ? JSON.stringify(whyJson(r), null, 2) + '\n' : formatWhy(r));
      process.exitCode = r.verdict.reachable ? 0 : 1;
    });
  addExamples(command, [
    { say: 'Check the path from a pod to a healthy Service', run: ['svcsim why --cluster docs/examples/why/cluster.yaml docs/examples/why/healthy.yaml --from shop/client --to http://web'] },
    { say: 'Find why a Service whose pods crash-loop does not answer, in ipvs mode', run: ['svcsim why --cluster docs/examples/why/cluster.yaml docs/examples/why/crashloop.yaml --from shop/client --to http://web --mode ipvs'], exit: 1 },
  ]);
}
