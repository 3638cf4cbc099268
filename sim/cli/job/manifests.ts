import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, PersistentVolumeClaim, type IPodSpec, type IVolume } from 'kubernetes-models/v1';
import { stringify } from 'yaml';
import type { PodResources } from './resources.ts';

/**
 * The Kubernetes objects that run a study as an Indexed Job, built with typed models
 * (kubernetes-models, generated from the Kubernetes OpenAPI schema) and validated against that schema
 * before they are printed:
 *
 *   ConfigMap <name>-study           the study file, mounted at /study
 *   PersistentVolumeClaim <name>-results (with --storage pvc, the default) the shared results volume
 *   Job <name>                       completionMode Indexed, completions N: pod I runs
 *                                    `svcsim scenario /study/FILE --shard $(JOB_COMPLETION_INDEX)/N
 *                                    --resume --out /results/shard-$(JOB_COMPLETION_INDEX)`
 *   Job <name>-merge                 `svcsim merge /results/shard-0 ... --out /results/merged`
 *
 * The first three carry the label svcsim.io/step=run and the merge Job svcsim.io/step=merge, so
 * `kubectl apply -l` applies the merge once the run Job has completed (Kubernetes has no ordering
 * between Jobs). The Job controller gives each pod of an Indexed Job the environment variable
 * JOB_COMPLETION_INDEX (kubernetes/kubernetes pkg/controller/job/indexed_job_utils.go,
 * addCompletionIndexEnvVariable), and the kubelet expands `$(VAR)` in args from the container's
 * environment, so the shard index needs no shell in the image.
 *
 * Retries: backoffLimitPerIndex (Kubernetes 1.29+, beta; GA in 1.33) retries a failed index on its
 * own, and the new pod resumes from the records the failed one left on the volume. Exit status 2 (a
 * mistake in the study) fails the index at once (podFailurePolicy FailIndex): a retry would fail the
 * same way. The merge fails the Job without retry on 1 (an expectation did not hold) and 2.
 */
export const STEP_LABEL = 'svcsim.io/step';
const STUDY_DIR = '/study';
const RESULTS_DIR = '/results';
const CONTAINER = 'svcsim';
/** The `node` user of the official Node.js images, which the Containerfile runs as. */
const NODE_UID = 1000;

export type Storage = { kind: 'pvc'; size: string; storageClass?: string } | { kind: 'claim'; name: string } | { kind: 'hostPath'; path: string };

export interface JobOptions {
  /** Prefix of every object's name (a DNS label). */
  name: string;
  namespace?: string;
  image: string;
  /** The study's file name (its key in the ConfigMap) and text. */
  studyFile: string;
  studyText: string;
  shards: number;
  parallelism: number;
  /** backoffLimitPerIndex: retries of one shard. */
  retries: number;
  /** Worker threads per pod (svcsim scenario --jobs). */
  jobs: number;
  /** Flags every pod passes to svcsim scenario after the study (--seed, --set, --quick, --replications). */
  studyFlags: string[];
  resources: PodResources;
  storage: Storage;
}

export type StudyObject = ConfigMap | PersistentVolumeClaim | Job;

/** The objects in apply order. Each is validated against the OpenAPI schema (throws on a mistake). */
export function studyJobObjects(o: JobOptions): StudyObject[] {
  const objects: StudyObject[] = [studyConfigMap(o)];
  if (o.storage.kind === 'pvc') objects.push(resultsClaim(o, o.storage));
  objects.push(runJob(o), mergeJob(o));
  for (const obj of objects) obj.validate();
  return objects;
}

/** The objects as one YAML stream, the way kubectl takes it. */
export function renderObjects(objects: readonly StudyObject[]): string {
  return objects.map((obj) => stringify(obj.toJSON(), { lineWidth: 0 })).join('---\n');
}

/** Where pod `index` writes its shard folder (the merge reads the same paths). */
export function shardFolder(index: number | string): string {
  return `${RESULTS_DIR}/shard-${index}`;
}

function metadata(o: JobOptions, name: string, step: 'run' | 'merge') {
  return {
    name,
    ...(o.namespace ? { namespace: o.namespace } : {}),
    labels: { 'app.kubernetes.io/name': 'svcsim', 'app.kubernetes.io/instance': o.name, [STEP_LABEL]: step },
  };
}

function studyConfigMap(o: JobOptions): ConfigMap {
  return new ConfigMap({ metadata: metadata(o, `${o.name}-study`, 'run'), data: { [o.studyFile]: o.studyText } });
}

function claimName(o: JobOptions): string {
  return o.storage.kind === 'claim' ? o.storage.name : `${o.name}-results`;
}

function resultsClaim(o: JobOptions, storage: { size: string; storageClass?: string }): PersistentVolumeClaim {
  return new PersistentVolumeClaim({
    metadata: metadata(o, claimName(o), 'run'),
    spec: {
      // Pods of the Job run on any node and all write to it: ReadWriteMany.
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: storage.size } },
      ...(storage.storageClass ? { storageClassName: storage.storageClass } : {}),
    },
  });
}

function resultsVolume(o: JobOptions): IVolume {
  if (o.storage.kind === 'hostPath') return { name: 'results', hostPath: { path: o.storage.path, type: 'DirectoryOrCreate' } };
  return { name: 'results', persistentVolumeClaim: { claimName: claimName(o) } };
}

/** The pod spec both Jobs share, with the container's args. */
function podSpec(o: JobOptions, args: string[]): IPodSpec {
  return {
    restartPolicy: 'Never',
    securityContext: { runAsNonRoot: true, runAsUser: NODE_UID, runAsGroup: NODE_UID, fsGroup: NODE_UID },
    containers: [
      {
        name: CONTAINER,
        image: o.image,
        args,
        resources: { requests: { cpu: o.resources.cpu, memory: o.resources.memory }, limits: { cpu: o.resources.cpu, memory: o.resources.memory } },
        volumeMounts: [
          { name: 'study', mountPath: STUDY_DIR, readOnly: true },
          { name: 'results', mountPath: RESULTS_DIR },
        ],
      },
    ],
    volumes: [{ name: 'study', configMap: { name: `${o.name}-study` } }, resultsVolume(o)],
  };
}

/** The args of pod $(JOB_COMPLETION_INDEX) of the run Job. */
export function shardArgs(o: Pick<JobOptions, 'studyFile' | 'shards' | 'jobs' | 'studyFlags'>): string[] {
  const index = '$(JOB_COMPLETION_INDEX)';
  return ['scenario', `${STUDY_DIR}/${o.studyFile}`, '--shard', `${index}/${o.shards}`, '--resume', '--out', shardFolder(index), '--jobs', String(o.jobs), ...o.studyFlags];
}

export function mergeArgs(o: Pick<JobOptions, 'shards'>): string[] {
  return ['merge', ...Array.from({ length: o.shards }, (_, i) => shardFolder(i)), '--out', `${RESULTS_DIR}/merged`];
}

function runJob(o: JobOptions): Job {
  const spec = podSpec(o, shardArgs(o));
  return new Job({
    metadata: metadata(o, o.name, 'run'),
    spec: {
      completionMode: 'Indexed',
      completions: o.shards,
      parallelism: o.parallelism,
      backoffLimitPerIndex: o.retries,
      podFailurePolicy: { rules: [{ action: 'FailIndex', onExitCodes: { containerName: CONTAINER, operator: 'In', values: [2] } }] },
      template: { metadata: { labels: metadata(o, o.name, 'run').labels }, spec },
    },
  });
}

function mergeJob(o: JobOptions): Job {
  const spec = podSpec(o, mergeArgs(o));
  return new Job({
    metadata: metadata(o, `${o.name}-merge`, 'merge'),
    spec: {
      completions: 1,
      backoffLimit: 2,
      podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: CONTAINER, operator: 'In', values: [1, 2] } }] },
      template: { metadata: { labels: metadata(o, `${o.name}-merge`, 'merge').labels }, spec },
    },
  });
}
