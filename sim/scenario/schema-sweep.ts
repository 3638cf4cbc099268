import { z } from 'zod';
import { count } from './schema-fields.ts';

/** The `sweep:`, `exclude:` and `quick:` sections: which points a study runs, and its smaller CI version. */

export const sweepValue = z.union([z.string(), z.number(), z.boolean()]);

export const sweepSchema = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.array(sweepValue).min(1))
  .describe('Parameters and their values; runs cover every combination. Reference a parameter in any field as "${name}" (a whole-field reference keeps the value\'s type).');

export const excludeSchema = z
  .array(z.record(z.string(), z.union([sweepValue, z.array(sweepValue).min(1)])).refine((e) => Object.keys(e).length > 0))
  .describe(
    'Sweep points not to run. Each entry names values of some sweep parameters (a value or a list of values); a point of the grid whose parameters match every one of an entry\'s is skipped, e.g. { mode: userspace, services: [20000, 50000] }.',
  );

export const quickSchema = z
  .strictObject({
    replications: count('Replications under --quick.').optional(),
    duration: z.string().optional().describe('Duration under --quick.'),
    warmup: z.string().optional().describe('Warm-up under --quick.'),
    sweep: z.record(z.string(), z.array(sweepValue).min(1)).optional().describe('Sweep parameters replaced under --quick (others keep their values).'),
    set: z.record(z.string(), z.unknown()).optional().describe('Field overrides under --quick, as path: value (same as --set).'),
  })
  .describe('A smaller version of the study for CI, used with --quick.');
