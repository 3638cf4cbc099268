import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../cli.ts';
import { runDns, type DnsOptions } from './dns.ts';

// Golden files: set UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
const G = 'test/golden/dns';
function golden(name: string, actual: string): void {
  const p = join(G, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}
const opts = (o: Partial<DnsOptions>): DnsOptions => ({ cluster: [join(G, 'cluster.yaml')], pod: 'shop/client', name: 'web', resolver: 'glibc', ...o });

test('svcsim dns: the pod\'s resolv.conf, each query in order with its answer, and the outcome', () => {
  const out = runDns(opts({ name: 'api.billing' }));
  golden('api-billing.glibc.txt', out);
  assert.match(out, /^outcome: ok 10\.96\.0\.30 after 0\.000s$/m);
});

test('svcsim dns --json: resolvConf, queries [{name, type, server, answer}], outcome', () => {
  const j = JSON.parse(runDns(opts({ name: 'db', pod: 'shop/tuned', json: true })));
  golden('db-tuned.glibc.json', JSON.stringify(j, null, 2) + '\n');
  assert.equal(j.resolvConf, 'search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:2 single-request-reopen\n');
  assert.deepEqual(
    j.queries.map((q: { name: string; type: string; server: string; socket: number }) => [q.name, q.type, q.server, q.socket]),
    [
      ['db.shop.svc.cluster.local', 'A', '10.96.0.10', 1],
      ['db.shop.svc.cluster.local', 'AAAA', '10.96.0.10', 2],
    ],
  );
  assert.deepEqual(j.queries[0].answer, { rcode: 'NOERROR', addresses: ['10.244.1.7'] }, 'a headless Service answers its ready pods');
  assert.equal(j.outcome, 'ok');
});

test('kube-dns without ready endpoints: glibc is refused at once, musl waits out its 5 s', () => {
  const cluster = [join(G, 'no-dns-endpoints.yaml')];
  const g = JSON.parse(runDns(opts({ cluster, json: true })));
  assert.deepEqual([g.outcome, g.durationMs, g.queries.length], ['refused', 0, 4]);
  assert.match(g.notes[0], /kube-system\/kube-dns \(10\.96\.0\.10\) has no ready endpoints/);
  const m = runDns(opts({ cluster, resolver: 'musl' }));
  golden('no-dns-endpoints.musl.txt', m);
  assert.match(m, /^outcome: timeout after 5\.000s$/m);
});

test('no Service at the cluster DNS address: the queries go unanswered (glibc: 20 s)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-dns-'));
  const f = join(dir, 'm.yaml');
  writeFileSync(f, 'apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: shop}\nspec: {containers: [{name: c}]}\n');
  const j = JSON.parse(runDns(opts({ cluster: [f], pod: 'shop/c', json: true })));
  assert.deepEqual([j.outcome, j.durationMs], ['timeout', 20000]);
  assert.match(j.notes[0], /no Service in the manifests has ClusterIP 10\.96\.0\.10/);
});

async function run(args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    return { status: await main(args), stderr };
  } finally {
    process.stderr.write = write;
    process.exitCode = undefined;
  }
}

test('bad input exits 2 with one message: unknown pod, unknown resolver, a name that is not a DNS name', async () => {
  const base = ['dns', '--cluster', join(G, 'cluster.yaml')];
  const pod = await run([...base, '--pod', 'shop/nope', '--name', 'web']);
  assert.equal(pod.status, 2);
  assert.match(pod.stderr, /^svcsim: --pod: expected NAMESPACE\/NAME of a Pod in the manifests, found "shop\/nope" \(Pods: kube-system\/coredns-a, /);
  const lib = await run([...base, '--pod', 'shop/client', '--name', 'web', '--resolver', 'bionic']);
  assert.equal(lib.status, 2);
  assert.equal(lib.stderr, 'svcsim: --resolver: expected glibc, musl, go, found "bionic"\n');
  for (const [name, why] of [
    ['web..shop', 'an empty label'],
    ['-web', 'characters other than'],
    ['a'.repeat(64), 'a label of 64 characters'],
    ['web shop', 'characters other than'],
  ] as const) {
    const r = await run([...base, '--pod', 'shop/client', '--name', name]);
    assert.equal(r.status, 2, name);
    assert.match(r.stderr, new RegExp(`^svcsim: --name: expected a DNS name .*${why}`), name);
  }
});

test('a Pod\'s DNS fields are checked as the API server does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-dns-'));
  const f = join(dir, 'm.yaml');
  writeFileSync(f, 'apiVersion: v1\nkind: Pod\nmetadata: {name: c, namespace: shop}\nspec:\n  containers: [{name: c}]\n  dnsPolicy: ClusterFirs\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: d, namespace: shop}\nspec:\n  containers: [{name: c}]\n  dnsPolicy: None\n');
  const r = await run(['dns', '--cluster', f, '--pod', 'shop/c', '--name', 'web']);
  assert.equal(r.status, 2);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  assert.match(lines[0]!, /m\.yaml:6:14 .*spec\.dnsPolicy: expected one of ClusterFirst, ClusterFirstWithHostNet, Default, None, found "ClusterFirs"/);
  assert.match(lines[1]!, /Pod shop\/d\) spec\.dnsConfig\.nameservers: expected at least one DNS nameserver when dnsPolicy is None/);
});

test('kubelet flags: --node-resolv-conf feeds Default pods and the search list, --cluster-dns and --cluster-domain are checked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-dns-'));
  const node = join(dir, 'resolv.conf');
  writeFileSync(node, 'nameserver 10.0.0.2\nsearch ec2.internal\noptions edns0\n');
  const coredns = JSON.parse(runDns(opts({ pod: 'kube-system/coredns-a', name: 'example.com', nodeResolvConf: node, json: true })));
  assert.equal(coredns.resolvConf, 'search ec2.internal\nnameserver 10.0.0.2\noptions edns0\n');
  assert.deepEqual(coredns.queries.map((q: { name: string; server: string }) => `${q.name}@${q.server}`), ['example.com@10.0.0.2', 'example.com@10.0.0.2']);
  const client = JSON.parse(runDns(opts({ nodeResolvConf: node, json: true })));
  assert.match(client.resolvConf, /^search shop\.svc\.cluster\.local svc\.cluster\.local cluster\.local ec2\.internal$/m);
  const base = ['dns', '--cluster', join(G, 'cluster.yaml'), '--pod', 'shop/client', '--name', 'web'];
  const ip = await run([...base, '--cluster-dns', '10.96.0.1x']);
  assert.deepEqual([ip.status, ip.stderr], [2, 'svcsim: --cluster-dns: expected an IPv4 address such as 10.96.0.10, found "10.96.0.1x"\n']);
  const domain = await run([...base, '--cluster-domain', 'cluster..local']);
  assert.equal(domain.status, 2);
  assert.match(domain.stderr, /^svcsim: --cluster-domain: expected a DNS domain/);
  const missing = await run([...base, '--node-resolv-conf', join(dir, 'nope')]);
  assert.deepEqual([missing.status, missing.stderr.endsWith('expected a readable file, found no such file\n')], [2, true]);
});
