import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Pod } from './objects.ts';
import { podStatusReport, statusPhrase } from './pod-status-reason.ts';

// kubectl's printPod (pkg/printers/internalversion/printers.go) decides STATUS and RESTARTS; each case
// below is one branch of it, with the status the kubelet writes for that situation.

function pod(status: Record<string, unknown>, extra: Partial<Pod['spec']> = {}, meta: Partial<Pod['metadata']> = {}): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'ns', ...meta }, spec: { containers: [{ name: 'app', image: 'img:1' }], ...extra }, status: status as Pod['status'] };
}

test('CrashLoopBackOff: the waiting reason, the restart count and the last exit', () => {
  const r = podStatusReport(pod({ phase: 'Running', podIP: '10.0.0.1', containerStatuses: [{ name: 'app', ready: false, restartCount: 7, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, reason: 'Error' } } }] }));
  assert.equal(r.status, 'CrashLoopBackOff');
  assert.equal(r.restarts, 7);
  assert.equal(statusPhrase(r), 'CrashLoopBackOff, 7 restarts');
  assert.match(r.reasons[0]!, /^container app: CrashLoopBackOff after 7 restart\(s\), last Error, exit code 1/);
});

test('image pulls and config errors name the image or the message', () => {
  const pull = podStatusReport(pod({ phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ErrImagePull', message: 'not found' } } }] }));
  assert.equal(pull.status, 'ErrImagePull');
  assert.match(pull.reasons[0]!, /ErrImagePull for image "img:1": "not found"/);
  const cfg = podStatusReport(pod({ phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "db" not found' } } }] }));
  assert.equal(cfg.status, 'CreateContainerConfigError');
  assert.match(cfg.reasons[0]!, /secret \\"db\\" not found/);
});

test('Unschedulable: the PodScheduled condition with the scheduler\'s message', () => {
  const r = podStatusReport(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' }] }));
  assert.equal(r.status, 'Pending');
  assert.deepEqual(r.reasons, ['not scheduled: PodScheduled=False reason Unschedulable: "0/3 nodes are available: 3 Insufficient cpu."']);
});

test('init containers: the first not done decides (Init:REASON, Init:i/n, Init:ExitCode), done ones are skipped', () => {
  const spec = { initContainers: [{ name: 'migrate' }, { name: 'warm' }] };
  const done = { name: 'migrate', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } };
  const crash = podStatusReport(pod({ phase: 'Pending', initContainerStatuses: [done, { name: 'warm', ready: false, restartCount: 4, state: { waiting: { reason: 'CrashLoopBackOff' } } }] }, spec));
  assert.equal(crash.status, 'Init:CrashLoopBackOff');
  assert.equal(crash.restarts, 4);
  const running = podStatusReport(pod({ phase: 'Pending', initContainerStatuses: [done, { name: 'warm', ready: false, restartCount: 0, state: { running: {} } }] }, spec));
  assert.equal(running.status, 'Init:1/2');
  const failed = podStatusReport(pod({ phase: 'Pending', initContainerStatuses: [{ name: 'migrate', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }] }, spec));
  assert.equal(failed.status, 'Init:ExitCode:3');
});

test('a deleted pod shows Terminating whatever its containers do', () => {
  const r = podStatusReport(pod({ phase: 'Running', containerStatuses: [{ name: 'app', ready: true, restartCount: 0, state: { running: {} } }] }, {}, { deletionTimestamp: '2026-01-01T00:00:30Z' }));
  assert.equal(r.status, 'Terminating');
});

test('a running container that is not ready blames its readiness probe when it has one', () => {
  const r = podStatusReport(pod({ phase: 'Running', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, started: true, state: { running: {} } }] }, { containers: [{ name: 'app', readinessProbe: { periodSeconds: 5 } }] }));
  assert.equal(r.status, 'Running');
  assert.deepEqual(r.reasons, ['container app: running, not ready: its readinessProbe fails']);
});

test('RESTARTS is the sum over the containers, and STATUS a waiting reason of one of them', () => {
  const reasons = ['CrashLoopBackOff', 'ImagePullBackOff', 'ContainerCreating'];
  fc.assert(
    fc.property(fc.array(fc.record({ restarts: fc.nat(50), waiting: fc.option(fc.constantFrom(...reasons), { nil: undefined }) }), { minLength: 1, maxLength: 4 }), (cs) => {
      const statuses = cs.map((c, i) => ({ name: `c${i}`, ready: false, restartCount: c.restarts, state: c.waiting ? { waiting: { reason: c.waiting } } : { running: {} } }));
      const r = podStatusReport(pod({ phase: 'Running', containerStatuses: statuses }, { containers: statuses.map((s) => ({ name: s.name })) }));
      assert.equal(r.restarts, cs.reduce((n, c) => n + c.restarts, 0));
      const waiting = cs.map((c) => c.waiting).filter((w) => w !== undefined);
      // printPod walks the containers last to first, so the first container's reason wins.
      assert.equal(r.status, waiting.length ? waiting[0] : 'Running');
    }),
  );
});
