import type { LoadedScenario } from '../../scenario/load.ts';

/**
 * What one pod of a study's Job asks for, from the study's own runs: a CPU per worker thread
 * (`--jobs`), and memory for the process plus, per worker, the largest run's state.
 *
 * The memory figures were measured on the project host with GNU time's maximum resident set size
 * (`/usr/bin/time -v npx tsx sim/cli.ts scenario FILE --jobs 1`): a small study (2 nodes, up to 30
 * Services of 3 endpoints) peaked at 236 MiB, nearly all of it node, tsx and the model's code in the
 * main thread and the worker; pod-churn --quick (10 nodes, 2,000 endpoints: 20,000 node-endpoints)
 * at 315 MiB, about 4 KiB more per endpoint on each node's kube-proxy. The constants below give 320
 * and 384 MiB for those two, some 20% over: a pod killed for memory restarts and resumes, but loses
 * the run it was in.
 */
const PROCESS_MIB = 192;
const WORKER_MIB = 96;
/** Per endpoint on each node's kube-proxy (rules, timeline versions, conntrack of its traffic). */
const BYTES_PER_NODE_ENDPOINT = 4096;

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
