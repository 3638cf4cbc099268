/**
 * IPVS objects as the kernel holds them (torvalds/linux include/net/ip_vs.h struct ip_vs_service,
 * struct ip_vs_dest) and ipvsadm shows them: a virtual server per (protocol, address, port) with a
 * scheduler, flags and optional persistence, and its real servers with a forwarding method, a weight
 * and connection counters.
 */
export type IpvsProtocol = 'TCP' | 'UDP' | 'SCTP';
export const IPVS_PROTOCOLS: readonly IpvsProtocol[] = ['TCP', 'UDP', 'SCTP'];

/** Forwarding methods (ipvsadm -m/-g/-i): kube-proxy uses masquerading (NAT) only. */
export type ForwardMethod = 'Masq' | 'Route' | 'Tunnel';

/**
 * The schedulers sim/ipvs/schedulers.ts implements: what `render --ipvs-scheduler` and the scenario
 * schema accept (rr is kube-proxy's default). The kernel also ships lblc and lblcr (locality-based,
 * for caches), which are not modelled.
 */
export const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq', 'mh'] as const;
export type SchedulerName = (typeof SCHEDULERS)[number];

export function isSchedulerName(s: string): s is SchedulerName {
  return (SCHEDULERS as readonly string[]).includes(s);
}

/** IP protocol numbers, the order ipvsadm sorts services by. */
export const IPVS_PROTOCOL_NUMBER: Readonly<Record<IpvsProtocol, number>> = { TCP: 6, UDP: 17, SCTP: 132 };

/** Service flags (include/uapi/linux/ip_vs.h IP_VS_SVC_F_*). */
export const IP_VS_SVC_F_PERSISTENT = 0x0001;
export const IP_VS_SVC_F_HASHED = 0x0002;
export const IP_VS_SVC_F_ONEPACKET = 0x0004;
/** Scheduler flags: for sh and mh, SCHED1 is "fallback" and SCHED2 is "port" (hash the source port too). */
export const IP_VS_SVC_F_SCHED1 = 0x0008;
export const IP_VS_SVC_F_SCHED2 = 0x0010;
export const IP_VS_SVC_F_SCHED3 = 0x0020;

export interface RealServer {
  readonly addr: number;
  readonly port: number;
  forward: ForwardMethod;
  /** 0 = quiescent: no new connections (kube-proxy's graceful termination sets it). */
  weight: number;
  /** Connections in ESTABLISHED (TCP) — ip_vs_dest.activeconns. */
  activeConns: number;
  /** Other connections (TCP not established, all UDP) — ip_vs_dest.inactconns. */
  inactiveConns: number;
  /** Persistence templates pointing here — ip_vs_dest.persistconns. */
  persistConns: number;
  /** IP_VS_DEST_F_OVERLOAD (upper threshold reached); never set by kube-proxy. */
  overloaded: boolean;
  /** False once deleted from its service (the kernel keeps it in a trash list while connections refer to it). */
  available: boolean;
}

export interface VirtualServer {
  readonly protocol: IpvsProtocol;
  readonly addr: number;
  readonly port: number;
  scheduler: SchedulerName;
  /** IP_VS_SVC_F_* bits other than HASHED (always set for a non-fwmark service). */
  flags: number;
  /** Persistence timeout in seconds (ipvsadm -p), meaningful with IP_VS_SVC_F_PERSISTENT. */
  timeoutSeconds: number;
  /** Persistence netmask (ipvsadm -M), 0xffffffff by default. */
  netmask: number;
  /** In the kernel's list order (order of insertion); ipvsadm sorts them for display. */
  readonly dests: RealServer[];
}

export interface VirtualServerSpec {
  protocol: IpvsProtocol;
  addr: number;
  port: number;
  scheduler: SchedulerName;
  flags: number;
  timeoutSeconds: number;
}

export function isPersistent(vs: { flags: number }): boolean {
  return (vs.flags & IP_VS_SVC_F_PERSISTENT) !== 0;
}

export function makeRealServer(addr: number, port: number, weight = 1, forward: ForwardMethod = 'Masq'): RealServer {
  return { addr, port, forward, weight, activeConns: 0, inactiveConns: 0, persistConns: 0, overloaded: false, available: true };
}

export function makeVirtualServer(spec: VirtualServerSpec): VirtualServer {
  return {
    protocol: spec.protocol,
    addr: spec.addr >>> 0,
    port: spec.port,
    scheduler: spec.scheduler,
    flags: spec.flags,
    timeoutSeconds: spec.timeoutSeconds,
    netmask: 0xffffffff,
    dests: [],
  };
}

/** "TCP/167772161/80": the map key of a virtual server. */
export function virtualServerKey(protocol: IpvsProtocol, addr: number, port: number): string {
  return `${protocol}/${addr >>> 0}/${port}`;
}
