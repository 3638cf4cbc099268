import { z } from 'zod';
import { DEFAULT_COSTS, type CostModel, type DeepPartial } from '../cost/cost-model.ts';

/** The `costs:` section: overrides of the CostModel, one optional field per cost, or a calibration file. */

const costKeys = Object.keys(DEFAULT_COSTS) as (keyof CostModel)[];
const costShape: Record<string, z.ZodType> = {};
for (const key of costKeys) {
  const def = DEFAULT_COSTS[key];
  if (typeof def === 'number') {
    costShape[key] = z.number().nonnegative().optional().describe(`ns. Default ${def}.`);
  } else {
    const inner: Record<string, z.ZodType> = {};
    for (const [k, v] of Object.entries(def)) inner[k] = z.number().nonnegative().optional().describe(`ns. Default ${v}.`);
    costShape[key] = z.strictObject(inner).optional().describe(`ns per backend. Default ${JSON.stringify(def)}.`);
  }
}
export const costsSchema = z
  .strictObject({
    ...costShape,
    calibration: z
      .string()
      .min(1)
      .optional()
      .describe('Path (relative to the scenario file) to the JSON `svcsim calibrate` writes; fields given here override it.'),
  })
  .describe('Overrides of the CostModel (docs/calibration.md), in nanoseconds, or a calibration file.');
export type CostOverrides = DeepPartial<CostModel> & { calibration?: string };
