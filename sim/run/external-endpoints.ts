import type { Endpoint } from '../proxy/endpoint.ts';

/**
 * The endpoints kube-proxy programs for traffic to a node port, load balancer address or external IP
 * (pkg/proxy/topology.go CategorizeEndpoints, the list externalTrafficPolicy picks):
 * - Cluster: the Service's Ready endpoints, cluster-wide; when none is Ready, its serving-terminating
 *   ones (KEP-1669, kubernetes/enhancements keps/sig-network/1669-proxy-terminating-endpoints,
 *   stable in v1.28; the fallback is chosen for the Cluster and Local lists independently);
 * - Local: the Ready endpoints on the receiving node; when none, that node's serving-terminating ones.
 * `fallback` false gives the behaviour before KEP-1669: Ready endpoints only. Topology hints are
 * left out: runs give no endpoint a hint. `serving` is every serving endpoint of the service port
 * (EndpointTimeline.servingAt), with its conditions.
 */
export function externalEndpoints(serving: readonly Endpoint[], local: boolean, nodeName: string, fallback: boolean): Endpoint[] {
  const here = local ? serving.filter((e) => e.nodeName === nodeName) : serving;
  const ready = here.filter((e) => e.ready);
  if (ready.length > 0 || !fallback) return ready;
  return here.filter((e) => e.serving && e.terminating);
}

/**
 * Distinct IPs of the node's local Ready endpoints: what kube-proxy's healthCheckNodePort server
 * reports as localEndpoints (pkg/proxy/endpoints.go LocalReadyEndpoints counts IPs, terminating
 * endpoints excluded, so a node whose last local pod is terminating answers 503 and drains).
 */
export function localReadyEndpoints(serving: readonly Endpoint[], nodeName: string): number {
  const ips = new Set<string>();
  for (const e of serving) if (e.nodeName === nodeName && e.ready) ips.add(e.ip);
  return ips.size;
}
