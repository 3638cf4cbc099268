import type { BenchSuite } from './suite.ts';
import { runHold } from './hold-model.ts';

/** The engine's hold model at the three queue sizes of the ns-3 anchor, as harness tasks. */
const suite: BenchSuite = {
  name: 'engine',
  tasks: ({ quick }) =>
    [1_000, 100_000, 1_000_000].map((P) => {
      const events = quick ? 200_000 : 1_000_000;
      return {
        name: `engine/hold pending=${P}`,
        fn: () => {
          runHold(P, events);
        },
        per: { unit: 'event', count: events },
      };
    }),
};
export default suite;
