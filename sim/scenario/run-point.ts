import { InputError } from '../io/input-error.ts';
import { HOUR, SECOND, US, formatDuration } from '../engine/time.ts';
import type { RunPoint, RunPointInput, RunPointResult } from './run-point-contract.ts';
import type { ModelConfig } from '../run/config.ts';
import { runModel } from '../run/run-model.ts';
import { manifestCluster } from '../run/manifest-cluster.ts';
import { dnsRunConfig } from './run-point-dns.ts';
import { DEFAULT_CONNECT_SETUP, type ConnectSetupConfig } from '../run/connect-setup.ts';
import { readConnectKernel } from './connect-setup-file.ts';
import { externalClients, serviceTypes } from './run-point-external.ts';
import { serviceWeights, sourceNodes } from './run-point-traffic.ts';
import { withDataPlane } from './run-point-data-plane.ts';
import { connectSetupZones, someService, topologyCluster, trafficBytes } from './run-point-topology.ts';
import { KUBE_PROXY_CONNTRACK_DEFAULTS, kubeProxyConntrackMax, kubeProxyHashsize, kubeProxyTimeouts } from '../conntrack/timeouts.ts';

/**
 * The runner's entry to the model (contract: sim/scenario/run-point-contract.ts): maps one resolved
 * sweep point onto the model's config and runs it. Parts of a scenario the model does not simulate
 * yet are refused with the field named, never ignored: a study must not report figures for a setup
 * it did not run.
 */
export const runPoint: RunPoint = (input: RunPointInput): RunPointResult => {
  const config = modelConfig(input);
  const out = runModel(config);
  return { metrics: out.metrics, timeseries: out.timeseries };
};

/** kube-proxy's FullSyncPeriod (pkg/proxy/util): a full sync at least hourly, also the runner's max interval. */
const FULL_SYNC_PERIOD_NS = HOUR;
/** core.MaxClientIPServiceAffinitySeconds: a day. */
const MAX_CLIENT_IP_AFFINITY_NS = 86400 * SECOND;
/** Pod-to-pod round trip across nodes on an idle overlay (assumption, the order of a veth + VXLAN hop each way). */
const POD_RTT_NS = 100 * US;

/** nf_conntrack_max, hashsize and timeouts as kube-proxy leaves them on every node (sim/conntrack/timeouts.ts). */
function conntrackConfig(s: RunPointInput['scenario']): ModelConfig['conntrack'] {
  const c = s.proxy.conntrack;
  const cfg = { ...KUBE_PROXY_CONNTRACK_DEFAULTS, maxPerCore: c.maxPerCore, min: c.min, tcpEstablishedTimeout: c.tcpEstablishedTimeout, tcpCloseWaitTimeout: c.tcpCloseWaitTimeout, udpTimeout: c.udpTimeout, udpStreamTimeout: c.udpStreamTimeout };
  const max = c.max ?? kubeProxyConntrackMax(s.cluster.cpusPerNode, cfg);
  const timeouts = kubeProxyTimeouts(cfg);
  timeouts.tcp.timeWait = c.tcpTimeWaitTimeout;
  return { max, buckets: kubeProxyHashsize(max || 262144), timeouts };
}

export function modelConfig(input: RunPointInput): ModelConfig {
  const s = input.scenario;
  if (s.cluster.manifests !== undefined) return manifestModelConfig(input, s.cluster.manifests);
  const services = s.cluster.services!;
  const affinityTimeout = services.sessionAffinityTimeout;
  // Kubernetes validation (pkg/apis/core/validation ValidateService): timeoutSeconds in (0, 86400],
  // whole seconds; kube-proxy writes it as `--seconds` / `timeout Ns` / `-p`.
  const some = someService(services);
  if (some.affinity && (affinityTimeout % SECOND !== 0 || affinityTimeout <= 0 || affinityTimeout > MAX_CLIENT_IP_AFFINITY_NS))
    throw new InputError('cluster.services.sessionAffinityTimeout', 'whole seconds from 1s to 86400s (sessionAffinityConfig.clientIP.timeoutSeconds)', formatDuration(affinityTimeout));
  // internalTrafficPolicy went GA in 1.26, the release that removed the userspace proxy, which never implemented it.
  if (some.local && s.proxy.mode === 'userspace')
    throw new InputError('cluster.services.trafficPolicy', 'Cluster with proxy.mode userspace (the userspace proxy never implemented internalTrafficPolicy)', JSON.stringify(services.trafficPolicy));
  if ((s.traffic.protocol === 'udp') !== (services.protocol === 'UDP'))
    throw new InputError('traffic.protocol', `the protocol of the Services' port (cluster.services.protocol is ${services.protocol})`, s.traffic.protocol);
  if (services.protocol === 'SCTP') throw new InputError('cluster.services.protocol', 'TCP or UDP', 'SCTP');
  return baseConfig(input, {
    nodes: s.cluster.nodes,
    services: services.count,
    endpointsPerService: services.endpointsPerService,
    port: 80,
    protocol: services.protocol,
    ...topologyCluster(s, services),
    portsPerService: services.ports,
    serviceCIDR: s.cluster.serviceCIDR,
    clusterCIDR: s.cluster.clusterCIDR,
    ...serviceTypes(services),
  });
}

/**
 * A cluster from Kubernetes manifests: their Services and EndpointSlices (manifest-cluster.ts),
 * traffic to their ClusterIP service ports. Without churn it is static; with churn it is live: its
 * objects run in the control plane as a synthetic cluster's do (manifest-live.ts).
 */
function manifestModelConfig(input: RunPointInput, file: string): ModelConfig {
  const s = input.scenario;
  const protocol = s.traffic.protocol === 'udp' ? 'UDP' : 'TCP';
  const live = s.churn.length > 0 ? { clusterCIDR: s.cluster.clusterCIDR, nodeCIDRMaskSize: s.cluster.nodeCIDRMaskSize, maxEndpointsPerSlice: s.controlPlane.maxEndpointsPerSlice } : undefined;
  const m = manifestCluster(file, { protocol, nodes: s.cluster.nodes, ...(live ? { live } : {}) });
  if (m.ports.some((p) => p.internalPolicyLocal) && s.proxy.mode === 'userspace')
    throw new InputError('cluster.manifests', 'Services with internalTrafficPolicy Cluster with proxy.mode userspace (the userspace proxy never implemented internalTrafficPolicy)', 'Local');
  return baseConfig(input, {
    nodes: m.nodeNames.length,
    services: m.ports.length,
    endpointsPerService: 0,
    port: 0,
    protocol,
    sessionAffinity: m.sessionAffinity,
    sessionAffinityTimeoutNs: m.sessionAffinityTimeoutNs,
    trafficPolicy: m.trafficPolicy,
    manifest: m,
    // Zones from the nodes' topology.kubernetes.io/zone labels (manifest-topology.ts).
    ...(m.nodeZones ? { zones: { nodeZones: m.nodeZones, nodeCpuMilli: m.nodeCpuMilli!, names: [...new Set(m.nodeZones)] } } : {}),
  });
}

/**
 * kube-proxy settings a run cannot honour are refused, naming the field (a study must not report
 * figures for a setting it did not apply):
 * - ipvsScheduler: the model's ipvs data plane picks real servers round robin (rr, kube-proxy's
 *   default); the other schedulers exist only in sim/ipvs and `render --ipvs-scheduler`.
 * - masqueradeAll: with a cluster CIDR kube-proxy writes its KUBE-SVC masquerade rule without the
 *   `! -s CLUSTER_CIDR` match (writeServiceToEndpointRules in pkg/proxy/iptables/proxier.go), so every
 *   connection is marked and SNATed; the mode models do not cost that path. `render --masquerade-all`
 *   prints the rules.
 * - masqueradeBit: it changes only the mark's text in the rules, never a figure of a run.
 */
function refuseUnmodelledProxySettings(p: RunPointInput['scenario']['proxy']): void {
  if (p.ipvsScheduler !== 'rr')
    throw new InputError('proxy.ipvsScheduler', 'rr (runs model the IPVS scheduler as round robin; the other schedulers are modelled only by `svcsim render --mode ipvs --ipvs-scheduler`)', p.ipvsScheduler);
  if (p.masqueradeAll)
    throw new InputError('proxy.masqueradeAll', 'false (runs do not model masquerading every ClusterIP connection; `svcsim render --masquerade-all` prints the rules)', 'true');
  if (p.masqueradeBit !== 14)
    throw new InputError('proxy.masqueradeBit', '14 (the bit changes only the rules\' mark text, which no run figure depends on)', String(p.masqueradeBit));
  // The comparison modes do not restore rule sets (sim/proxy/sync/cilium-agent.ts, userspace-proxier.ts).
  if (p.syncFailureProbability > 0 && (p.mode === 'ebpf' || p.mode === 'userspace'))
    throw new InputError('proxy.syncFailureProbability', `0 with proxy.mode ${p.mode} (it models a failed iptables-restore / nft -f / netlink sync of kube-proxy; the ${p.mode} mode has no such sync)`, String(p.syncFailureProbability));
}

function baseConfig({ scenario: s, seed }: RunPointInput, cluster: ModelConfig['cluster']): ModelConfig {
  refuseUnmodelledProxySettings(s.proxy);
  return withDataPlane(s, {
    ...externalClients(s, cluster),
    seed,
    durationNs: s.duration,
    warmupNs: s.warmup,
    timeseriesIntervalNs: s.metrics.interval,
    programmingProbeNs: s.metrics.programmingProbe,
    cluster,
    proxy: {
      mode: s.proxy.mode,
      iptablesBackend: s.proxy.iptablesBackend,
      minSyncPeriodNs: s.proxy.minSyncPeriod,
      syncPeriodNs: s.proxy.syncPeriod,
      fullSyncPeriodNs: FULL_SYNC_PERIOD_NS,
      syncFailureProbability: s.proxy.syncFailureProbability,
    },
    costs: s.costs,
    traffic: {
      model: s.traffic.model,
      protocol: s.traffic.protocol,
      connectionsPerSecond: s.traffic.connectionsPerSecond,
      clients: s.traffic.clients,
      thinkTime: s.traffic.thinkTime,
      requestsPerConnection: s.traffic.requestsPerConnection,
      rttNs: POD_RTT_NS,
      connectTimeoutNs: s.traffic.connectTimeout,
      ...sourceNodes(s, cluster),
      // Services (with manifests: service ports).
      targetServices: s.traffic.targetServices === 'all' ? cluster.services : Math.min(s.traffic.targetServices, cluster.services),
      ...serviceWeights(s, cluster),
      clientPodsPerNode: Math.min(250, s.traffic.clientPodsPerNode),
      requestTime: s.traffic.requestTime,
      halfClosedFraction: s.traffic.halfClosedFraction,
      leftOpenFraction: s.traffic.leftOpenFraction,
      ...(cluster.zones || cluster.policies || cluster.manifest?.perService ? trafficBytes(s) : {}),
    },
    controlPlane: {
      watchLatency: s.controlPlane.watchLatency,
      apiWriteLatency: s.controlPlane.apiWriteLatency,
      podStartupLatency: s.controlPlane.podStartupLatency,
      endpointSliceBatchPeriodNs: s.controlPlane.endpointSliceBatchPeriod,
      maxEndpointsPerSlice: s.controlPlane.maxEndpointsPerSlice,
      readinessProbe: s.controlPlane.readinessProbe,
      ...(s.controlPlane.appExitAfterSigterm !== undefined ? { appExitAfterSigterm: s.controlPlane.appExitAfterSigterm } : {}),
      nodeMonitorGracePeriodNs: s.controlPlane.nodeMonitorGracePeriod,
      podEvictionTimeoutNs: s.controlPlane.podEvictionTimeout,
    },
    // Churn starts at the end of the warm-up unless the scenario says when (schema: churn.start).
    churn: s.churn.map((c) => ({
      kind: c.kind,
      start: c.start ?? s.warmup,
      every: c.every,
      ...(c.ratePerMinute !== undefined ? { ratePerMinute: c.ratePerMinute } : {}),
      ...(c.fraction !== undefined ? { fraction: c.fraction } : {}),
      ...workloadDefaults(c, cluster.manifest !== undefined),
      gracefulTermination: c.gracefulTermination,
      ...(c.kind === 'node-drain' ? drainFields(c) : {}),
      ...(c.target !== undefined ? { target: c.target } : {}),
      ...(c.deployments !== undefined ? { deployments: c.deployments } : {}),
      ...(c.selector !== undefined ? { selector: c.selector } : {}),
    })),
    conntrack: conntrackConfig(s),
    ...(s.connectSetup || cluster.zones ? { connectSetup: { ...connectSetupConfig(s.connectSetup), ...connectSetupZones(s, cluster.zones?.nodeZones) } } : {}),
    ...withDns({ scenario: s, seed, point: {}, replication: 0 }, cluster.nodes),
  });
}

/**
 * A rollout's maxSurge and maxUnavailable and the grace period: on a synthetic cluster the study's
 * (25%, 25%, 30 s where the file leaves them out); on a cluster from manifests only what the file
 * sets, so a rollout is a plain `kubectl rollout restart` (the Deployment's own strategy and pod
 * template) and a pod kill or drain honours each pod's own terminationGracePeriodSeconds.
 */
function workloadDefaults(c: RunPointInput['scenario']['churn'][number], fromManifests: boolean): Pick<ModelConfig['churn'][number], 'maxSurge' | 'maxUnavailable' | 'terminationGracePeriod'> {
  if (fromManifests) {
    return {
      ...(c.maxSurge !== undefined ? { maxSurge: c.maxSurge } : {}),
      ...(c.maxUnavailable !== undefined ? { maxUnavailable: c.maxUnavailable } : {}),
      ...(c.terminationGracePeriod !== undefined ? { terminationGracePeriod: c.terminationGracePeriod } : {}),
    };
  }
  return { maxSurge: c.maxSurge ?? '25%', maxUnavailable: c.maxUnavailable ?? '25%', terminationGracePeriod: c.terminationGracePeriod ?? 30 * SECOND };
}

/** node-drain's own fields, only where the file sets them (node-drain.ts holds the defaults). */
function drainFields(c: RunPointInput['scenario']['churn'][number]): Pick<ModelConfig['churn'][number], 'count' | 'taintAfter' | 'evictAfter' | 'deleteAfter'> {
  return {
    ...(c.count !== undefined ? { count: c.count } : {}),
    ...(c.taintAfter !== undefined ? { taintAfter: c.taintAfter } : {}),
    ...(c.evictAfter !== undefined ? { evictAfter: c.evictAfter } : {}),
    ...(c.deleteAfter !== undefined ? { deleteAfter: c.deleteAfter } : {}),
  };
}

/** The `dns` field of the config, only in runs with `dns:` (run-point-dns.ts). */
function withDns(input: RunPointInput, nodes: number): { dns?: ModelConfig['dns'] } {
  const dns = dnsRunConfig(input, nodes, input.scenario.cluster.cpusPerNode);
  return dns ? { dns } : {};
}

/** connectSetup's config: the study's zones and round trips, and the kernel fit of its calibration file (made absolute and checked by the loader) or the default. */
function connectSetupConfig(c: RunPointInput['scenario']['connectSetup']): ConnectSetupConfig {
  if (!c) return DEFAULT_CONNECT_SETUP;
  const { calibration, ...rest } = c;
  return { ...rest, kernel: calibration === undefined ? DEFAULT_CONNECT_SETUP.kernel : readConnectKernel(calibration, 'connectSetup.calibration') };
}
