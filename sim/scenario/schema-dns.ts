import { z } from 'zod';
import { issueText } from './issue-text.ts';
import { count, duration, fraction } from './schema-fields.ts';
import { KNOWN_RANGE, NAMED_KERNEL_VERSIONS, parseKernelVersion, type KernelVersion } from '../conntrack/kernel-version.ts';

/**
 * The `dns:` and `kernel:` sections: client lookups through the kube-dns Service to CoreDNS, and the
 * node kernel whose conntrack decides what happens when two datagrams of one socket race.
 * A run without `dns:` has no kube-dns Service, no lookups and no DNS columns.
 */

export const RESOLVERS = ['glibc', 'musl', 'go'] as const;
export type ResolverName = (typeof RESOLVERS)[number];

/** The kinds of name a client looks up (names.ts answers each from the simulated Services or the upstream). */
export const NAME_KINDS = ['short', 'otherNamespace', 'fourDots', 'external', 'missingExternal'] as const;
export type NameKind = (typeof NAME_KINDS)[number];

/** ndots is capped at 15 by glibc (res_init.c RES_MAXNDOTS) and musl (resolvconf.c). */
const MAX_NDOTS = 15;

const optionsObject = z
  .strictObject({
    ndots: z.number().int().min(0).max(MAX_NDOTS).optional().describe('options ndots:N (0..15). Default 5, as kubelet writes it for ClusterFirst.'),
    timeout: duration('options timeout:N, whole seconds. Default 5s (glibc RES_TIMEOUT, musl, Go).').optional(),
    attempts: z.number().int().min(1).max(5).optional().describe('options attempts:N (1..5, glibc RES_MAXRETRY). Default 2.'),
    singleRequest: z.boolean().optional().describe('options single-request: A then AAAA, one after the other (glibc, Go; musl ignores it). Default false.'),
    singleRequestReopen: z.boolean().optional().describe('options single-request-reopen: a new socket for the second query (glibc; Go treats it as single-request; musl ignores it). Default false.'),
    useVc: z.boolean().optional().describe('options use-vc: queries over TCP (glibc, Go). Default false.'),
  })
  .describe('resolv.conf options, as the Pod\'s dnsConfig.options would add them.');

/** The list form: `[ndots:2, single-request-reopen, timeout:1]`, as resolv.conf writes them. */
const optionWord = z.string().regex(/^(ndots:\d+|timeout:\d+|attempts:\d+|single-request|single-request-reopen|use-vc)$/, {
  error: () => issueText({ expected: 'a resolv.conf option: ndots:N, timeout:N, attempts:N, single-request, single-request-reopen or use-vc' }),
});

function optionsFromWords(words: string[], ctx: z.RefinementCtx): z.output<typeof optionsObject> {
  const o: z.output<typeof optionsObject> = {};
  words.forEach((w, i) => {
    const [key, value] = w.split(':') as [string, string | undefined];
    const n = value === undefined ? NaN : Number(value);
    if (key === 'ndots') {
      if (n > MAX_NDOTS) ctx.issues.push({ code: 'custom', path: [i], input: w, message: issueText({ expected: `ndots from 0 to ${MAX_NDOTS}`, value: true }) });
      o.ndots = n;
    } else if (key === 'timeout') o.timeout = n * 1e9;
    else if (key === 'attempts') {
      if (n < 1 || n > 5) ctx.issues.push({ code: 'custom', path: [i], input: w, message: issueText({ expected: 'attempts from 1 to 5', value: true }) });
      o.attempts = n;
    } else if (key === 'single-request') o.singleRequest = true;
    else if (key === 'single-request-reopen') o.singleRequestReopen = true;
    else o.useVc = true;
  });
  return o;
}

const optionsSchema = z
  .union([z.array(optionWord).transform(optionsFromWords), optionsObject], {
    error: (iss) => (Array.isArray(iss.input) || (iss.input !== null && typeof iss.input === 'object') ? undefined : issueText({ expected: 'a list of resolv.conf options (e.g. [ndots:2, single-request-reopen]) or an object { ndots, timeout, attempts, singleRequest, singleRequestReopen, useVc }' })),
  })
  .describe('resolv.conf options: a list such as [ndots:2, single-request-reopen] or an object.');

const namesObject = z
  .strictObject({
    short: fraction('Share of lookups of a Service in the pod\'s own namespace by its short name (`svc-3`). Default 0.6.').default(0.6),
    otherNamespace: fraction('Share of lookups of `svc.other-namespace`. Default 0.1.').default(0.1),
    fourDots: fraction('Share of lookups of a fully written in-cluster name without the trailing dot (`svc.ns.svc.cluster.local`: four dots, below ndots 5). Default 0.1.').default(0.1),
    external: fraction('Share of lookups of an existing external name (`api.example.com`), answered by the upstream. Default 0.2.').default(0.2),
    missingExternal: fraction('Share of lookups of an external name that does not exist (NXDOMAIN from the upstream). Default 0.').default(0),
  })
  .superRefine((n, ctx) => {
    const sum = NAME_KINDS.reduce((s, k) => s + n[k], 0);
    if (Math.abs(sum - 1) > 1e-9) ctx.addIssue({ code: 'custom', input: n, message: issueText({ expected: `shares that add up to 1 (they add up to ${Number(sum.toFixed(6))})` }) });
  })
  .describe('Shares of each kind of name.');

/** A kind of name for every lookup, or `mix` for the default shares (what a sweep parameter can say). */
const nameWord = z.enum([...NAME_KINDS, 'mix'], { error: () => issueText({ expected: `one of ${[...NAME_KINDS, 'mix'].join(', ')}, or an object of shares` }) });

const namesSchema = z
  .union([nameWord, namesObject], { error: (iss) => (iss.input !== null && typeof iss.input === 'object' ? undefined : issueText({ expected: `one of ${[...NAME_KINDS, 'mix'].join(', ')}, or an object of shares { short, otherNamespace, fourDots, external, missingExternal }` })) })
  .transform((n): Record<NameKind, number> => {
    if (typeof n !== 'string') return n;
    if (n === 'mix') return namesObject.parse({});
    const one = { short: 0, otherNamespace: 0, fourDots: 0, external: 0, missingExternal: 0 };
    one[n] = 1;
    return one;
  })
  .describe('What clients look up: one kind of name for every lookup (short, otherNamespace, fourDots, external, missingExternal), `mix` (the default shares), or an object of shares adding up to 1.');


/** The schema of a distribution of durations (schema.ts `distribution`, passed in to keep the import one way). */
type DistributionField<D extends z.ZodType> = (description: string) => D;

const upstreamSchema = <D extends z.ZodType>(distribution: DistributionField<D>) => z
  .strictObject({
    latency: distribution('Round trip from CoreDNS to the upstream and its answer. Default lognormal median 2ms, p99 20ms (assumption: a VPC resolver).').prefault({ lognormal: { median: '2ms', p99: '20ms' } } as never),
    loss: fraction('Share of forwarded queries the upstream never answers. Default 0.').default(0),
  })
  .describe('The upstream resolver CoreDNS forwards external names to (forward . /etc/resolv.conf).');

const autoscalerSchema = z
  .strictObject({
    linear: z
      .strictObject({
        coresPerReplica: z.number().positive().default(256).describe('coresPerReplica. Default 256 (dns-horizontal-autoscaler.yaml).'),
        nodesPerReplica: z.number().positive().default(16).describe('nodesPerReplica. Default 16.'),
        min: z.number().int().min(0).default(1).describe('min. Default 1.'),
        max: z.number().int().positive().optional().describe('max. Default: no maximum.'),
        preventSinglePointFailure: z.boolean().default(true).describe('At least 2 replicas when the cluster has more than one node. Default true.'),
      })
      .describe('cluster-proportional-autoscaler linear mode: replicas = max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica)), clamped to [min, max].'),
  })
  .describe('The dns-autoscaler (cluster-proportional-autoscaler) instead of a fixed replica count.');

const corednsSchema = <D extends z.ZodType>(distribution: DistributionField<D>) => z
  .strictObject({
    replicas: count('CoreDNS replicas. Default 2 (kubeadm).').optional(),
    autoscaler: autoscalerSchema.optional(),
    cacheClusterLocal: z.boolean().default(true).describe('Whether the cache plugin caches cluster.local answers (kubeadm before 1.32); false: `disable success/denial cluster.local` (kubeadm PR #128359). Default true.'),
    cacheSize: z.number().int().nonnegative().default(9984).describe('Cache capacity in entries per kind (success, denial). Default 9984 (10000 in 256 shards).'),
    maxConcurrent: z.number().int().positive().default(1000).describe('forward max_concurrent: queries forwarded at once; beyond it REFUSED. Default 1000 (kubeadm Corefile).'),
    lameduck: duration('health lameduck: how long a replica keeps serving after SIGTERM. Default 5s (kubeadm Corefile).').prefault('5s'),
    upstream: upstreamSchema(distribution).prefault({}),
  })
  .superRefine((c, ctx) => {
    if (c.replicas !== undefined && c.autoscaler !== undefined) ctx.addIssue({ code: 'custom', path: ['autoscaler'], input: c.autoscaler, message: issueText({ expected: 'either replicas or autoscaler, not both' }) });
  })
  .describe('The CoreDNS Deployment behind the kube-dns Service.');

export const dnsSchemaOf = <D extends z.ZodType>(distribution: DistributionField<D>) => z
  .strictObject({
    resolver: z.enum(RESOLVERS).default('glibc').describe('The client pods\' resolver library: glibc, musl (Alpine) or go (Go\'s pure resolver). Default glibc.'),
    options: optionsSchema.optional(),
    nodeLocalCache: z.boolean().default(false).describe('NodeLocal DNSCache on every node (169.254.20.10, NOTRACK, TCP to CoreDNS through kube-dns-upstream). Default false.'),
    lookupsPerSecond: z.number().positive().default(100).describe('Lookups (getaddrinfo calls) per second, cluster-wide, a Poisson process over the client pods. Default 100.'),
    names: namesSchema.prefault({}),
    sendPattern: z
      .enum(['one-thread', 'threads'])
      .default('one-thread')
      .describe('How the A and AAAA datagrams of one socket reach conntrack: one-thread (glibc sendmmsg, musl: the sending CPU handles both in order, so they rarely race; measured, docs/calibration.md) or threads (each on any of the node\'s CPUs, the case of the field reports and the kernel\'s udpclash selftest). Default one-thread.'),
    coredns: corednsSchema(distribution).prefault({}),
  })
  .describe('DNS lookups by the client pods through the kube-dns Service to CoreDNS. Without it a run has no DNS.');

export const kernelSchema = z
  .strictObject({
    version: z
      .unknown()
      .transform((v, ctx): KernelVersion => {
        // sim/conntrack/kernel-version.ts: "X.Y" from 4.4 to 6.18, quoted (YAML reads 5.10 as 5.1).
        const r = parseKernelVersion(v);
        if (r.ok) return r.version;
        ctx.issues.push({ code: 'custom', input: v, message: issueText({ expected: r.message.replace(/^expected /, ''), value: true }) });
        return z.NEVER;
      })
      .describe(`The nodes' kernel release, for conntrack's clash handling (sim/conntrack/kernel-version.ts): a quoted "X.Y" from ${KNOWN_RANGE}, e.g. "${NAMED_KERNEL_VERSIONS.join('", "')}". Default "5.10".`),
  })
  .describe('The nodes\' kernel.');

export type ResolvedKernel = z.output<typeof kernelSchema>;
