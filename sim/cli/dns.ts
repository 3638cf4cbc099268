import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { quoteInput, textOf } from '../io/excerpt.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import { loadManifests } from '../k8s/manifests.ts';
import { dnsNameProblem, lookupFromManifests, type PodLookup } from '../dns/pod-lookup.ts';
import { DEFAULT_KUBELET_DNS, formatResolvConf, parseHostResolvConf, type KubeletDnsSettings } from '../dns/resolv-conf.ts';
import { RESOLVER_LIBRARIES, type ResolverLibrary } from '../dns/resolver-options.ts';
import type { SentQuery } from '../dns/static-lookup.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim dns --cluster MANIFESTS --pod NS/NAME --name HOST [--resolver glibc|musl|go] [--json]`:
 * the resolv.conf kubelet gives that pod, then every query its resolver library sends to look HOST
 * up, in order, with the answer each gets, and how the lookup ends. Servers answer at once; a query
 * with no answer costs the library's full wait.
 */
export interface DnsOptions {
  cluster: string[];
  pod: string;
  name: string;
  resolver: string;
  json?: boolean;
  /** kubelet --cluster-dns (repeatable), --cluster-domain, --resolv-conf. */
  clusterDns?: string[];
  clusterDomain?: string;
  nodeResolvConf?: string;
}

function kubeletSettings(opts: DnsOptions): KubeletDnsSettings {
  for (const ip of opts.clusterDns ?? []) if (tryParseIPv4(ip) === undefined) throw new InputError('--cluster-dns', 'an IPv4 address such as 10.96.0.10', quoteInput(ip));
  const domain = opts.clusterDomain ?? DEFAULT_KUBELET_DNS.clusterDomain;
  const why = dnsNameProblem(domain);
  if (why) throw new InputError('--cluster-domain', 'a DNS domain such as cluster.local', `${quoteInput(domain)}: ${why}`);
  let host = DEFAULT_KUBELET_DNS.host;
  if (opts.nodeResolvConf !== undefined) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(opts.nodeResolvConf);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new InputError(opts.nodeResolvConf, 'a readable file', code === 'ENOENT' ? 'no such file' : String(code ?? e));
    }
    host = parseHostResolvConf(textOf(opts.nodeResolvConf, bytes, "the node's resolv.conf"));
  }
  return { clusterDns: opts.clusterDns ?? DEFAULT_KUBELET_DNS.clusterDns, clusterDomain: domain.replace(/\.$/, ''), host };
}

export function runDns(opts: DnsOptions): string {
  if (!(RESOLVER_LIBRARIES as readonly string[]).includes(opts.resolver)) {
    throw new InputError('--resolver', RESOLVER_LIBRARIES.join(', '), quoteInput(opts.resolver));
  }
  const why = dnsNameProblem(opts.name);
  if (why) throw new InputError('--name', 'a DNS name such as web, web.shop or example.com.', `${quoteInput(opts.name)}: ${why}`);
  const kubelet = kubeletSettings(opts);
  const r = lookupFromManifests(loadManifests(opts.cluster), opts.pod, opts.name, opts.resolver as ResolverLibrary, { kubelet });
  return opts.json ? JSON.stringify(toJson(r), null, 2) + '\n' : formatText(r);
}

function answerText(q: SentQuery): string {
  if (q.reply === 'none') return 'no answer';
  if (q.reply === 'unreachable') return 'ICMP port unreachable';
  const a = q.reply;
  if (a.rcode === 'NOERROR') return a.addresses.length > 0 ? `NOERROR ${a.addresses.join(' ')}` : 'NOERROR, no records (NODATA)';
  return a.rcode;
}

const seconds = (ns: number) => `${(ns / 1e9).toFixed(3)}s`;

function formatText(r: PodLookup): string {
  const out = [`# resolv.conf of pod ${r.pod} (dnsPolicy ${r.dnsPolicy})`, formatResolvConf(r.resolvConf).trimEnd() || '(empty)', ''];
  const { queries, result, durationNs } = r.lookup;
  out.push(`# ${r.library} looks up ${JSON.stringify(r.name)}: ${queries.length} ${queries.length === 1 ? 'query' : 'queries'}`);
  for (const note of r.notes) out.push(`# note: ${note}`);
  const nameWidth = Math.max(4, ...queries.map((q) => q.query.name.length));
  out.push(`${'time'.padStart(8)}  ${'socket'.padEnd(9)}  ${'type'.padEnd(4)}  ${'name'.padEnd(nameWidth)}  ${'server'.padEnd(15)}  answer`);
  for (const q of queries) {
    const s = `${q.query.transport}/${q.query.socket}`;
    out.push(`${seconds(q.atNs).padStart(8)}  ${s.padEnd(9)}  ${q.query.type.padEnd(4)}  ${q.query.name.padEnd(nameWidth)}  ${q.query.server.padEnd(15)}  ${answerText(q)}`);
  }
  const addrs = result.addresses.length > 0 ? ` ${result.addresses.join(' ')}` : '';
  out.push(`outcome: ${result.outcome}${addrs} after ${seconds(durationNs)}`);
  return out.join('\n') + '\n';
}

function toJson(r: PodLookup) {
  return {
    pod: r.pod,
    resolver: r.library,
    name: r.name,
    resolvConf: formatResolvConf(r.resolvConf),
    queries: r.lookup.queries.map((q) => ({
      name: q.query.name,
      type: q.query.type,
      server: q.query.server,
      transport: q.query.transport,
      socket: q.query.socket,
      sentAtMs: q.atNs / 1e6,
      answer: typeof q.reply === 'string' ? q.reply : { rcode: q.reply.rcode, addresses: q.reply.addresses },
    })),
    outcome: r.lookup.result.outcome,
    addresses: r.lookup.result.addresses,
    durationMs: r.lookup.durationNs / 1e6,
    notes: r.notes,
  };
}

export function registerDns(program: Command): void {
  const command = program
    .command('dns')
    .description("Print a pod's resolv.conf and every query its resolver sends to look a name up, with the answers and the outcome")
    .requiredOption('--cluster <file...>', 'Kubernetes manifests: a YAML stream or a kind: List, as kubectl get -o yaml prints them')
    .requiredOption('--pod <namespace/name>', 'the Pod that looks the name up (its namespace, dnsPolicy and dnsConfig)')
    .requiredOption('--name <host>', 'the name the application asks for: web, web.shop, example.com, or a name ending in a dot')
    .option('--resolver <library>', `the resolver library: ${RESOLVER_LIBRARIES.join(', ')}`, 'glibc')
    .option('--json', 'print { resolvConf, queries: [{ name, type, server, answer }], outcome } as JSON')
    .option('--cluster-dns <ip...>', "kubelet's --cluster-dns (default 10.96.0.10, kubeadm's)")
    .option('--cluster-domain <domain>', "kubelet's --cluster-domain", 'cluster.local')
    .option('--node-resolv-conf <file>', "the node's resolv.conf (kubelet's --resolv-conf): Default pods use it, ClusterFirst pods add its search domains")
    .action((opts: DnsOptions) => {
      process.stdout.write(runDns(opts));
    });
  addExamples(command, [
    { say: 'Show the queries glibc sends for a name in another namespace', run: ['svcsim dns --cluster test/golden/dns/cluster.yaml --pod shop/client --name api.billing'] },
    { say: 'See a musl pod wait out its timeout when kube-dns has no ready endpoints', run: ['svcsim dns --cluster test/golden/dns/no-dns-endpoints.yaml --pod shop/client --name web --resolver musl'] },
  ]);
}
