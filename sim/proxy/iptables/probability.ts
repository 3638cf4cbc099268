/**
 * The `--probability` argument of kube-proxy's load-balancing rules: 1/n printed with Go's
 * fmt.Sprintf("%0.10f", 1.0/float64(n)) (pkg/proxy/iptables/proxier.go computeProbability).
 *
 * The i-th of n endpoint rules (0-based) matches with probability 1/(n-i), so that every endpoint
 * is chosen with 1/n overall; the last rule has no statistic match at all.
 *
 * Go rounds an exact decimal tie to even, while JavaScript's toFixed rounds it up. Among the
 * values 1/n only 1/2048 = 0.00048828125 is such a tie, but the rule is implemented in general.
 */
const cache: string[] = ['<bad value>'];

export function formatGoFixed10(x: number): string {
  const s = x.toFixed(10);
  const long = x.toFixed(20);
  // digits 11..20 of the exact expansion: "5000000000" means the value sits exactly halfway.
  const dot = long.indexOf('.');
  const tail = long.slice(dot + 11, dot + 21);
  if (tail !== '5000000000') return s;
  const down = long.slice(0, dot + 11);
  const lastDigit = down.charCodeAt(down.length - 1) - 48;
  return lastDigit % 2 === 0 ? down : s;
}

export function probability(n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`probability: n must be a positive integer, got ${n}`);
  for (let i = cache.length; i <= n; i++) cache.push(formatGoFixed10(1 / i));
  return cache[n]!;
}
