/**
 * What the rule, match and target parsers share: the value syntaxes of iptables options (numbers as
 * xtables_strtoui reads them, marks, ports and port ranges, TCP flags, the statistic fixed point) and
 * where one part of a rule's arguments ends and the next begins.
 */
import type { InputError } from '../io/input-error.ts';
import type { PortRange } from './rule.ts';
import type { TableName } from './ruleset.ts';

export interface RuleEnv {
  table: TableName;
  /** Whether a user chain of this name exists (declared) in the table. */
  isChain(name: string): boolean;
  /** Names a position (file:line:col) for errors. */
  where(col: number): string;
  /** Reports something kept but not modelled (unknown module or target). */
  warn(col: number, message: string): void;
}

/** The InputError for the word at index `at` (past the end: the column after the last word). */
export type ErrFn = (at: number, expected: string, found?: string) => InputError;

/** The parse position in a rule's words, shared by the rule parser and the target parser. */
export interface Cursor {
  i: number;
}

export function parseNumber(t: string): number | undefined {
  // xtables_strtoui with base 0: 0x.. hex, leading 0 octal, else decimal.
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^0[0-7]+$/.test(t)) return parseInt(t.slice(1), 8);
  if (/^[0-9]+$/.test(t)) return Number(t);
  return undefined;
}

export function parseU32(t: string): number | undefined {
  const v = parseNumber(t);
  return v !== undefined && v <= 0xffffffff ? v : undefined;
}

/** VALUE[/MASK] as in --mark and --set-xmark; the mask defaults to 0xffffffff. */
export function parseMarkMask(t: string): { value: number; mask: number } | undefined {
  const slash = t.indexOf('/');
  const value = parseU32(slash < 0 ? t : t.slice(0, slash));
  const mask = slash < 0 ? 0xffffffff : parseU32(t.slice(slash + 1));
  if (value === undefined || mask === undefined) return undefined;
  return { value, mask };
}

export function parsePort(t: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 65535 ? n : undefined;
}

/** PORT or LO:HI (an empty side means 0 or 65535, as iptables accepts ":1024"). */
export function parsePortRange(t: string): PortRange | undefined {
  const colon = t.indexOf(':');
  if (colon < 0) {
    const p = parsePort(t);
    return p === undefined ? undefined : { lo: p, hi: p };
  }
  const lo = colon === 0 ? 0 : parsePort(t.slice(0, colon));
  const hi = colon === t.length - 1 ? 65535 : parsePort(t.slice(colon + 1));
  if (lo === undefined || hi === undefined || lo > hi) return undefined;
  return { lo, hi };
}

const TCP_FLAG_BITS: Record<string, number> = { FIN: 1, SYN: 2, RST: 4, PSH: 8, ACK: 16, URG: 32, ALL: 63, NONE: 0 };
export function parseTcpFlags(t: string): number | undefined {
  let v = 0;
  for (const f of t.split(',')) {
    const b = TCP_FLAG_BITS[f.toUpperCase()];
    if (b === undefined) return undefined;
    v |= b;
  }
  return v;
}

/** Kernel fixed point of --probability: lround(0x80000000 * p) (libxt_statistic.c). */
export function probabilityToFixed(p: number): number {
  return Math.round(0x80000000 * p);
}
export function fixedToProbabilityText(fixed: number): string {
  return (fixed / 0x80000000).toFixed(11);
}

/**
 * Words that begin a new part of the rule (not an option of the current module or target). A map
 * without a prototype, so a word such as `constructor` or `toString` is not taken for an option.
 */
export const BUILTIN_OPTS: Record<string, 's' | 'd' | 'p' | 'i' | 'o' | 'f'> = Object.assign(Object.create(null), {
  '-s': 's', '--source': 's', '--src': 's',
  '-d': 'd', '--destination': 'd', '--dst': 'd',
  '-p': 'p', '--protocol': 'p',
  '-i': 'i', '--in-interface': 'i',
  '-o': 'o', '--out-interface': 'o',
  '-f': 'f', '--fragment': 'f',
});
export function startsSection(words: string[], i: number): boolean {
  const w = words[i]!;
  if (w === '-m' || w === '--match' || w === '-j' || w === '--jump' || w === '-g' || w === '--goto') return true;
  if (w in BUILTIN_OPTS) return true;
  if (w === '!' && i + 1 < words.length && words[i + 1]! in BUILTIN_OPTS) return true;
  return false;
}

/** The words from c.i up to the next part of the rule, consumed (kept verbatim by unmodelled modules and targets). */
export function wordsUntilSection(words: string[], c: Cursor, out: string[] = []): string[] {
  while (c.i < words.length && !startsSection(words, c.i)) out.push(words[c.i++]!);
  return out;
}
