import { readFileSync } from 'node:fs';
import { InputError, isInputError } from '../io/input-error.ts';
import { printableMessage, textOf } from '../io/excerpt.ts';
import { fitQuantileFunction, type MeasuredDistribution, type QuantileFunction } from '../cost/connect-latency.ts';

const WHAT = 'a connect-latency file written by calibrate/connect-distribution.ts (kind "svcsim-connect-distribution")';

interface FilePoint extends MeasuredDistribution {
  mode: string;
  layout: string;
  k: number;
}

/**
 * The kernel part of connectSetupLatency from a measurement (`connectSetup.calibration:`): the fit
 * of the file's kernel point (calibrate/connect-distribution.ts writes it; sim/cost/connect-latency.ts
 * fits it). `where` names the field in messages.
 */
export function readConnectKernel(path: string, where: string): QuantileFunction {
  let file: { kind?: unknown; kernel?: unknown; points?: unknown };
  try {
    file = JSON.parse(textOf(path, readFileSync(path), WHAT)) as typeof file;
  } catch (e) {
    if (isInputError(e)) throw e;
    throw new InputError(where, WHAT, printableMessage((e as Error).message));
  }
  if (file?.kind !== 'svcsim-connect-distribution' || typeof file.kernel !== 'string' || !Array.isArray(file.points)) {
    throw new InputError(where, WHAT, `kind ${JSON.stringify(file?.kind)}`);
  }
  const point = (file.points as FilePoint[]).find((p) => `${p.mode}/${p.layout}/${p.k}` === file.kernel);
  if (!point) throw new InputError(where, `${WHAT} holding its kernel point`, `no point ${JSON.stringify(file.kernel)}`);
  try {
    return fitQuantileFunction(point);
  } catch (e) {
    throw new InputError(where, `${WHAT} with every kept percentile`, printableMessage((e as Error).message));
  }
}
