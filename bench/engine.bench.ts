import type { BenchSuite } from './suite.ts';
import { Simulator } from '../sim/engine/simulator.ts';

/**
 * The engine's hold model (bench/hold-model.ts) at the three queue sizes of the ns-3 anchor, as
 * harness tasks measuring the steady state: beforeAll schedules the P pending events (not timed),
 * and each call runs EVENTS more events, the queue staying at P throughout. The work per call is the
 * same in the quick and full forms. `npm run bench:engine` measures the same model whole, beside ns-3.
 */
const EVENTS = 100_000;

function holdTask(pending: number) {
  let sim: Simulator | undefined;
  let count = 0;
  let target = 0;
  let rng: ReturnType<Simulator['rng']>;
  const tick = (_: undefined, s: Simulator): void => {
    s.schedule(1 + Math.floor(rng.exponential(1000)), tick);
    if (++count >= target) s.stop();
  };
  return {
    name: `engine/hold pending=${pending}`,
    beforeAll: () => {
      sim = new Simulator({ seed: 1 });
      rng = sim.rng('bench/hold');
      for (let i = 0; i < pending; i++) sim.schedule(1 + Math.floor(rng.exponential(1000)), tick);
    },
    fn: () => {
      target = count + EVENTS;
      sim!.run();
    },
    afterAll: () => {
      sim = undefined;
    },
    per: { unit: 'event', count: EVENTS },
    figures: () => ({ pending }),
  };
}

const suite: BenchSuite = {
  name: 'engine',
  tasks: () => [1_000, 100_000, 1_000_000].map(holdTask),
};
export default suite;
