import { InputError } from './input-error.ts';
import { quoteInput } from './excerpt.ts';

/**
 * A `--threshold` value, as a fraction: the one reading of the flag for `svcsim compare`,
 * `npm run bench:check` and `npm run bench:gate`.
 *
 *   5%     five percent (0.05)            0.5%  half a percent (0.005)     200%  2
 *   0.05   a bare number is the fraction   1     100% (what .ci/run passes to bench:gate)
 *
 * Refused with an InputError naming the flag (the CLIs exit 2): anything but a non-negative decimal
 * with an optional `%`, and a bare number above 1. That one most likely meant a percent (`svcsim
 * compare --threshold 5` read as 5% until the flag had one reading), so the hint says `5%`; a
 * threshold above 100% is written with its percent sign (`500%`).
 */
export function parseThreshold(text: string): number {
  const expected = 'a fraction such as 0.05 or a percentage such as 5%';
  const m = /^\s*(\d+(?:\.\d*)?|\.\d+)\s*(%?)\s*$/.exec(text);
  if (!m) throw new InputError('--threshold', expected, quoteInput(text));
  const value = Number(m[1]);
  if (m[2] === '%') return value / 100;
  if (value > 1) throw new InputError('--threshold', expected, quoteInput(text), `did you mean ${m[1]}%? A bare number is a fraction: 1 is 100%`);
  return value;
}
