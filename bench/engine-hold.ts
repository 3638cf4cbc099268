// quick hold model probe (replaced by the full bench later)
import { Simulator } from '../sim/engine/simulator.ts';
import type { QueueKind } from '../sim/engine/event-queue.ts';
const E = Number(process.argv[2] ?? 5_000_000);
for (const kind of ['heap4', 'fastpriorityqueue'] as QueueKind[]) {
  for (const P of [1000, 100000, 1000000]) {
    const sim = new Simulator({ seed: 1, queue: kind });
    const rng = sim.rng('hold');
    let count = 0;
    const tick = (_: unknown, s: Simulator) => {
      if (++count >= E) { s.stop(); return; }
      s.schedule(1 + Math.floor(rng.exponential(1000)), tick);
    };
    for (let i = 0; i < P; i++) sim.schedule(1 + Math.floor(rng.exponential(1000)), tick);
    const t0 = performance.now();
    sim.run();
    const s = (performance.now() - t0) / 1000;
    console.log(`svcsim[${kind}] pending=${P} events=${count} seconds=${s.toFixed(3)} events_per_s=${Math.round(count / s)} rss=${Math.round(process.memoryUsage().rss/1e6)}MB`);
  }
}
