import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, InputErrorList } from '../io/input-error.ts';
import { parseManifests } from './manifests.ts';

/** Manifest mistakes: each at file:line:col with its document, object and field; all of them at once. */
const SERVICE = `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80}]
`;

function problems(text: string): string[] {
  try {
    parseManifests(text, 'm.yaml');
  } catch (e) {
    assert.ok(e instanceof InputError);
    return e.message.split('\n');
  }
  assert.fail('no InputError');
}

test('one mistake reads as before: one line, no list', () => {
  assert.throws(
    () => parseManifests(SERVICE.replace('port: 80', 'port: 70000'), 'm.yaml'),
    (e: unknown) =>
      e instanceof InputError &&
      !(e instanceof InputErrorList) &&
      e.message === 'm.yaml:6:18 (document 1, Service default/web) spec.ports[0].port: expected a port number 1-65535, found number 70000',
  );
});

test('bad objects in different documents, and several bad fields of one object, are all reported in file order', () => {
  const text =
    SERVICE.replace('port: 80', 'port: 70000') +
    '---\napiVersion: v1\nkind: Pod\nmetadata: {name: p, labels: {v: 1}}\nspec: {containers: [{name: c, ports: [{containerPort: 0}]}]}\n' +
    '---\napiVersion: v1\nkind: Servise\nmetadata: {name: x}\n' +
    '---\napiVersion: v1\nkind: List\nitems:\n  - {apiVersion: apps/v1, kind: Pod, metadata: {name: q}}\n';
  assert.deepEqual(problems(text), [
    'm.yaml:6:18 (document 1, Service default/web) spec.ports[0].port: expected a port number 1-65535, found number 70000',
    'm.yaml:10:33 (document 2, Pod default/p) metadata.labels.v: expected a string value (quote numbers and booleans: "1", "true"), found number 1',
    'm.yaml:11:55 (document 2, Pod default/p) spec.containers[0].ports[0].containerPort: expected a port number 1-65535, found number 0',
    'm.yaml:14:7 (document 3) kind: expected one of Service, Pod, EndpointSlice, Node, Deployment, ReplicaSet, List (or a kind this tool skips, such as ConfigMap), found "Servise"',
    'm.yaml:20:18 (document 4) items[0].apiVersion: expected apiVersion v1 for kind Pod, found "apps/v1"',
  ]);
});

test('a stream that is not valid YAML reports its syntax errors, and no object is judged', () => {
  assert.deepEqual(problems(SERVICE.replace('port: 80', 'port: 70000') + 'spec: {}\n---\nkind: Pod\nkind: Pod\n'), [
    'm.yaml:7:1: expected valid YAML, found Map keys must be unique',
    'm.yaml:10:1: expected valid YAML, found Map keys must be unique',
  ]);
});

test('healthCheckNodePort is refused unless the Service is a LoadBalancer with externalTrafficPolicy Local, as the API server does', () => {
  const withPort = (spec: string) => `${SERVICE}${spec}  healthCheckNodePort: 31000\n`;
  assert.deepEqual(problems(withPort('  type: NodePort\n')), [
    "m.yaml:8:24 (document 1, Service default/web) spec.healthCheckNodePort: expected healthCheckNodePort only when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local', found number 31000",
  ]);
  assert.equal(problems(withPort('  type: LoadBalancer\n  externalTrafficPolicy: Cluster\n')).length, 1);
  const ok = parseManifests(withPort('  type: LoadBalancer\n  externalTrafficPolicy: Local\n'), 'm.yaml');
  assert.equal(ok.services[0]!.spec.healthCheckNodePort, 31000);
});

test('spec.trafficDistribution: the values the API accepts, anything else refused at its place', () => {
  const m = parseManifests(`${SERVICE}  trafficDistribution: PreferSameNode\n`, 'm.yaml');
  assert.equal(m.services[0]!.spec.trafficDistribution, 'PreferSameNode');
  assert.deepEqual(problems(`${SERVICE}  trafficDistribution: Nearby\n`), [
    'm.yaml:7:24 (document 1, Service default/web) spec.trafficDistribution: expected one of PreferClose, PreferSameZone, PreferSameNode, found "Nearby"',
  ]);
});

test('Node status.allocatable.cpu: a quantity, else refused', () => {
  const node = (cpu: string) => `apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus:\n  allocatable: {cpu: ${cpu}}\n`;
  assert.equal(parseManifests(node('"3500m"'), 'm.yaml').nodes[0]!.status!.allocatable!.cpu, '3500m');
  assert.deepEqual(problems(node('lots')), ['m.yaml:5:22 (document 1, Node n1) status.allocatable.cpu: expected a CPU quantity such as 4 or 3500m, found "lots"']);
});
