import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Job } from 'kubernetes-models/batch/v1';
import { ConfigMap, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { InputError } from '../io/input-error.ts';
import { jobManifestsText, type JobFlags } from './job.ts';
import { unknownFields } from './job/testing/strict-fields.ts';

/**
 * `svcsim job`: the printed objects validate against the Kubernetes OpenAPI schema (kubernetes-models)
 * and have no field their types lack; the validation really fails on a wrong type and a misspelt
 * field; the Indexed Job has what the issue asks; bad flags and a study the pods could not read exit 2.
 */
const POD_CHURN = fileURLToPath(new URL('../../scenarios/pod-churn.yaml', import.meta.url));
const flags = (f: Partial<JobFlags> = {}): JobFlags => ({ shards: '4', image: 'ghcr.io/example/svcsim:0.1.0', retries: '3', jobs: '1', storage: 'pvc', storageSize: '1Gi', set: [], ...f });

type Obj = Record<string, any>;
function objects(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => d.toJS() as Obj);
}

/** The typed model of a printed object, to validate it as the printed YAML has it. */
function model(o: Obj): { validate(): void } {
  if (o.kind === 'ConfigMap') return new ConfigMap(o as never);
  if (o.kind === 'PersistentVolumeClaim') return new PersistentVolumeClaim(o as never);
  if (o.kind === 'Job') return new Job(o as never);
  throw new Error(`unexpected kind ${o.kind}`);
}

test('the printed objects validate against the OpenAPI schema and have no unknown field', () => {
  const docs = objects(jobManifestsText(POD_CHURN, flags({ quick: true, set: ['seed=3'] })));
  assert.deepEqual(docs.map((d) => d.kind), ['ConfigMap', 'PersistentVolumeClaim', 'Job', 'Job']);
  for (const d of docs) {
    model(d).validate();
    assert.deepEqual(unknownFields(d), [], `${d.kind} ${d.metadata.name}`);
  }
});

test('the validation fails on a wrong type, a wrong enum value and a misspelt field', () => {
  const job = objects(jobManifestsText(POD_CHURN, flags())).find((d) => d.kind === 'Job')!;
  const wrongType = structuredClone(job);
  wrongType.spec.completions = 'four';
  assert.throws(() => model(wrongType).validate(), /completions must be integer/);
  const wrongEnum = structuredClone(job);
  wrongEnum.spec.completionMode = 'Indexd';
  assert.throws(() => model(wrongEnum).validate());
  const misspelt = structuredClone(job);
  misspelt.spec.backofLimitPerIndex = 3;
  misspelt.spec.template.spec.containers[0].resource = {};
  assert.deepEqual(unknownFields(misspelt).sort(), ['spec.backofLimitPerIndex', 'spec.template.spec.containers[0].resource']);
});

test('the Indexed Job runs shard $(JOB_COMPLETION_INDEX) of N with --resume into its folder; the merge reads them all', () => {
  const docs = objects(jobManifestsText(POD_CHURN, flags({ parallelism: '2', quick: true, seed: '9', set: ['traffic.connectionsPerSecond=50'] })));
  const [config, claim, run, merge] = docs as [Obj, Obj, Obj, Obj];
  assert.equal(config.data['pod-churn.yaml'].length > 0, true);
  assert.deepEqual(claim.spec.accessModes, ['ReadWriteMany']);
  assert.equal(run.spec.completionMode, 'Indexed');
  assert.equal(run.spec.completions, 4);
  assert.equal(run.spec.parallelism, 2);
  assert.equal(run.spec.backoffLimitPerIndex, 3);
  assert.equal(run.spec.template.spec.restartPolicy, 'Never');
  const c = run.spec.template.spec.containers[0];
  assert.deepEqual(c.args, ['scenario', '/study/pod-churn.yaml', '--shard', '$(JOB_COMPLETION_INDEX)/4', '--resume', '--out', '/results/shard-$(JOB_COMPLETION_INDEX)', '--jobs', '1', '--seed', '9', '--quick', '--set', 'traffic.connectionsPerSecond=50']);
  assert.deepEqual(c.resources.requests, c.resources.limits);
  assert.match(c.resources.requests.memory, /^\d+Mi$/);
  assert.deepEqual(merge.spec.template.spec.containers[0].args, ['merge', '/results/shard-0', '/results/shard-1', '/results/shard-2', '/results/shard-3', '--out', '/results/merged']);
  assert.equal(merge.metadata.labels['svcsim.io/step'], 'merge');
  for (const d of [config, claim, run]) assert.equal(d.metadata.labels['svcsim.io/step'], 'run');
});

test('memory grows with the study and with worker threads', () => {
  const memory = (f: Partial<JobFlags>) => parseInt(objects(jobManifestsText(POD_CHURN, flags(f)))[2]!.spec.template.spec.containers[0].resources.requests.memory, 10);
  assert.ok(memory({ jobs: '2' }) > memory({ jobs: '1' }));
  assert.ok(memory({ set: ['cluster.nodes=500'] }) > memory({}));
});

test('other storage: an existing claim (no claim printed) or a hostPath', () => {
  const existing = objects(jobManifestsText(POD_CHURN, flags({ storage: 'claim:shared-results' })));
  assert.deepEqual(existing.map((d) => d.kind), ['ConfigMap', 'Job', 'Job']);
  assert.equal(existing[1]!.spec.template.spec.volumes[1].persistentVolumeClaim.claimName, 'shared-results');
  const host = objects(jobManifestsText(POD_CHURN, flags({ storage: 'hostPath:/var/svcsim' })));
  assert.deepEqual(host[1]!.spec.template.spec.volumes[1].hostPath, { path: '/var/svcsim', type: 'DirectoryOrCreate' });
});

test('bad flags and a study that names a file by a relative path are InputErrors (exit 2)', () => {
  const fails = (f: Partial<JobFlags>, file = POD_CHURN) => {
    let message = '';
    assert.throws(() => jobManifestsText(file, flags(f)), (e: unknown) => e instanceof InputError && e.exitCode === 2 && ((message = e.message), true));
    return message;
  };
  assert.equal(fails({ shards: '0' }), '--shards: expected a whole number, at least 1, found "0"');
  assert.match(fails({ shards: '1000' }), /^--shards: expected at most \d+ \(the study has \d+ runs\), found 1000$/);
  assert.match(fails({ storage: 'nfs' }), /^--storage: expected pvc .*, found "nfs"$/);
  assert.match(fails({ storageSize: 'lots' }), /^--storage-size: expected a Kubernetes quantity/);
  assert.match(fails({ name: 'Big_Name' }), /^--name: expected lower-case letters/);
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-job-'));
  const file = join(dir, 'manifests.yaml');
  writeFileSync(file, 'name: m\nquestion: q\nduration: 2s\ncluster:\n  manifests: cluster.yaml\n');
  writeFileSync(join(dir, 'cluster.yaml'), 'apiVersion: v1\nkind: Service\nmetadata: { name: web }\nspec: { selector: { app: web }, ports: [{ port: 80 }] }\n');
  assert.match(fails({ shards: '1' }, file), /manifests\.yaml:5:14: cluster\.manifests: expected an absolute path inside the image/);
});
