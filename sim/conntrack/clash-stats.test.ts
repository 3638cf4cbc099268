import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makePacket } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { conntrackStatsText, cpuStatsOf } from './clash-stats.ts';
import { clashRules, parseKernelVersion } from './kernel-version.ts';
import { CtLookup } from './common.ts';
import { ConntrackTable } from './table.ts';

const GOLDEN = join(import.meta.dirname, '..', '..', 'test', 'golden', 'conntrack');

function v(text: string) {
  const r = parseKernelVersion(text);
  if (!r.ok) throw new Error(r.message);
  return r.version;
}

// UPDATE_GOLDEN=1 rewrites the golden file after an intended change; review the diff.
function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `differs from ${path}`);
}

test('conntrack -S on 6.18 prints what the real kernel printed after the clash probe (one line per CPU)', () => {
  // test/golden/conntrack/kernel-6.18-stats-clash.txt: `conntrack -S` (conntrack-tools 1.4.7) in the
  // router namespace of the race probe (docs/calibration.md), Linux 6.18, 2 vCPUs.
  const real = readFileSync(join(GOLDEN, 'kernel-6.18-stats-clash.txt'), 'utf8');
  assert.equal(conntrackStatsText(v('6.18'), [{ clash_resolve: 9 }, { clash_resolve: 12 }]), real);
});

test('conntrack -S per release: the counters each kernel sends, in conntrack-tools order', () => {
  const cpus = [
    { found: 1, invalid: 2, ignore: 3, insert: 4, insert_failed: 5, drop: 6, early_drop: 7, error: 8, search_restart: 9, clash_resolve: 10, chaintoolong: 11 },
    { insert_failed: 12, drop: 12 },
  ];
  golden('stats-4.14.txt', conntrackStatsText(v('4.14'), cpus));
  golden('stats-5.4.txt', conntrackStatsText(v('5.4'), cpus));
  golden('stats-5.10.txt', conntrackStatsText(v('5.10'), cpus));
  golden('stats-6.1.txt', conntrackStatsText(v('6.1'), cpus));
  assert.equal(conntrackStatsText(v('6.1'), []), '');
});

test('a table\'s counters after races: insert_failed and drop on 5.4, clash_resolve on 6.1', () => {
  const ip = parseIPv4;
  const run = (text: string) => {
    const t = new ConntrackTable({ max: 10 });
    const out = new CtLookup();
    const q = () => makePacket({ proto: 'udp', src: ip('10.244.1.5'), sport: 40000, dst: ip('10.96.0.10'), dport: 53 });
    t.track(q(), 0, out);
    const e1 = out.entry;
    t.track(q(), 0, out);
    const e2 = out.entry;
    t.setDnat(e1, ip('10.244.2.7'), 53);
    t.setDnat(e2, ip('10.244.3.8'), 53);
    t.confirm(e1, 0);
    t.confirmRacing(e2, 0, clashRules(v(text)));
    return conntrackStatsText(v(text), [cpuStatsOf(t.stats)]);
  };
  assert.equal(run('5.4'), 'cpu=0   \tfound=0 invalid=0 ignore=0 insert=1 insert_failed=1 drop=1 early_drop=0 error=0 search_restart=0 \n');
  assert.equal(run('6.1'), 'cpu=0   \tfound=0 invalid=0 insert=1 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=1 chaintoolong=0 \n');
});
