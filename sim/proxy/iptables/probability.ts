/**
 * The `--probability` argument of kube-proxy's load-balancing rules: 1/n printed with Go's
 * fmt.Sprintf("%0.10f", 1.0/float64(n)) (pkg/proxy/iptables/proxier.go computeProbability).
 *
 * The i-th of n endpoint rules (0-based) matches with probability 1/(n-i), so that every endpoint
 * is chosen with 1/n overall; the last rule has no statistic match at all.
 *
 * Go's strconv formats the exact value of the binary double and rounds it once, a tie to even
 * (strconv/decimal.go shouldRoundUp). Reading the tail of toFixed(20) is not exact: 1/51200 is a
 * double a little above 0.00001953125, whose first 20 digits look like a tie, so that printed
 * ...312 where Go prints ...313. Here the double is taken apart into m / 2^k and rounded in BigInt
 * arithmetic, which is exact for every finite double.
 */
const cache: string[] = ['<bad value>'];

const DIGITS = 10;
const SCALE = 10n ** BigInt(DIGITS);

/** Go's fmt.Sprintf("%0.10f", x) for a finite x. */
export function formatGoFixed10(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`formatGoFixed10: finite number expected, got ${x}`);
  const negative = x < 0 || Object.is(x, -0);
  const { mantissa, exponent } = decompose(Math.abs(x));
  // |x| = mantissa * 2^exponent; scaled = |x| * 10^10 = num / den exactly.
  let num = mantissa * SCALE;
  let den = 1n;
  if (exponent >= 0) num <<= BigInt(exponent);
  else den <<= BigInt(-exponent);
  let q = num / den;
  const twiceRemainder = 2n * (num % den);
  if (twiceRemainder > den || (twiceRemainder === den && q % 2n === 1n)) q += 1n;
  const digits = q.toString().padStart(DIGITS + 1, '0');
  const text = `${digits.slice(0, -DIGITS)}.${digits.slice(-DIGITS)}`;
  return negative ? `-${text}` : text;
}

/** The IEEE 754 binary64 fields of a finite, non-negative x: x = mantissa * 2^exponent. */
function decompose(x: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & ((1n << 52n) - 1n);
  // Subnormals (biased 0) have no implicit leading 1 and the exponent of the smallest normal.
  return biased === 0 ? { mantissa: fraction, exponent: -1074 } : { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

export function probability(n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`probability: n must be a positive integer, got ${n}`);
  for (let i = cache.length; i <= n; i++) cache.push(formatGoFixed10(1 / i));
  return cache[n]!;
}
