/**
 * kube-proxy's iptables chain names.
 *
 * kubernetes/kubernetes pkg/proxy/iptables/proxier.go (portProtoHash, servicePortEndpointChainName):
 * sha256 of the ServicePortName string + the lower-case protocol (+ the endpoint "ip:port" for
 * KUBE-SEP-), base32 (RFC 4648 standard alphabet), first 16 characters, behind a prefix. Chain
 * names must stay within iptables' 28 characters, hence the hash.
 *
 * Hashing is the dominant cost of naming, and every node computes the same names, so results are
 * kept in a ChainNameCache that nodes may share.
 */
import { createHash } from 'node:crypto';
import type { Protocol } from '../service-port.ts';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';
export const KUBE_PROXY_CANARY = 'KUBE-PROXY-CANARY';
/** kubelet's anti-martian chain, which kube-proxy also writes when localhost NodePorts are on. */
export const KUBE_FIREWALL = 'KUBE-FIREWALL';

export const SVC_PREFIX = 'KUBE-SVC-';
export const SVL_PREFIX = 'KUBE-SVL-';
export const FW_PREFIX = 'KUBE-FW-';
export const EXT_PREFIX = 'KUBE-EXT-';
export const SEP_PREFIX = 'KUBE-SEP-';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** The first 16 base32 characters of a digest: 80 bits, exactly the first 10 bytes. */
function base32First16(d: Uint8Array): string {
  let out = '';
  for (let g = 0; g < 10; g += 5) {
    // 5 bytes -> 8 characters.
    const b0 = d[g]!, b1 = d[g + 1]!, b2 = d[g + 2]!, b3 = d[g + 3]!, b4 = d[g + 4]!;
    out +=
      BASE32[b0 >> 3]! +
      BASE32[((b0 & 0x07) << 2) | (b1 >> 6)]! +
      BASE32[(b1 >> 1) & 0x1f]! +
      BASE32[((b1 & 0x01) << 4) | (b2 >> 4)]! +
      BASE32[((b2 & 0x0f) << 1) | (b3 >> 7)]! +
      BASE32[(b3 >> 2) & 0x1f]! +
      BASE32[((b3 & 0x03) << 3) | (b4 >> 5)]! +
      BASE32[b4 & 0x1f]!;
  }
  return out;
}

/** portProtoHash: the 16-character hash shared by a service port's SVC/SVL/EXT/FW chains. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return base32First16(createHash('sha256').update(servicePortName + protocol).digest());
}

/** The hash behind KUBE-SEP-: the service port name, protocol and endpoint "ip:port". */
export function endpointHash(servicePortName: string, protocol: string, endpoint: string): string {
  return base32First16(createHash('sha256').update(servicePortName + protocol + endpoint).digest());
}

export function lowerProtocol(p: Protocol): string {
  return p === 'TCP' ? 'tcp' : p === 'UDP' ? 'udp' : 'sctp';
}

/** The four per-service-port chain names (kube-proxy's servicePortInfo caches the same four). */
export interface ServicePortChains {
  readonly svc: string;
  readonly svl: string;
  readonly ext: string;
  readonly fw: string;
}

export function isServiceChainName(name: string): boolean {
  return (
    name.startsWith(SVC_PREFIX) ||
    name.startsWith(SVL_PREFIX) ||
    name.startsWith(SEP_PREFIX) ||
    name.startsWith(FW_PREFIX) ||
    name.startsWith(EXT_PREFIX)
  );
}

/**
 * Memoised chain names. Keys are the inputs of the hash, so the cache is correct for any mix of
 * nodes and states; it only grows with distinct service ports and endpoints.
 */
export class ChainNameCache {
  private readonly ports = new Map<string, ServicePortChains>();
  private readonly endpoints = new Map<string, Map<string, string>>();

  servicePortChains(servicePortName: string, protocol: Protocol): ServicePortChains {
    const proto = lowerProtocol(protocol);
    const key = servicePortName + '\u0000' + proto;
    let c = this.ports.get(key);
    if (!c) {
      const h = portProtoHash(servicePortName, proto);
      c = { svc: SVC_PREFIX + h, svl: SVL_PREFIX + h, ext: EXT_PREFIX + h, fw: FW_PREFIX + h };
      this.ports.set(key, c);
    }
    return c;
  }

  /**
   * The KUBE-SEP- names of one service port, keyed by endpoint "ip:port". Fetch it once per service
   * port and look endpoints up in it: no key strings are built per endpoint.
   */
  endpointChains(servicePortName: string, protocol: Protocol): EndpointChainNames {
    const proto = lowerProtocol(protocol);
    const key = servicePortName + '\u0000' + proto;
    let m = this.endpoints.get(key);
    if (!m) {
      m = new Map();
      this.endpoints.set(key, m);
    }
    return new EndpointChainNames(servicePortName, proto, m);
  }

  endpointChain(servicePortName: string, protocol: Protocol, endpoint: string): string {
    return this.endpointChains(servicePortName, protocol).get(endpoint);
  }
}

export class EndpointChainNames {
  constructor(
    private readonly servicePortName: string,
    private readonly proto: string,
    private readonly names: Map<string, string>,
  ) {}

  get(endpoint: string): string {
    let c = this.names.get(endpoint);
    if (c === undefined) {
      c = SEP_PREFIX + endpointHash(this.servicePortName, this.proto, endpoint);
      this.names.set(endpoint, c);
    }
    return c;
  }
}
