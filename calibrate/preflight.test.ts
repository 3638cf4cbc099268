import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingMessage, missingPrerequisites, REQUIRED_TOOLS, type HostProbe } from './preflight.ts';

/** A host where everything is present unless told otherwise; records the commands run. */
function fakeHost(o: { uid?: number; absent?: string[]; fail?: Record<string, string> } = {}): HostProbe & { ran: string[] } {
  const ran: string[] = [];
  return {
    ran,
    uid: () => o.uid ?? 0,
    onPath: (cmd) => !(o.absent ?? []).includes(cmd),
    run: (cmd, args) => {
      const line = [cmd, ...args].join(' ');
      ran.push(line);
      const hit = Object.entries(o.fail ?? {}).find(([k]) => line.includes(k));
      return hit ? { status: 1, stderr: hit[1] } : { status: 0, stderr: '' };
    },
  };
}

test('a host with everything passes and the trial namespace is removed', () => {
  const h = fakeHost();
  assert.deepEqual(missingPrerequisites(h, 'pf'), []);
  assert.equal(h.ran[0], 'ip netns add pf');
  assert.equal(h.ran.at(-1), 'ip netns del pf');
});

test('not root: says so, with the uid, and creates nothing', () => {
  const h = fakeHost({ uid: 1000 });
  const m = missingPrerequisites(h, 'pf');
  assert.equal(m.length, 1);
  assert.match(m[0]!, /^root \(running as uid 1000;/);
  assert.deepEqual(h.ran, []);
});

test('missing tools are named with the package that provides them', () => {
  const m = missingPrerequisites(fakeHost({ absent: ['nft', 'conntrack', 'iptables-nft'] }), 'pf');
  assert.deepEqual(m, ['iptables-nft, nft, conntrack not on PATH (apt-get install iptables nftables conntrack)']);
  assert.ok(REQUIRED_TOOLS.some((t) => t.cmd === 'iptables-legacy-restore'));
});

test('not root and no tools: both are reported', () => {
  const m = missingPrerequisites(fakeHost({ uid: 1000, absent: ['ip'] }), 'pf');
  assert.equal(m.length, 2);
  assert.match(m[1]!, /^ip not on PATH \(apt-get install iproute2\)$/);
});

test('namespaces refused by the kernel or container', () => {
  const m = missingPrerequisites(fakeHost({ fail: { 'netns add': 'mount --make-shared /run/netns failed: Operation not permitted' } }), 'pf');
  assert.deepEqual(m, ['network namespaces (ip netns add failed: mount --make-shared /run/netns failed: Operation not permitted)']);
});

test('a backend the kernel lacks is named, and the trial namespace is still removed', () => {
  const h = fakeHost({ fail: { 'iptables-legacy -t nat': "iptables v1.8.9 (legacy): can't initialize iptables table `nat': Table does not exist" } });
  const m = missingPrerequisites(h, 'pf');
  assert.equal(m.length, 1);
  assert.match(m[0]!, /^the legacy iptables nat table \(kernel module iptable_nat \/ ip_tables\): `iptables-legacy -t nat -S` failed in a namespace \(iptables v1\.8\.9/);
  assert.equal(h.ran.at(-1), 'ip netns del pf');
});

test('the message lists every item and says nothing was created', () => {
  const text = missingMessage(['root (x)', 'nft not on PATH (apt-get install nftables)']);
  assert.equal(text, "calibrate: cannot measure this host's kernel; missing:\n  - root (x)\n  - nft not on PATH (apt-get install nftables)\nNothing was created or changed.");
});
