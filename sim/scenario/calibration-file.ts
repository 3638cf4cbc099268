/**
 * Reading a calibration file (`costs: { calibration: FILE }` in a scenario): the JSON `svcsim
 * calibrate` writes (its CostModel fields under `costs`, beside the record of how they were
 * measured), or a bare object of CostModel fields. Every key is checked: a misspelt cost field
 * silently dropped would leave the default in force while the user believes the calibration is,
 * so an unknown key is an InputError naming the file, line:column, key path and the closest name.
 */
import { readFileSync } from 'node:fs';
import { InputError } from '../io/input-error.ts';
import { printableMessage, textOf } from '../io/excerpt.ts';
import { locate, parseYamlText, type YamlSource } from '../io/yaml-source.ts';
import { DEFAULT_COSTS, type CostModel, type DeepPartial } from '../cost/cost-model.ts';
import { didYouMean } from './did-you-mean.ts';

/**
 * The top-level keys of the file `svcsim calibrate` writes (CalibrationFile in
 * calibrate/model.ts; calibrate/model.test.ts checks the two agree). Only `costs` is
 * read; the others record the measurement and are accepted as they are.
 */
export const CALIBRATION_FILE_KEYS = ['kind', 'version', 'measuredAt', 'quick', 'endpointsPerService', 'command', 'host', 'costs', 'fits', 'conntrack', 'warnings', 'points'] as const;

const COST_KEYS = Object.keys(DEFAULT_COSTS) as (keyof CostModel)[];

export function readCalibration(path: string, where: string): DeepPartial<CostModel> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new InputError(where, 'a readable calibration file', `${path}: ${(e as Error).message}`);
  }
  return parseCalibration(textOf(path, bytes, 'a calibration file in JSON'), path, where);
}

/** `path` names the file in messages; `where` is the scenario field that named it (for a bad file as a whole). */
export function parseCalibration(text: string, path: string, where: string): DeepPartial<CostModel> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(where, 'a JSON calibration file', `${path}: ${printableMessage((e as Error).message)}`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new InputError(path, 'a JSON object (a calibration file or CostModel fields)', Array.isArray(json) ? 'an array' : JSON.stringify(json));
  // Positions only: JSON is YAML, and the YAML parser keeps where each value is written.
  let src: YamlSource | undefined;
  try {
    src = parseYamlText(text, path);
  } catch {
    src = undefined;
  }
  const at = (keyPath: string[]) => (src ? locate(src, keyPath) : path);
  const unknown = (keyPath: string[], known: readonly string[], expected: string): never => {
    const key = keyPath.at(-1)!;
    throw new InputError(`${at(keyPath)}: ${keyPath.join('.')}`, expected, `unknown key ${JSON.stringify(key)}`, didYouMean(key, known));
  };

  const top = json as Record<string, unknown>;
  let body: Record<string, unknown>;
  let prefix: string[];
  if ('costs' in top) {
    for (const k of Object.keys(top)) {
      if (!(CALIBRATION_FILE_KEYS as readonly string[]).includes(k)) unknown([k], CALIBRATION_FILE_KEYS, `one of the keys svcsim calibrate writes (${CALIBRATION_FILE_KEYS.join(', ')})`);
    }
    if (!top.costs || typeof top.costs !== 'object' || Array.isArray(top.costs)) throw new InputError(`${at(['costs'])}: costs`, 'an object of CostModel fields', JSON.stringify(top.costs));
    body = top.costs as Record<string, unknown>;
    prefix = ['costs'];
  } else {
    body = top;
    prefix = [];
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(body)) {
    const keyPath = [...prefix, key];
    if (!(COST_KEYS as string[]).includes(key)) {
      // A bare file may also be a calibration file with `costs` misspelt: offer that name too.
      unknown(keyPath, prefix.length ? COST_KEYS : ['costs', ...COST_KEYS], 'a CostModel field (sim/cost/cost-model.ts)');
    }
    const def = DEFAULT_COSTS[key as keyof CostModel];
    if (typeof def === 'number') {
      if (!(typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new InputError(`${at(keyPath)}: ${keyPath.join('.')}`, 'a non-negative number of ns', JSON.stringify(v));
    } else {
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InputError(`${at(keyPath)}: ${keyPath.join('.')}`, `an object of non-negative numbers keyed by ${Object.keys(def).join(' / ')}`, JSON.stringify(v));
      for (const [inner, x] of Object.entries(v)) {
        const innerPath = [...keyPath, inner];
        if (!(inner in def)) unknown(innerPath, Object.keys(def), `one of ${Object.keys(def).join(', ')}`);
        if (!(typeof x === 'number' && Number.isFinite(x) && x >= 0)) throw new InputError(`${at(innerPath)}: ${innerPath.join('.')}`, 'a non-negative number of ns', JSON.stringify(x));
      }
    }
    out[key] = v;
  }
  return out as DeepPartial<CostModel>;
}
