import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseIptablesSave } from '../netfilter/iptables-save.ts';
import { InputError } from '../io/input-error.ts';
import { runRender, type RenderOptions } from './render.ts';

// Golden files: set UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff.
const G = 'test/golden/render';
function golden(name: string, actual: string): void {
  const p = join(G, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(p, actual);
  assert.equal(actual, readFileSync(p, 'utf8'), `differs from ${p}`);
}
const cluster = join(G, 'cluster.yaml');

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'sim/cli.ts', 'render', ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('render --restore: the iptables-restore input of a full sync on node-b', () => {
  const out = runRender({ mode: 'iptables', cluster: [cluster], node: 'node-b', clusterCidr: '10.244.0.0/16', restore: true }).join('');
  golden('node-b.iptables-restore', out);
  // node-b has a ready local endpoint for the Local-policy LoadBalancer: a KUBE-SVL chain with it only.
  assert.match(out, /-A KUBE-SVL-\w+ -m comment --comment "default\/web:http -> 10\.244\.1\.21:8080" -j KUBE-SEP-/);
  assert.doesNotMatch(out, /10\.244\.1\.22/); // terminating, not needed while a ready endpoint exists
});

test('render on node-a: the Local policy uses node-a\'s endpoint; no DROP for external traffic', () => {
  const out = runRender({ mode: 'iptables', cluster: [cluster], node: 'node-a', clusterCidr: '10.244.0.0/16', restore: true }).join('');
  assert.match(out, /-A KUBE-SVL-\w+ -m comment --comment "default\/web:http -> 10\.244\.0\.20:8080" -j KUBE-SEP-/);
  assert.doesNotMatch(out, /has no local endpoints/);
});

test('svcsim render prints iptables-save that parses back, exit 0', () => {
  const r = cli('--mode', 'iptables', '--cluster', cluster, '--node', 'node-b', '--cluster-cidr', '10.244.0.0/16');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\*nat$/m);
  assert.match(r.stdout, /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  assert.match(r.stdout, /-A KUBE-SERVICES -d 10\.96\.0\.10\/32 -p udp -m comment --comment "kube-system\/kube-dns:dns cluster IP" -m udp --dport 53 -j KUBE-SVC-/);
  const parsed = parseIptablesSave(r.stdout);
  assert.ok(parsed.ruleset.tables.get('nat')!.chains.size > 10);
});

test('svcsim render: user mistakes exit 2 with one message naming the input', () => {
  let r = cli('--mode', 'userspace', '--cluster', cluster);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--mode: expected iptables, nftables, ipvs, found "userspace"/);
  assert.equal(r.stdout, '');

  const dir = mkdtempSync(join(tmpdir(), 'svcsim-render-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: 99999\n');
  r = cli('--mode', 'iptables', '--cluster', bad);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /bad\.yaml:6:\d+/);
  assert.equal(r.stdout, '');
});

test('svcsim render: every bad object of the manifests is reported, one line each, nothing on stdout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-render-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec:\n  ports:\n  - port: 99999\n---\napiVersion: v1\nkind: Node\nmetadata: {name: 7}\n');
  const r = cli('--mode', 'iptables', '--cluster', bad);
  assert.equal(r.status, 2);
  assert.deepEqual(r.stderr.split('\n'), [
    `svcsim: ${bad}:6:11 (document 1, Service default/x) spec.ports[0].port: expected a port number 1-65535, found number 99999`,
    `${bad}:10:18 (document 2, Node) metadata.name: expected a name (string), found number 7`,
    '',
  ]);
  assert.equal(r.stdout, '');
});

test('render: bad flags and files are InputErrors (exit 2 through the CLI)', () => {
  const base = { mode: 'iptables', cluster: [cluster] };
  const fails = (o: Partial<RenderOptions>, re: RegExp) =>
    assert.throws(() => runRender({ ...base, ...o }), (e: unknown) => e instanceof InputError && re.test(e.message));
  fails({ node: 'node-z' }, /--node: expected one of the Nodes in the manifests \(node-a, node-b\), found "node-z"/);
  fails({ clusterCidr: '10.244.0.0' }, /--cluster-cidr: expected an IPv4 CIDR/);
  fails({ nodeIp: '300.1.1.1' }, /--node-ip: expected an IPv4 address/);
  fails({ cluster: ['test/golden/render/missing.yaml'] }, /missing\.yaml: expected a readable file, found no such file/);
  fails({ serviceCidr: ['10.96.0.0/12'] }, /--service-cidr: expected nftables mode, found --mode iptables/);
  fails({ mode: 'nftables', serviceCidr: ['10.96.0.0'] }, /--service-cidr: expected an IPv4 CIDR like 10\.96\.0\.0\/12, found "10\.96\.0\.0"/);
});

test('render --mode nftables --service-cidr: the rule that drops traffic to unallocated ClusterIPs', () => {
  const out = runRender({ mode: 'nftables', cluster: [cluster], node: 'node-b', clusterCidr: '10.244.0.0/16', serviceCidr: ['10.96.0.0/12'], transaction: true }).join('');
  golden('node-b.service-cidr.nft-transaction', out);
  assert.match(out, /ip daddr \{ 10\.96\.0\.0\/12 \} drop comment "Drop traffic to unallocated ClusterIPs"/);
  const without = runRender({ mode: 'nftables', cluster: [cluster], node: 'node-b', clusterCidr: '10.244.0.0/16', transaction: true }).join('');
  assert.doesNotMatch(without, /unallocated ClusterIPs/);
});

test('render --mode nftables: nft list ruleset, and with --transaction the nft -f input, on node-b', () => {
  const base = { mode: 'nftables', cluster: [cluster], node: 'node-b', clusterCidr: '10.244.0.0/16' };
  const list = runRender(base).join('');
  golden('node-b.nft', list);
  assert.match(list, /^table ip kube-proxy \{$/m);
  assert.match(list, /elements = \{ 192\.168\.0\.11 \}/); // node-b's InternalIP accepts NodePorts
  const tx = runRender({ ...base, transaction: true }).join('');
  golden('node-b.nft-transaction', tx);
  assert.match(tx, /^add table ip kube-proxy/m);
});

test('render --mode ipvs: ipvsadm -Ln, ipset save, then iptables-save, on node-b', () => {
  const base = { mode: 'ipvs', cluster: [cluster], node: 'node-b', clusterCidr: '10.244.0.0/16' };
  const out = runRender(base).join('');
  golden('node-b.ipvs', out);
  const ipvsadm = out.indexOf('IP Virtual Server version 1.2.1');
  const ipset = out.indexOf('create KUBE-LOOP-BACK hash:ip,port,ip');
  const save = out.indexOf('*nat');
  assert.ok(ipvsadm === 0 && ipset > ipvsadm && save > ipset, 'sections in order');
  // The Local-policy LoadBalancer: node-b's own ready endpoint only on the VIP and the NodePort.
  assert.match(out, /^TCP {2}198\.51\.100\.7:80 rr\n {2}-> 10\.244\.1\.21:8080 +Masq +1 /m);
  assert.match(out, /^TCP {2}192\.168\.0\.11:30080 rr$/m);
  assert.match(out, /^TCP {2}10\.96\.100\.2:8443 rr persistent 600$/m);
  // Parses back as iptables-save.
  assert.ok(parseIptablesSave(out.slice(save - '# Generated by svcsim\n'.length)).ruleset.tables.get('filter')!.chains.has('KUBE-IPVS-FILTER'));
  const restore = runRender({ ...base, restore: true }).join('');
  assert.match(restore, /^-A KUBE-MARK-MASQ -j MARK --or-mark 0x00004000$/m);
  const mh = runRender({ ...base, ipvsScheduler: 'mh' }).join('');
  assert.match(mh, /^UDP {2}10\.96\.0\.10:53 mh \(mh-port\)$/m);
});

test('svcsim render --mode ipvs and --mode nftables through the CLI, exit 0', () => {
  let r = cli('--mode', 'ipvs', '--cluster', cluster, '--node', 'node-a');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^TCP {2}192\.168\.0\.10:30080 rr$/m);
  r = cli('--mode', 'nftables', '--cluster', cluster, '--node', 'node-a', '--transaction');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^add table ip kube-proxy/m);
});

test('render: flags of another mode and a bad scheduler exit 2 with one message, nothing on stdout', () => {
  const cases: [string[], RegExp][] = [
    [['--mode', 'iptables', '--transaction'], /--transaction: expected nftables mode, found --mode iptables/],
    [['--mode', 'nftables', '--restore'], /--restore: expected iptables or ipvs mode/],
    [['--mode', 'nftables', '--ipvs-scheduler', 'rr'], /--ipvs-scheduler: expected ipvs mode, found --mode nftables/],
    [['--mode', 'ipvs', '--ipvs-scheduler', 'lblc'], /--ipvs-scheduler: expected one of rr, wrr, lc, wlc, sh, dh, sed, nq, mh, found "lblc"/],
    [['--mode', 'ipvs', '--cluster-cidr', '10.244.0.0'], /--cluster-cidr: expected an IPv4 CIDR/],
    [['--mode', 'nftables', '--node-ip', '1.2.3'], /--node-ip: expected an IPv4 address/],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args, '--cluster', cluster);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, re);
    assert.equal(r.stdout, '');
  }
});
