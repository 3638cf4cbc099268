import type { z } from 'zod';
import { InputError } from '../io/input-error.ts';
import { formatPath } from '../io/yaml-source.ts';
import { didYouMean } from './did-you-mean.ts';
import type { FieldOrigins, FieldPath, Place } from './field-origins.ts';
import { readIssueText } from './issue-text.ts';
import { fieldsAt } from './schema-path.ts';

/**
 * Turns the schema's issues into the InputError the user sees: every problem, one line each, with where
 * it is written, the field path, what was expected, what was found and a hint. Problems of a single
 * field come first, then those a check across fields found (a relation between values often fails
 * only because one of them is wrong); each group in file order, an unknown key before the other
 * complaints about the same object.
 */
type Issue = z.core.$ZodIssue;

/** Substituted fields: a value that came from a sweep parameter is reported at the sweep's value. */
export interface SubstitutionInfo {
  path: FieldPath;
  param: string;
  value: unknown;
  /** Where that value is listed: ['sweep', param, index]. */
  sweepPath: FieldPath;
}

interface Described {
  place: Place;
  /** Position used to order problems (an unknown key sorts with its object, ahead of its siblings). */
  order?: Place;
  expected: string;
  found?: string;
  hint?: string;
  priority: number;
  /** A check across fields (a refinement of an object), reported after the problems of single fields. */
  crossField?: boolean;
}

/** One schema problem, with the key that orders it among the others (see orderProblems). */
export interface RankedProblem {
  error: InputError;
  rank: readonly number[];
}

export function describeIssues(issues: readonly Issue[], origins: FieldOrigins, substitutions: readonly SubstitutionInfo[] = []): RankedProblem[] {
  return issues.map((i) => {
    const d = describe(i, [], origins, substitutions);
    const at = d.order ?? d.place;
    return { error: new InputError(d.place.where, d.expected, d.found, d.hint), rank: [d.crossField ? 1 : 0, at.line, at.col, d.priority] };
  });
}

/**
 * The problems in the order to report them, each once (the points of a sweep repeat the mistakes
 * their parameters do not touch).
 */
export function orderProblems(problems: readonly RankedProblem[]): InputError[] {
  const sorted = [...problems].sort((a, b) => compareRanks(a.rank, b.rank));
  const seen = new Set<string>();
  return sorted.filter((p) => !seen.has(p.error.message) && seen.add(p.error.message)).map((p) => p.error);
}

function compareRanks(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function describe(issue: Issue, prefix: FieldPath, origins: FieldOrigins, subs: readonly SubstitutionInfo[]): Described {
  const path = [...prefix, ...(issue.path as (string | number)[])];
  const custom = readIssueText(issue.message);
  const input = (issue as { input?: unknown }).input;

  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const fields = fieldsAt(path);
    const others = issue.keys.length > 1 ? ` (also ${issue.keys.slice(1).map((k) => `'${k}'`).join(', ')})` : '';
    return {
      place: origins.place([...path, key], { key: true }),
      order: origins.place(path),
      expected: `a field of ${formatPath(path)}${fields.length <= 14 ? `: ${fields.join(', ')}` : ' (see `svcsim schema`)'}`,
      found: `unknown field '${key}'${others}`,
      ...opt('hint', didYouMean(key, fields)),
      priority: 0,
    };
  }
  if (issue.code === 'invalid_union' && !custom && issue.errors.length > 0) {
    // The branch that got furthest explains the problem best.
    const deepest = issue.errors
      .flat()
      .reduce((a, b) => (b.path.length > a.path.length ? b : a));
    return describe(deepest, path, origins, subs);
  }

  const sub = substitutionFor(path, subs);
  const place = sub
    ? withLabel(origins.place(sub.sweepPath), `${formatPath(sub.sweepPath)} (${sub.param} = ${JSON.stringify(sub.value)}, used at ${formatPath(path)})`)
    : origins.place(path);

  if (custom) {
    const scalar = input === null || typeof input !== 'object';
    const crossField = issue.code === 'custom' && custom.value !== true;
    return { place, expected: custom.expected, ...opt('found', scalar ? foundText(input) : undefined), ...opt('hint', custom.hint), priority: 3, crossField };
  }

  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) {
        return { place: origins.place(path), expected: `${article(issue.expected)} (a required field)`, found: 'nothing', priority: 1 };
      }
      return { place, expected: article(issue.expected), ...opt('found', foundText(input)), priority: 1 };
    case 'invalid_value': {
      const values = issue.values.map(String);
      return {
        place,
        expected: values.length === 1 ? JSON.stringify(values[0]) : `one of ${values.join(', ')}`,
        ...opt('found', foundText(input)),
        ...opt('hint', typeof input === 'string' ? didYouMean(input, values) : undefined),
        priority: 1,
      };
    }
    case 'too_small':
      return { place, expected: boundText('at least', issue.origin, issue.minimum, issue.inclusive), ...opt('found', foundText(input)), priority: 2 };
    case 'too_big':
      return { place, expected: boundText('at most', issue.origin, issue.maximum, issue.inclusive), ...opt('found', foundText(input)), priority: 2 };
    case 'invalid_format':
      return { place, expected: issue.pattern ? `text matching ${issue.pattern}` : `a valid ${issue.format}`, ...opt('found', foundText(input)), priority: 2 };
    case 'invalid_key':
      return describe(issue.issues[0]!, path, origins, subs);
    default:
      return { place, expected: issue.message, ...opt('found', foundText(input)), priority: 2 };
  }
}

function substitutionFor(path: FieldPath, subs: readonly SubstitutionInfo[]): SubstitutionInfo | undefined {
  // The substitution at the longest prefix of the failing path (a substituted object or list).
  let best: SubstitutionInfo | undefined;
  for (const s of subs) {
    if (s.path.length <= path.length && s.path.every((p, i) => String(p) === String(path[i]))) {
      if (!best || s.path.length > best.path.length) best = s;
    }
  }
  return best;
}

function withLabel(p: Place, label: string): Place {
  const colon = p.where.indexOf(': ');
  return colon < 0 ? { ...p, where: `${p.where} (${label})` } : { ...p, where: `${p.where.slice(0, colon)}: ${label}` };
}

function opt<K extends string>(key: K, v: string | undefined): { [k in K]?: string } {
  return v === undefined ? {} : ({ [key]: v } as { [k in K]: string });
}

const ARTICLES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  null: 'null',
};

function article(expected: string): string {
  return ARTICLES[expected] ?? expected;
}

function boundText(word: string, origin: string, bound: number | bigint, inclusive: boolean | undefined): string {
  const b = Number(bound);
  if (origin === 'array') return `a list with ${word} ${b} item${b === 1 ? '' : 's'}`;
  if (origin === 'string') return b === 1 && word === 'at least' ? 'a non-empty string' : `a string with ${word} ${b} characters`;
  if (inclusive === false) return `a number ${word === 'at least' ? 'above' : 'below'} ${b}`;
  return `a number ${word} ${b}`;
}

export function foundText(v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}
