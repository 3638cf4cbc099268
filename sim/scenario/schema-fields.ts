import { z } from 'zod';
import { parseDuration, type Nanos } from '../engine/time.ts';
import { isInputError } from '../io/input-error.ts';
import { issueText } from './issue-text.ts';

/**
 * The value types scenario fields are built from: durations with a unit, fractions or percentages,
 * Kubernetes' IntOrString, counts. Each states what it expects in the user's words.
 */

const DURATION_PATTERN = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|µs|ms|s|m|h)\s*$/;
const DURATION_EXPECTED = 'a duration with a unit (ns, us, ms, s, m, h), such as "250ms"';

function durationError(input: unknown): string {
  if (typeof input === 'number') {
    return issueText({ expected: DURATION_EXPECTED, hint: `add a unit, e.g. "${input}ms" or "${input}s"` });
  }
  if (typeof input === 'string' && /^\s*\d+(\.\d+)?\s*$/.test(input)) {
    return issueText({ expected: DURATION_EXPECTED, hint: `add a unit, e.g. "${input.trim()}ms"` });
  }
  return issueText({ expected: DURATION_EXPECTED });
}

/** A duration string, resolved to integer nanoseconds with sim/engine/time.ts parseDuration. */
export function duration(description: string) {
  return z
    .string({ error: (iss) => durationError(iss.input) })
    .regex(DURATION_PATTERN, { error: (iss) => durationError(iss.input) })
    .transform((text, ctx): Nanos => {
      try {
        return parseDuration(text);
      } catch (e) {
        if (!isInputError(e)) throw e;
        ctx.issues.push({ code: 'custom', input: text, message: issueText({ expected: e.expected, value: true }) });
        return z.NEVER;
      }
    })
    .describe(description);
}

const PERCENT_PATTERN = /^\s*\d+(\.\d+)?\s*%\s*$/;

/** A fraction written as 0.05 or "5%", resolved to a number in [0, 1]. */
export function fraction(description: string) {
  return z
    .union([z.number().min(0).max(1), z.string().regex(PERCENT_PATTERN)], {
      error: () => issueText({ expected: 'a fraction between 0 and 1 (such as 0.05) or a percentage (such as "5%")' }),
    })
    .transform((v, ctx) => {
      if (typeof v === 'number') return v;
      const f = Number(v.trim().slice(0, -1)) / 100;
      if (f > 1) {
        ctx.issues.push({ code: 'custom', input: v, message: issueText({ expected: 'a percentage of at most 100%', value: true }) });
        return z.NEVER;
      }
      return f;
    })
    .describe(description);
}

/** Kubernetes' IntOrString for maxSurge/maxUnavailable: an absolute count or a percentage. */
export function intOrPercent(description: string) {
  return z
    .union([z.number().int().nonnegative(), z.string().regex(PERCENT_PATTERN)], {
      error: () => issueText({ expected: 'a whole number (such as 1) or a percentage (such as "25%")' }),
    })
    .describe(description);
}

export function count(description: string) {
  return z.number().int().positive().describe(description);
}
