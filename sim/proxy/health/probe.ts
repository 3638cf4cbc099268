import type { Nanos } from '../../engine/time.ts';
import { healthz, type ProxyHealthState, proxyHealth } from './proxy-health.ts';
import { serviceHealth } from './service-health.ts';

/**
 * A cloud load balancer's probe of one node, answered from the node's state: the glue between the
 * health servers here and sim/cloud's load balancer (whose ProbeResult and HealthCheckTarget this
 * mirrors; proxy may not import cloud, so the run passes these through).
 * - the node itself is gone or unreachable: no answer (the probe times out);
 * - `kube-proxy-healthz`: kube-proxy's /healthz on :10256 (200 or 503);
 * - `health-check-node-port`: the Service's healthCheckNodePort server (200 or 503);
 * - `traffic-port`: a TCP connect to the node port: a SYN-ACK passes, a RST (REJECT, no listener)
 *   fails at once, a drop (DROP rule, an endpoint that does not answer) fails at the timeout.
 */
export type ProbeTarget = 'kube-proxy-healthz' | 'health-check-node-port' | 'traffic-port';

/** What a TCP connect to the node port would get now. */
export type TrafficPortAnswer = 'accepts' | 'refuses' | 'drops';

export interface NodeProbeState {
  /** The node answers at all (its VM runs and the path to it works). */
  reachable: boolean;
  proxy: ProxyHealthState;
  /** The Service's local Ready endpoint count from the node's last applied sync (localReadyEndpoints). */
  localReadyEndpoints: number;
  /** Only read for `traffic-port` probes. */
  trafficPort?: TrafficPortAnswer;
}

export function answerProbe(target: ProbeTarget, s: NodeProbeState, service: { namespace: string; name: string }, now: Nanos): { ok: boolean; answered: boolean } {
  if (!s.reachable) return { ok: false, answered: false };
  switch (target) {
    case 'kube-proxy-healthz':
      return { ok: healthz(s.proxy, now).status === 200, answered: true };
    case 'health-check-node-port':
      return { ok: serviceHealth(service, s.localReadyEndpoints, proxyHealth(s.proxy, now).healthy).status === 200, answered: true };
    case 'traffic-port': {
      const a = s.trafficPort ?? 'accepts';
      return { ok: a === 'accepts', answered: a !== 'drops' };
    }
  }
}
