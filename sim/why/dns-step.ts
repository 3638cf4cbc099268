import type { ClusterManifests } from '../k8s/manifests.ts';
import type { Pod, Service } from '../k8s/objects.ts';
import { explainService } from '../k8s/explain.ts';
import { serviceAt } from '../dns/from-manifests.ts';
import { lookupFromManifests, type PodLookup } from '../dns/pod-lookup.ts';
import { formatResolvConf } from '../dns/resolv-conf.ts';
import type { SentQuery } from '../dns/static-lookup.ts';
import { step, type PathState, type WhyInput, type WhyStep } from './types.ts';

/**
 * Step 1, DNS: the client's resolv.conf as kubelet writes it (sim/dns/resolv-conf.ts, kubelet
 * GetPodDNS) and every query its resolver library sends, answered by the cluster DNS Service when it
 * has ready endpoints, by the node's upstream resolver otherwise (sim/dns/pod-lookup.ts). A node's
 * host network uses the node's own resolv.conf (kubelet --resolv-conf), which does not name the
 * cluster DNS: cluster names do not resolve there. When the lookup fails, the step still names the
 * Service the name means (as CoreDNS's kubernetes plugin would read it), so the later steps can check
 * the rest of the path.
 */
export function dnsStep(input: WhyInput, state: PathState): WhyStep {
  const { target, client } = input;
  if (target.isAddress) {
    state.address = target.host;
    return step('dns', 'ok', `${target.host} is an address: no lookup`, [], null, { lookup: false, addresses: [target.host] });
  }
  const r = lookup(input);
  const details = [`resolv.conf (${client.kind === 'node' ? `node ${client.node}'s own` : `dnsPolicy ${r.dnsPolicy}`}): ${formatResolvConf(r.resolvConf).trim().split('\n').join('; ') || '(empty)'}`];
  for (const q of r.lookup.queries) details.push(`${q.query.type} ${q.query.name} -> ${q.query.server}: ${answerText(q)}`);
  for (const n of r.notes) details.push(n);
  const addresses = r.lookup.result.addresses.filter((a) => !a.includes(':'));
  const answeredBy = answeringServer(input.manifests, r);
  const data = {
    lookup: true,
    resolver: input.resolver,
    resolvConf: formatResolvConf(r.resolvConf),
    queries: r.lookup.queries.map((q) => ({ name: q.query.name, type: q.query.type, server: q.query.server, answer: answerText(q) })),
    outcome: r.lookup.result.outcome,
    addresses,
    answeredBy,
  };
  const meant = intendedService(input.manifests, target.host, client.namespace, input.kubelet.clusterDomain);
  if (r.lookup.result.outcome === 'ok' && addresses.length > 0 && answeredBy === 'upstream' && meant?.spec.clusterIP && meant.spec.clusterIP !== 'None') {
    // The search list led an outside resolver to answer for a name that means a Service.
    state.address = meant.spec.clusterIP;
    const ref = `${meant.metadata.namespace}/${meant.metadata.name}`;
    details.push(`the name means Service ${ref}; the next steps check it as if the name resolved`);
    return step('dns', 'break', `${target.host} resolves to ${addresses.join(' ')} from an upstream resolver, not to Service ${ref} (${meant.spec.clusterIP}): the client does not ask the cluster DNS`, details, noClusterDnsFix(input, meant), data);
  }
  if (r.lookup.result.outcome === 'ok' && addresses.length > 0 && !meant && !target.host.replace(/\.$/, '').includes('.') && answeredOutside(r, input.kubelet.clusterDomain)) {
    // A one-label name that is no Service: every search domain failed and the bare name went on to
    // the upstream, whose answer (if any; the model gives external names an address) is not the Service meant.
    const here = input.manifests.services.filter((x) => x.metadata.namespace === client.namespace).map((x) => x.metadata.name);
    return step('dns', 'break', `${target.host} is not a Service in namespace ${client.namespace}${here.length ? ` (Services there: ${here.join(', ')})` : ''}: only the bare name got an answer, from outside the cluster`, details, 'name the Service as NAME or NAME.NAMESPACE (kubectl get svc -A)', data);
  }
  if (r.lookup.result.outcome === 'ok' && addresses.length > 0) {
    state.address = addresses[0]!;
    state.upstream = answeredBy === 'upstream';
    const by = answeredBy === 'cluster' ? 'the cluster DNS' : 'an upstream resolver (not a cluster name)';
    return step('dns', 'ok', `${target.host} resolves to ${addresses.join(' ')} (answered by ${by})`, details, null, data);
  }
  if (meant?.spec.clusterIP && meant.spec.clusterIP !== 'None') state.address = meant.spec.clusterIP;
  const { summary, fix } = failure(input, r, meant);
  if (meant) details.push(`the name means Service ${meant.metadata.namespace}/${meant.metadata.name}; the next steps check it as if the name resolved`);
  return step('dns', 'break', summary, details, fix, data);
}

function lookup(input: WhyInput): PodLookup {
  const { client, manifests: m } = input;
  if (client.pod) return lookupFromManifests(m, client.ref, input.target.host, input.resolver, { kubelet: input.kubelet });
  // A process on the node reads the node's resolv.conf: the one kubelet gives dnsPolicy Default pods.
  const hostProcess: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `node-${client.node}`, namespace: 'default' },
    spec: { containers: [{ name: 'host' }], hostNetwork: true, dnsPolicy: 'Default', nodeName: client.node },
  };
  return lookupFromManifests({ ...m, pods: [...m.pods, hostProcess] }, `default/${hostProcess.metadata.name}`, input.target.host, input.resolver, { kubelet: input.kubelet });
}

function answerText(q: SentQuery): string {
  if (q.reply === 'none') return 'no answer';
  if (q.reply === 'unreachable') return 'ICMP port unreachable';
  if (q.reply.rcode === 'NOERROR') return q.reply.addresses.length ? `NOERROR ${q.reply.addresses.join(' ')}` : 'NOERROR, no records';
  return q.reply.rcode;
}

/** Which server gave the addresses: a Service of the cluster (kube-dns, as pod-lookup.ts answers for it) or any other. */
function answeringServer(m: ClusterManifests, r: PodLookup): 'cluster' | 'upstream' | null {
  const hit = r.lookup.queries.find((q) => typeof q.reply === 'object' && q.reply.rcode === 'NOERROR' && q.reply.addresses.length > 0);
  if (!hit) return null;
  return serviceAt(m, hit.query.server) ? 'cluster' : 'upstream';
}

/** The Service a name means as CoreDNS's kubernetes plugin reads it: svc, svc.ns, svc.ns.svc, svc.ns.svc.DOMAIN. */
export function intendedService(m: ClusterManifests, name: string, namespace: string, domain: string): Service | undefined {
  let n = name.replace(/\.$/, '').toLowerCase();
  const d = `.svc.${domain.replace(/\.$/, '').toLowerCase()}`;
  if (n.endsWith(d)) n = n.slice(0, -d.length);
  else if (n.endsWith('.svc')) n = n.slice(0, -4);
  const labels = n.split('.');
  if (labels.length > 2) return undefined;
  const [svc, ns = namespace] = labels;
  return m.services.find((s) => s.metadata.name === svc && s.metadata.namespace === ns);
}

function failure(input: WhyInput, r: PodLookup, meant: Service | undefined): { summary: string; fix: string } {
  const { target, client, manifests: m } = input;
  const outcome = r.lookup.result.outcome;
  const dns = r.resolvConf.nameservers.map((ip) => serviceAt(m, ip)).find((s) => s !== undefined);
  const unreachable = r.lookup.queries.some((q) => q.reply === 'unreachable');
  if (dns && unreachable) {
    const ref = `${dns.metadata.namespace}/${dns.metadata.name}`;
    const cause = explainService(m, ref).likelyCause ?? 'no ready endpoint';
    return {
      summary: `${target.host} does not resolve (${outcome}): the cluster DNS Service ${ref} (${dns.spec.clusterIP}) has no ready endpoints: ${cause}`,
      fix: `make the CoreDNS pods Ready (svcsim endpoints --explain ${ref} says pod by pod why they are not)`,
    };
  }
  const clusterName = meant !== undefined || target.host.endsWith(`.${input.kubelet.clusterDomain}`);
  if (clusterName && !r.resolvConf.nameservers.some((ip) => input.kubelet.clusterDns.includes(ip))) {
    const where = client.kind === 'node' ? `node ${client.node}'s resolv.conf` : `pod ${client.ref}'s resolv.conf (dnsPolicy ${r.dnsPolicy})`;
    return {
      summary: `${target.host} does not resolve (${outcome}): ${where} does not use the cluster DNS (${input.kubelet.clusterDns.join(', ')}), and no other resolver knows cluster names`,
      fix: noClusterDnsFix(input, meant),
    };
  }
  if (outcome === 'timeout') {
    return { summary: `${target.host} does not resolve: no nameserver answered (${r.resolvConf.nameservers.join(', ') || 'none'})`, fix: 'check that the cluster DNS Service exists with the ClusterIP kubelet --cluster-dns names' };
  }
  const svcs = m.services.filter((s) => s.metadata.name === target.host.split('.')[0]).map((s) => `${s.metadata.name}.${s.metadata.namespace}`);
  return {
    summary: `${target.host} does not resolve (${outcome}): no Service by that name${target.host.includes('.') ? '' : ` in the client's namespace ${client.namespace}`}`,
    fix: svcs.length ? `name the Service with its namespace: ${svcs.join(' or ')}` : 'check the Service name and namespace (kubectl get svc -A)',
  };
}

function noClusterDnsFix(input: WhyInput, meant: Service | undefined): string {
  const { target, client } = input;
  const alt = meant?.spec.clusterIP && meant.spec.clusterIP !== 'None' ? `${target.scheme}://${meant.spec.clusterIP}:${target.port}` : 'the ClusterIP';
  if (client.kind === 'node') return `from a node's host network, use the address (${alt}), or run the test in a pod; a hostNetwork pod needs dnsPolicy: ClusterFirstWithHostNet`;
  return `set dnsPolicy: ClusterFirstWithHostNet on the pod (kubelet gives a hostNetwork pod with ClusterFirst the node's resolv.conf), or use ${alt}`;
}

/** The query that got the addresses asked for a name outside the cluster domain. */
function answeredOutside(r: PodLookup, domain: string): boolean {
  const hit = r.lookup.queries.find((q) => typeof q.reply === 'object' && q.reply.rcode === 'NOERROR' && q.reply.addresses.length > 0);
  const name = hit?.query.name.replace(/\.$/, '') ?? '';
  return !name.endsWith(`.${domain.replace(/\.$/, '')}`);
}
