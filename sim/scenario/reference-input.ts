import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { References } from '../../reports/references.ts';
import { referenceColumn } from '../../reports/references.ts';
import { InputError } from '../io/input-error.ts';
import type { FieldPath } from './field-origins.ts';
import type { LoadedScenario } from './load.ts';
import type { ResolvedScenario } from './schema.ts';
import { closest } from '../../reports/expectations.ts';

type ScenarioReference = NonNullable<ResolvedScenario['reference']>;

/** The study's `reference:` as reports/ takes it (sweep values as written; a boolean as its text). */
export function reportReferences(r: ScenarioReference): References {
  const v = (x: string | number | boolean) => (typeof x === 'boolean' ? String(x) : x);
  return {
    x: r.x,
    factor: r.factor,
    points: r.points.map((p) => ({ ...p, x: v(p.x), series: Object.fromEntries(Object.entries(p.series).map(([k, s]) => [k, v(s)])) })),
  };
}

const URL_SOURCE = /^https?:\/\/\S+$/;

/**
 * Before any run: `reference.x` and each point's series name sweep parameters, each point's metric
 * (with its percentile) is a column the runs write, and each source is a URL or a file of the
 * repository that exists (relative to the scenario file). Every mistake is one problem at its line.
 */
export function checkReferences(loaded: LoadedScenario, metrics: readonly string[], check: (path: FieldPath, run: () => void) => void): void {
  const ref = loaded.points[0]!.scenario.reference;
  if (!ref) return;
  const params = loaded.sweep.map((s) => s.name);
  const param = (name: string, at: FieldPath) =>
    check(at, () => {
      if (params.includes(name)) return;
      const near = closest(name, params);
      throw new InputError(loaded.placeOf(at), `a sweep parameter (${params.join(', ') || 'the study has none'})`, JSON.stringify(name), near ? `did you mean ${near}?` : undefined);
    });
  param(ref.x, ['reference', 'x']);
  ref.points.forEach((p, i) => {
    for (const k of Object.keys(p.series)) param(k, ['reference', 'points', i, 'series', k]);
    const column = referenceColumn(p);
    check(['reference', 'points', i, 'metric'], () => {
      if (metrics.includes(column)) return;
      const near = closest(column, metrics);
      throw new InputError(loaded.placeOf(['reference', 'points', i, 'metric']), 'a metric the runs write, with its percentile (a column of runs.csv)', JSON.stringify(column), near ? `did you mean ${near}?` : undefined);
    });
    check(['reference', 'points', i, 'source'], () => {
      if (URL_SOURCE.test(p.source)) return;
      if (existsSync(resolve(dirname(loaded.file), p.source))) return;
      throw new InputError(loaded.placeOf(['reference', 'points', i, 'source']), 'an http(s) URL, or a file of this repository relative to the scenario file', `${JSON.stringify(p.source)}: neither a URL nor an existing file`);
    });
  });
}
