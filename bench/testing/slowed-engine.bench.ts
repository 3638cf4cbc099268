/**
 * The engine's hold tasks deliberately slowed, to check that the regression gate fails on a real
 * regression (docs/benchmarks.md). Same task names and work per call as
 * bench/engine.bench.ts; each call then spins for SLOWDOWN (a fraction, default 0.3) of the task's
 * own CPU time per call, measured in beforeAll after a warm-up. Not found by a plain `npm run bench`
 * (it lives outside bench/). Against a control run of the same code, so it holds whatever the
 * committed baseline's age:
 *
 *   SLOWDOWN=0 npm run bench -- --quick --suites bench/testing --out out/bench/control.json
 *   SLOWDOWN=0.3 npm run bench -- --quick --suites bench/testing --out out/bench/slowed.json
 *   npm run bench:check -- --baseline out/bench/control.json --results out/bench/slowed.json
 *   # exit 1: engine/hold ... SLOWER (fails); with SLOWDOWN=0 in the second run, exit 0
 */
import engine from '../engine.bench.ts';
import { processCpuMs } from '../measure.ts';
import type { BenchSuite } from '../suite.ts';

const slowdown = Number(process.env.SLOWDOWN ?? '0.3');

const suite: BenchSuite = {
  name: engine.name,
  tasks: (options) =>
    engine.tasks(options).map((t) => {
      let extraMs = 0;
      return {
        ...t,
        beforeAll: async () => {
          await t.beforeAll?.();
          for (let i = 0; i < 10; i++) await t.fn();
          const start = processCpuMs();
          for (let i = 0; i < 10; i++) await t.fn();
          extraMs = ((processCpuMs() - start) / 10) * slowdown;
          process.stderr.write(`  ${t.name}: +${extraMs.toFixed(2)} ms of CPU per call (${slowdown * 100}%)\n`);
        },
        fn: () => {
          void t.fn(); // the engine's tasks are synchronous
          const end = processCpuMs() + extraMs;
          while (processCpuMs() < end);
        },
      };
    }),
};
export default suite;
