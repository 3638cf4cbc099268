import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseManifests } from './manifests.ts';
import { computeEndpointSlices } from './static-endpoints.ts';

const nodes = ['a', 'b']
  .map((z) => `apiVersion: v1\nkind: Node\nmetadata: {name: n-${z}, labels: {topology.kubernetes.io/zone: zone-${z}}}\nstatus: {allocatable: {cpu: "4"}, conditions: [{type: Ready, status: "True"}]}\n`)
  .join('---\n');
const pods = [0, 1, 2, 3]
  .map((i) => `apiVersion: v1\nkind: Pod\nmetadata: {name: web-${i}, labels: {app: web}}\nspec: {nodeName: n-${i % 2 ? 'b' : 'a'}, containers: [{name: c, ports: [{containerPort: 8080}]}]}\nstatus: {phase: Running, podIP: 10.244.0.${i + 2}, conditions: [{type: Ready, status: "True"}]}\n`)
  .join('---\n');
const service = (extra: string) => `apiVersion: v1\nkind: Service\nmetadata: {name: web${extra.includes('annotations') ? ', ' + extra : ''}}\nspec: {clusterIP: 10.96.0.9, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]${extra.startsWith('trafficDistribution') ? ', ' + extra : ''}}\n`;
const hints = (text: string) =>
  computeEndpointSlices(parseManifests(text, 'm.yaml'))
    .flatMap((s) => s.endpoints.map((e) => `${e.zone}>${e.hints?.forZones?.map((z) => z.name).join(',') ?? ''}/${e.hints?.forNodes?.map((n) => n.name).join(',') ?? ''}`))
    .sort();

test('svcsim endpoints: a Service with topology-mode Auto gets the hints the controller writes', () => {
  assert.deepEqual(hints(`${nodes}---\n${pods}---\n${service('annotations: {service.kubernetes.io/topology-mode: Auto}')}`), ['zone-a>zone-a/', 'zone-a>zone-a/', 'zone-b>zone-b/', 'zone-b>zone-b/']);
});

test('svcsim endpoints: trafficDistribution PreferSameNode gives zone and node hints; no field, no hints', () => {
  assert.deepEqual(hints(`${nodes}---\n${pods}---\n${service('trafficDistribution: PreferSameNode')}`), ['zone-a>zone-a/n-a', 'zone-a>zone-a/n-a', 'zone-b>zone-b/n-b', 'zone-b>zone-b/n-b']);
  assert.deepEqual(hints(`${nodes}---\n${pods}---\n${service('')}`), ['zone-a>/', 'zone-a>/', 'zone-b>/', 'zone-b>/']);
});

test('svcsim endpoints: Auto without Node objects falls back (no CPU or zone information)', () => {
  assert.deepEqual(hints(`${pods}---\n${service('annotations: {service.kubernetes.io/topology-mode: Auto}')}`), ['undefined>/', 'undefined>/', 'undefined>/', 'undefined>/']);
});

test('svcsim endpoints: hints on the slices of a Service that no longer asks for them are removed', () => {
  const slice = `apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: web-abc, labels: {kubernetes.io/service-name: web, endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io}, ownerReferences: [{apiVersion: v1, kind: Service, name: web, uid: u1, controller: true}]}\naddressType: IPv4\nports: [{name: "", port: 8080, protocol: TCP}]\nendpoints:\n${[0, 1, 2, 3].map((i) => `- {addresses: [10.244.0.${i + 2}], conditions: {ready: true, serving: true, terminating: false}, nodeName: n-${i % 2 ? 'b' : 'a'}, zone: zone-${i % 2 ? 'b' : 'a'}, targetRef: {kind: Pod, namespace: default, name: web-${i}}, hints: {forZones: [{name: zone-a}]}}`).join('\n')}\n`;
  const svc = service('').replace('metadata: {name: web}', 'metadata: {name: web, uid: u1}');
  assert.deepEqual(hints(`${nodes}---\n${pods}---\n${svc}---\n${slice}`), ['zone-a>/', 'zone-a>/', 'zone-b>/', 'zone-b>/']);
});
