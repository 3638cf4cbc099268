import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim calibrate [--quick] [--out FILE]`: measures this host's kernel (iptables-restore for the
 * legacy and nft backends, single-rule updates, the per-rule walk cost, an nftables verdict map,
 * conntrack entries) in network namespaces it creates and removes, fits the CostModel, and writes
 * FILE (JSON a scenario loads with `costs: { calibration: FILE }`), FILE's .md report and its charts.
 * `--from OLD.json` (repeatable) measures nothing and fits and reports again from OLD's points
 * (several files: each point the median of the runs).
 * The measuring lives in calibrate/ (it reads the wall clock, which sim/ never does). Without
 * root, namespaces or the kernel tools it prints what is missing and exits 2, creating nothing.
 */
export const DEFAULT_CALIBRATION_OUT = 'out/calibration/calibration.json';

export function registerCalibrate(program: Command): void {
  const command = program
    .command('calibrate')
    .description("Measure this host's kernel (as root, in network namespaces) and fit the CostModel")
    .option('--quick', 'fewer, smaller sizes (about 2 minutes instead of about 10)', false)
    .option('--out <file>', 'where to write the calibration JSON (the report and charts go beside it)', DEFAULT_CALIBRATION_OUT)
    .option('--from <file>', 'measure nothing: fit and report again from the points of an earlier calibration JSON (repeat to take each point as the median of several runs)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .action(async (opts: { quick: boolean; out: string; from?: string[] }) => {
      if (!/\.json$/.test(opts.out) || opts.out === '.json') throw new InputError('--out', 'a file name ending in .json', JSON.stringify(opts.out));
      if (opts.from !== undefined && opts.quick) throw new InputError('--from', 'no --quick with --from (the file says how it was measured)', '--quick');
      const { MissingPrerequisites, calibrationSummary, refitCalibration, runCalibrate } = await import('../../calibrate/calibrate.ts');
      const command = `svcsim calibrate${opts.quick ? ' --quick' : ''}${(opts.from ?? []).map((f) => ` --from ${f}`).join('')} --out ${opts.out}`;
      try {
        const { file, outputs } =
          opts.from !== undefined
            ? await refitCalibration(opts.from, opts.out, command)
            : await runCalibrate({ quick: opts.quick, out: opts.out, command, log: (l) => process.stderr.write(`calibrate: ${l}\n`) });
        process.stdout.write(`${calibrationSummary(file)}\n`);
        process.stdout.write(`wrote ${outputs.json}, ${outputs.report}${outputs.charts.length ? ` and ${outputs.charts.length} charts` : ''}\n`);
        if (outputs.chartsSkipped) process.stdout.write(`charts not rendered: ${outputs.chartsSkipped} (their vega-lite specs are beside the report)\n`);
      } catch (e) {
        if (e instanceof MissingPrerequisites) {
          process.stderr.write(`svcsim ${e.message}\n`);
          process.exitCode = 2;
          return;
        }
        throw e;
      }
    });
  addExamples(command, [
    { say: 'Measure this host (about 2 minutes) and write out/calibration/calibration.json', run: ['svcsim calibrate --quick'], needsRoot: true },
    { say: "Fit and report again from the repository's measurements, measuring nothing", run: ['svcsim calibrate --from calibrate/measured/calibration.json --out out/refit/calibration.json'] },
  ]);
}
