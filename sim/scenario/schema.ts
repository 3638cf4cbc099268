import { z } from 'zod';
import { IPTABLES_BACKENDS, type CostModel } from '../cost/cost-model.ts';
import { SCHEDULERS as IPVS_SCHEDULERS } from '../ipvs/types.ts';
import { issueText } from './issue-text.ts';
import type { Distribution } from '../engine/distribution.ts';
import { PROXY_MODES } from '../proxy/mode.ts';
import { churnSchema } from './schema-churn.ts';
import { clusterSchema } from './schema-cluster.ts';
import { trafficBytesFields } from './schema-topology.ts';
import { conntrackSchema } from './schema-conntrack.ts';
import { costsSchema } from './schema-costs.ts';
import { dnsSchemaOf, kernelSchema } from './schema-dns.ts';
import { connectSetupSchemaOf } from './schema-connect-setup.ts';
import { referenceSchema } from './schema-reference.ts';
import { externalSchema } from './schema-external.ts';
import { count, duration, fraction } from './schema-fields.ts';
import { chartSchema, findingSchema, metricsSchema } from './schema-report.ts';
import { excludeSchema, quickSchema, sweepSchema, sweepValue } from './schema-sweep.ts';

/**
 * The scenario file's schema: the single source of truth. TypeScript types come from it (z.input for
 * what a file may say, z.output for the resolved form a model runs), `svcsim schema` exports it as JSON
 * Schema for editors, and the loader turns its issues into InputErrors with file:line:col.
 *
 * Every object is strict (an unknown key is an error, with a "did you mean" hint from the loader), and
 * every default is written in the field's description, because the JSON Schema is the reference a user
 * reads in the editor. Durations are strings with a unit ("250ms", "1.5s") in the file and integer
 * nanoseconds in the resolved scenario.
 *
 * The value types (schema-fields.ts) and the sections that stand alone live in schema-*.ts, one each;
 * this file holds the distributions, the proxy modes and IPVS schedulers, the sections built on them
 * (proxy, control plane, traffic) and the scenario that composes them all.
 */

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
      .enum(IPTABLES_BACKENDS)
      .default('nft')
      .describe('Which iptables binary kube-proxy runs: iptables-legacy or iptables-nft (the default on current distributions). Default nft.'),
    ipvsScheduler: z.enum(IPVS_SCHEDULERS).default('rr').describe('IPVS scheduler. Default rr.'),
    masqueradeAll: z.boolean().default(false).describe('SNAT all traffic to ClusterIPs. Default false.'),
    masqueradeBit: z.number().int().min(0).max(31).default(14).describe('fwmark bit for masquerade. Default 14.'),
    conntrack: conntrackSchema.prefault({}),
  })
  .describe('kube-proxy on every node.');

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
      .union([z.literal('all'), z.number().int().positive(), z.array(z.string().min(1)).min(1)])
      .default('all')
      .describe('Nodes hosting client pods: "all", a count (the first nodes), or a list of node names (a synthetic cluster\'s are node-0, node-1, ...; from manifests, its Nodes). Default all.'),
    clientPodsPerNode: count('Client pods per source node. Default 1.').default(1),
    ...trafficBytesFields,
    targetServices: z
      .union([z.literal('all'), z.number().int().positive()])
      .default('all')
      .describe('How many Services receive traffic (chosen uniformly): "all" or a count. Default all.'),
    services: z
      .record(
        z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: issueText({ expected: 'NAMESPACE/NAME of a Service, such as shop/web' }) }),
        z.number({ error: issueText({ expected: 'a weight, a number >= 0' }) }).nonnegative({ error: issueText({ expected: 'a weight, a number >= 0' }) }),
      )
      .optional()
      .describe('Traffic weights per Service (NAMESPACE/NAME: weight): a connection goes to a Service with probability weight / sum, to one of its ports uniformly; Services not listed get none. A synthetic cluster\'s Services are default/svc-0, default/svc-1, ... Default: uniform (targetServices).'),
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
    if (t.services !== undefined && t.targetServices !== 'all') {
      ctx.addIssue({ code: 'custom', path: ['services'], input: t.services, message: issueText({ expected: 'services (weights) or targetServices (a count), not both' }) });
    }
    if (t.halfClosedFraction + t.leftOpenFraction > 1) {
      ctx.addIssue({ code: 'custom', path: ['leftOpenFraction'], input: t.leftOpenFraction, message: issueText({ expected: 'halfClosedFraction + leftOpenFraction at most 1 (the rest close cleanly)' }) });
    }
  })
  .describe('Client traffic to the Services\' ClusterIPs.');

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
    dataPlane: z
      .enum(['formula', 'rules'])
      .optional()
      .describe(
        'How a new connection\'s first packet is costed. formula: the proxy mode\'s closed-form model (docs/design.md, "Two tiers, kept equal"). rules: the packet walks the client node\'s rules as kube-proxy wrote them at its last sync (iptables, both backends, and nftables; ipvs, ebpf and userspace keep the formula, reported as dataPlane.walked 0), with the same endpoint choices and the same cost units; slower, for studies up to 5000 service ports of ClusterIP traffic. Default formula.',
      ),
    costs: costsSchema.optional(),
    controlPlane: controlPlaneSchema.prefault({}),
    traffic: trafficSchema.prefault({}),
    churn: z
      .union([churnSchema, z.array(churnSchema)])
      .optional()
      .transform((c) => (c === undefined ? [] : Array.isArray(c) ? c : [c]))
      .describe('One churn source or a list of them. Default: none.'),
    dns: dnsSchemaOf(distribution).optional(),
    kernel: kernelSchema.optional(),
    external: externalSchema.optional(),
    connectSetup: connectSetupSchemaOf(distribution).optional(),
    reference: referenceSchema.optional(),
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
export type ResolvedDns = NonNullable<ResolvedScenario['dns']>;
export type ResolvedKernel = NonNullable<ResolvedScenario['kernel']>;
export type ChartSpec = ResolvedScenario['charts'][number];
export type SweepValue = z.infer<typeof sweepValue>;

/** JSON Schema (draft 2020-12) of scenario files, for editors (`# yaml-language-server: $schema=...`). */
export function scenarioJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
}
