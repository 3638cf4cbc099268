import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import { SECOND } from '../engine/time.ts';
import type { ResolvedScenario } from './schema.ts';

/**
 * Shards: a study's runs split into N shares that separate machines (the pods of an Indexed Job, the
 * jobs of a CI matrix) run on their own and `svcsim merge` joins.
 *
 * The split is a function of the runs' identities and estimated costs only, so every machine given
 * the same study computes the same split without talking to the others: the runs in decreasing order
 * of estimated cost (ties by run id), each given to the shard with the least estimated work so far
 * (ties to the lowest shard). This is the longest-processing-time rule (Graham, "Bounds on
 * multiprocessing timing anomalies", SIAM J. Appl. Math. 17(2), 1969): the busiest shard gets at most
 * 4/3 of the best possible share when the estimates are right.
 */
export interface Shard {
  /** 0-based, as Kubernetes numbers an Indexed Job's pods (JOB_COMPLETION_INDEX). */
  index: number;
  count: number;
}

/** `--shard I/N`: I from 0 to N-1. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1 || !(index < count)) {
    const found = m && count >= 1 ? `${quoteInput(text)} (shard ${index} of ${count} does not exist)` : quoteInput(text);
    throw new InputError('--shard', 'I/N: shard I (from 0 to N-1) of N, such as 0/3', found);
  }
  return { index, count };
}

/**
 * A run's estimated cost, in arbitrary units proportional to the events it simulates: connections
 * over the simulated duration, kube-proxy syncs on every node (one a second at most, minSyncPeriod
 * 1s by default) each writing every endpoint's rules, and the initial cluster. An estimate for
 * balancing shards and sizing pods, not a prediction: the split is correct whatever it says.
 */
export function runCost(scenario: ResolvedScenario): number {
  const seconds = scenario.duration / SECOND;
  const nodes = scenario.cluster.nodes;
  const endpoints = (scenario.cluster.services?.count ?? 100) * (scenario.cluster.services?.endpointsPerService ?? 10);
  const connections = scenario.traffic.model === 'closed' ? scenario.traffic.clients * 100 : scenario.traffic.connectionsPerSecond;
  const churn = scenario.churn.length > 0 ? 10 : 1;
  return seconds * (connections + nodes * churn * (1 + endpoints / 1000)) + endpoints;
}

export interface CostedRun {
  id: string;
  cost: number;
}

/** The shard of each run (same order as `runs`), by the rule in the file comment. */
export function assignShards(runs: readonly CostedRun[], count: number): number[] {
  const order = runs.map((r, i) => i).sort((a, b) => runs[b]!.cost - runs[a]!.cost || (runs[a]!.id < runs[b]!.id ? -1 : runs[a]!.id > runs[b]!.id ? 1 : 0));
  const load = new Array<number>(count).fill(0);
  const shardOf = new Array<number>(runs.length).fill(0);
  for (const i of order) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[best]!) best = s;
    shardOf[i] = best;
    load[best]! += runs[i]!.cost;
  }
  return shardOf;
}
