import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { SECOND } from '../engine/time.ts';
import { makePacket, TCP_ACK, TCP_FIN, TCP_SYN } from '../net/packet.ts';
import { ConntrackTable } from './table.ts';
import { CtLookup } from './common.ts';
import { ConntrackGcWorker, GC_SCAN_INTERVAL_MAX } from './gc.ts';

function udp(t: ConntrackTable, sport: number, now: number): void {
  const out = new CtLookup();
  t.track(makePacket({ proto: 'udp', src: 0x0af40105, sport, dst: 0x0af40207, dport: 53 }), now, out);
  t.confirm(out.entry, now);
}

test('the gc worker reaps expired entries with a handful of events, not one per entry', () => {
  const sim = new Simulator();
  const t = new ConntrackTable({ max: 0, buckets: 1024 });
  for (let i = 0; i < 5000; i++) udp(t, 1024 + i, 0);
  const gc = new ConntrackGcWorker(sim, t);
  gc.start();
  sim.run(200 * SECOND);
  assert.equal(t.count, 0);
  assert.equal(gc.reaped, 5000);
  assert.ok(sim.executed < 20, `events run: ${sim.executed}`);
});

test('the worker sleeps for the average remaining lifetime, between 1 s and 60 s', () => {
  const sim = new Simulator();
  const t = new ConntrackTable({ max: 0, buckets: 4096 });
  // 20000 UDP entries refreshed every 10 s: about 25 s left on average at each pass.
  const refresh = (_: unknown, s: Simulator) => {
    for (let i = 0; i < 20000; i++) udp(t, 1024 + i, s.now);
    s.schedule(10 * SECOND, refresh);
  };
  sim.schedule(0, refresh);
  const gc = new ConntrackGcWorker(sim, t);
  gc.start();
  sim.run(130 * SECOND);
  assert.ok(gc.passes >= 2);
  assert.ok(gc.lastInterval < 40 * SECOND && gc.lastInterval > 15 * SECOND, `interval ${gc.lastInterval}`);
  // Long-lived entries only: the interval stays at its 60 s maximum.
  const sim2 = new Simulator();
  const t2 = new ConntrackTable({ max: 0, buckets: 64 });
  const out = new CtLookup();
  for (let i = 0; i < 100; i++) {
    t2.track(makePacket({ proto: 'tcp', src: 1, sport: i, dst: 2, dport: 80, tcpFlags: TCP_ACK }), 0, out);
    t2.confirm(out.entry, 0);
  }
  const gc2 = new ConntrackGcWorker(sim2, t2);
  gc2.start();
  sim2.run(200 * SECOND);
  assert.equal(gc2.lastInterval, GC_SCAN_INTERVAL_MAX);
  assert.equal(t2.count, 100);
});

test('after a failed allocation, the worker evicts closing or non-assured entries while the table is over 95% full', () => {
  const sim = new Simulator();
  const t = new ConntrackTable({ max: 100, buckets: 64 });
  const out = new CtLookup();
  const seg = (sport: number, flags: number, reply = false) =>
    reply ? makePacket({ proto: 'tcp', src: 2, sport: 80, dst: 1, dport: sport, tcpFlags: flags })
      : makePacket({ proto: 'tcp', src: 1, sport, dst: 2, dport: 80, tcpFlags: flags });
  for (let i = 0; i < 100; i++) {
    // Assured, then closed: TIME_WAIT entries are assured, so early_drop at allocation skips them...
    for (const p of [seg(i, TCP_SYN), seg(i, TCP_SYN | TCP_ACK, true), seg(i, TCP_ACK), seg(i, TCP_FIN | TCP_ACK), seg(i, TCP_FIN | TCP_ACK, true), seg(i, TCP_ACK)]) {
      t.track(p, 0, out);
      if (out.entry >= 0) t.confirm(out.entry, 0);
    }
  }
  assert.equal(t.count, 100);
  assert.equal(t.track(seg(1000, TCP_SYN), SECOND, out), false, 'table full');
  assert.ok(t.earlyDropPressure);
  // ...but the gc worker may drop them (tcp_can_early_drop), down to 95% of nf_conntrack_max.
  const gc = new ConntrackGcWorker(sim, t);
  gc.start(SECOND);
  sim.run(1.5 * SECOND);
  assert.equal(t.count, 94);
  assert.equal(gc.evicted, 6);
  assert.equal(t.earlyDropPressure, false);
  assert.ok(t.track(seg(1000, TCP_SYN), 2 * SECOND, out), 'room again');
});
