import { InputError, InputErrorList } from '../../io/input-error.ts';
import { RandomStream } from '../../engine/random.ts';
import type { RunPoint } from '../run-point-contract.ts';

/**
 * A stand-in model for the runner's tests: cheap, and a pure function of (seed, point, replication),
 * so any difference between two runs of a study is the runner's doing. A point parameter `sleepMs`
 * makes each run block for that long (Atomics.wait, no clock read), to test interrupts mid-study;
 * `fail: input` throws an InputError (a user's mistake found while running), `fail: inputs` two of
 * them as one list, `fail: bug` an Error.
 */
export const runPoint: RunPoint = ({ scenario, point, replication, seed }) => {
  const sleepMs = Number(point.sleepMs ?? 0);
  if (sleepMs > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, sleepMs);
  if (point.fail === 'bug') throw new Error('model bug on purpose');
  if (point.fail === 'inputs') {
    throw new InputErrorList([
      new InputError('proxy.mode', 'a mode this model simulates', JSON.stringify(scenario.proxy.mode)),
      new InputError('cluster.nodes', 'at most 2 nodes', String(scenario.cluster.nodes)),
    ]);
  }
  if (point.fail === 'input') throw new InputError('proxy.mode', 'a mode this model simulates', JSON.stringify(scenario.proxy.mode), 'on purpose');
  const rng = new RandomStream(seed, 'test/latency');
  const services = Number(scenario.cluster.services?.count ?? 1);
  const base = scenario.proxy.mode === 'nftables' ? 20_000 : 5 * services;
  const samples = Array.from({ length: 200 }, () => rng.exponential(base));
  samples.sort((a, b) => a - b);
  const timeseries = [];
  for (let t = 0; t < scenario.duration; t += scenario.metrics.interval) {
    timeseries.push({ t, series: 'connections.perSecond', value: Math.round(rng.uniform(90, 110)) });
  }
  return {
    metrics: {
      'firstPacketLatency.p50': samples[100]!,
      'firstPacketLatency.p99': samples[198]!,
      'failedConnections.rate': replication === 0 ? 0 : rng.uniform(0, 0.001),
      'rulesVisited.mean': scenario.proxy.mode === 'iptables' ? services : 1,
    },
    timeseries,
  };
};
