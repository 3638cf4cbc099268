import { basename, isAbsolute } from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import { Problems } from '../io/problems.ts';
import { loadScenario, type LoadedScenario } from '../scenario/load.ts';
import { precheckStudy } from '../scenario/precheck.ts';
import { addExamples } from './examples.ts';
import { renderObjects, studyJobObjects, type Storage } from './job/manifests.ts';
import { podResources } from './job/resources.ts';

/**
 * `svcsim job FILE --shards N --image IMAGE [--storage pvc|claim:NAME|hostPath:DIR]`: prints the
 * Kubernetes objects that run the study as an Indexed Job of N shards and merge them
 * (sim/cli/job/manifests.ts; docs/distributed.md says how to apply, watch and collect). The study is
 * loaded and checked here first, so a mistake in it is reported now, not by N pods.
 *
 * Exit status: 0; 2 bad input.
 */
export interface JobFlags {
  shards: string;
  image: string;
  name?: string;
  namespace?: string;
  parallelism?: string;
  retries: string;
  jobs: string;
  storage: string;
  storageSize: string;
  storageClass?: string;
  seed?: string;
  replications?: string;
  set: string[];
  quick?: boolean;
}

export function jobManifestsText(file: string, flags: JobFlags): string {
  const problems = new Problems();
  const shards = problems.run(() => wholeNumber('--shards', flags.shards, 1));
  const parallelism = flags.parallelism === undefined ? shards : problems.run(() => wholeNumber('--parallelism', flags.parallelism!, 1));
  const retries = problems.run(() => wholeNumber('--retries', flags.retries, 0));
  const jobs = problems.run(() => wholeNumber('--jobs', flags.jobs, 1));
  const storage = problems.run(() => parseStorage(flags.storage, flags.storageSize, flags.storageClass));
  if (flags.image.trim() === '') problems.add(new InputError('--image', 'a container image reference, such as ghcr.io/you/svcsim:0.1.0', 'an empty text'));
  if (flags.name !== undefined) problems.run(() => dnsLabel('--name', flags.name!));
  const seed = flags.seed === undefined ? undefined : problems.run(() => wholeNumber('--seed', flags.seed!, 0));
  const replications = flags.replications === undefined ? undefined : problems.run(() => wholeNumber('--replications', flags.replications!, 1));
  problems.throwIfAny();
  const study = loadScenario(file, { set: flags.set, quick: flags.quick === true, ...(seed === undefined ? {} : { seed }), ...(replications === undefined ? {} : { replications }) });
  precheckStudy(study);
  checkSelfContained(study);
  const runs = study.points.length * study.replications;
  if (shards! > runs) throw new InputError('--shards', `at most ${runs} (the study has ${runs} runs)`, String(shards));
  const objects = studyJobObjects({
    name: flags.name ?? dnsLabel('the study name', `svcsim-${study.name}`),
    ...(flags.namespace ? { namespace: flags.namespace } : {}),
    image: flags.image,
    studyFile: basename(file),
    studyText: study.text,
    shards: shards!,
    parallelism: Math.min(parallelism!, shards!),
    retries: retries!,
    jobs: jobs!,
    studyFlags: studyFlags(flags),
    resources: podResources(study, jobs!),
    storage: storage!,
  });
  return renderObjects(objects);
}

/** The flags that change the study as run, passed on to every pod and hence to its study hash. */
function studyFlags(flags: JobFlags): string[] {
  return [
    ...(flags.seed === undefined ? [] : ['--seed', flags.seed.trim()]),
    ...(flags.replications === undefined ? [] : ['--replications', flags.replications.trim()]),
    ...(flags.quick ? ['--quick'] : []),
    ...flags.set.flatMap((s) => ['--set', s]),
  ];
}

/**
 * The ConfigMap holds the study file alone, so a study that names another file by a relative path
 * (manifests, a calibration file) would not find it in the pod.
 */
function checkSelfContained(study: LoadedScenario): void {
  const t = study.template as { cluster?: { manifests?: unknown }; costs?: { calibration?: unknown } };
  const refs: [string[], unknown][] = [
    [['cluster', 'manifests'], t.cluster?.manifests],
    [['costs', 'calibration'], t.costs?.calibration],
  ];
  const problems = new Problems();
  for (const [path, value] of refs) {
    if (typeof value === 'string' && !isAbsolute(value)) {
      problems.add(new InputError(study.placeOf(path), 'an absolute path inside the image (the pods get the study file alone, in a ConfigMap)', quoteInput(value), 'build the file into the image and name it by its path there'));
    }
  }
  problems.throwIfAny();
}

export function parseStorage(text: string, size: string, storageClass: string | undefined): Storage {
  if (text === 'pvc') {
    if (!/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$/.test(size)) throw new InputError('--storage-size', 'a Kubernetes quantity, such as 1Gi', quoteInput(size));
    return { kind: 'pvc', size, ...(storageClass ? { storageClass } : {}) };
  }
  const claim = /^claim:(.+)$/.exec(text);
  if (claim) return { kind: 'claim', name: dnsLabel('--storage claim:NAME', claim[1]!) };
  const host = /^hostPath:(\/.*)$/.exec(text);
  if (host) return { kind: 'hostPath', path: host[1]! };
  throw new InputError('--storage', 'pvc (a new ReadWriteMany claim), claim:NAME (an existing claim) or hostPath:/DIR (one-node clusters)', quoteInput(text));
}

/** A Kubernetes object name (RFC 1123 label, at most 63 characters less the longest suffix, "-results"). */
function dnsLabel(what: string, name: string): string {
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 55) {
    throw new InputError(what, 'lower-case letters, digits and "-", starting and ending with a letter or digit, at most 55 characters (a Kubernetes name; give --name)', quoteInput(name));
  }
  return name;
}

function wholeNumber(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < min) {
    throw new InputError(flag, min === 0 ? 'a whole number (0 or more)' : `a whole number, at least ${min}`, quoteInput(text));
  }
  return n;
}

export function registerJob(program: Command): void {
  const command = program
    .command('job')
    .description('Print Kubernetes manifests that run a study as an Indexed Job of shards and merge them')
    .argument('<file>', 'scenario YAML file')
    .requiredOption('--shards <n>', 'number of shards (pods of the Indexed Job)')
    .requiredOption('--image <image>', 'container image with svcsim (built from the Containerfile)')
    .option('--name <name>', 'prefix of the object names (default svcsim-<study name>)')
    .option('--namespace <ns>', 'namespace of the objects (default: kubectl\'s)')
    .option('--parallelism <n>', 'pods running at once (default: all shards)')
    .option('--retries <n>', 'backoffLimitPerIndex: retries of one shard (each resumes where the last stopped)', '3')
    .option('--jobs <n>', 'worker threads per pod (the CPU it requests)', '1')
    .option('--storage <kind>', 'results volume: pvc (a new ReadWriteMany claim), claim:NAME (an existing claim), hostPath:/DIR (a one-node cluster)', 'pvc')
    .option('--storage-size <quantity>', 'size of the new claim', '1Gi')
    .option('--storage-class <class>', 'storageClassName of the new claim (default: the cluster\'s default class)')
    .option('--seed <n>', "master seed (overrides the file's)")
    .option('--replications <n>', 'replications per sweep point (overrides the file)')
    .option('--set <path=value>', 'override a field (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--quick', "the study's quick: version")
    .action((file: string, flags: JobFlags) => {
      process.stdout.write(jobManifestsText(file, flags));
    });
  addExamples(command, [
    { say: 'The pod-churn study as 8 shards on a cluster, 4 pods at a time', run: ['svcsim job scenarios/pod-churn.yaml --shards 8 --parallelism 4 --image ghcr.io/example/svcsim:0.1.0'] },
  ]);
}
