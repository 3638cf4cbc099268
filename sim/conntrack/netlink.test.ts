/** Deletion by filter and the dump (netlink.ts), alone and against a Map model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makePacket, TCP_SYN } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { SECOND } from '../engine/time.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup } from './common.ts';
import { pass, tcp } from './testing/pass.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const POD = ip('10.244.2.7');

test('deleting by original destination and by reply source (kube-proxy stale UDP cleanup)', () => {
  const t = new ConntrackTable({ max: 100 });
  const out = new CtLookup();
  const dns = ip('10.96.0.10');
  const ep1 = ip('10.244.3.3');
  const ep2 = ip('10.244.4.4');
  for (let i = 0; i < 6; i++) {
    t.track(makePacket({ proto: 'udp', src: CLIENT, sport: 6000 + i, dst: dns, dport: 53 }), 0, out);
    t.setDnat(out.entry, i % 2 ? ep1 : ep2, 53);
    t.confirm(out.entry, 0);
  }
  pass(t, tcp(CLIENT, 1, dns, 53, TCP_SYN), 0);
  assert.equal(t.deleteByReplySrc('udp', ep1, dns), 3);
  assert.equal(t.count, 4);
  assert.equal(t.deleteByOriginalDst('udp', dns, 53), 3);
  assert.equal(t.count, 1, 'the TCP entry stays');
  assert.equal(t.deleteWhere((c) => c.proto === 'tcp', 0), 1);
  assert.equal(t.count, 0);
});

test('property: the table agrees with a Map model under random inserts, deletes and time', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ op: fc.constantFrom('add', 'add', 'del', 'look'), port: fc.integer({ min: 1, max: 40 }), dt: fc.integer({ min: 0, max: 20 }) }), { maxLength: 200 }),
      (ops) => {
        const t = new ConntrackTable({ max: 0, buckets: 4 });
        const model = new Map<number, number>(); // port -> expiry
        let now = 0;
        for (const { op, port, dt } of ops) {
          now += dt * SECOND;
          for (const [k, exp] of model) if (exp <= now) model.delete(k);
          const p = makePacket({ proto: 'udp', src: CLIENT, sport: port, dst: POD, dport: 53 });
          if (op === 'add') {
            pass(t, p, now);
            model.set(port, now + 30 * SECOND);
          } else if (op === 'del') {
            t.deleteMatching({ proto: 'udp', origSport: port }, now);
            model.delete(port);
          } else {
            assert.equal(t.get({ proto: 'udp', src: CLIENT, sport: port, dst: POD, dport: 53 }, now) !== undefined, model.has(port));
          }
        }
        t.expireAll(now);
        assert.equal(t.count, model.size);
        assert.deepEqual([...t.entries(now)].map((e) => t.entry(e).original.sport).sort((a, b) => a - b), [...model.keys()].sort((a, b) => a - b));
      },
    ),
    { numRuns: 200 },
  );
});
