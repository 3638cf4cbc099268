import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIPv4 } from '../net/ipv4.ts';
import { IpvsServiceTable, type ServiceEntry } from './service-table.ts';
import { hash32, MH_TAB_SIZE, shHashKey } from './schedulers.ts';
import { IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, type RealServer, type SchedulerName } from './types.ts';

const VIP = parseIPv4('10.96.0.10');
const CLIENT = parseIPv4('10.244.1.5');

function service(scheduler: SchedulerName, weights: number[], flags = 0): { t: IpvsServiceTable; e: ServiceEntry; ds: RealServer[] } {
  const t = new IpvsServiceTable(7);
  const e = t.addService({ protocol: 'TCP', addr: VIP, port: 80, scheduler, flags, timeoutSeconds: 0 });
  const ds = weights.map((w, i) => t.addDest(e, parseIPv4(`10.244.0.${i + 1}`), 8080, w));
  return { t, e, ds };
}

function picks(e: ServiceEntry, n: number, saddr = CLIENT): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const d = e.scheduler.schedule(e.vs, saddr, 40000 + i, VIP);
    out.push(d ? String.fromCharCode(65 + (d.addr & 255) - 1) : '-');
  }
  return out;
}

test('rr: rotation in list order, skipping quiescent destinations', () => {
  const { t, e, ds } = service('rr', [1, 1, 1]);
  assert.deepEqual(picks(e, 4), ['A', 'B', 'C', 'A']);
  t.updateDest(e, ds[1]!, 0);
  assert.deepEqual(picks(e, 3), ['C', 'A', 'C']);
});

test('rr: deleting the last chosen destination continues with the one after it (ip_vs_rr_del_dest)', () => {
  const { t, e, ds } = service('rr', [1, 1, 1]);
  assert.deepEqual(picks(e, 2), ['A', 'B']);
  t.deleteDest(e, ds[1]!);
  assert.deepEqual(picks(e, 2), ['C', 'A']);
});

test('wrr: interleaved weighted round robin, weights 4,3,2 cycle AABABCABC', () => {
  // Adding the destinations one by one leaves cw at 1 (ip_vs_wrr_dest_changed after the first add:
  // gcd 4, mw 1), so the first round is one pass at weight >= 1; then the full cycle repeats.
  const { e } = service('wrr', [4, 3, 2]);
  assert.equal(picks(e, 3).join(''), 'ABC');
  assert.equal(picks(e, 9).join(''), 'AABABCABC');
  assert.equal(picks(e, 9).join(''), 'AABABCABC');
});

test('wrr: all weights 0 means no destination', () => {
  const { e } = service('wrr', [0, 0]);
  assert.deepEqual(picks(e, 2), ['-', '-']);
});

test('lc and wlc: least connection overhead (active * 256 + inactive), weighted for wlc', () => {
  const lc = service('lc', [1, 1, 1]);
  lc.ds[0]!.activeConns = 1;
  lc.ds[1]!.inactiveConns = 300;
  lc.ds[2]!.inactiveConns = 10;
  assert.deepEqual(picks(lc.e, 1), ['C']);
  const wlc = service('wlc', [1, 4]);
  wlc.ds[0]!.activeConns = 1; // overhead 256 / 1
  wlc.ds[1]!.activeConns = 3; // overhead 768 / 4 = 192: better
  assert.deepEqual(picks(wlc.e, 1), ['B']);
});

test('sed and nq: expected delay (active + 1) / weight; nq takes an idle server at once', () => {
  const sed = service('sed', [1, 3]);
  sed.ds[0]!.activeConns = 0; // (0+1)/1 = 1
  sed.ds[1]!.activeConns = 1; // (1+1)/3 = 0.67: better
  assert.deepEqual(picks(sed.e, 1), ['B']);
  const nq = service('nq', [1, 3]);
  nq.ds[0]!.activeConns = 0;
  nq.ds[1]!.activeConns = 1;
  assert.deepEqual(picks(nq.e, 1), ['A']);
});

test('hash_32 and the sh bucket are the kernel arithmetic', () => {
  assert.equal(hash32(1, 8), 0x61); // GOLDEN_RATIO_32 = 0x61C88647
  assert.equal(hash32(0, 8), 0);
  assert.equal(shHashKey(1, 0, 0), 0x61);
  assert.equal(shHashKey(0, 1, 5), (5 + 0x61) & 255);
});

test('sh: a client always gets the same server; buckets follow the weights', () => {
  const { e } = service('sh', [2, 1]);
  const counts = new Map<string, number>();
  for (let i = 0; i < 256; i++) {
    const src = parseIPv4(`10.1.${i}.7`);
    const a = picks(e, 3, src);
    assert.ok(a.every((x) => x === a[0]), 'same source, same server (sh-port off)');
    counts.set(a[0]!, (counts.get(a[0]!) ?? 0) + 1);
  }
  assert.ok(counts.get('A')! > counts.get('B')!);
});

test('sh: the bucket of a quiescent server yields nothing, unless sh-fallback', () => {
  const plain = service('sh', [1, 1]);
  const fb = service('sh', [1, 1], IP_VS_SVC_F_SCHED1);
  plain.t.updateDest(plain.e, plain.ds[0]!, 0);
  fb.t.updateDest(fb.e, fb.ds[0]!, 0);
  let lost = 0;
  for (let i = 0; i < 64; i++) {
    const src = parseIPv4(`10.2.0.${i}`);
    if (picks(plain.e, 1, src)[0] === '-') lost++;
    assert.equal(picks(fb.e, 1, src)[0], 'B');
  }
  assert.ok(lost > 0);
});

test('dh: the destination address picks the server', () => {
  const { e } = service('dh', [1, 1, 1]);
  const a = e.scheduler.schedule(e.vs, 1, 1, VIP);
  const b = e.scheduler.schedule(e.vs, 2, 2, VIP);
  assert.equal(a, b);
});

test('mh: sticky per client, spread over servers, and removing one server moves only its clients', () => {
  const { t, e, ds } = service('mh', [1, 1, 1, 1]);
  assert.equal(MH_TAB_SIZE, 4093);
  const before = new Map<number, RealServer>();
  const counts = new Map<RealServer, number>();
  for (let i = 0; i < 2000; i++) {
    const src = (parseIPv4('10.0.0.0') + i * 7919) >>> 0;
    const d = e.scheduler.schedule(e.vs, src, 0, VIP)!;
    before.set(src, d);
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  for (const c of counts.values()) assert.ok(c > 350 && c < 650, `even spread, got ${c}`);
  t.deleteDest(e, ds[3]!);
  let moved = 0;
  for (const [src, d] of before) {
    const now = e.scheduler.schedule(e.vs, src, 0, VIP)!;
    if (d !== ds[3] && now !== d) moved++;
  }
  assert.ok(moved < 2000 * 0.05, `Maglev keeps most clients in place, moved ${moved}`);
});

test('mh with mh-port (as kube-proxy sets it): the source port is part of the hash', () => {
  const { e } = service('mh', [1, 1, 1, 1], IP_VS_SVC_F_SCHED2);
  const seen = new Set(picks(e, 40));
  assert.ok(seen.size > 1);
});

test('property: every scheduler picks only available destinations of the service', () => {
  const names: SchedulerName[] = ['rr', 'wrr', 'lc', 'wlc', 'sh', 'dh', 'sed', 'nq', 'mh'];
  fc.assert(
    fc.property(
      fc.constantFrom(...names),
      fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 1, maxLength: 20 }),
      (name, weights, sources) => {
        const { e } = service(name, weights);
        const anyUp = weights.some((w) => w > 0);
        for (const s of sources) {
          const d = e.scheduler.schedule(e.vs, s, s & 0xffff, VIP);
          if (d) assert.ok(e.vs.dests.includes(d) && d.weight > 0);
          else if (['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq'].includes(name)) assert.equal(anyUp, false);
        }
      },
    ),
    { numRuns: 200 },
  );
});
