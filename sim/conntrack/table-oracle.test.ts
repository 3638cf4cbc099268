/**
 * The table against its test oracle (testing/table-oracle.ts). The table's hash grows with use (a few
 * physical buckets per logical nf_conntrack_buckets range, see hash.ts) instead of allocating every
 * bucket head up front. This must not change anything a caller or a `conntrack -L` reader can see: the
 * property below drives the table and the oracle through the same random operations and compares every
 * result, entry number, counter, listing order and gc figure after each step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makePacket, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../net/packet.ts';
import { RandomStream } from '../engine/random.ts';
import { SECOND } from '../engine/time.ts';
import { conntrackList } from './testing/list.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup } from './common.ts';
import { GcScanResult } from './gc-scan.ts';
import { ConntrackTableOracle } from './testing/table-oracle.ts';
import { KERNEL_TIMEOUTS } from './timeouts.ts';

// A small address space so tuples collide, clash at confirm, share buckets and reopen.
const CLIENTS = [0x0af40105, 0x0af40106, 0x0af40207];
const VIPS = [0x0a60000a, 0x0a60000b];
const PODS = [0x0af40307, 0x0af40308, 0x0af40309];
const FLAGS = [TCP_SYN, TCP_SYN | TCP_ACK, TCP_ACK, TCP_FIN | TCP_ACK, TCP_RST, TCP_RST | TCP_ACK, 0];

type Op =
  | { kind: 'packet'; dt: number; proto: 'tcp' | 'udp'; reply: boolean; c: number; v: number; pod: number; sport: number; flags: number; nat: number; confirm: boolean }
  | { kind: 'burst'; dt: number; n: number; base: number }
  | { kind: 'gc'; dt: number; from: number; count: number }
  | { kind: 'delete'; dt: number; how: number; a: number }
  | { kind: 'list'; dt: number };

const dt = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5 * SECOND }), fc.integer({ min: 0, max: 200 * SECOND }));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({
    kind: fc.constant('packet' as const), dt, proto: fc.constantFrom('tcp' as const, 'udp' as const), reply: fc.boolean(),
    c: fc.nat(CLIENTS.length - 1), v: fc.nat(VIPS.length - 1), pod: fc.nat(PODS.length - 1), sport: fc.integer({ min: 40000, max: 40003 }),
    flags: fc.nat(FLAGS.length - 1), nat: fc.nat(3), confirm: fc.boolean(),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('burst' as const), dt, n: fc.integer({ min: 1, max: 60 }), base: fc.nat(1000) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('gc' as const), dt, from: fc.nat(40000), count: fc.integer({ min: 1, max: 40000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), dt, how: fc.nat(2), a: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('list' as const), dt }) },
);

type Table = ConntrackTable | ConntrackTableOracle;

/** Everything observable about a table at `now`, in a comparable form. */
function snapshot(t: Table, now: number): unknown {
  const ids = [...t.entries(now)];
  return {
    count: t.count,
    stats: { ...t.stats },
    pressure: t.earlyDropPressure,
    occupancy: [t.occupancy.current, t.occupancy.max, t.occupancy.mean(now)],
    ids,
    entries: ids.map((e) => t.entry(e)),
    list: conntrackList(t as ConntrackTable, now),
  };
}

function run(a: Table, ops: Op[], seed: number): unknown[] {
  const out: unknown[] = [];
  const rng = new RandomStream(seed, 'layout/snat');
  const lk = new CtLookup();
  const gc = new GcScanResult();
  let now = 0;
  for (const o of ops) {
    now += o.dt;
    switch (o.kind) {
      case 'packet': {
        const client = CLIENTS[o.c]!, vip = VIPS[o.v]!, pod = PODS[o.pod]!;
        const p = o.reply
          ? makePacket({ proto: o.proto, src: pod, sport: 8080, dst: client, dport: o.sport })
          : makePacket({ proto: o.proto, src: client, sport: o.sport, dst: o.nat === 3 ? pod : vip, dport: o.nat === 3 ? 8080 : 80 });
        if (o.proto === 'tcp') p.tcpFlags = FLAGS[o.flags]!;
        const ok = a.track(p, now, lk);
        out.push(['track', ok, lk.entry, lk.dir, lk.ctinfo, lk.dropReason]);
        if (ok && lk.entry >= 0 && !a.isConfirmed(lk.entry)) {
          if (o.nat === 0 || o.nat === 2) a.setDnat(lk.entry, pod, 8080);
          if (o.nat >= 1 && o.nat <= 2) out.push(['snat', a.setSnat(lk.entry, 0xc0a80002, now, o.nat === 2 ? rng : undefined, o.nat === 2)]);
          out.push(o.confirm ? ['confirm', a.confirm(lk.entry, now)] : ['abandon', a.abandon(lk.entry, now)]);
        }
        break;
      }
      case 'burst':
        // Many distinct connections at once: the hash grows (rehashes) in the middle of this.
        for (let k = 0; k < o.n; k++) {
          const p = makePacket({ proto: 'tcp', src: 0x0a000000 + o.base + k, sport: 50000 + k, dst: VIPS[k & 1]!, dport: 80, tcpFlags: TCP_SYN });
          const ok = a.track(p, now, lk);
          if (ok && lk.entry >= 0) {
            a.setDnat(lk.entry, PODS[k % 3]!, 8080);
            out.push(['burst', lk.entry, a.confirm(lk.entry, now)]);
          } else out.push(['burst', ok, lk.dropReason]);
        }
        break;
      case 'gc':
        a.gcScan(o.from % a.buckets, o.count, now, gc);
        out.push(['gc', { ...gc }]);
        break;
      case 'delete':
        out.push([
          'delete',
          o.how === 0 ? a.deleteByReplySrc('tcp', PODS[o.a]!, VIPS[o.a & 1], now)
            : o.how === 1 ? a.deleteByOriginalDst('udp', VIPS[o.a & 1]!, undefined, now)
              : a.expireAll(now),
        ]);
        break;
      case 'list':
        break;
    }
    out.push(snapshot(a, now));
  }
  return out;
}

test('property: the growing hash behaves exactly as the fully allocated one (results, entry numbers, -L order, gc)', () => {
  const opts = fc.record({
    max: fc.constantFrom(0, 3, 8, 20, 64),
    buckets: fc.constantFrom(1, 2, 3, 5, 7, 16, 100, 1000, 32768, 100_003),
    hashSeed: fc.nat(),
    seed: fc.nat(1000),
  });
  fc.assert(
    fc.property(opts, fc.array(op, { minLength: 1, maxLength: 60 }), (o, ops) => {
      const options = { max: o.max, buckets: o.buckets, hashSeed: o.hashSeed, timeouts: KERNEL_TIMEOUTS };
      const got = run(new ConntrackTable(options), ops, o.seed);
      const want = run(new ConntrackTableOracle(options), ops, o.seed);
      assert.deepEqual(got, want);
    }),
    { numRuns: 300 },
  );
});
