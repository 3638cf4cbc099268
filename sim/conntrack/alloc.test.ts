/** Allocation under nf_conntrack_max (alloc.ts): early drop and the table-full drop. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_ACK, TCP_SYN } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup, DROP_TABLE_FULL, IP_CT_ESTABLISHED } from './common.ts';
import { pass, tcp } from './testing/pass.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const POD = ip('10.244.2.7');

test('table full: early drop evicts non-assured entries from the bucket region, else the new packet is dropped', () => {
  // One bucket: the 8-bucket eviction range covers the whole table.
  const t = new ConntrackTable({ max: 4, buckets: 1 });
  for (let i = 0; i < 4; i++) pass(t, tcp(CLIENT, 1000 + i, POD, 80, TCP_SYN), 0);
  assert.equal(t.count, 4);
  const res = pass(t, tcp(CLIENT, 2000, POD, 80, TCP_SYN), 1);
  assert.ok(res.entry >= 0, 'the new connection got a slot');
  assert.equal(t.stats.earlyDrop, 4, 'every non-assured entry of the bucket is dropped');
  assert.equal(t.count, 1);

  // Now fill with assured connections: nothing can be evicted, the new packet is dropped.
  const full = new ConntrackTable({ max: 3, buckets: 1 });
  for (let i = 0; i < 3; i++) {
    pass(full, tcp(CLIENT, 1000 + i, POD, 80, TCP_SYN), 0);
    pass(full, tcp(POD, 80, CLIENT, 1000 + i, TCP_SYN | TCP_ACK), 0);
    pass(full, tcp(CLIENT, 1000 + i, POD, 80, TCP_ACK), 0);
  }
  const out = new CtLookup();
  assert.equal(full.track(tcp(CLIENT, 3000, POD, 80, TCP_SYN), 1, out), false);
  assert.equal(out.dropReason, DROP_TABLE_FULL);
  assert.equal(full.stats.drop, 1);
  assert.equal(full.count, 3);
  assert.ok(full.earlyDropPressure);
  // Packets of existing connections still pass.
  assert.ok(full.track(tcp(CLIENT, 1000, POD, 80, TCP_ACK), 1, out));
  assert.equal(out.ctinfo, IP_CT_ESTABLISHED);
});

test('early drop only looks at 8 buckets from the new tuple\'s bucket', () => {
  const t = new ConntrackTable({ max: 200, buckets: 64 });
  // Fill with assured entries, then make one non-assured entry far from where the new tuple lands.
  let port = 1;
  while (t.count < 200) {
    pass(t, tcp(CLIENT, port, POD, 80, TCP_SYN), 0);
    pass(t, tcp(POD, 80, CLIENT, port, TCP_SYN | TCP_ACK), 0);
    pass(t, tcp(CLIENT, port, POD, 80, TCP_ACK), 0);
    port++;
  }
  // Pick a victim and a new tuple whose home buckets are more than 8 apart (all buckets of a node).
  const bucketOf = (sport: number, dport: number, src: number, dst: number) =>
    t.bucketOf(t.hash(6, src, sport, dst, dport));
  const victim = 5;
  const vb = [bucketOf(victim, 80, CLIENT, POD), bucketOf(80, victim, POD, CLIENT)];
  // Turn the victim non-assured: delete and recreate it as a bare SYN.
  t.deleteMatching({ proto: 'tcp', origSport: victim }, 0);
  pass(t, tcp(CLIENT, victim, POD, 80, TCP_SYN), 0);
  const near = (b: number) => vb.some((v) => ((v - b + 64) % 64) < 8);
  let far = 50000;
  while (near(bucketOf(far, 80, CLIENT, POD))) far++;
  const out = new CtLookup();
  assert.equal(t.track(tcp(CLIENT, far, POD, 80, TCP_SYN), 0, out), false, 'victim is outside the range');
  let close = 50000;
  while (!near(bucketOf(close, 80, CLIENT, POD)) || ![0, 1, 2, 3, 4, 5, 6, 7].some((i) => vb.includes((bucketOf(close, 80, CLIENT, POD) + i) % 64))) close++;
  assert.ok(t.track(tcp(CLIENT, close, POD, 80, TCP_SYN), 0, out), 'victim is in range');
  assert.equal(t.stats.earlyDrop, 1);
});
