/**
 * From Kubernetes API objects (Services, EndpointSlices) to kube-proxy's internal model.
 *
 * Services: kubernetes/kubernetes pkg/proxy/servicechangetracker.go (serviceToServiceMap) and
 * pkg/proxy/serviceport.go (newBaseServiceInfo), with pkg/api/v1/service/util.go for the policies.
 * EndpointSlices: pkg/proxy/endpointslicecache.go (newEndpointSliceInfo, endpointInfoByServicePort,
 * addEndpoints, endpointsMapFromEndpointInfo). This simulator is IPv4-only: like kube-proxy's IPv4
 * proxier, it ignores IPv6 cluster IPs, external IPs, source ranges and endpoints.
 */
import type { EndpointSlice, Service } from '../k8s/objects.ts';
import { DEFAULT_CLIENT_IP_AFFINITY_SECONDS, LABEL_SERVICE_NAME } from '../k8s/objects.ts';
import type { Endpoint } from './endpoint.ts';
import { compareEndpoints, makeEndpoint } from './endpoint.ts';
import type { ProxyState } from './proxy-state.ts';
import type { Protocol, ServicePort, ServicePortName } from './service-port.ts';
import { servicePortNameId, servicePortNameString } from './service-port.ts';

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isIPv4(s: string): boolean {
  return IPV4.test(s);
}

function isIPv4CIDR(s: string): boolean {
  const slash = s.indexOf('/');
  if (slash < 0) return false;
  const bits = Number(s.slice(slash + 1));
  return isIPv4(s.slice(0, slash)) && Number.isInteger(bits) && bits >= 0 && bits <= 32;
}

/** proxyutil.GetClusterIPByFamily for IPv4: the IPv4 entry of clusterIPs, else clusterIP if IPv4. */
function clusterIPv4(svc: Service): string {
  const ips = svc.spec.clusterIPs;
  if (ips && ips.length) return ips.find(isIPv4) ?? '';
  const ip = svc.spec.clusterIP ?? '';
  return isIPv4(ip) ? ip : '';
}

/** pkg/api/v1/service ExternallyAccessible (by type, unlike ServicePort's, which looks at ports). */
function serviceExternallyAccessible(svc: Service): boolean {
  const t = svc.spec.type ?? 'ClusterIP';
  return t === 'LoadBalancer' || t === 'NodePort' || (t === 'ClusterIP' && (svc.spec.externalIPs?.length ?? 0) > 0);
}

/**
 * The service ports kube-proxy programs for one Service: none for ExternalName and headless
 * Services (proxyutil.ShouldSkipService) or when the Service has no IPv4 cluster IP.
 */
export function servicePortsFromService(svc: Service): ServicePort[] {
  const spec = svc.spec;
  const type = spec.type ?? 'ClusterIP';
  if (type === 'ExternalName' || spec.clusterIP === 'None' || spec.clusterIP === '') return [];
  const clusterIP = clusterIPv4(svc);
  if (clusterIP === '') return [];
  const externallyAccessible = serviceExternallyAccessible(svc);
  const externalPolicyLocal = externallyAccessible && spec.externalTrafficPolicy === 'Local';
  const internalPolicyLocal = spec.internalTrafficPolicy === 'Local';
  const clientIP = spec.sessionAffinity === 'ClientIP';
  const stickyMaxAgeSeconds = clientIP
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_CLIENT_IP_AFFINITY_SECONDS)
    : 0;
  const externalIPs = (spec.externalIPs ?? []).filter(isIPv4);
  // The API accepts whitespace around source ranges; kube-proxy trims it (serviceport.go).
  const loadBalancerSourceRanges = (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter(isIPv4CIDR);
  const loadBalancerVIPs: string[] = [];
  for (const ing of svc.status?.loadBalancer?.ingress ?? []) {
    // Only VIP-mode ingress IPs get rules (proxyutil.IsVIPMode; ipMode unset means VIP).
    if (ing.ip && (ing.ipMode === undefined || ing.ipMode === 'VIP') && isIPv4(ing.ip)) loadBalancerVIPs.push(ing.ip);
  }
  const healthCheckNodePort = type === 'LoadBalancer' && externalPolicyLocal ? (spec.healthCheckNodePort ?? 0) : 0;
  const namespace = svc.metadata.namespace ?? 'default';
  const out: ServicePort[] = [];
  for (const p of spec.ports ?? []) {
    const protocol: Protocol = p.protocol ?? 'TCP';
    const portName: ServicePortName = { namespace, name: svc.metadata.name, port: p.name ?? '', protocol };
    out.push({
      portName,
      nameString: servicePortNameString(portName),
      id: servicePortNameId(portName),
      clusterIP,
      port: p.port,
      protocol,
      nodePort: p.nodePort ?? 0,
      externalIPs,
      loadBalancerVIPs,
      loadBalancerSourceRanges,
      healthCheckNodePort,
      sessionAffinity: clientIP ? 'ClientIP' : 'None',
      stickyMaxAgeSeconds,
      externalPolicyLocal,
      internalPolicyLocal,
    });
  }
  return out;
}

/**
 * Endpoints per service port id, merged over all of a Service's IPv4 EndpointSlices, deduplicated
 * by "ip:port" (a local copy wins), sorted as kube-proxy sorts them. `nodeName` is this
 * kube-proxy's node ("" = none: no endpoint is local).
 */
export function endpointsFromSlices(slices: readonly EndpointSlice[], nodeName: string): Map<string, Endpoint[]> {
  const byId = new Map<string, Map<string, Endpoint>>();
  for (const slice of slices) {
    const service = slice.metadata.labels?.[LABEL_SERVICE_NAME];
    // endpointSliceCacheKeys: a slice without the service-name label is ignored.
    if (!service || slice.addressType !== 'IPv4') continue;
    const namespace = slice.metadata.namespace ?? 'default';
    for (const port of slice.ports ?? []) {
      // kube-proxy skips ports with a nil name (the controller writes "" for unnamed ports)
      // and ports without a number.
      if (port.name === undefined || !port.port) continue;
      const portName: ServicePortName = { namespace, name: service, port: port.name, protocol: port.protocol ?? 'TCP' };
      const id = servicePortNameId(portName);
      let set = byId.get(id);
      if (!set) byId.set(id, (set = new Map()));
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!ip || !isIPv4(ip)) continue;
        const isLocal = nodeName !== '' && ep.nodeName === nodeName;
        const info = makeEndpoint({
          ip,
          port: port.port,
          isLocal,
          ready: ep.conditions?.ready ?? true,
          serving: ep.conditions?.serving ?? true,
          terminating: ep.conditions?.terminating ?? false,
          nodeName: ep.nodeName ?? '',
          zone: ep.zone ?? '',
          zoneHints: ep.hints?.forZones?.map((z) => z.name),
          nodeHints: ep.hints?.forNodes?.map((n) => n.name),
        });
        if (!set.has(info.endpoint) || isLocal) set.set(info.endpoint, info);
      }
    }
  }
  const out = new Map<string, Endpoint[]>();
  for (const [id, set] of byId) {
    if (set.size === 0) continue;
    out.set(id, [...set.values()].sort(compareEndpoints));
  }
  return out;
}

/** The state a node's kube-proxy would have after seeing exactly these objects. */
export function proxyStateFromObjects(
  services: readonly Service[],
  slices: readonly EndpointSlice[],
  nodeName: string,
): ProxyState {
  const sps = new Map<string, ServicePort>();
  for (const svc of services) for (const sp of servicePortsFromService(svc)) sps.set(sp.id, sp);
  return { services: sps, endpoints: endpointsFromSlices(slices, nodeName) };
}
