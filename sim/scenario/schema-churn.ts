import { z } from 'zod';
import { issueText } from './issue-text.ts';
import { duration, fraction, intOrPercent } from './schema-fields.ts';

/** The `churn:` section: workload changes that move endpoints during a run. */

export const CHURN_KINDS = ['rolling-update', 'pod-kill', 'scale', 'node-failure', 'container-crash', 'node-drain'] as const;

/** Fields only a node-drain entry reads. */
const DRAIN_FIELDS = ['count', 'taintAfter', 'evictAfter', 'deleteAfter'] as const;

export const churnSchema = z
  .strictObject({
    kind: z.enum(CHURN_KINDS).describe('rolling-update: a Deployment rollout; pod-kill: random pods deleted; scale: replicas up then down; node-failure: a node stops; container-crash: a random pod\'s container exits (not Ready, restarted with CrashLoopBackOff); node-drain: a node is cordoned, tainted ToBeDeletedByClusterAutoscaler, its pods evicted with their grace period, then the Node is deleted.'),
    start: duration('When churn begins. Default: at the end of warm-up.').optional(),
    every: duration('Interval between churn events (rolling-update, scale, node-failure, node-drain). Default 10s.').prefault('10s'),
    ratePerMinute: z.number().nonnegative().optional().describe('pod-kill: pods deleted per minute, cluster-wide; container-crash: crashes per minute (alternative to fraction).'),
    fraction: fraction(
      'rolling-update: share of Services rolled at each event (default: one Service); pod-kill: share of all pods deleted per minute; container-crash: share of all pods crashed per minute; scale: replicas added then removed, relative; node-failure, node-drain: share of nodes failed or drained at each event (default: one node).',
    ).optional(),
    maxSurge: intOrPercent('Deployment strategy.rollingUpdate.maxSurge the rollout sets. Default 25% on a synthetic cluster; with cluster.manifests the Deployment\'s own (a plain `kubectl rollout restart`).').optional(),
    maxUnavailable: intOrPercent('Deployment strategy.rollingUpdate.maxUnavailable the rollout sets. Default 25% on a synthetic cluster; with cluster.manifests the Deployment\'s own.').optional(),
    gracefulTermination: z
      .boolean()
      .default(true)
      .describe('true: a deleted pod keeps serving (terminating, serving) until its grace period ends; false: it stops at once, as after SIGKILL. Default true.'),
    terminationGracePeriod: duration('terminationGracePeriodSeconds (node-drain: the evictions\' grace period). Default 30s on a synthetic cluster; with cluster.manifests each pod\'s own.').optional(),
    deployments: z
      .array(z.string().regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: issueText({ expected: 'NAMESPACE/NAME of a Deployment, such as shop/web' }) }))
      .min(1)
      .optional()
      .describe('rolling-update, scale, pod-kill, container-crash: only these Deployments (NAMESPACE/NAME; a synthetic cluster\'s are default/svc-0, default/svc-1, ...). rolling-update rolls all of them at each event unless fraction says a share. Default: every Deployment.'),
    selector: z
      .union([z.record(z.string(), z.string()), z.string().regex(/^[^=,\s]+=[^=,\s]*(,[^=,\s]+=[^=,\s]*)*$/)], { error: issueText({ expected: 'labels as a map ({app: web}) or as kubectl -l writes them ("app=web,tier=front")' }) })
      .transform((v) => (typeof v === 'string' ? Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string])) : v))
      .optional()
      .describe('pod-kill, container-crash: only pods with all these labels (equality, as `kubectl delete pod -l`), among the Deployments\' pods (and `deployments` when given).'),
    count: z.int().min(1).optional().describe('node-drain: the most nodes drained in the run. Default: no limit (one node always stays).'),
    taintAfter: duration('node-drain: from the cordon to the ToBeDeletedByClusterAutoscaler taint. Default 0s.').optional(),
    evictAfter: duration('node-drain: from the taint to the evictions. Default 0s.').optional(),
    deleteAfter: duration('node-drain: from the evictions to the deletion of the Node (its VM stops then). Default 60s.').optional(),
    target: z
      .enum(['workloads', 'coredns'])
      .optional()
      .describe('rolling-update: what is rolled: the workload\'s Deployments (default) or CoreDNS (`kubectl -n kube-system rollout restart deployment coredns`; needs `dns:`).'),
  })
  .superRefine((c, ctx) => {
    // A crash source without a rate would never fire: refuse it rather than accept it silently.
    if (c.kind === 'container-crash' && c.ratePerMinute === undefined && c.fraction === undefined) {
      ctx.addIssue({ code: 'custom', path: ['ratePerMinute'], input: undefined, message: issueText({ expected: 'ratePerMinute or fraction for container-crash (crashes per minute)' }) });
    }
    // The drain's own fields would be ignored by any other kind: refuse them rather than drop them.
    if (c.kind !== 'node-drain') {
      for (const f of DRAIN_FIELDS) {
        if (c[f] !== undefined) ctx.addIssue({ code: 'custom', path: [f], input: undefined, message: issueText({ expected: `${f} only with kind node-drain (this entry is ${c.kind})` }) });
      }
    }
  })
  .superRefine((c, ctx) => {
    const namedKinds = ['rolling-update', 'scale', 'pod-kill', 'container-crash'];
    if (c.deployments !== undefined && !namedKinds.includes(c.kind)) ctx.addIssue({ code: 'custom', path: ['deployments'], input: c.deployments, message: issueText({ expected: `deployments only with kind ${namedKinds.join(', ')} (this entry is ${c.kind})` }) });
    if (c.deployments !== undefined && c.target === 'coredns') ctx.addIssue({ code: 'custom', path: ['deployments'], input: c.deployments, message: issueText({ expected: 'deployments or target: coredns, not both' }) });
    if (c.selector !== undefined && c.kind !== 'pod-kill' && c.kind !== 'container-crash') ctx.addIssue({ code: 'custom', path: ['selector'], input: c.selector, message: issueText({ expected: `selector only with kind pod-kill or container-crash (this entry is ${c.kind})` }) });
  })
  .superRefine((c, ctx) => {
    if (c.target !== undefined && c.kind !== 'rolling-update') ctx.addIssue({ code: 'custom', path: ['target'], input: c.target, message: issueText({ expected: 'target only with kind rolling-update' }) });
  })
  .describe('Workload churn that changes endpoints during the run.');
