import type { ExternalServicePort, ServiceTypes } from './external-services.ts';

/**
 * North-south parts of a run's config (ModelConfig.cluster.serviceTypes, ModelConfig.external),
 * resolved: durations in ns. Absent, the run has no external Services or no external clients.
 */
export type { ServiceTypes };

/** A cloud load balancer's health-check settings (cloud presets: sim/cloud/). */
export interface HealthCheckOverrides {
  intervalNs?: number;
  timeoutNs?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

export interface ExternalClients {
  /** Open loop: Poisson arrivals of new connections from outside, cluster-wide. */
  connectionsPerSecond: number;
  /** Share of LoadBalancer-Service connections sent straight to a node's node port. */
  nodePortShare: number;
  /** Share of clients outside the LoadBalancer Services' source ranges. */
  outsideSourceRanges: number;
  /** KEP-1669: serving-terminating endpoints when no Ready one is left. */
  terminatingFallback: boolean;
  connectTimeoutNs: number;
  /** Round trip between an external client and a node (the Internet side; assumption). */
  rttNs: number;
  provider: string;
  healthCheck: HealthCheckOverrides;
}

/** What the run's external model is given: the externally reachable ports, and the clients if any. */
export interface ExternalSetup {
  ports: readonly ExternalServicePort[];
  clients: ExternalClients | null;
}
