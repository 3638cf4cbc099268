import type { ClusterManifests } from '../k8s/manifests.ts';
import type { Pod, Service } from '../k8s/objects.ts';
import { endpointSlicesForService } from '../k8s/static-endpoints.ts';
import type { ClusterNames, DnsService } from './names.ts';
import type { PodDnsInput } from './resolv-conf.ts';

/**
 * The DNS view of a set of manifests: the names the cluster answers (Services with their ClusterIP,
 * headless ones with their ready endpoints as the EndpointSlice controller would list them), a
 * pod's DNS settings, and whether the cluster DNS Service has an endpoint to answer.
 */

export function podDnsInput(pod: Pod): PodDnsInput {
  return {
    namespace: pod.metadata.namespace ?? 'default',
    dnsPolicy: pod.spec.dnsPolicy,
    hostNetwork: pod.spec.hostNetwork,
    dnsConfig: pod.spec.dnsConfig,
  };
}

/** Ready endpoint addresses of a Service, from the slices the manifests give or the controller would write. */
export function readyAddresses(m: ClusterManifests, service: Service): string[] {
  const out: string[] = [];
  for (const slice of endpointSlicesForService(m, service)) {
    // EndpointConditions: a nil ready is read as ready (discovery/v1 types.go).
    for (const e of slice.endpoints ?? []) if (e.conditions?.ready !== false) out.push(...e.addresses);
  }
  return [...new Set(out)];
}

export function clusterNamesFromManifests(m: ClusterManifests, domain: string, missingExternal: readonly string[] = []): ClusterNames {
  const services: DnsService[] = m.services
    .filter((s) => s.spec.type !== 'ExternalName')
    .map((s) => {
      const headless = s.spec.clusterIP === undefined || s.spec.clusterIP === 'None' || s.spec.clusterIP === '';
      return { name: s.metadata.name, namespace: s.metadata.namespace ?? 'default', clusterIP: s.spec.clusterIP, ...(headless ? { readyAddresses: readyAddresses(m, s) } : {}) };
    });
  const namespaces = [...new Set([...m.pods, ...m.deployments, ...m.replicaSets].map((o) => o.metadata.namespace ?? 'default'))];
  return { domain, services, namespaces, missingExternal };
}

/** The Service whose ClusterIP is `ip` (kube-dns for the cluster DNS address), if the manifests have one. */
export function serviceAt(m: ClusterManifests, ip: string): Service | undefined {
  return m.services.find((s) => s.spec.clusterIP === ip || (s.spec.clusterIPs ?? []).includes(ip));
}
