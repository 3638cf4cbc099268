import type { LoadedScenario } from '../../scenario/load.ts';

/**
 * What one pod of a study's Job asks for, from the study's own runs: a CPU per worker thread
 * (`--jobs`), and memory for the process plus, per worker, the largest run's state.
 *
 * The memory figures were measured on the project host with GNU time's maximum resident set size
 * (`/usr/bin/time -v npx tsx sim/cli.ts scenario FILE --jobs 1`): a small study (2 nodes, 30
 * Services of 3 endpoints) peaks near 330 MiB, most of it node, tsx and the model's code loaded in
 * the main thread and in the worker; a run's own state grows with the endpoints every node's
 * kube-proxy holds. The estimate rounds up: a pod killed for memory restarts and resumes, but loses
 * the run it was in.
 */
const PROCESS_MIB = 256;
const WORKER_MIB = 160;
/** Per endpoint on each node's kube-proxy (rules, timeline versions, conntrack of its traffic). */
const BYTES_PER_NODE_ENDPOINT = 2048;

export interface PodResources {
  cpu: string;
  memory: string;
}

export function podResources(study: LoadedScenario, jobs: number): PodResources {
  const largest = Math.max(...study.points.map((p) => runMemoryMiB(p.scenario)));
  const mib = PROCESS_MIB + jobs * (WORKER_MIB + largest);
  // Whole 64 MiB steps, so a small change of the study does not change the manifest.
  return { cpu: String(jobs), memory: `${Math.ceil(mib / 64) * 64}Mi` };
}

function runMemoryMiB(scenario: LoadedScenario['points'][number]['scenario']): number {
  const endpoints = (scenario.cluster.services?.count ?? 1000) * (scenario.cluster.services?.endpointsPerService ?? 10);
  return (scenario.cluster.nodes * endpoints * BYTES_PER_NODE_ENDPOINT) / 2 ** 20;
}
