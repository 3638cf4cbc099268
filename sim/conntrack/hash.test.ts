/** The hash sized to use (hash.ts): few bucket heads while the table is small, one per bucket once full. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePacket, TCP_SYN } from '../net/packet.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup } from './common.ts';

test('an unused table holds a few bucket heads, not nf_conntrack_buckets of them; they grow with the entries', () => {
  const t = new ConntrackTable({ max: 131072, buckets: 32768 });
  assert.equal(t.buckets, 32768, 'the logical hash size (what the kernel reports) is unchanged');
  assert.ok(t.physicalBuckets <= 16, `${t.physicalBuckets}`);
  const lk = new CtLookup();
  for (let k = 0; k < 2000; k++) {
    const p = makePacket({ proto: 'tcp', src: 0x0a000000 + k, sport: 40000, dst: 0x0a60000a, dport: 80, tcpFlags: TCP_SYN });
    assert.ok(t.track(p, 0, lk));
    assert.ok(t.confirm(lk.entry, 0));
  }
  // 4000 tuple nodes: at most one per physical bucket on average, and never more buckets than the kernel's.
  assert.ok(t.physicalBuckets >= 4000 && t.physicalBuckets <= 8192, `${t.physicalBuckets}`);
  const full = new ConntrackTable({ max: 0, buckets: 64 });
  for (let k = 0; k < 500; k++) {
    const p = makePacket({ proto: 'udp', src: 0x0a000000 + k, sport: 53, dst: 0x0a60000a, dport: 53 });
    full.track(p, 0, lk);
    full.confirm(lk.entry, 0);
  }
  assert.equal(full.physicalBuckets, 64, 'once fully grown, one physical bucket per logical one');
});
