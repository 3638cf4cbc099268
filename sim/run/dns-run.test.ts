import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadScenarioText } from '../scenario/load.ts';
import { runPoint } from '../scenario/run-point.ts';
import { MODEL_URL } from '../scenario/run-point-contract.ts';
import { runStudy } from '../scenario/runner.ts';

/** The metrics of one run of a small cluster with DNS; `extra` is YAML appended to the scenario. */
function run(extra: string, seed = 1): Record<string, number> {
  const text = `name: t\nquestion: q\nseed: ${seed}\ncluster:\n  nodes: 4\n  services: { count: 10, endpointsPerService: 2 }\ntraffic: { connectionsPerSecond: 5 }\n${extra}`;
  const point = loadScenarioText(text, 'dns-run-test.yaml').points[0]!;
  return runPoint({ scenario: point.scenario, point: point.params, replication: 0, seed }).metrics;
}

test('queries per lookup follow glibc search under ndots:5, per kind of name', () => {
  const q = (name: string) => run(`duration: 4s\ndns: { lookupsPerSecond: 200, names: ${name} }\n`)['dns.queriesPerLookup.mean'];
  // A and AAAA per name tried: short finds it in the first search domain, another namespace's in the
  // second; four dots and external names go through all three search domains first.
  assert.equal(q('short'), 2);
  assert.equal(q('otherNamespace'), 4);
  assert.equal(q('fourDots'), 8);
  assert.equal(q('external'), 8);
  assert.equal(run('duration: 4s\ndns: { lookupsPerSecond: 200, names: external, options: [ndots:1] }\n')['dns.queriesPerLookup.mean'], 2);
});

test('NodeLocal DNSCache creates no conntrack entry for the lookups; kube-dns does', () => {
  const cached = run('duration: 5s\ndns: { lookupsPerSecond: 300, nodeLocalCache: true }\n');
  const direct = run('duration: 5s\ndns: { lookupsPerSecond: 300 }\n');
  assert.equal(cached['conntrack.dnsEntries'], 0);
  assert.ok(direct['conntrack.dnsEntries']! > 1000, String(direct['conntrack.dnsEntries']));
  assert.ok(cached['conntrack.entries.peak']! < direct['conntrack.entries.peak']!);
  assert.equal(cached['dns.lookups.ok'], cached['dns.lookups.total']);
  assert.ok(cached['dns.cacheHitRatio']! > 0.5);
});

test('the conntrack race: glibc on iptables drops racing datagrams on 4.19 (5 s lookups), 5.10 resolves them', () => {
  const scenario = (kernel: string, mode: string) => `duration: 20s\nproxy: { mode: ${mode} }\ndns: { lookupsPerSecond: 3000, names: external }\nkernel: { version: "${kernel}" }\n`;
  const old = run(scenario('4.19', 'iptables'));
  const recent = run(scenario('5.10', 'iptables'));
  assert.ok(old['conntrack.insertFailed']! > 0 && old['conntrack.drops']! > 0);
  assert.ok(old['dns.lookupsOver5s.rate']! > 0);
  assert.equal(old['conntrack.clashResolve'], 0);
  assert.ok(recent['conntrack.clashResolve']! > 0);
  assert.equal(recent['conntrack.drops'], 0);
  assert.ok(recent['dns.lookupsOver5s.rate']! < old['dns.lookupsOver5s.rate']!);
  // nftables' numgen random picks per packet too: the same race and the same resolution.
  assert.ok(run(scenario('5.10', 'nftables'))['conntrack.clashResolve']! > 0);
  // Go sends each query from its own socket: no pair shares a 5-tuple.
  const go = run(`duration: 5s\nproxy: { mode: iptables }\ndns: { resolver: go, lookupsPerSecond: 3000, names: external }\nkernel: { version: "4.19" }\n`);
  assert.equal(go['conntrack.insertFailed'], 0);
});

test('sendPattern threads: the pair meets conntrack on two CPUs, so 4.19 drops far more than one thread does', () => {
  const pattern = (p: string) => run(`duration: 6s\nproxy: { mode: iptables }\ndns: { lookupsPerSecond: 1000, names: short, sendPattern: ${p} }\nkernel: { version: "4.19" }\n`);
  const one = pattern('one-thread');
  const threads = pattern('threads');
  // cpusPerNode 4: three pairs in four cross CPUs; a racing pair picks another endpoint half the time.
  assert.ok(threads['conntrack.drops']! > 50 * Math.max(1, one['conntrack.drops']!), `${threads['conntrack.drops']} vs ${one['conntrack.drops']}`);
  assert.ok(threads['dns.lookupsOver5s.rate']! > 0.05, String(threads['dns.lookupsOver5s.rate']));
});

test('a CoreDNS rollout fails lookups only without graceful termination', () => {
  const rollout = (graceful: boolean) =>
    run(`duration: 40s\nwarmup: 5s\ndns: { lookupsPerSecond: 300, names: short }\nchurn: { kind: rolling-update, target: coredns, every: 15s, maxUnavailable: 1, gracefulTermination: ${graceful} }\n`);
  const graceful = rollout(true);
  const abrupt = rollout(false);
  assert.ok(graceful['churn.rollouts']! >= 2);
  assert.equal(graceful['dns.slowLookups.count'], 0);
  assert.equal(graceful['dns.lookups.ok'], graceful['dns.lookups.total']);
  assert.ok(abrupt['dns.slowLookups.count']! > 0);
  assert.ok(abrupt['dns.queries.lost']! > 0);
});

test('a study with DNS gives the same results with --jobs 1 and --jobs 2', async () => {
  const study = `name: dns-jobs\nquestion: q\nreplications: 2\nduration: 3s\ncluster: { nodes: 3, services: { count: 5, endpointsPerService: 2 } }\ntraffic: { connectionsPerSecond: 5 }\nproxy: { mode: "\${mode}" }\ndns: { resolver: "\${resolver}", lookupsPerSecond: 200 }\nsweep:\n  mode: [iptables, ipvs]\n  resolver: [glibc, musl]\n`;
  const loaded = loadScenarioText(study, 'dns-jobs.yaml');
  const one = await runStudy(loaded, { jobs: 1, modelUrl: MODEL_URL });
  const two = await runStudy(loaded, { jobs: 2, modelUrl: MODEL_URL });
  assert.equal(one.runs.length, 8);
  assert.equal(JSON.stringify(one), JSON.stringify(two));
  assert.ok(one.runs.every((r) => r.result.metrics['dns.lookups.total']! > 300));
});

test('runs without dns: write no DNS column', () => {
  const m = run('duration: 2s\n');
  assert.ok(!Object.keys(m).some((k) => k.startsWith('dns.') || k.startsWith('coredns.')));
});
