import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { DEFAULT_KUBELET_DNS, formatResolvConf, parseHostResolvConf, podResolvConf, type KubeletDnsSettings, type PodDnsInput } from './resolv-conf.ts';
import { resolverConfig } from './resolver-options.ts';

// Golden files: set UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
const G = 'test/golden/dns';
function golden(name: string, actual: string): void {
  const p = join(G, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}

/** A cloud node's resolv.conf, as kubelet's --resolv-conf would point at. */
const cloudNode: KubeletDnsSettings = {
  ...DEFAULT_KUBELET_DNS,
  host: parseHostResolvConf('# generated\nnameserver 10.0.0.2\nsearch ec2.internal. cluster.local\noptions edns0 trust-ad\n'),
};
const text = (pod: PodDnsInput, k: KubeletDnsSettings = cloudNode) => formatResolvConf(podResolvConf(pod, k));

test('ClusterFirst: the cluster DNS alone, three cluster suffixes then the node\'s (deduplicated), ndots:5 only', () => {
  golden('cluster-first.resolv.conf', text({ namespace: 'shop' }));
  assert.equal(text({ namespace: 'shop' }), 'search shop.svc.cluster.local svc.cluster.local cluster.local ec2.internal\nnameserver 10.96.0.10\noptions ndots:5\n');
});

test('hostNetwork under ClusterFirst falls back to the node\'s file; ClusterFirstWithHostNet does not', () => {
  golden('host-network.resolv.conf', text({ namespace: 'kube-system', hostNetwork: true }));
  assert.equal(text({ namespace: 'kube-system', hostNetwork: true }), text({ namespace: 'x', dnsPolicy: 'Default' }));
  assert.equal(text({ namespace: 'shop', hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }), text({ namespace: 'shop' }));
});

test('dnsConfig: nameservers and searches appended, options merged by name with the Pod\'s value winning', () => {
  const pod: PodDnsInput = {
    namespace: 'shop',
    dnsConfig: {
      nameservers: ['10.96.0.10', '1.1.1.1'],
      searches: ['corp.example', 'svc.cluster.local'],
      options: [{ name: 'ndots', value: '2' }, { name: 'single-request-reopen' }, { name: 'timeout', value: '2' }],
    },
  };
  golden('dns-config.resolv.conf', text(pod));
  assert.match(text(pod), /^options ndots:2 single-request-reopen timeout:2$/m);
});

test('None: only what dnsConfig gives', () => {
  const pod: PodDnsInput = { namespace: 'shop', dnsPolicy: 'None', dnsConfig: { nameservers: ['10.0.0.53'], searches: ['corp.example'], options: [{ name: 'ndots', value: '1' }] } };
  golden('none.resolv.conf', text(pod));
  assert.equal(text({ namespace: 'x', dnsPolicy: 'None' }), '');
});

test('limits: 3 nameservers, 32 search entries, entries over 253 characters dropped, the line cut to 2048', () => {
  const pod: PodDnsInput = { namespace: 'a', dnsConfig: { nameservers: ['1.1.1.1', '2.2.2.2', '3.3.3.3'], searches: Array.from({ length: 40 }, (_, i) => `d${i}.example`) } };
  const c = podResolvConf(pod, cloudNode);
  assert.deepEqual(c.nameservers, ['10.96.0.10', '1.1.1.1', '2.2.2.2']);
  assert.equal(c.searches.length, 32);
  const long = 'x'.repeat(254);
  const c2 = podResolvConf({ namespace: 'a', dnsConfig: { searches: [long, ...Array.from({ length: 20 }, (_, i) => `${'y'.repeat(120)}${i}.example`)] } }, cloudNode);
  assert.ok(!c2.searches.includes(long));
  assert.ok(c2.searches.join(' ').length <= 2048);
  assert.ok(c2.searches.join(' ').length > 2048 - 130, 'cut from the end only as far as needed');
});

test('kubelet parses the node\'s file: nameservers add up, the last search and options lines win', () => {
  assert.deepEqual(parseHostResolvConf('nameserver 1.1.1.1\nsearch a b.\nnameserver 8.8.8.8\nsearch c.\n# options x\noptions rotate\n'), {
    nameservers: ['1.1.1.1', '8.8.8.8'],
    searches: ['c'],
    options: ['rotate'],
  });
});

test('each library reads the same options its own way', () => {
  const conf = { nameservers: ['10.96.0.10'], searches: ['a'], options: ['ndots:20', 'timeout:90', 'attempts:9', 'single-request-reopen', 'use-vc', 'rotate'] };
  const pick = (lib: 'glibc' | 'musl' | 'go') => {
    const c = resolverConfig(lib, conf);
    return [c.ndots, c.timeoutS, c.attempts, c.singleRequest, c.singleRequestReopen, c.useVc, c.rotate];
  };
  // glibc res_init.c: caps 15 / 30 / 5; musl resolvconf.c: 15 / 60 / 10 and no flags; Go: ndots 15, no cap on the others.
  assert.deepEqual(pick('glibc'), [15, 30, 5, false, true, true, true]);
  assert.deepEqual(pick('musl'), [15, 60, 9, false, false, false, false]);
  assert.deepEqual(pick('go'), [15, 90, 9, true, false, true, true]);
  assert.equal(resolverConfig('glibc', { ...conf, options: ['ndots:-1'] }).ndots, 15, 'the 4-bit field');
  assert.equal(resolverConfig('go', { ...conf, options: ['ndots:-1', 'attempts:0'] }).ndots, 0);
  assert.equal(resolverConfig('go', { ...conf, options: ['attempts:0'] }).attempts, 1);
  assert.equal(resolverConfig('glibc', { ...conf, options: ['attempts:0'] }).attempts, 0);
  // Repeated options: glibc and Go apply them in order (the last wins), musl's strstr finds the first.
  assert.equal(resolverConfig('glibc', { ...conf, options: ['ndots:5', 'ndots:2'] }).ndots, 2);
  assert.equal(resolverConfig('go', { ...conf, options: ['ndots:5', 'ndots:2'] }).ndots, 2);
  assert.equal(resolverConfig('musl', { ...conf, options: ['ndots:5', 'ndots:2'] }).ndots, 5);
  // musl skips a search line that does not fit its 256-byte buffer.
  const longSearch = { ...conf, searches: Array.from({ length: 20 }, (_, i) => `ns${i}.svc.cluster.local`) };
  assert.deepEqual(resolverConfig('musl', longSearch).searches, []);
  assert.equal(resolverConfig('glibc', longSearch).searches.length, 20);
  // No nameserver: the loopback.
  assert.deepEqual(resolverConfig('glibc', { ...conf, nameservers: [] }).nameservers, ['127.0.0.1']);
  assert.deepEqual(resolverConfig('go', { ...conf, nameservers: [] }).nameservers, ['127.0.0.1', '::1']);
});

test('property: the written file parses back to the same nameservers and searches, within the limits', () => {
  const domain = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9]{0,10}){0,3}$/);
  fc.assert(
    fc.property(fc.array(domain, { maxLength: 40 }), fc.array(fc.ipV4(), { maxLength: 5 }), fc.constantFrom('ClusterFirst', 'Default', 'None', 'ClusterFirstWithHostNet' as const), (searches, nameservers, dnsPolicy) => {
      const c = podResolvConf({ namespace: 'ns', dnsPolicy, dnsConfig: { searches, nameservers } }, cloudNode);
      const back = parseHostResolvConf(formatResolvConf(c));
      assert.deepEqual(back.nameservers, c.nameservers);
      assert.deepEqual(back.searches, c.searches);
      assert.ok(c.nameservers.length <= 3 && c.searches.length <= 32 && c.searches.join(' ').length <= 2048);
      assert.equal(new Set(c.searches).size, c.searches.length);
    }),
  );
});
