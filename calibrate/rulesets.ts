/**
 * kube-proxy-like rule sets for calibration: N ClusterIP services with E endpoints each, written the
 * way kube-proxy writes them, so the kernel parses and walks what it would on a real node.
 *
 * iptables (kubernetes/kubernetes pkg/proxy/iptables/proxier.go): KUBE-SERVICES holds one rule per
 * service port matching the ClusterIP and port and jumping to KUBE-SVC-<hash>; that chain picks an
 * endpoint with `-m statistic --mode random --probability 1/(E-i)` (printed with %0.10f), the last
 * unconditionally; each KUBE-SEP-<hash> marks hairpin traffic for masquerade and DNATs. Chain hashes
 * are base32(sha256(servicePortName + protocol [+ endpoint]))[:16] (servicePortChainName,
 * servicePortEndpointChainName). The service chain starts with the masquerade check for traffic from
 * outside the cluster CIDR. Per service port with E endpoints that is 3 + 4E restore lines (19 at E = 4),
 * the count sim/proxy/cost/iptables.ts charges for, so the fitted per-line cost is the one the
 * model multiplies. (../shared/tools/kernel-probe/gen.py, where the first defaults came from, wrote 2 + 4E.)
 *
 * nftables (pkg/proxy/nftables/proxier.go): table `ip kube-proxy`, a `services` chain doing one
 * `ip daddr . meta l4proto . th dport vmap @service-ips` lookup, a chain per service port choosing an
 * endpoint with `numgen random mod E vmap`, a chain per endpoint with the masquerade mark and
 * `dnat to`. Written as one `nft -f` transaction of `add` commands, one object per line, as knftables
 * does; chain names are `service-<hash8>-ns/name/tcp/port` and `endpoint-<hash8>-...__ip/port`.
 */
import { createHash } from 'node:crypto';
import { LARGE_CLUSTER_ENDPOINTS_THRESHOLD } from '../sim/proxy/iptables/proxier.ts';

/** The pod network the masquerade check excludes (kube-proxy's --cluster-cidr). */
export const CLUSTER_CIDR = '10.244.0.0/16';

/** The service the probe connects to: its rule comes after all N others, i.e. at position N+1. */
export interface ProbeTarget {
  clusterIP: string;
  port: number;
  /** Where DNAT sends it: the server namespace's address and port. */
  backend: string;
}

export interface RuleSet {
  text: string;
  /** Lines of the restore / nft -f input (what restoreNsPerLine and nftNsPerLine are per). */
  lines: number;
  /** Rules in the table after loading (what singleUpdateNsPerRule is per). */
  rules: number;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 (Go's base32.StdEncoding), enough characters for a chain-name hash. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function hash(text: string, length: number): string {
  return base32(createHash('sha256').update(text).digest()).slice(0, length);
}

/** ClusterIP of service s: 10.96.0.0/12 from 10.96.0.1 up, as the apiserver's default range. */
export function serviceIP(s: number): string {
  const n = s + 1;
  return `10.${96 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Endpoint i of service s, pod addresses from 10.244.0.2 up (never routed: only parsed and matched). */
export function endpointIP(s: number, i: number): string {
  const n = s * 8 + i + 2;
  return `10.${244 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * Marks the last of `walkRepeat` passes through KUBE-SERVICES (see iptablesRestoreInput). Not a bit
 * kube-proxy uses (it uses 0x4000 for masquerade and 0x8000 for drop).
 */
export const LAST_PASS_MARK = '0x10000';

/**
 * `walkRepeat` R > 1 amplifies the walk for measurement: PREROUTING jumps into KUBE-SERVICES R
 * times, and only in the last pass (after a mark is set) does the target's rule match, so a SYN
 * walks the N service rules R times before its DNAT. R = 1 is kube-proxy's layout exactly.
 */
export function iptablesRestoreInput(services: number, endpointsPerService: number, target?: ProbeTarget, walkRepeat = 1): RuleSet {
  const chains = [':PREROUTING ACCEPT [0:0]', ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]'];
  const rules: string[] = [];
  for (let r = 1; r < walkRepeat; r++) rules.push('-A PREROUTING -j KUBE-SERVICES');
  if (walkRepeat > 1) rules.push(`-A PREROUTING -j MARK --or-mark ${LAST_PASS_MARK}`);
  rules.push('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000');
  // kube-proxy drops the per-endpoint comments above 1000 endpoints (largeClusterMode,
  // LARGE_CLUSTER_ENDPOINTS_THRESHOLD in sim/proxy/iptables/proxier.ts), so big tables parse less text.
  const largeCluster = services * endpointsPerService > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const perService: string[] = [];
  const addService = (name: string, ip: string, port: number, endpoints: string[], onLastPass = false) => {
    const spn = `default/${name}:http`;
    const svc = `KUBE-SVC-${hash(`${spn}tcp`, 16)}`;
    chains.push(`:${svc} - [0:0]`);
    const lastPass = onLastPass ? ` -m mark --mark ${LAST_PASS_MARK}/${LAST_PASS_MARK}` : '';
    const match = `-m comment --comment "${spn} cluster IP" -m tcp -p tcp -d ${ip} --dport ${port}`;
    rules.push(`-A KUBE-SERVICES ${match}${lastPass} -j ${svc}`);
    // Traffic from outside the cluster CIDR to the ClusterIP is masqueraded (the local detector).
    perService.push(`-A ${svc} ${match} ! -s ${CLUSTER_CIDR} -j KUBE-MARK-MASQ`);
    endpoints.forEach((ep, i) => {
      const sep = `KUBE-SEP-${hash(`${spn}tcp${ep}`, 16)}`;
      chains.push(`:${sep} - [0:0]`);
      const left = endpoints.length - i;
      const pick = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
      perService.push(`-A ${svc}${largeCluster ? '' : ` -m comment --comment "${spn} -> ${ep}"`}${pick} -j ${sep}`);
      const epIP = ep.split(':')[0];
      const sepComment = largeCluster ? '' : ` -m comment --comment ${spn}`;
      perService.push(`-A ${sep}${sepComment} -s ${epIP} -j KUBE-MARK-MASQ`);
      perService.push(`-A ${sep}${sepComment} -m tcp -p tcp -j DNAT --to-destination ${ep}`);
    });
  };
  for (let s = 0; s < services; s++) {
    addService(`svc-${s}`, serviceIP(s), 80, Array.from({ length: endpointsPerService }, (_, i) => `${endpointIP(s, i)}:8080`));
  }
  if (target) addService('probe-target', target.clusterIP, target.port, [target.backend], walkRepeat > 1);
  const all = ['*nat', ...chains, ...rules, ...perService, 'COMMIT'];
  return { text: `${all.join('\n')}\n`, lines: all.length, rules: rules.length + perService.length };
}

export function nftablesInput(services: number, endpointsPerService: number, target?: ProbeTarget): RuleSet {
  const t = 'ip kube-proxy';
  const out = [
    `add table ${t}`,
    `add chain ${t} mark-for-masquerade`,
    `add rule ${t} mark-for-masquerade mark set mark or 0x4000`,
    `add map ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`,
    `add chain ${t} services`,
    `add rule ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`,
    `add chain ${t} nat-prerouting { type nat hook prerouting priority dstnat ; }`,
    `add rule ${t} nat-prerouting jump services`,
  ];
  let rules = 3;
  const addService = (name: string, ip: string, port: number, endpoints: string[]) => {
    const base = `default/${name}/tcp/http`;
    const svc = `service-${hash(base, 8)}-${base}`;
    const eps = endpoints.map((ep) => {
      const [epIP, epPort] = ep.split(':');
      const eb = `${base}__${epIP}/${epPort}`;
      return { chain: `endpoint-${hash(eb, 8)}-${eb}`, ip: epIP, ep };
    });
    for (const e of eps) {
      out.push(`add chain ${t} ${e.chain}`);
      out.push(`add rule ${t} ${e.chain} ip saddr ${e.ip} jump mark-for-masquerade`);
      out.push(`add rule ${t} ${e.chain} meta l4proto tcp dnat to ${e.ep}`);
      rules += 2;
    }
    out.push(`add chain ${t} ${svc}`);
    out.push(`add rule ${t} ${svc} numgen random mod ${eps.length} vmap { ${eps.map((e, i) => `${i} : goto ${e.chain}`).join(' , ')} }`);
    out.push(`add element ${t} service-ips { ${ip} . tcp . ${port} : goto ${svc} }`);
    rules += 1;
  };
  for (let s = 0; s < services; s++) {
    addService(`svc-${s}`, serviceIP(s), 80, Array.from({ length: endpointsPerService }, (_, i) => `${endpointIP(s, i)}:8080`));
  }
  if (target) addService('probe-target', target.clusterIP, target.port, [target.backend]);
  return { text: `${out.join('\n')}\n`, lines: out.length, rules };
}
