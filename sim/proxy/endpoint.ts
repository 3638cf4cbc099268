/**
 * kube-proxy's view of one endpoint of one service port.
 *
 * Mirrors kubernetes/kubernetes pkg/proxy/endpoint.go (BaseEndpointInfo) as built by
 * pkg/proxy/endpointslicecache.go from an EndpointSlice endpoint: the first address, the slice
 * port's number, the three conditions with the API's nil defaults (ready and serving default to
 * true, terminating to false), whether the endpoint's nodeName is this node, and topology hints.
 */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
  /** net.JoinHostPort(ip, port): "10.180.0.1:80". Also the sort key and the identity of an endpoint. */
  readonly endpoint: string;
  /** Running on the node this kube-proxy programs (endpoint.nodeName == node name). */
  readonly isLocal: boolean;
  /** conditions.ready: ready and not terminating (or publishNotReadyAddresses). */
  readonly ready: boolean;
  /** conditions.serving: ready regardless of terminating. */
  readonly serving: boolean;
  readonly terminating: boolean;
  readonly nodeName: string;
  readonly zone: string;
  /** hints.forZones[].name; empty when the endpoint carries no zone hints. */
  readonly zoneHints: ReadonlySet<string>;
  /** hints.forNodes[].name; empty when the endpoint carries no node hints. */
  readonly nodeHints: ReadonlySet<string>;
}

const NO_HINTS: ReadonlySet<string> = new Set<string>();

export interface EndpointInit {
  ip: string;
  port: number;
  isLocal?: boolean;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
  nodeName?: string;
  zone?: string;
  zoneHints?: Iterable<string>;
  nodeHints?: Iterable<string>;
}

/** Builds an Endpoint with the EndpointSlice API's defaults for absent conditions. */
export function makeEndpoint(init: EndpointInit): Endpoint {
  const zoneHints = init.zoneHints ? new Set(init.zoneHints) : NO_HINTS;
  const nodeHints = init.nodeHints ? new Set(init.nodeHints) : NO_HINTS;
  return {
    ip: init.ip,
    port: init.port,
    endpoint: joinHostPort(init.ip, init.port),
    isLocal: init.isLocal ?? false,
    ready: init.ready ?? true,
    serving: init.serving ?? true,
    terminating: init.terminating ?? false,
    nodeName: init.nodeName ?? '',
    zone: init.zone ?? '',
    zoneHints: zoneHints.size ? zoneHints : NO_HINTS,
    nodeHints: nodeHints.size ? nodeHints : NO_HINTS,
  };
}

/** Go's net.JoinHostPort: IPv6 literals are bracketed. */
export function joinHostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The order kube-proxy keeps a service port's endpoints in: by the "ip:port" string, compared as
 * bytes (endpointslicecache.go byEndpoint). This is a string order, so 10.0.0.10 sorts before
 * 10.0.0.2 — which matters because the iptables and nftables rules list endpoints in this order.
 */
export function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return a.endpoint < b.endpoint ? -1 : a.endpoint > b.endpoint ? 1 : 0;
}
