import type { Endpoint } from '../endpoint.ts';
import type { HealthStatusCode } from './proxy-health.ts';

/**
 * The per-Service health check server kube-proxy opens on spec.healthCheckNodePort for every
 * Service with externalTrafficPolicy Local (kubernetes/kubernetes pkg/proxy/healthcheck/
 * service_health.go, hcHandler.ServeHTTP; any path is served, load balancers ask for /healthz,
 * k8s.io/cloud-provider service/helpers GetServiceHealthCheckPathPort):
 * - 200 when the local endpoint count is not 0 and the proxy is healthy (IsHealthy / Health().Healthy:
 *   the sync-staleness rule only; the Node's deletion or taint does NOT fail it), else 503;
 * - the body is {"service": {"namespace", "name"}, "localEndpoints": N, "serviceProxyHealthy": bool};
 * - since v1.28 (kubernetes/kubernetes#118999) the header X-Load-Balancing-Endpoint-Weight carries N.
 * The count is what the proxier last handed to SyncEndpoints at the end of a successful sync
 * (endpointsMap.LocalReadyEndpoints()), not the API's current state: a run passes the count of the
 * rules the node has applied.
 */
export interface ServiceHealthResponse {
  status: HealthStatusCode;
  headers: { 'X-Load-Balancing-Endpoint-Weight': string };
  body: { service: { namespace: string; name: string }; localEndpoints: number; serviceProxyHealthy: boolean };
}

export function serviceHealth(service: { namespace: string; name: string }, localEndpoints: number, proxyHealthy: boolean): ServiceHealthResponse {
  return {
    status: localEndpoints !== 0 && proxyHealthy ? 200 : 503,
    headers: { 'X-Load-Balancing-Endpoint-Weight': String(localEndpoints) },
    body: { service: { namespace: service.namespace, name: service.name }, localEndpoints, serviceProxyHealthy: proxyHealthy },
  };
}

/**
 * EndpointsMap.LocalReadyEndpoints for one Service (pkg/proxy/endpoints.go getLocalReadyEndpointIPs):
 * endpoints that are Ready (so not terminating: a serving-terminating endpoint does not count, so a
 * node left with only terminating endpoints answers 503, KEP-1669) and local, counted by distinct IP
 * over all the Service's ports (10.0.0.1:80 and 10.0.0.1:443 are one).
 */
export function localReadyEndpoints(endpointsByPort: Iterable<Iterable<Endpoint>>): number {
  const ips = new Set<string>();
  for (const eps of endpointsByPort) for (const ep of eps) if (ep.ready && ep.isLocal) ips.add(ep.ip);
  return ips.size;
}
