import type { CostModel, IptablesBackend } from '../cost/cost-model.ts';
import type { ProxyMode } from '../proxy/mode.ts';
import type { ConntrackTimeouts } from '../conntrack/timeouts.ts';
import type { Distribution } from '../engine/distribution.ts';
import type { ChurnSpec, ProbeSpec } from '../k8s/control-plane.ts';
import type { ManifestCluster } from './manifest-cluster.ts';
import type { DnsRunConfig } from './dns-config.ts';
import type { ExternalClients, ServiceTypes } from './external-config.ts';
import type { ConnectSetupConfig } from './connect-setup.ts';
import type { ClusterZones } from './zones.ts';
import type { ServicePolicy } from './service-policy.ts';

/**
 * Everything one run of the model needs, already resolved (durations in ns, defaults applied).
 * The scenario runner maps a scenario's sweep point onto this; the model knows nothing of YAML.
 */
export interface ModelConfig {
  seed: number;
  durationNs: number;
  /** Metrics of the data plane count only connections that start after the warm-up. */
  warmupNs: number;
  timeseriesIntervalNs: number;
  /** Runs without churn: interval of the readiness flap that measures programming latency (0: off). */
  programmingProbeNs: number;
  cluster: {
    nodes: number;
    services: number;
    endpointsPerService: number;
    /** Service port and protocol of every synthetic service. */
    port: number;
    protocol: 'TCP' | 'UDP';
    /**
     * spec.sessionAffinity of every Service, and spec.sessionAffinityConfig.clientIP.timeoutSeconds
     * (in ns, whole seconds). ClientIP: each node's data plane sends a client back to the endpoint it
     * chose last while that endpoint is in the node's rules and the timeout has not passed
     * (sim/proxy/cost/session-affinity.ts).
     */
    sessionAffinity: 'None' | 'ClientIP';
    sessionAffinityTimeoutNs: number;
    /**
     * spec.internalTrafficPolicy of every Service. Local: a node's rules hold only the endpoints on
     * that node, and a client on a node without one is dropped (sim/run/local-endpoints.ts).
     */
    trafficPolicy: 'Cluster' | 'Local';
    /**
     * Ports per Service (default 1): each its own service port for kube-proxy (Service port
     * `port + k`, pods' port 8080 + k; synthetic-endpoints.ts servicePortsOf). A connection goes to a
     * Service, then to one of its ports, uniformly.
     */
    portsPerService?: number;
    /**
     * A static cluster from Kubernetes manifests (manifest-cluster.ts) instead of the synthetic one:
     * its service ports and endpoints, and its nodes (then `nodes` is their number).
     */
    manifest?: ManifestCluster;
    serviceCIDR?: string;
    clusterCIDR?: string;
    /** NodePort, LoadBalancer and externalIPs Services of the synthetic cluster (external-services.ts); absent: all ClusterIP. */
    serviceTypes?: ServiceTypes;
    /** Zones of the nodes, node CPU, and where clients and pods are (zones.ts); absent: no zones, every node alike. */
    zones?: ClusterZones;
    /**
     * Each synthetic Service's own affinity, internalTrafficPolicy and topology policy (service-policy.ts),
     * by Service index; absent: every Service has `sessionAffinity` and `trafficPolicy` above. With it
     * those two fields are None and Cluster. Manifest clusters carry theirs on their ServicePorts.
     */
    policies?: readonly ServicePolicy[];
  };
  /**
   * How first packets are costed: absent, the mode's formula; 'rules', each new connection's first
   * packet walks the client node's compiled rules (sim/proxy/walk/; iptables and nftables only).
   */
  dataPlane?: 'rules';
  /** Clients outside the cluster and the cloud load balancers (external-traffic.ts); absent: none. */
  external?: ExternalClients;
  proxy: {
    mode: ProxyMode;
    iptablesBackend: IptablesBackend;
    minSyncPeriodNs: number;
    /** kube-proxy's syncPeriod: the retry interval after a failed sync. */
    syncPeriodNs: number;
    /** FullSyncPeriod: a full sync at least this often, and the runner's max interval (1h). */
    fullSyncPeriodNs: number;
    syncFailureProbability: number;
  };
  costs: CostModel;
  traffic: {
    model: 'open' | 'closed';
    /** tcp: a connection per exchange; udp: a long-lived socket per client pod (see ClientConntrack). */
    protocol: 'tcp' | 'udp';
    /** Open loop: Poisson arrivals of new connections, cluster-wide. */
    connectionsPerSecond: number;
    /** Closed loop: concurrent clients and the pause between a client's connections. */
    clients: number;
    thinkTime: Distribution;
    requestsPerConnection: number;
    /** Round trip between pods on two nodes (the wire and the stacks; not the netfilter costs). */
    rttNs: number;
    /** Client pods live on nodes 0..sourceNodes-1; they talk to services 0..targetServices-1. */
    sourceNodes: number;
    /** traffic.sourceNodes as node names: client pods on these node indexes instead (sourceNodes is their count). */
    sourceNodeIndexes?: number[];
    clientPodsPerNode: number;
    targetServices: number;
    /**
     * traffic.services: a weight per service port of the timeline (a Service's weight split evenly
     * over its ports); a connection picks a port with probability weight / sum. Undefined: uniform
     * over services 0..targetServices-1.
     */
    serviceWeights?: number[];
    /** Server time per request. */
    requestTime: Distribution;
    /** The client gives up a connect to an address that does not answer (SYN retries) after this. */
    connectTimeoutNs: number;
    /** TCP: shares of connections left in CLOSE_WAIT (server closed, client never) and never closed (ESTABLISHED). */
    halfClosedFraction: number;
    leftOpenFraction: number;
    /** Payload bytes of one request and one response, for crossZone.bytes (topology-metrics.ts); absent: its defaults. */
    requestBytes?: number;
    responseBytes?: number;
  };
  /**
   * The control plane's lags. Used when the run has churn: then the cluster lives in the simulated
   * API server, its controllers and kubelets (sim/k8s/control-plane.ts) decide the endpoints, and each
   * node's kube-proxy hears them through its own watch. Without churn the cluster is static and built
   * directly (no API objects), which is what lets rule-scaling runs reach 50k Services.
   */
  controlPlane: {
    watchLatency: Distribution;
    apiWriteLatency: Distribution;
    podStartupLatency: Distribution;
    endpointSliceBatchPeriodNs: number;
    maxEndpointsPerSlice: number;
    readinessProbe: ProbeSpec;
    /** SIGTERM to process exit (capped by the grace period); undefined: serves until the grace period ends. */
    appExitAfterSigterm?: Distribution;
    nodeMonitorGracePeriodNs: number;
    podEvictionTimeoutNs: number;
  };
  churn: ChurnSpec[];
  conntrack: {
    /** nf_conntrack_max and hash buckets of every node (kube-proxy sets both). */
    max: number;
    buckets: number;
    timeouts: ConntrackTimeouts;
  };
  /** connectSetupLatency's zones, round trips by placement and kernel distribution (connect-setup.ts); absent: DEFAULT_CONNECT_SETUP. */
  connectSetup?: ConnectSetupConfig;
  /** Lookups through the kube-dns Service to CoreDNS (sim/run/dns-*.ts); undefined: no DNS in the run. */
  dns?: DnsRunConfig;
}
