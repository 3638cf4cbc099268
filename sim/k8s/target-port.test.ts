import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Container, Pod, ServicePort } from './objects.ts';
import { checkTargetPort, targetPortProblem } from './target-port.ts';

function pod(containers: Container[]): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns' }, spec: { containers } };
}
const sp = (targetPort: number | string, protocol: 'TCP' | 'UDP' = 'TCP'): ServicePort => ({ name: 'http', port: 80, targetPort, protocol });

test('a named targetPort resolves per pod by name and protocol (FindPort)', () => {
  const p = pod([{ name: 'app', ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }] }]);
  assert.deepEqual(checkTargetPort(p, sp('http')), { kind: 'resolved', port: 8080, container: 'app', named: true });
  assert.equal(checkTargetPort(p, sp('http', 'UDP')).kind, 'named-missing');
  assert.equal(checkTargetPort(p, sp('web')).kind, 'named-missing');
});

test('a numeric targetPort: declared is fine, every container declaring others is a break, a container declaring none makes it a warning', () => {
  const one = pod([{ name: 'app', ports: [{ containerPort: 8080, protocol: 'TCP' }] }]);
  assert.equal(checkTargetPort(one, sp(8080)).kind, 'resolved');
  assert.equal(checkTargetPort(one, sp(80)).kind, 'undeclared-break');
  assert.match(targetPortProblem(sp(80), checkTargetPort(one, sp(80)))!, /targetPort 80 is not a port any container declares \(8080\/TCP\)/);
  const withSidecar = pod([{ name: 'app', ports: [{ containerPort: 8080, protocol: 'TCP' }] }, { name: 'proxy' }]);
  assert.equal(checkTargetPort(withSidecar, sp(80)).kind, 'undeclared-warning');
  assert.equal(checkTargetPort(pod([{ name: 'app' }]), sp(80)).kind, 'nothing-declared');
  assert.equal(targetPortProblem(sp(80), checkTargetPort(pod([{ name: 'app' }]), sp(80))), undefined);
});

test('restartable init containers (sidecars) count as containers', () => {
  const p: Pod = { ...pod([{ name: 'app', ports: [{ containerPort: 8080, protocol: 'TCP' }] }]) };
  p.spec.initContainers = [{ name: 'envoy', ports: [{ name: 'proxy', containerPort: 15001, protocol: 'TCP' }], restartPolicy: 'Always' } as Container];
  assert.deepEqual(checkTargetPort(p, sp('proxy')), { kind: 'resolved', port: 15001, container: 'envoy', named: true });
  assert.equal(checkTargetPort(p, sp(15001)).kind, 'resolved');
});
