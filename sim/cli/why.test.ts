import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMain } from './testing/run-main.ts';
import { InputError } from '../io/input-error.ts';
import { formatWhy } from '../why/format.ts';
import { WHY_MODES, type StepName } from '../why/types.ts';
import { runWhyCommand, type WhyOptions } from './why.ts';

// Every cause docs/troubleshooting.md walks, on the example manifests it ships, from a pod and from
// a node's host network, in each kube-proxy mode: the step that breaks first (or none), and the
// words that name the cause. Golden files pin the text of each cause once (iptables, from the pod)
// and of the healthy path in every mode and from both clients. UPDATE_GOLDEN=1 rewrites them.

const X = 'docs/examples/why';
const G = 'test/golden/why';
function golden(name: string, actual: string): void {
  const p = join(G, name);
  if (process.env.UPDATE_GOLDEN) {
    mkdirSync(G, { recursive: true });
    writeFileSync(p, actual);
  }
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}

function opts(files: string[], from: string, to: string, mode = 'iptables', extra: Partial<WhyOptions> = {}): WhyOptions {
  return { cluster: files.map((f) => join(X, f)), from, to, mode, resolver: 'glibc', clusterCidr: '10.244.0.0/16', clusterDomain: 'cluster.local', ...extra };
}
const withCase = (c: string) => ['cluster.yaml', `${c}.yaml`];

interface Cause {
  name: string;
  files: string[];
  /** The step that breaks first, from the pod; null: reachable. */
  breaks: StepName | null;
  words: RegExp;
  /** The URL from the pod (default http://web) and from the node (default tcp://10.96.0.20:80). */
  to?: string;
  nodeTo?: string;
  /** Modes whose node path is not asserted (see the comment at the cause). */
  skipNode?: string[];
}

const CAUSES: Cause[] = [
  { name: 'healthy', files: withCase('healthy'), breaks: null, words: /^reachable: .* -> 10\.96\.0\.20 -> 10\.244\.[01]\.10:8080$/ },
  { name: 'selector-mismatch', files: withCase('selector-mismatch'), breaks: 'endpointslices', words: /selector mismatch: .* differ in label app: .*web-v2 where the selector wants web/ },
  { name: 'crashloop', files: withCase('crashloop'), breaks: 'endpointslices', words: /CrashLoopBackOff after 7 restart\(s\), last Error, exit code 1/ },
  { name: 'pending', files: withCase('pending'), breaks: 'endpointslices', words: /Unschedulable: "0\/2 nodes are available: 2 Insufficient memory/ },
  { name: 'image-pull', files: withCase('image-pull'), breaks: 'endpointslices', words: /ImagePullBackOff for image "example\.com\/shop\/web:1\.4\.3"/ },
  { name: 'target-port', files: withCase('target-port'), breaks: 'service', words: /targetPort 80 is not a port the containers declare \(http:8080\/TCP\)/ },
  { name: 'local-policy', files: withCase('local-policy'), breaks: 'rules', words: /internalTrafficPolicy: Local and no ready endpoint of shop\/web on node node-a/ },
  { name: 'readiness', files: withCase('readiness'), breaks: 'endpointslices', words: /container web: running, not ready: its readinessProbe fails/ },
  { name: 'terminating', files: withCase('terminating'), breaks: null, words: /^reachable: .* \(warnings: endpointslices\)$/ },
  // ipvs from the node: the source-range check sits in filter INPUT, which a packet the node sends
  // to its own kube-ipvs0 address does not cross before IPVS; not checked against a kernel here.
  { name: 'source-ranges', files: withCase('source-ranges'), breaks: 'rules', words: /is outside loadBalancerSourceRanges \(203\.0\.113\.0\/24\)/, to: 'tcp://198.51.100.7:80', nodeTo: 'tcp://198.51.100.7:80', skipNode: ['ipvs'] },
  { name: 'coredns-down', files: ['coredns-down.yaml'], breaks: 'dns', words: /kube-system\/kube-dns \(10\.96\.0\.10\) has no ready endpoints: .*CrashLoopBackOff after 12 restart\(s\)/ },
];

for (const mode of WHY_MODES) {
  for (const c of CAUSES) {
    test(`why ${c.name}, ${mode}: from a pod by name, and from the node's host network by address`, () => {
      const pod = runWhyCommand(opts(c.files, 'shop/client', c.to ?? 'http://web', mode));
      assert.equal(pod.verdict.step, c.breaks, pod.verdict.message);
      assert.equal(pod.verdict.reachable, c.breaks === null);
      assert.match(pod.verdict.message, c.words);
      // The node reaches the Service by its address (no cluster DNS there): every cause but DNS shows the same way.
      const node = runWhyCommand(opts(c.files, 'node/node-a', c.nodeTo ?? 'tcp://10.96.0.20:80', mode));
      if (!c.skipNode?.includes(mode)) assert.equal(node.verdict.step, c.breaks === 'dns' ? null : c.breaks, node.verdict.message);
      const rules = node.steps.find((s) => s.step === 'rules')!;
      assert.equal(rules.data.hostNetwork, true);
      assert.equal((rules.data.hooks as string[])[0], 'OUTPUT', 'host traffic starts at OUTPUT');
      const podRules = pod.steps.find((s) => s.step === 'rules')!;
      if (podRules.status !== 'skipped') assert.equal((podRules.data.hooks as string[])[0], 'PREROUTING', 'a pod\'s packet starts at PREROUTING');
      if (c.breaks === null && c.name === 'healthy') {
        assert.equal(rules.data.masquerade, true, 'host traffic to a ClusterIP is masqueraded');
        assert.equal(podRules.data.masquerade, false, 'pod traffic inside --cluster-cidr is not');
      }
    });
  }
}

test('golden: each cause from the pod (iptables), the healthy path in every mode from the pod and the node', () => {
  for (const c of CAUSES.filter((x) => x.name !== 'healthy')) golden(`${c.name}.iptables.txt`, formatWhy(runWhyCommand(opts(c.files, 'shop/client', c.to ?? 'http://web'))));
  for (const mode of WHY_MODES) {
    golden(`healthy.${mode}.pod.txt`, formatWhy(runWhyCommand(opts(withCase('healthy'), 'shop/client', 'http://web', mode))));
    golden(`healthy.${mode}.node.txt`, formatWhy(runWhyCommand(opts(withCase('healthy'), 'node/node-a', 'tcp://10.96.0.20:80', mode))));
  }
});

test('a node\'s host network does not resolve cluster names; a hostNetwork pod with ClusterFirst neither', () => {
  const node = runWhyCommand(opts(withCase('healthy'), 'node/node-a', 'http://web.shop'));
  assert.equal(node.verdict.step, 'dns');
  assert.match(node.verdict.message, /node node-a's resolv\.conf does not use the cluster DNS \(10\.96\.0\.10\)/);
  assert.match(node.verdict.fix!, /http:\/\/10\.96\.0\.20:80/);
  // The later steps still check the Service the name means.
  assert.equal(node.steps.find((s) => s.step === 'endpoint')!.status, 'ok');
  const agent = runWhyCommand(opts(withCase('healthy'), 'shop/agent', 'http://web', 'iptables', { nodeResolvConf: join(X, 'node-resolv.conf') }));
  assert.equal(agent.verdict.step, 'dns');
  assert.match(agent.verdict.message, /from an upstream resolver, not to Service shop\/web \(10\.96\.0\.20\)/);
  assert.match(agent.verdict.fix!, /ClusterFirstWithHostNet/);
  golden('host-network-pod.iptables.txt', formatWhy(agent));
  const fixed = runWhyCommand(opts(withCase('healthy'), 'shop/agent', 'tcp://10.96.0.20:80', 'nftables'));
  assert.equal(fixed.verdict.reachable, true);
  assert.equal(fixed.client.sourceIP, '192.168.0.10');
});

test('a pod addressed directly, a wrong Service port, a name outside the cluster', () => {
  const direct = runWhyCommand(opts(withCase('healthy'), 'shop/client', 'tcp://10.244.1.10:8080', 'ipvs'));
  assert.equal(direct.verdict.reachable, true, direct.verdict.message);
  assert.equal(direct.steps.find((s) => s.step === 'endpointslices')!.status, 'skipped');
  const wrongPort = runWhyCommand(opts(withCase('healthy'), 'shop/client', 'http://web:8080'));
  assert.equal(wrongPort.verdict.step, 'service');
  assert.match(wrongPort.verdict.message, /has no port 8080\/TCP; its ports: 80\/TCP \(http\)/);
  assert.equal(wrongPort.verdict.fix, 'connect to port 80, or add port 8080 to the Service');
  const outside = runWhyCommand(opts(withCase('healthy'), 'shop/client', 'https://example.com'));
  assert.equal(outside.verdict.reachable, true);
  assert.match(outside.verdict.message, /outside the cluster/);
  const noSuch = runWhyCommand(opts(withCase('healthy'), 'shop/client', 'http://shop-web'));
  assert.equal(noSuch.verdict.step, 'dns');
});

test('--json has the steps as data (golden)', () => {
  const r = runWhyCommand(opts(withCase('crashloop'), 'shop/client', 'http://web', 'nftables'));
  const json = JSON.stringify(r, null, 2) + '\n';
  golden('crashloop.nftables.json', json);
  const back = JSON.parse(json) as { steps: { step: string; status: string; data: Record<string, unknown> }[]; verdict: { step: string } };
  assert.deepEqual(back.steps.map((s) => [s.step, s.status]), [['dns', 'ok'], ['service', 'ok'], ['endpointslices', 'break'], ['rules', 'break'], ['endpoint', 'skipped']]);
  const pods = back.steps[2]!.data.pods as { pod: string; status: string }[];
  assert.deepEqual(pods.filter((p) => p.pod.startsWith('shop/web')).map((p) => p.status), ['CrashLoopBackOff, 7 restarts', 'CrashLoopBackOff, 7 restarts']);
});


test('exit status: 0 reachable, 1 at a break, 2 for bad input with one message naming the field', async () => {
  const base = ['why', '--cluster', join(X, 'cluster.yaml'), join(X, 'healthy.yaml')];
  assert.equal((await runMain([...base, '--from', 'shop/client', '--to', 'http://web'])).code, 0);
  assert.equal((await runMain(['why', '--cluster', join(X, 'cluster.yaml'), join(X, 'crashloop.yaml'), '--from', 'shop/client', '--to', 'http://web', '--json'])).code, 1);
  const bad: [string[], RegExp][] = [
    [['--from', 'shop/client', '--to', 'ftp://web'], /--to: expected a URL .*found "ftp:\/\/web" \(the scheme ftp is not http, https, tcp or udp\)/],
    [['--from', 'shop/client', '--to', 'tcp://web'], /--to: .*\(tcp:\/\/ needs a port\)/],
    [['--from', 'shop/client', '--to', 'http://web:99999'], /--to: .*the port "99999" is not 1-65535/],
    [['--from', 'shop/nobody', '--to', 'http://web'], /--from: expected NAMESPACE\/POD .*found "shop\/nobody" \(Pods: /],
    [['--from', 'node/node-z', '--to', 'http://web'], /--from: expected node\/NAME naming a Node in the manifests \(node-a, node-b\)/],
    [['--from', 'shop/client', '--to', 'http://web', '--mode', 'ebpf'], /--mode: expected iptables, nftables, ipvs, found "ebpf"/],
    [['--from', 'shop/client', '--to', 'http://web', '--cluster-cidr', '10.244.0.0'], /--cluster-cidr: expected an IPv4 CIDR/],
  ];
  for (const [args, message] of bad) {
    const r = await runMain([...base, ...args]);
    assert.equal(r.code, 2, args.join(' '));
    assert.match(r.err, message);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.equal(r.out, '');
  }
});

test('a client pod that is not running and a mistyped container status are input errors with their place', () => {
  assert.throws(() => runWhyCommand(opts(withCase('pending'), 'shop/web-1', 'http://web')), (e: unknown) => e instanceof InputError && /--from: expected a running client Pod .*found shop\/web-1, Pending \(not scheduled: PodScheduled=False reason Unschedulable/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-why-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, readFileSync(join(X, 'crashloop.yaml'), 'utf8').replace('restartCount: 7', 'restartCount: seven'));
  assert.throws(
    () => runWhyCommand({ ...opts(['cluster.yaml'], 'shop/client', 'http://web'), cluster: [join(X, 'cluster.yaml'), bad] }),
    (e: unknown) => e instanceof InputError && /bad\.yaml:\d+:\d+ .*status\.containerStatuses\[0\]\.restartCount: expected a whole number >= 0, found "seven"/.test(e.message),
  );
});
