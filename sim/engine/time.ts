import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';

/**
 * Simulated time is an integer number of nanoseconds held in a JS number: exact up to 2^53 ns
 * (about 104 days), which covers any study. Integer time keeps event order free of rounding.
 */
export type Nanos = number;

export const NS = 1;
export const US = 1_000;
export const MS = 1_000_000;
export const SECOND = 1_000_000_000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;

const UNITS: Record<string, number> = { ns: NS, us: US, 'µs': US, ms: MS, s: SECOND, m: MINUTE, h: HOUR };
const DURATION = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|µs|ms|s|m|h)\s*$/;

/**
 * Parses `250ms`, `10us`, `1.5s`, `2m` into integer nanoseconds. A bare number is refused: a
 * duration without a unit is the commonest scenario-file mistake, and guessing a unit hides it.
 * `where` names the field for the error message.
 */
export function parseDuration(text: unknown, where = 'duration'): Nanos {
  if (typeof text !== 'string') {
    throw new InputError(where, 'a duration string such as "250ms", "10us", "1.5s" or "2m"', describe(text));
  }
  const m = DURATION.exec(text);
  if (!m) {
    const bare = /^\s*\d+(\.\d+)?\s*$/.test(text);
    throw new InputError(
      where,
      'a duration with a unit (ns, us, ms, s, m, h), such as "250ms"',
      quoteInput(text),
      bare ? `add a unit, e.g. "${text.trim()}ms"` : undefined,
    );
  }
  const ns = Number(m[1]) * UNITS[m[2]!]!;
  const rounded = Math.round(ns);
  if (Math.abs(ns - rounded) > 1e-6 * Math.max(1, ns)) {
    throw new InputError(where, 'a duration that is a whole number of nanoseconds', quoteInput(text));
  }
  if (!Number.isSafeInteger(rounded)) {
    throw new InputError(where, 'a duration below 2^53 ns (about 104 days)', quoteInput(text));
  }
  return rounded;
}

/** Formats nanoseconds with the largest unit that keeps the number readable: 1500000 -> "1.5ms". */
export function formatDuration(ns: Nanos): string {
  const a = Math.abs(ns);
  const [unit, size] =
    a >= HOUR ? ['h', HOUR] : a >= MINUTE ? ['m', MINUTE] : a >= SECOND ? ['s', SECOND] : a >= MS ? ['ms', MS] : a >= US ? ['us', US] : ['ns', NS];
  const v = ns / size;
  return `${Number.isInteger(v) ? v : Number(v.toPrecision(4))}${unit}`;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return `the number ${v}`;
  return typeof v === 'object' ? (Array.isArray(v) ? 'a list' : 'an object') : `${typeof v} ${JSON.stringify(v)}`;
}
