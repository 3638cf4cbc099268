/**
 * A CPU amount as core/v1 resource quantities write it (`4`, `3500m`, `1.5`, `2k`), in millicores.
 *
 * Follows k8s.io/apimachinery/pkg/api/resource quantity.go: a decimal number with an optional suffix
 * (decimal SI m, k, M, G, T, P, E; binary Ki, Mi, Gi, Ti, Pi, Ei; or an exponent e<n>), and
 * Quantity.MilliValue, which rounds a fraction of a millicore up. Parsed with integer digits so that
 * `0.1` is 100 millicores, not the 100.00000000000001 a float product gives.
 * Returns undefined for text that is not a quantity or is negative.
 */
const SUFFIX_EXP10: Readonly<Record<string, number>> = { '': 0, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const SUFFIX_POW2: Readonly<Record<string, number>> = { Ki: 10, Mi: 20, Gi: 30, Ti: 40, Pi: 50, Ei: 60 };

export function cpuMilli(q: string | number): number | undefined {
  const text = typeof q === 'number' ? String(q) : q.trim();
  const m = /^\+?(\d*)(?:\.(\d*))?(.*)$/.exec(text);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return undefined;
  const intPart = m[1]!;
  const frac = m[2] ?? '';
  const suffix = m[3]!;
  let exp10: number;
  let pow2 = 0;
  if (suffix in SUFFIX_EXP10) exp10 = SUFFIX_EXP10[suffix]!;
  else if (suffix in SUFFIX_POW2) {
    exp10 = 0;
    pow2 = SUFFIX_POW2[suffix]!;
  } else {
    const e = /^[eE]([+-]?\d+)$/.exec(suffix);
    if (!e) return undefined;
    exp10 = Number(e[1]);
  }
  // digits × 10^(exp10 + 3 - frac.length) millicores, × 2^pow2.
  const digits = BigInt((intPart + frac).replace(/^0+(?=\d)/, '') || '0') * 2n ** BigInt(pow2);
  const shift = exp10 + 3 - frac.length;
  let milli: bigint;
  if (shift >= 0) milli = digits * 10n ** BigInt(shift);
  else {
    const div = 10n ** BigInt(-shift);
    milli = digits / div + (digits % div === 0n ? 0n : 1n); // MilliValue rounds up
  }
  return milli > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(milli);
}
