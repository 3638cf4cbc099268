/**
 * The normalisation kube-proxy's own tests apply before comparing iptables-restore input
 * (kubernetes/kubernetes pkg/proxy/iptables/proxier_test.go sortIPTablesRules, printing through
 * iptablestest's dump): tables by name; chains with KUBE-NODEPORTS first, then KUBE-SERVICES, then
 * other KUBE-* chains alphabetically, then the rest; all chain lines first, then each chain's rules in
 * chain order, then `-X` lines; the rules of KUBE-NODEPORTS and KUBE-SERVICES stably sorted by the
 * service name in their comment, keeping the "must be the last rule" rule last.
 *
 * Used by golden tests to compare our output with kube-proxy's expected dumps independently of the
 * order in which services are walked.
 */
export function normalizeRestoreText(text: string): string {
  const tables = new Map<string, { chains: string[]; rules: Map<string, string[]>; deletes: string[] }>();
  let cur: { chains: string[]; rules: Map<string, string[]>; deletes: string[] } | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.startsWith('*')) {
      cur = { chains: [], rules: new Map(), deletes: [] };
      tables.set(line.slice(1), cur);
    } else if (line === 'COMMIT') {
      cur = undefined;
    } else if (!cur) {
      throw new Error(`line outside a table: ${line}`);
    } else if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0]!;
      if (!cur.chains.includes(name)) cur.chains.push(name);
      if (!cur.rules.has(name)) cur.rules.set(name, []);
    } else if (line.startsWith('-A ')) {
      const name = line.split(' ')[1]!;
      if (!cur.rules.has(name)) {
        cur.rules.set(name, []);
        cur.chains.push(name);
      }
      cur.rules.get(name)!.push(line);
    } else if (line.startsWith('-X ')) {
      cur.deletes.push(line);
    } else {
      throw new Error(`unexpected line: ${line}`);
    }
  }
  const out: string[] = [];
  for (const name of [...tables.keys()].sort()) {
    const t = tables.get(name)!;
    const chains = [...t.chains].sort(compareChains);
    out.push(`*${name}`);
    for (const c of chains) out.push(`:${c} - [0:0]`);
    for (const c of chains) {
      let rules = t.rules.get(c) ?? [];
      if (c === 'KUBE-NODEPORTS' || c === 'KUBE-SERVICES') rules = stableSortByService(rules);
      out.push(...rules);
    }
    out.push(...[...t.deletes].sort());
    out.push('COMMIT');
  }
  return out.join('\n') + '\n';
}

function compareChains(a: string, b: string): number {
  const rank = (c: string) => (c === 'KUBE-NODEPORTS' ? 0 : c === 'KUBE-SERVICES' ? 1 : c.startsWith('KUBE-') ? 2 : 3);
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The comment's service name: the comment value up to the first space or colon. */
function commentService(rule: string): string | undefined {
  const m = /--comment (?:"([^"]*)"|(\S+))/.exec(rule);
  if (!m) return undefined;
  const v = m[1] ?? m[2]!;
  const i = v.search(/[ :]/);
  return i < 0 ? v : v.slice(0, i);
}

function stableSortByService(rules: string[]): string[] {
  const keyed = rules.map((r, i) => ({ r, i, k: commentService(r), last: r.includes('must be the last rule') }));
  keyed.sort((a, b) => {
    if (a.last !== b.last) return a.last ? 1 : -1;
    if (a.k !== undefined && b.k !== undefined && a.k !== b.k) return a.k < b.k ? -1 : 1;
    return a.i - b.i;
  });
  return keyed.map((x) => x.r);
}
