/**
 * The rules kube-proxy installs outside its iptables-restore: the jumps from the built-in chains to
 * its own chains, added one by one with `iptables -I` (EnsureRule with Prepend) on every full sync,
 * and the canary chains its iptables Monitor creates.
 *
 * kubernetes/kubernetes pkg/proxy/iptables/proxier.go iptablesJumpChains and
 * iptablesKubeletJumpChains (KUBE-FIREWALL, shared with kubelet), and pkg/util/iptables Monitor
 * (KUBE-PROXY-CANARY in mangle, nat and filter). Because every jump is prepended in list order, the
 * later entries of the list end up first in each built-in chain; that is the order written here.
 */
import {
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_CANARY,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
} from './chain-names.ts';

interface JumpChain {
  table: 'filter' | 'nat';
  dst: string;
  src: string;
  comment: string;
  extra: string;
}

const NEW = '-m conntrack --ctstate NEW';

/** iptablesJumpChains followed by iptablesKubeletJumpChains, in kube-proxy's order. */
const JUMPS: readonly JumpChain[] = [
  { table: 'filter', dst: KUBE_EXTERNAL_SERVICES, src: 'INPUT', comment: 'kubernetes externally-visible service portals', extra: NEW },
  { table: 'filter', dst: KUBE_EXTERNAL_SERVICES, src: 'FORWARD', comment: 'kubernetes externally-visible service portals', extra: NEW },
  { table: 'filter', dst: KUBE_NODEPORTS, src: 'INPUT', comment: 'kubernetes health check service ports', extra: '' },
  { table: 'filter', dst: KUBE_SERVICES, src: 'FORWARD', comment: 'kubernetes service portals', extra: NEW },
  { table: 'filter', dst: KUBE_SERVICES, src: 'OUTPUT', comment: 'kubernetes service portals', extra: NEW },
  { table: 'filter', dst: KUBE_FORWARD, src: 'FORWARD', comment: 'kubernetes forwarding rules', extra: '' },
  { table: 'filter', dst: KUBE_PROXY_FIREWALL, src: 'INPUT', comment: 'kubernetes load balancer firewall', extra: NEW },
  { table: 'filter', dst: KUBE_PROXY_FIREWALL, src: 'OUTPUT', comment: 'kubernetes load balancer firewall', extra: NEW },
  { table: 'filter', dst: KUBE_PROXY_FIREWALL, src: 'FORWARD', comment: 'kubernetes load balancer firewall', extra: NEW },
  { table: 'nat', dst: KUBE_SERVICES, src: 'OUTPUT', comment: 'kubernetes service portals', extra: '' },
  { table: 'nat', dst: KUBE_SERVICES, src: 'PREROUTING', comment: 'kubernetes service portals', extra: '' },
  { table: 'nat', dst: KUBE_POSTROUTING, src: 'POSTROUTING', comment: 'kubernetes postrouting rules', extra: '' },
  { table: 'filter', dst: KUBE_FIREWALL, src: 'INPUT', comment: '', extra: '' },
  { table: 'filter', dst: KUBE_FIREWALL, src: 'OUTPUT', comment: '', extra: '' },
];

/** Number of rules a full sync adds with EnsureRule (each one an `iptables` invocation). */
export const JUMP_RULE_COUNT = JUMPS.length;

/**
 * iptables-restore input (without --noflush) that creates the state a node has after kube-proxy's
 * first EnsureChain/EnsureRule round: built-in chains, kube-proxy's empty chains, the jumps, and
 * the canary chains.
 */
export function baseRulesRestoreText(): string {
  const out: string[] = [];
  const tables: ['mangle' | 'filter' | 'nat', string[]][] = [
    ['mangle', []],
    ['filter', [KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_SERVICES, KUBE_FORWARD, KUBE_PROXY_FIREWALL, KUBE_FIREWALL]],
    ['nat', [KUBE_SERVICES, KUBE_POSTROUTING]],
  ];
  for (const [table, chains] of tables) {
    out.push(`*${table}`);
    out.push(`:${KUBE_PROXY_CANARY} - [0:0]`);
    for (const c of chains) out.push(`:${c} - [0:0]`);
    const jumps = JUMPS.filter((j) => j.table === table);
    // Prepending in list order leaves the last-listed jump first.
    for (let i = jumps.length - 1; i >= 0; i--) {
      const j = jumps[i]!;
      const parts = [`-A ${j.src}`];
      if (j.extra) parts.push(j.extra);
      if (j.comment) parts.push(`-m comment --comment "${j.comment}"`);
      parts.push(`-j ${j.dst}`);
      out.push(parts.join(' '));
    }
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}
