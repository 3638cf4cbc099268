import { InputError } from '../io/input-error.ts';
import { cidrSize, formatCidr, parseIPv4, prefixMask, tryParseCidr, type Cidr } from '../net/ipv4.ts';
import type { RandomStream } from '../engine/random.ts';

/**
 * Address allocation the way a kubeadm cluster does it, with its defaults:
 * - ClusterIPs from the service CIDR (--service-cluster-ip-range, kubeadm 10.96.0.0/12), chosen at
 *   random among free addresses like the API server's bitmap allocator
 *   (pkg/registry/core/service/ipallocator); 10.96.0.1 goes to the `kubernetes` Service first.
 * - One pod CIDR per node (kube-controller-manager --allocate-node-cidrs with --cluster-cidr and
 *   --node-cidr-mask-size 24), in order (pkg/controller/nodeipam/ipam/cidrset).
 * - Pod IPs per node from the node's CIDR in order, skipping the network address and the bridge's
 *   .1, wrapping around over freed addresses (the host-local IPAM plugin of containernetworking/plugins).
 * Addresses are sim/net's integers and CIDRs.
 */

/**
 * A CIDR as Kubernetes takes it in --service-cluster-ip-range and --cluster-cidr: a prefix length is
 * required and the address must be the network address (the API server refuses 10.96.0.1/12, where
 * iptables, and net's parseCidr, would silently clear the host bits).
 */
export function parseNetworkCidr(s: string, where = 'cidr'): Cidr {
  const slash = s.indexOf('/');
  const c = slash < 0 || !/^[0-9]{1,2}$/.test(s.slice(slash + 1)) ? undefined : tryParseCidr(s);
  if (c === undefined) throw new InputError(where, 'an IPv4 CIDR such as 10.244.0.0/16', JSON.stringify(s));
  if (c.addr !== parseIPv4(s.slice(0, slash), where)) {
    throw new InputError(where, `a CIDR whose address is its network address (${formatCidr(c)})`, JSON.stringify(s));
  }
  return c;
}

export class ClusterIPAllocator {
  private readonly used = new Set<number>();
  constructor(
    readonly cidr: Cidr,
    private readonly rng: RandomStream,
  ) {}
  /** Reserves a specific address (a Service that names its clusterIP, or the `kubernetes` Service's .1). */
  reserve(ip: number): void {
    this.used.add(ip);
  }
  allocate(): number {
    const usable = cidrSize(this.cidr) - 2;
    if (this.used.size >= usable) throw new InputError('service CIDR', `room for more Services in ${formatCidr(this.cidr)}`, `${this.used.size} addresses in use`);
    for (;;) {
      const ip = this.cidr.addr + 1 + Math.floor(this.rng.random() * usable);
      if (!this.used.has(ip)) {
        this.used.add(ip);
        return ip;
      }
    }
  }
}

export class NodeCidrAllocator {
  private next = 0;
  readonly perNode: number;
  constructor(
    readonly clusterCidr: Cidr,
    readonly nodeMaskSize = 24,
  ) {
    this.perNode = 2 ** (32 - nodeMaskSize);
  }
  get capacity(): number {
    return cidrSize(this.clusterCidr) / this.perNode;
  }
  allocate(): Cidr {
    if (this.next >= this.capacity) {
      throw new InputError('cluster CIDR', `room for another /${this.nodeMaskSize} in ${formatCidr(this.clusterCidr)}`, `${this.capacity} node CIDRs already allocated`);
    }
    const addr = this.clusterCidr.addr + this.perNode * this.next++;
    return { addr, prefix: this.nodeMaskSize, mask: prefixMask(this.nodeMaskSize) };
  }
}

/** host-local IPAM over one node's CIDR: .2 upward (.1 is the bridge), wrapping, skipping used ones. */
export class PodIPAllocator {
  private readonly used = new Set<number>();
  private last: number;
  constructor(readonly cidr: Cidr) {
    this.last = cidr.addr + 1;
  }
  allocate(): number | undefined {
    const first = this.cidr.addr + 2;
    const lastUsable = this.cidr.addr + cidrSize(this.cidr) - 2; // not the broadcast address
    const span = lastUsable - first + 1;
    for (let i = 0; i < span; i++) {
      let ip = this.last + 1 + i;
      if (ip > lastUsable) ip = first + ((ip - first) % span);
      if (!this.used.has(ip)) {
        this.used.add(ip);
        this.last = ip;
        return ip;
      }
    }
    return undefined;
  }
  release(ip: number): void {
    this.used.delete(ip);
  }
  /**
   * Marks an address in use (a pod that already runs when the simulation starts). Those pods were
   * allocated upward from .2, so host-local's last_reserved_ip is the highest of them: the next pod
   * gets the address after it, not the one a just-deleted pod freed (containernetworking/plugins,
   * plugins/ipam/host-local/backend/allocator/allocator.go, GetIter starts after the last reserved IP).
   */
  reserve(ip: number): void {
    this.used.add(ip);
    if (ip > this.last) this.last = ip;
  }
  get inUse(): number {
    return this.used.size;
  }
}
