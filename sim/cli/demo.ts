import type { Command } from 'commander';
import { Simulator } from '../engine/simulator.ts';
import { SECOND, formatDuration } from '../engine/time.ts';

/**
 * Until the scenario runner lands, `npm run scenario` runs this built-in demo of the engine: an M/M/1
 * queue (Poisson arrivals, one exponential server), whose mean time in system has the closed form
 * 1/(mu - lambda), so the output checks the engine against theory.
 */
export function registerDemo(program: Command): void {
  program
    .command('scenario')
    .description('run scenario files (until the runner lands: a built-in M/M/1 demo of the engine)')
    .argument('[files...]')
    .option('--seed <n>', 'master seed', '1')
    .action((_files: string[], opts: { seed: string }) => {
      const lambda = 800_000 / SECOND; // arrivals per ns (800k/s)
      const mu = 1_000_000 / SECOND; // service rate per ns (1M/s)
      const sim = new Simulator({ seed: opts.seed });
      const arrivals = sim.rng('demo/arrivals');
      const service = sim.rng('demo/service');
      const waiting: number[] = [];
      let busy = false;
      let served = 0;
      let totalInSystem = 0;
      const depart = () => {
        const arrived = waiting.shift()!;
        totalInSystem += sim.now - arrived;
        served++;
        if (waiting.length > 0) sim.schedule(service.exponential(1 / mu), depart);
        else busy = false;
      };
      const arrive = () => {
        waiting.push(sim.now);
        if (!busy) {
          busy = true;
          sim.schedule(service.exponential(1 / mu), depart);
        }
        sim.schedule(arrivals.exponential(1 / lambda), arrive);
      };
      sim.schedule(0, arrive);
      sim.run(2 * SECOND);
      const mean = totalInSystem / served;
      const theory = 1 / (mu - lambda);
      console.log('svcsim engine demo (the scenario runner is not built yet): M/M/1 queue, lambda=800k/s, mu=1M/s');
      console.log(`  customers served:     ${served}`);
      console.log(`  mean time in system:  ${formatDuration(Math.round(mean))} (theory ${formatDuration(Math.round(theory))})`);
      console.log(`  events executed:      ${sim.executed}`);
      if (Math.abs(mean - theory) > 0.1 * theory) console.log(`  WARNING: more than 10% from theory`);
    });
}
