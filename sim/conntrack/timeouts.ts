/**
 * Conntrack timeouts and table size: the kernel's defaults, and what kube-proxy sets on top.
 *
 * Kernel defaults (the sysctls net.netfilter.nf_conntrack_*_timeout_*):
 *   torvalds/linux net/netfilter/nf_conntrack_proto_tcp.c tcp_timeouts[]: SYN_SENT 2 min, SYN_RECV 60 s,
 *   ESTABLISHED 5 days, FIN_WAIT 2 min, CLOSE_WAIT 60 s, LAST_ACK 30 s, TIME_WAIT 2 min, CLOSE 10 s,
 *   SYN_SENT2 2 min.
 *   net/netfilter/nf_conntrack_proto_udp.c udp_timeouts[]: UNREPLIED 30 s, REPLIED ("stream") 120 s.
 *   net/netfilter/nf_conntrack_proto_icmp.c nf_ct_icmp_timeout 30 s;
 *   net/netfilter/nf_conntrack_proto_generic.c nf_ct_generic_timeout 600 s.
 * kube-proxy (kubernetes/kubernetes pkg/proxy/apis/config/v1alpha1/defaults.go, applied by
 *   cmd/kube-proxy/app/conntrack.go): conntrack.tcpEstablishedTimeout 24h -> nf_conntrack_tcp_timeout_established
 *   86400; conntrack.tcpCloseWaitTimeout 1h -> nf_conntrack_tcp_timeout_close_wait 3600;
 *   conntrack.maxPerCore 32768 and conntrack.min 131072 -> nf_conntrack_max = max(maxPerCore * cores, min),
 *   and the hash table is grown to nf_conntrack_max / 4 buckets.
 */
import { SECOND, MINUTE, HOUR, type Nanos } from '../engine/time.ts';
import {
  TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_FIN_WAIT,
  TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_TIME_WAIT, TCP_CONNTRACK_CLOSE,
  TCP_CONNTRACK_SYN_SENT2,
} from './tcp-state.ts';

export interface TcpTimeouts {
  synSent: Nanos;
  synRecv: Nanos;
  established: Nanos;
  finWait: Nanos;
  closeWait: Nanos;
  lastAck: Nanos;
  timeWait: Nanos;
  close: Nanos;
  synSent2: Nanos;
}

export interface ConntrackTimeouts {
  tcp: TcpTimeouts;
  /** nf_conntrack_udp_timeout (no reply seen, or replied within 2 s) and nf_conntrack_udp_timeout_stream. */
  udp: { unreplied: Nanos; stream: Nanos };
  /** nf_conntrack_icmp_timeout. */
  icmp: Nanos;
  /** nf_conntrack_generic_timeout: protocols without their own tracker in this model (sctp). */
  generic: Nanos;
}

const DAY = 24 * HOUR;

export const KERNEL_TIMEOUTS: ConntrackTimeouts = {
  tcp: {
    synSent: 2 * MINUTE,
    synRecv: 60 * SECOND,
    established: 5 * DAY,
    finWait: 2 * MINUTE,
    closeWait: 60 * SECOND,
    lastAck: 30 * SECOND,
    timeWait: 2 * MINUTE,
    close: 10 * SECOND,
    synSent2: 2 * MINUTE,
  },
  udp: { unreplied: 30 * SECOND, stream: 120 * SECOND },
  icmp: 30 * SECOND,
  generic: 600 * SECOND,
};

/** kube-proxy's KubeProxyConntrackConfiguration, the fields that touch the kernel's conntrack. */
export interface KubeProxyConntrackConfig {
  /** conntrack.maxPerCore (default 32768); 0 leaves nf_conntrack_max alone. */
  maxPerCore: number;
  /** conntrack.min (default 131072). */
  min: number;
  /** conntrack.tcpEstablishedTimeout (default 24h); 0 leaves the kernel value. */
  tcpEstablishedTimeout: Nanos;
  /** conntrack.tcpCloseWaitTimeout (default 1h); 0 leaves the kernel value. */
  tcpCloseWaitTimeout: Nanos;
  /** conntrack.udpTimeout / udpStreamTimeout (kube-proxy >= 1.29; default 0 = leave the kernel value). */
  udpTimeout: Nanos;
  udpStreamTimeout: Nanos;
}

export const KUBE_PROXY_CONNTRACK_DEFAULTS: KubeProxyConntrackConfig = {
  maxPerCore: 32 * 1024,
  min: 128 * 1024,
  tcpEstablishedTimeout: 24 * HOUR,
  tcpCloseWaitTimeout: 1 * HOUR,
  udpTimeout: 0,
  udpStreamTimeout: 0,
};

/** The timeouts a node has after kube-proxy started: zero fields mean "do not touch", as in kube-proxy. */
export function kubeProxyTimeouts(
  config: KubeProxyConntrackConfig = KUBE_PROXY_CONNTRACK_DEFAULTS,
  base: ConntrackTimeouts = KERNEL_TIMEOUTS,
): ConntrackTimeouts {
  return {
    tcp: {
      ...base.tcp,
      established: config.tcpEstablishedTimeout > 0 ? config.tcpEstablishedTimeout : base.tcp.established,
      closeWait: config.tcpCloseWaitTimeout > 0 ? config.tcpCloseWaitTimeout : base.tcp.closeWait,
    },
    udp: {
      unreplied: config.udpTimeout > 0 ? config.udpTimeout : base.udp.unreplied,
      stream: config.udpStreamTimeout > 0 ? config.udpStreamTimeout : base.udp.stream,
    },
    icmp: base.icmp,
    generic: base.generic,
  };
}

/**
 * nf_conntrack_max as kube-proxy computes it (cmd/kube-proxy/app/server_linux.go getConntrackMax):
 * maxPerCore * number of CPUs, but at least `min`. Returns 0 when maxPerCore is 0 (leave the kernel's value).
 */
export function kubeProxyConntrackMax(cores: number, config: KubeProxyConntrackConfig = KUBE_PROXY_CONNTRACK_DEFAULTS): number {
  if (config.maxPerCore === 0) return 0;
  return Math.max(config.maxPerCore * cores, config.min);
}

/** Hash buckets kube-proxy leaves behind: it raises nf_conntrack hashsize to max / 4 (cmd/kube-proxy/app/conntrack.go SetMax). */
export function kubeProxyHashsize(max: number): number {
  return Math.max(1, Math.floor(max / 4));
}

/** TCP timeouts indexed by the kernel state number, for the per-packet path. */
export function tcpTimeoutByState(t: TcpTimeouts): Float64Array {
  const a = new Float64Array(10);
  a[TCP_CONNTRACK_SYN_SENT] = t.synSent;
  a[TCP_CONNTRACK_SYN_RECV] = t.synRecv;
  a[TCP_CONNTRACK_ESTABLISHED] = t.established;
  a[TCP_CONNTRACK_FIN_WAIT] = t.finWait;
  a[TCP_CONNTRACK_CLOSE_WAIT] = t.closeWait;
  a[TCP_CONNTRACK_LAST_ACK] = t.lastAck;
  a[TCP_CONNTRACK_TIME_WAIT] = t.timeWait;
  a[TCP_CONNTRACK_CLOSE] = t.close;
  a[TCP_CONNTRACK_SYN_SENT2] = t.synSent2;
  return a;
}
