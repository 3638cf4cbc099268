import { z } from 'zod';
import { parseDuration, type Nanos } from '../engine/time.ts';
import { isInputError } from '../io/input-error.ts';
import { DEFAULT_COSTS, type CostModel, type DeepPartial } from '../cost/cost-model.ts';
import { SCHEDULERS as IPVS_SCHEDULERS } from '../ipvs/types.ts';
import { issueText } from './issue-text.ts';
import type { Distribution } from '../engine/distribution.ts';

/**
 * The scenario file's schema: the single source of truth. TypeScript types come from it (z.input for
 * what a file may say, z.output for the resolved form a model runs), `svcsim schema` exports it as JSON
 * Schema for editors, and the loader turns its issues into InputErrors with file:line:col.
 *
 * Every object is strict (an unknown key is an error, with a "did you mean" hint from the loader), and
 * every default is written in the field's description, because the JSON Schema is the reference a user
 * reads in the editor. Durations are strings with a unit ("250ms", "1.5s") in the file and integer
 * nanoseconds in the resolved scenario.
 */

// ---------------------------------------------------------------------------------------------------
// Building blocks

const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|µs|ms|s|m|h)\s*$/;
const DURATION_EXPECTED = 'a duration with a unit (ns, us, ms, s, m, h), such as "250ms"';

function durationError(input: unknown): string {
  if (typeof input === 'number') {
    return issueText({ expected: DURATION_EXPECTED, hint: `add a unit, e.g. "${input}ms" or "${input}s"` });
  }
  if (typeof input === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(input)) {
    return issueText({ expected: DURATION_EXPECTED, hint: `add a unit, e.g. "${input.trim()}ms"` });
  }
  return issueText({ expected: DURATION_EXPECTED });
}

/** A duration string, resolved to integer nanoseconds with sim/engine/time.ts parseDuration. */
export function duration(description: string) {
  return z
    .string({ error: (iss) => durationError(iss.input) })
    .regex(DURATION_PATTERN, { error: (iss) => durationError(iss.input) })
    .transform((text, ctx): Nanos => {
      try {
        return parseDuration(text);
      } catch (e) {
        if (!isInputError(e)) throw e;
        ctx.issues.push({ code: 'custom', input: text, message: issueText({ expected: e.expected }) });
        return z.NEVER;
      }
    })
    .describe(description);
}

const PERCENT_PATTERN = /^\s*\d+(\.\d+)?\s*%\s*$/;

/** A fraction written as 0.05 or "5%", resolved to a number in [0, 1]. */
function fraction(description: string) {
  return z
    .union([z.number().min(0).max(1), z.string().regex(PERCENT_PATTERN)], {
      error: () => issueText({ expected: 'a fraction between 0 and 1 (such as 0.05) or a percentage (such as "5%")' }),
    })
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const f = Number(v.trim().slice(0, -1)) / 100;
      if (f > 1) {
        ctx.issues.push({ code: 'custom', input: v, message: issueText({ expected: 'a percentage of at most 100%' }) });
        return z.NEVER;
      }
      return f;
    })
    .describe(description);
}

/** Kubernetes' IntOrString for maxSurge/maxUnavailable: an absolute count or a percentage. */
function intOrPercent(description: string) {
  return z
    .union([z.number().int().nonnegative(), z.string().regex(PERCENT_PATTERN)], {
      error: () => issueText({ expected: 'a whole number (such as 1) or a percentage (such as "25%")' }),
    })
    .describe(description);
}

function count(description: string) {
  return z.number().int().positive().describe(description);
}

// ---------------------------------------------------------------------------------------------------
// Distributions of durations

/**
 * A distribution of durations. A bare duration ("5ms") means a constant. The object form names one
 * family: constant, exponential (by its mean), lognormal (by its median and 99th percentile, the two
 * numbers an operator reads off a latency histogram) or uniform (min, max).
 */
const distributionObject = z
  .strictObject({
    constant: duration('Always this duration.').optional(),
    exponential: z
      .strictObject({ mean: duration('Mean of the exponential distribution.') })
      .optional()
      .describe('Exponential (memoryless) with the given mean.'),
    lognormal: z
      .strictObject({
        median: duration('Median (50th percentile).'),
        p99: duration('99th percentile; must exceed the median.'),
      })
      .optional()
      .describe('Lognormal given by its median and 99th percentile.'),
    uniform: z
      .strictObject({ min: duration('Lower bound.'), max: duration('Upper bound; at least min.') })
      .optional()
      .describe('Uniform between min and max.'),
  })
  .superRefine((d, ctx) => {
    const given = Object.keys(d).filter((k) => (d as Record<string, unknown>)[k] !== undefined);
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        input: d,
        message: issueText({
          expected: 'exactly one of constant, exponential, lognormal, uniform',
          ...(given.length > 1 ? { hint: `found ${given.join(' and ')}` } : {}),
        }),
      });
    }
    if (d.lognormal && !(d.lognormal.p99 > d.lognormal.median)) {
      ctx.addIssue({
        code: 'custom',
        path: ['lognormal', 'p99'],
        input: d.lognormal.p99,
        message: issueText({ expected: 'a 99th percentile larger than the median' }),
      });
    }
    if (d.uniform && d.uniform.max < d.uniform.min) {
      ctx.addIssue({
        code: 'custom',
        path: ['uniform', 'max'],
        input: d.uniform.max,
        message: issueText({ expected: 'max at least min' }),
      });
    }
  });

export type { Distribution };

export function distribution(description: string) {
  return z
    .union([duration('A constant duration.'), distributionObject], {
      error: (iss) =>
        iss.input !== null && typeof iss.input === 'object'
          ? undefined
          : issueText({
              expected:
                'a distribution: a duration such as "5ms", or one of { constant }, { exponential: { mean } }, { lognormal: { median, p99 } }, { uniform: { min, max } }',
            }),
    })
    .transform((d): Distribution => {
      if (typeof d === 'number') return { kind: 'constant', value: d };
      if (d.constant !== undefined) return { kind: 'constant', value: d.constant };
      if (d.exponential) return { kind: 'exponential', mean: d.exponential.mean };
      if (d.lognormal) return { kind: 'lognormal', median: d.lognormal.median, p99: d.lognormal.p99 };
      return { kind: 'uniform', min: d.uniform!.min, max: d.uniform!.max };
    })
    .describe(description);
}

// ---------------------------------------------------------------------------------------------------
// Sections

export const PROXY_MODES = ['iptables', 'ipvs', 'nftables', 'ebpf', 'userspace'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

const servicesSchema = z
  .strictObject({
    count: count('Number of Services (each a ClusterIP Service with a selector).'),
    endpointsPerService: count('Ready pods behind each Service.'),
    ports: count('Ports per Service (each a separate ServicePort: its own KUBE-SVC chain). Default 1.').default(1),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).default('TCP').describe('Service port protocol, as in the Service spec. Default TCP.'),
    sessionAffinity: z
      .enum(['None', 'ClientIP'])
      .default('None')
      .describe('spec.sessionAffinity. ClientIP pins a client to one endpoint (iptables -m recent, ipvs persistence). Default None.'),
    sessionAffinityTimeout: duration('spec.sessionAffinityConfig.clientIP.timeoutSeconds. Default 3h (10800s, the Kubernetes default).').prefault('3h'),
    trafficPolicy: z
      .enum(['Cluster', 'Local'])
      .default('Cluster')
      .describe('spec.internalTrafficPolicy: Local sends ClusterIP traffic only to endpoints on the client\'s node. Default Cluster.'),
  })
  .describe('A synthetic set of identical Services, each with its own Deployment of pods.');

const clusterSchema = z
  .strictObject({
    nodes: count('Number of worker nodes, each running kube-proxy. Default 3.').default(3),
    cpusPerNode: count('CPU cores per node (sizes nf_conntrack_max from conntrack.maxPerCore). Default 4.').default(4),
    services: servicesSchema.optional(),
    manifests: z
      .string()
      .min(1)
      .optional()
      .describe('Path (relative to the scenario file) to Kubernetes YAML: Services, EndpointSlices, Pods, Deployments, as `kubectl get -o yaml` prints them.'),
    serviceCIDR: z.string().default('10.96.0.0/12').describe('ClusterIP range (kube-apiserver --service-cluster-ip-range). Default 10.96.0.0/12, kubeadm\'s.'),
    clusterCIDR: z.string().default('10.244.0.0/16').describe('Pod range (kube-proxy --cluster-cidr). Default 10.244.0.0/16.'),
    nodeCIDRMaskSize: z.number().int().min(8).max(30).default(24).describe('Per-node pod CIDR prefix length. Default 24.'),
  })
  .superRefine((c, ctx) => {
    if ((c.services === undefined) === (c.manifests === undefined)) {
      ctx.addIssue({
        code: 'custom',
        input: c,
        message: issueText({ expected: 'exactly one of services (a synthetic cluster) or manifests (a path to Kubernetes YAML)' }),
      });
    }
  })
  .describe('The cluster: a synthetic one (nodes and services) or Kubernetes manifests.');

const conntrackSchema = z
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

const proxySchema = z
  .strictObject({
    mode: z
      .enum(PROXY_MODES)
      .default('iptables')
      .describe('kube-proxy mode (iptables, ipvs, nftables), or a comparison model (ebpf: Cilium-like service maps; userspace: the removed proxy). Default iptables.'),
    minSyncPeriod: duration('Minimum interval between syncs; changes within it are coalesced. Default 1s (kube-proxy v1.28+).').prefault('1s'),
    // Not a maximum interval between syncs in current kube-proxy: NewProxier builds the runner as
    // NewBoundedFrequencyRunner("sync-runner", syncProxyRules, minSyncPeriod, time.Hour, burstSyncs),
    // and syncPeriod is only the RetryAfter(syncPeriod) after a failed sync and the interval of
    // ipt.Monitor's canary-chain check (kubernetes/kubernetes pkg/proxy/iptables/proxier.go, same in
    // pkg/proxy/nftables). Nothing in a run flushes kube-proxy's tables, so only the retry acts here.
    syncPeriod: duration(
      'Delay before retrying a failed sync (kube-proxy RetryAfter(syncPeriod)); also how often kube-proxy checks its canary chains, which nothing in a run flushes. Not a maximum interval: syncs happen at least hourly (FullSyncPeriod). Default 30s.',
    ).prefault('30s'),
    // Not a kube-proxy setting: a failure model for studies of the failure -> retry -> full sync path.
    syncFailureProbability: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe('Probability that a sync fails (iptables-restore / nft -f / netlink exits non-zero), drawn per sync from each node\'s stream proxy/node-N/sync-failure; a failure keeps the old rules, retries after syncPeriod and forces a full sync. Default 0.'),
    iptablesBackend: z
      .enum(['legacy', 'nft'])
      .default('nft')
      .describe('Which iptables binary kube-proxy runs: iptables-legacy or iptables-nft (the default on current distributions). Default nft.'),
    ipvsScheduler: z.enum(IPVS_SCHEDULERS).default('rr').describe('IPVS scheduler. Default rr.'),
    masqueradeAll: z.boolean().default(false).describe('SNAT all traffic to ClusterIPs. Default false.'),
    masqueradeBit: z.number().int().min(0).max(31).default(14).describe('fwmark bit for masquerade. Default 14.'),
    conntrack: conntrackSchema.prefault({}),
  })
  .describe('kube-proxy on every node.');

const costKeys = Object.keys(DEFAULT_COSTS) as (keyof CostModel)[];
const costShape: Record<string, z.ZodType> = {};
for (const key of costKeys) {
  const def = DEFAULT_COSTS[key];
  if (typeof def === 'number') {
    costShape[key] = z.number().nonnegative().optional().describe(`ns. Default ${def}.`);
  } else {
    const inner: Record<string, z.ZodType> = {};
    for (const [k, v] of Object.entries(def)) inner[k] = z.number().nonnegative().optional().describe(`ns. Default ${v}.`);
    costShape[key] = z.strictObject(inner).optional().describe(`ns per backend. Default ${JSON.stringify(def)}.`);
  }
}
const costsSchema = z
  .strictObject({
    ...costShape,
    calibration: z
      .string()
      .min(1)
      .optional()
      .describe('Path (relative to the scenario file) to the JSON `svcsim calibrate` writes; fields given here override it.'),
  })
  .describe('Overrides of the CostModel (docs/calibration.md), in nanoseconds, or a calibration file.');
export type CostOverrides = DeepPartial<CostModel> & { calibration?: string };

const readinessProbeSchema = z
  .strictObject({
    initialDelay: duration('initialDelaySeconds. Default 0s.').prefault('0s'),
    period: duration('periodSeconds. Default 10s.').prefault('10s'),
    timeout: duration('timeoutSeconds. Default 1s.').prefault('1s'),
    successThreshold: count('successThreshold. Default 1.').default(1),
    failureThreshold: count('failureThreshold. Default 3.').default(3),
  })
  .describe('The pods\' readiness probe (Kubernetes defaults).');

const controlPlaneSchema = z
  .strictObject({
    watchLatency: distribution('Delay from an API write to a watcher receiving it. Default lognormal median 5ms, p99 50ms.').prefault({
      lognormal: { median: '5ms', p99: '50ms' },
    }),
    apiWriteLatency: distribution('Latency of a controller\'s write to the API server. Default lognormal median 5ms, p99 50ms.').prefault({
      lognormal: { median: '5ms', p99: '50ms' },
    }),
    endpointSliceBatchPeriod: duration('kube-controller-manager --endpointslice-updates-batch-period. Default 0s (no batching).').prefault('0s'),
    maxEndpointsPerSlice: z.number().int().min(1).max(1000).default(100).describe('--max-endpoints-per-slice. Default 100.'),
    readinessProbe: readinessProbeSchema.prefault({}),
    podStartupLatency: distribution('From pod creation to containers started. Default lognormal median 2s, p99 10s.').prefault({
      lognormal: { median: '2s', p99: '10s' },
    }),
    appExitAfterSigterm: distribution(
      'How long a pod\'s process takes to exit after SIGTERM (it drains, then exits), capped by the grace period. Unset (the default): it keeps serving until the grace period ends and SIGKILL, as an app that drains for as long as it may (a preStop sleep, a long shutdown timeout); set e.g. 0s for a process without a SIGTERM handler, which dies at once, or 100ms for a quick drain.',
    ).optional(),
    nodeMonitorGracePeriod: duration('kube-controller-manager --node-monitor-grace-period: a silent node is marked NotReady after it. Default 50s (upstream since v1.32, kubernetes/kubernetes#126287).').prefault('50s'),
    podEvictionTimeout: duration('Toleration of not-ready/unreachable taints before pods are evicted. Default 5m (300s).').prefault('5m'),
  })
  .describe('Control-plane lag: API watches, the EndpointSlice controller, kubelet.');

const trafficSchema = z
  .strictObject({
    model: z
      .enum(['open', 'closed'])
      .default('open')
      .describe('open: Poisson arrivals at connectionsPerSecond whatever the replies; closed: `clients` clients each connect, wait for the answer, think, repeat. Default open.'),
    connectionsPerSecond: z.number().positive().default(100).describe('Open loop: new connections per second, cluster-wide. Default 100.'),
    clients: count('Closed loop: number of concurrent clients. Default 10.').default(10),
    requestsPerConnection: count('Requests sent on each connection before it closes. Default 1.').default(1),
    protocol: z.enum(['tcp', 'udp']).default('tcp').describe('Transport of the client traffic. Default tcp.'),
    sourceNodes: z
      .union([z.literal('all'), z.number().int().positive()])
      .default('all')
      .describe('Nodes hosting client pods: "all" or a count. Default all.'),
    clientPodsPerNode: count('Client pods per source node. Default 1.').default(1),
    targetServices: z
      .union([z.literal('all'), z.number().int().positive()])
      .default('all')
      .describe('How many Services receive traffic (chosen uniformly): "all" or a count. Default all.'),
    requestTime: distribution('Server time to answer one request. Default 1ms.').prefault('1ms'),
    thinkTime: distribution('Closed loop: pause between a client\'s connections. Default exponential mean 100ms.').prefault({
      exponential: { mean: '100ms' },
    }),
    connectTimeout: duration('Client connect timeout: a connection with no answer in this time ends as `timeout`. Default 1s.').prefault('1s'),
    // How TCP connections end, for the conntrack states kube-proxy's timeouts govern
    // (--conntrack-tcp-timeout-close-wait, --conntrack-tcp-timeout-established).
    halfClosedFraction: fraction(
      'TCP: share of connections the server closes first while the client application never closes its end (a pooled or leaked socket): the client kernel ACKs the FIN and the conntrack entry waits in CLOSE_WAIT for nf_conntrack_tcp_timeout_close_wait (kube-proxy: proxy.conntrack.tcpCloseWaitTimeout). Default 0.',
    ).default(0),
    leftOpenFraction: fraction(
      'TCP: share of connections never closed: after the last answer both ends fall silent (an idle connection a client leaked, a peer gone without FIN or RST), so the entry stays ESTABLISHED for nf_conntrack_tcp_timeout_established (kube-proxy: proxy.conntrack.tcpEstablishedTimeout). Default 0.',
    ).default(0),
  })
  .superRefine((t, ctx) => {
    if (t.halfClosedFraction + t.leftOpenFraction > 1) {
      ctx.addIssue({ code: 'custom', path: ['leftOpenFraction'], input: t.leftOpenFraction, message: issueText({ expected: 'halfClosedFraction + leftOpenFraction at most 1 (the rest close cleanly)' }) });
    }
  })
  .describe('Client traffic to the Services\' ClusterIPs.');

export const CHURN_KINDS = ['rolling-update', 'pod-kill', 'scale', 'node-failure', 'container-crash'] as const;

const churnSchema = z
  .strictObject({
    kind: z.enum(CHURN_KINDS).describe('rolling-update: a Deployment rollout; pod-kill: random pods deleted; scale: replicas up then down; node-failure: a node stops; container-crash: a random pod\'s container exits (not Ready, restarted with CrashLoopBackOff).'),
    start: duration('When churn begins. Default: at the end of warm-up.').optional(),
    every: duration('Interval between churn events (rolling-update, scale, node-failure). Default 10s.').prefault('10s'),
    ratePerMinute: z.number().nonnegative().optional().describe('pod-kill: pods deleted per minute, cluster-wide; container-crash: crashes per minute (alternative to fraction).'),
    fraction: fraction(
      'rolling-update: share of Services rolled at each event (default: one Service); pod-kill: share of all pods deleted per minute; container-crash: share of all pods crashed per minute; scale: replicas added then removed, relative; node-failure: share of nodes failed at each event (default: one node).',
    ).optional(),
    maxSurge: intOrPercent('Deployment strategy.rollingUpdate.maxSurge. Default 25%.').default('25%'),
    maxUnavailable: intOrPercent('Deployment strategy.rollingUpdate.maxUnavailable. Default 25%.').default('25%'),
    gracefulTermination: z
      .boolean()
      .default(true)
      .describe('true: a deleted pod keeps serving (terminating, serving) until its grace period ends; false: it stops at once, as after SIGKILL. Default true.'),
    terminationGracePeriod: duration('terminationGracePeriodSeconds. Default 30s.').prefault('30s'),
  })
  .superRefine((c, ctx) => {
    // A crash source without a rate would never fire: refuse it rather than accept it silently.
    if (c.kind === 'container-crash' && c.ratePerMinute === undefined && c.fraction === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ratePerMinute'], input: undefined, message: issueText({ expected: 'ratePerMinute or fraction for container-crash (crashes per minute)' }) });
    }
  })
  .describe('Workload churn that changes endpoints during the run.');

const sweepValue = z.union([z.string(), z.number(), z.boolean()]);

const metricsSchema = z
  .strictObject({
    interval: duration('Bucket width of timeseries.csv. Default 1s.').prefault('1s'),
    programmingProbe: duration(
      'Runs without churn: every this interval one endpoint of a random Service turns not ready, and back one interval later (a readiness flap; the pod keeps serving), so network programming latency is measured on a static cluster. 0s: off. Default 1s.',
    ).prefault('1s'),
  })
  .describe('What the runs record besides their summary metrics.');

const chartSchema = z
  .strictObject({
    title: z.string().min(1).describe('Chart title; also names the chart file.'),
    x: z.string().min(1).describe('Sweep parameter on the x axis, or `time` for a time series over simulated seconds.'),
    y: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe('Metric on the y axis, e.g. firstPacketLatency.p99 (a series name when x is `time`), or a list of metrics of one unit drawn as one series each, e.g. drops by reason.'),
    color: z.string().min(1).optional().describe('Sweep parameter that splits the lines.'),
    xScale: z.enum(['linear', 'log']).default('linear').describe('Default linear.'),
    yScale: z.enum(['linear', 'log']).default('linear').describe('Default linear.'),
    kind: z.enum(['line', 'bar', 'point']).default('line').describe('Default line.'),
    errorBars: z
      .enum(['ci95', 'none'])
      .default('ci95')
      .describe('ci95: the 95% confidence interval of the mean over replications; none. Default ci95.'),
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/).optional().describe('File name under charts/ without extension. Default: the title in kebab case.'),
    where: z
      .record(z.string(), z.union([sweepValue, z.array(sweepValue).min(1)]))
      .optional()
      .describe('Only the sweep points whose parameters take these values (a value or a list per parameter), e.g. { churn: pod-kill, minSyncPeriod: 1s }. Default: every point.'),
  })
  .describe('A chart of the results.');
const selectionSchema = z.record(z.string(), z.union([sweepValue, z.array(sweepValue).min(1)]));

/** One question of the study answered from the figures (reports/findings.ts). */
const findingSchema = z
  .strictObject({
    say: z.string().min(1).describe('What is asked, as the answer\'s lead: "Where the table starts to drop".'),
    first: z
      .strictObject({
        x: z.string().min(1).describe('Sweep parameter walked in its declared order.'),
        when: z.string().min(1).describe('The condition, as an expect: line (optional selector): "unclosed=0:conntrack.occupancy.peak >= 99%".'),
        by: z.string().min(1).optional().describe('Sweep parameter answered value by value.'),
      })
      .optional()
      .describe('The first value of x where the condition holds (every point there), per value of by.'),
    ratio: z
      .strictObject({
        y: z.string().min(1).describe('Metric.'),
        of: selectionSchema.describe('Selection whose mean is divided, e.g. { mode: iptables, services: 1000 }.'),
        to: selectionSchema.describe('Selection divided by.'),
      })
      .optional()
      .describe('One selection\'s mean over another\'s, and whether their 95% intervals overlap.'),
    rank: z
      .strictObject({
        y: z.string().min(1).describe('Metric.'),
        by: z.string().min(1).describe('Sweep parameter whose values are ranked.'),
        where: selectionSchema.optional().describe('Points to rank at, e.g. { services: 1000 }.'),
      })
      .optional()
      .describe('The values of by, lowest mean first.'),
  })
  .describe('A question answered from the figures: exactly one of first, ratio, rank.');

const sweepSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.array(sweepValue).min(1))
  .describe('Parameters and their values; runs cover every combination. Reference a parameter in any field as "${name}" (a whole-field reference keeps the value\'s type).');

const excludeSchema = z
  .array(z.record(z.string(), z.union([sweepValue, z.array(sweepValue).min(1)])).refine((e) => Object.keys(e).length > 0))
  .describe(
    'Sweep points not to run. Each entry names values of some sweep parameters (a value or a list of values); a point of the grid whose parameters match every one of an entry\'s is skipped, e.g. { mode: userspace, services: [20000, 50000] }.',
  );

const quickSchema = z
  .strictObject({
    replications: count('Replications under --quick.').optional(),
    duration: z.string().optional().describe('Duration under --quick.'),
    warmup: z.string().optional().describe('Warm-up under --quick.'),
    sweep: z.record(z.string(), z.array(sweepValue).min(1)).optional().describe('Sweep parameters replaced under --quick (others keep their values).'),
    set: z.record(z.string(), z.unknown()).optional().describe('Field overrides under --quick, as path: value (same as --set).'),
  })
  .describe('A smaller version of the study for CI, used with --quick.');

export const scenarioSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/, {
        error: () => issueText({ expected: 'a name of lower-case letters, digits, ".", "_" and "-" (it names the output folder)' }),
      })
      .describe('Short name; the default output folder is out/<name>/.'),
    question: z.string().min(1).describe('The question this study answers (the report opens with it).'),
    assumptions: z
      .union([z.string(), z.array(z.string())])
      .default([])
      .transform((a) => (typeof a === 'string' ? [a] : a))
      .describe('What the model assumes, stated in the report: a text or a list of statements.'),
    seed: z.number().int().nonnegative().default(1).describe('Master seed. Default 1.'),
    replications: count('Independent runs per sweep point (each with its own seed). Default 3.').default(3),
    duration: duration('Simulated time of each run, warm-up included. Default 30s.').prefault('30s'),
    warmup: duration('Initial period excluded from the metrics. Default 0s.').prefault('0s'),
    cluster: clusterSchema,
    proxy: proxySchema.prefault({}),
    costs: costsSchema.optional(),
    controlPlane: controlPlaneSchema.prefault({}),
    traffic: trafficSchema.prefault({}),
    churn: z
      .union([churnSchema, z.array(churnSchema)])
      .optional()
      .transform((c) => (c === undefined ? [] : Array.isArray(c) ? c : [c]))
      .describe('One churn source or a list of them. Default: none.'),
    metrics: metricsSchema.prefault({}),
    charts: z.array(chartSchema).default([]).describe('Charts of the results.'),
    expect: z
      .array(z.string().min(1))
      .default([])
      .describe('Checks after the run, e.g. "nftables.firstPacketLatency.p99 < 100us"; a failure exits 1.'),
    answer: z
      .array(findingSchema)
      .default([])
      .describe('The study\'s questions, each answered in the report from the figures (first, ratio, rank).'),
    sweep: sweepSchema.default({}),
    exclude: excludeSchema.default([]),
    quick: quickSchema.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.warmup >= s.duration) {
      ctx.addIssue({
        code: 'custom',
        path: ['warmup'],
        input: s.warmup,
        message: issueText({ expected: 'a warm-up shorter than the duration' }),
      });
    }
  })
  .describe('A svcsim study: a question, a cluster and its traffic, a sweep, charts and expectations.');

/** A scenario as written in a file (after ${param} substitution). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
/** What the schema alone makes of a file: defaults applied, durations in ns, costs still overrides. */
export type ScenarioOutput = z.output<typeof scenarioSchema>;

/**
 * One sweep point, parameters substituted and defaults applied: what a model runs. Durations are
 * integer nanoseconds, distributions are tagged (`kind`), churn is always a list, cluster.manifests is
 * an absolute path, and `costs` is the complete CostModel (defaults, then the calibration file, then
 * the scenario's overrides).
 */
export type ResolvedScenario = Omit<ScenarioOutput, 'costs'> & { costs: CostModel };
export type ResolvedChurn = ResolvedScenario['churn'][number];
export type ResolvedTraffic = ResolvedScenario['traffic'];
export type ResolvedProxy = ResolvedScenario['proxy'];
export type ResolvedControlPlane = ResolvedScenario['controlPlane'];
export type ResolvedCluster = ResolvedScenario['cluster'];
export type ChartSpec = ResolvedScenario['charts'][number];
export type SweepValue = z.infer<typeof sweepValue>;

/** JSON Schema (draft 2020-12) of scenario files, for editors (`# yaml-language-server: $schema=...`). */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
