import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { runEndpoints } from './endpoints.ts';
import { parseManifests } from '../k8s/manifests.ts';
import { main } from '../cli.ts';
import { captureText } from '../io/testing/capture-text.ts';
import { parse } from 'yaml';

// Golden files: set UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
const G = 'test/golden/k8s';
function golden(name: string, actual: string): void {
  const p = join(G, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}
const opts = (cluster: string, o: Partial<{ output: string; explain: string }> = {}) => ({
  cluster: [join(G, cluster)],
  output: o.output,
  explain: o.explain,
  maxEndpointsPerSlice: '100',
  seed: '1',
});

test('endpoints: slices for a mixed cluster, as kubectl prints a List', () => {
  golden('mixed.endpoints.yaml', runEndpoints(opts('mixed.yaml')));
});

test('a Service without spec.clusterIP gets what the API server defaults: one IPv4 slice, not the headless pair', () => {
  golden('no-clusterip.endpoints.yaml', runEndpoints(opts('no-clusterip.yaml')));
});

test('ClusterIP allocation for manifests: first free address above the static band, skipping named ones; None stays headless', () => {
  const svc = (name: string, clusterIP?: string) =>
    `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  selector: {app: x}\n  ports: [{port: 80}]\n${clusterIP ? `  clusterIP: ${JSON.stringify(clusterIP)}\n` : ''}`;
  const m = parseManifests([svc('a'), svc('b', '10.96.1.1'), svc('c'), svc('d', 'None'), svc('e', '')].join('---\n'));
  const by = Object.fromEntries(m.services.map((s) => [s.metadata.name, s.spec]));
  assert.equal(by.a!.clusterIP, '10.96.1.0');
  assert.equal(by.c!.clusterIP, '10.96.1.2', 'skips 10.96.1.1, named by b');
  assert.equal(by.e!.clusterIP, '10.96.1.3', 'an empty clusterIP is allocated too');
  assert.deepEqual([by.a!.ipFamilies, by.a!.ipFamilyPolicy], [['IPv4'], 'SingleStack']);
  assert.deepEqual(by.b!.ipFamilies, ['IPv4']);
  assert.equal(by.d!.clusterIP, 'None');
  assert.equal(by.d!.ipFamilies, undefined);
});

test('endpoints: json output', () => {
  const out = runEndpoints(opts('mixed.yaml', { output: 'json' }));
  golden('mixed.endpoints.json', out);
  assert.equal(JSON.parse(out).kind, 'List');
});

test('endpoints --explain: every pod state gets its reason', () => {
  const out = runEndpoints(opts('mixed.yaml', { explain: 'default/api' }));
  golden('mixed.explain.txt', out);
  assert.match(out, /targetPort "http-api" not found among the pod's container ports \(http:8080\/TCP\)/);
  assert.match(out, /condition Ready=False/);
});

test('--explain with --output yaml or json gives the same structured record, not text', () => {
  const json = JSON.parse(runEndpoints(opts('mixed.yaml', { explain: 'default/api', output: 'json' })));
  const yaml = parse(runEndpoints(opts('mixed.yaml', { explain: 'default/api', output: 'yaml' })));
  assert.equal(typeof yaml, 'object');
  assert.deepEqual(yaml, json);
  assert.ok(Array.isArray(json.pods) && json.pods.length > 0);
});

test('label mismatch: the slice set is empty and --explain names the label first', () => {
  const list = runEndpoints(opts('label-mismatch.yaml'));
  golden('label-mismatch.endpoints.yaml', list);
  assert.match(list, /endpoints: null/);
  const why = runEndpoints(opts('label-mismatch.yaml', { explain: 'shop/web' }));
  golden('label-mismatch.explain.txt', why);
  assert.match(why.split('\n').slice(0, 4).join('\n'), /likely cause: selector mismatch.*label app: web-v2 where the selector wants web/);
});

test('--explain on a Service with no usable endpoints states the likely cause first, one case per reason', () => {
  const cases: [string, RegExp][] = [
    ['probe/api', /^ {2}likely cause: 2 of 2 selected pod\(s\) are not Ready: condition Ready=False \(ContainersReady=False, phase Running\)/],
    ['drain/api', /^ {2}likely cause: all 2 selected pod\(s\) are terminating/],
    ['pending/api', /^ {2}likely cause: 1 pod\(s\) match the selector but none has a pod IP yet/],
    ['ports/api', /^ {2}likely cause: service port "http" 80\/TCP: targetPort "web" is not the name of a TCP container port in any selected pod/],
    ['lonely/api', /^ {2}likely cause: no pod in namespace lonely matches the selector app=api; 7 matching pod\(s\) are in namespace probe, drain, pending, ports, elsewhere/],
  ];
  const outs: string[] = [];
  for (const [ref, re] of cases) {
    const out = runEndpoints(opts('causes.yaml', { explain: ref }));
    const lines = out.split('\n');
    assert.equal(lines[0], `Service ${ref}`);
    assert.match(lines[3]!, re, `${ref}: the likely cause is the line after the summary`);
    assert.equal(lines[4], 'pods:');
    outs.push(out);
  }
  golden('causes.explain.txt', outs.join('\n'));
  // The pod-level reasons name what decided each one.
  const drain = runEndpoints(opts('causes.yaml', { explain: 'drain/api' }));
  assert.match(drain, /drain\/api-1 +IN  ready=false serving=true terminating=true  \(Terminating\)\n +- terminating \(deletionTimestamp 2026-01-01T00:00:30Z\)/);
  const pending = runEndpoints(opts('causes.yaml', { explain: 'pending/api' }));
  assert.match(pending, /pending\/api-1 +OUT  \(Pending\)\n +- no pod IP \(status\.podIP empty\): not scheduled: PodScheduled=False reason Unschedulable/);
  // JSON carries the same verdicts for scripts.
  const json = JSON.parse(runEndpoints(opts('causes.yaml', { explain: 'probe/api', output: 'json' }))) as { likelyCause: string; pods: { pod: string; outcome: string; ready: boolean }[] };
  assert.match(json.likelyCause, /not Ready: condition Ready=False/);
  assert.deepEqual(json.pods.filter((p) => p.outcome === 'in').map((p) => [p.pod, p.ready]), [['probe/api-1', false], ['probe/api-2', false]]);
});

test('endpoints: same input, same output (slice names are seeded)', () => {
  assert.equal(runEndpoints(opts('mixed.yaml')), runEndpoints(opts('mixed.yaml')));
});

async function run(args: string[]): Promise<{ code: number; err: string }> {
  const { value: code, err } = await captureText(() => main(args));
  return { code, err };
}

test('a manifest error is one message with file:line:col, document, object and field, exit 2', async () => {
  const r = await run(['endpoints', '--cluster', join(G, 'bad-targetport.yaml')]);
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    'svcsim: test/golden/k8s/bad-targetport.yaml:11:17 (document 1, Service default/web) spec.ports[0].targetPort: expected a port number 1-65535, found number 70000\n',
  );
});

test('an all-digit string targetPort is refused as the API server refuses it (IsValidPortName), exit 2', async () => {
  const r = await run(['endpoints', '--cluster', join(G, 'digit-targetport.yaml')]);
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    'svcsim: test/golden/k8s/digit-targetport.yaml:11:17 (document 1, Service default/web) spec.ports[0].targetPort: expected a port number or a port name (IANA_SVC_NAME), which must contain at least one letter (a-z), found "8080"\n',
  );
});

test('other input mistakes exit 2 with a message: YAML syntax, unknown kind, wrong apiVersion, missing file, unknown service', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-k8s-'));
  const cases: [string, RegExp][] = [
    ['kind: Service\nmetadata: {name: a\n', /:\d+:\d+: expected valid YAML/],
    ['apiVersion: v1\nkind: Servise\nmetadata: {name: a}\n', /:2:7 \(document 1\) kind: expected one of Service, Pod/],
    ['apiVersion: v1\nkind: EndpointSlice\nmetadata: {name: a}\naddressType: IPv4\n', /apiVersion: expected apiVersion discovery.k8s.io\/v1 for kind EndpointSlice, found "v1"/],
    ['---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {v: 1}}\nspec: {containers: [{name: c}]}\n', /\(document 1, Pod default\/p\) metadata\.labels\.v: expected a string value.*found number 1/],
  ];
  for (const [i, [text, re]] of cases.entries()) {
    const f = join(dir, `m${i}.yaml`);
    writeFileSync(f, text);
    const r = await run(['endpoints', '--cluster', f]);
    assert.equal(r.code, 2, text);
    assert.match(r.err, re);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
  assert.equal((await run(['endpoints', '--cluster', join(dir, 'nope.yaml')])).code, 2);
  const r = await run(['endpoints', '--cluster', join(G, 'mixed.yaml'), '--explain', 'default/nope']);
  assert.equal(r.code, 2);
  assert.match(r.err, /--explain: expected NAMESPACE\/SERVICE naming a Service in the manifests, found "default\/nope" \(Services: default\/api\)/);
});

test('several manifest mistakes, in different documents and files, are all on stderr with file:line:col, exit 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-k8s-'));
  const a = join(dir, 'a.yaml');
  const b = join(dir, 'b.yaml');
  writeFileSync(a, 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports: [{port: 70000}]\n---\napiVersion: v1\nkind: Servise\nmetadata: {name: x}\n');
  writeFileSync(b, 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n');
  const r = await run(['endpoints', '--cluster', a, b]);
  assert.equal(r.code, 2);
  assert.equal(
    r.err,
    `svcsim: ${a}:5:18 (document 1, Service default/web) spec.ports[0].port: expected a port number 1-65535, found number 70000\n` +
      `${a}:8:7 (document 2) kind: expected one of Service, Pod, EndpointSlice, Node, Deployment, ReplicaSet, List (or a kind this tool skips, such as ConfigMap), found "Servise"\n` +
      `${b}:4:20 (document 1, Pod default/p) spec.containers: expected at least one container, found a list\n`,
  );
});

test('--explain reads pod status as kubectl does: CrashLoopBackOff with its restarts, image pulls, Unschedulable; a numeric targetPort no container declares', () => {
  const X = 'docs/examples/why';
  const explain = (c: string) => runEndpoints({ cluster: [join(X, 'cluster.yaml'), join(X, `${c}.yaml`)], explain: 'shop/web', maxEndpointsPerSlice: '100', seed: '1', output: undefined });
  const crash = explain('crashloop');
  assert.match(crash, /shop\/web-1 +IN  ready=false serving=false terminating=false  \(CrashLoopBackOff, 7 restarts\)\n +- not Ready: container web: CrashLoopBackOff after 7 restart\(s\), last Error, exit code 1/);
  assert.doesNotMatch(crash, /a failing readiness probe or a container still starting/);
  assert.match(explain('image-pull'), /ImagePullBackOff for image "example\.com\/shop\/web:1\.4\.3"/);
  assert.match(explain('pending'), /likely cause: 1 pod\(s\) match the selector but none has a pod IP yet: web-1 is Pending: not scheduled: PodScheduled=False reason Unschedulable: "0\/2 nodes are available: 2 Insufficient memory/);
  const port = explain('target-port');
  assert.match(port, /likely cause: service port "http" 80\/TCP: targetPort 80 is not a port the selected pods' containers declare \(http:8080\/TCP\)/);
  golden('why-examples.explain.txt', ['crashloop', 'image-pull', 'pending', 'target-port'].map(explain).join('\n'));
});
