import type { StepName, StepStatus, WhyReport } from './types.ts';

/** The human text of `svcsim why`: one block per step, then the verdict line. */

const TITLES: Record<StepName, string> = {
  dns: 'DNS',
  service: 'Service and port',
  endpointslices: 'EndpointSlices',
  rules: "Client node's rules",
  endpoint: 'Endpoint',
};

const MARK: Record<StepStatus, string> = { ok: 'ok', warning: 'WARNING', break: 'BREAK', skipped: 'skipped' };

export function formatWhy(r: WhyReport): string {
  const from = r.client.kind === 'node' ? `node ${r.client.node}'s host network (${r.client.sourceIP})` : `pod ${r.from} on ${r.client.node} (${r.client.sourceIP}${r.client.hostNetwork ? ', host network' : ''})`;
  const out = [`# svcsim why: ${r.to} from ${from}, kube-proxy ${r.mode} mode`];
  r.steps.forEach((s, i) => {
    out.push('', `${i + 1}. ${TITLES[s.step]}: ${MARK[s.status]}: ${s.summary}`);
    for (const d of s.details) out.push(`     ${d}`);
    if (s.fix) out.push(`   fix: ${s.fix}`);
  });
  out.push('');
  const v = r.verdict;
  out.push(v.reachable ? `verdict: ${v.message}` : `verdict: BREAK at ${v.message}${v.fix ? `; fix: ${v.fix}` : ''}`);
  return out.join('\n') + '\n';
}

/** The --json object (a stable shape: the report as is). */
export function whyJson(r: WhyReport): object {
  return r;
}
