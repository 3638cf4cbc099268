import { z } from 'zod';
import { count, duration } from './schema-fields.ts';

/** `proxy.conntrack`: the conntrack table size and timeouts kube-proxy and the kernel set. */

export const conntrackSchema = z
  .strictObject({
    max: count('nf_conntrack_max. Default: kube-proxy sets max(maxPerCore * cpusPerNode, min).').optional(),
    maxPerCore: z.number().int().nonnegative().default(32768).describe('kube-proxy conntrack.maxPerCore. Default 32768.'),
    min: z.number().int().nonnegative().default(131072).describe('kube-proxy conntrack.min. Default 131072.'),
    tcpEstablishedTimeout: duration('nf_conntrack_tcp_timeout_established as kube-proxy sets it. Default 24h.').prefault('24h'),
    tcpCloseWaitTimeout: duration('nf_conntrack_tcp_timeout_close_wait as kube-proxy sets it. Default 1h.').prefault('1h'),
    tcpTimeWaitTimeout: duration('nf_conntrack_tcp_timeout_time_wait (kernel default 120s; kube-proxy leaves it).').prefault('120s'),
    udpTimeout: duration('nf_conntrack_udp_timeout (kernel default 30s).').prefault('30s'),
    udpStreamTimeout: duration('nf_conntrack_udp_timeout_stream (kernel default 120s).').prefault('120s'),
  })
  .describe('Conntrack table size and timeouts (kube-proxy KubeProxyConfiguration.conntrack and kernel sysctls).');
