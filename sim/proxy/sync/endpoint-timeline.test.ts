import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeEndpoint } from '../endpoint.ts';
import { clusterIPPort } from '../service-port.ts';
import { EndpointTimeline } from './endpoint-timeline.ts';
import { describeSync, endpointChange, partialSyncWork } from './proxy-agent.ts';

/** A timeline of `services` ports, each change giving one service a list of IPs drawn from a small pool (so lists overlap, repeat and empty). */
function timelineOf(services: number, changes: readonly { s: number; ips: number[] }[]): EndpointTimeline {
  const t = new EndpointTimeline();
  for (let s = 0; s < services; s++) t.addService(clusterIPPort('ns', `svc${s}`, 'p', `172.30.0.${s + 1}`, 80, 'TCP'), [makeEndpoint({ ip: `10.0.${s}.1`, port: 8080 })]);
  changes.forEach(({ s, ips }, i) => t.apply(s % services, [...new Set(ips)].sort((a, b) => a - b).map((k) => makeEndpoint({ ip: `10.0.${s % services}.${k}`, port: 8080 })), i));
  return t;
}

const scenario = fc
  .record({ services: fc.integer({ min: 1, max: 6 }), changes: fc.array(fc.record({ s: fc.nat(20), ips: fc.array(fc.integer({ min: 1, max: 6 }), { maxLength: 5 }) }), { maxLength: 40 }) })
  .chain(({ services, changes }) => fc.tuple(fc.constant(services), fc.constant(changes), fc.nat(changes.length), fc.nat(changes.length)));

test('a sync over any version range describes each changed service once, as a set per service would', () => {
  fc.assert(
    fc.property(scenario, ([services, changes, a, b]) => {
      const t = timelineOf(services, changes);
      const [from, to] = a <= b ? [a, b] : [b, a];
      // The plain reading: distinct services in change order, endpoints compared as sets.
      const seen = new Set<number>();
      for (let v = from + 1; v <= to; v++) seen.add(t.change(v).service);
      assert.deepEqual(t.servicesChangedBetween(from, to), [...seen]);
      const expected = [...seen].map((s) => endpointChange(t.endpointsAt(s, from), t.endpointsAt(s, to)));
      assert.deepEqual(describeSync(t, from, to, false).changed, expected);
    }),
  );
});

test('each change links to its service\'s changes before and after it', () => {
  const t = timelineOf(2, [{ s: 0, ips: [2] }, { s: 1, ips: [2] }, { s: 0, ips: [3] }]);
  assert.deepEqual([1, 2, 3].map((v) => [t.change(v).previous, t.change(v).next, t.change(v).index]), [[0, 3, 1], [0, Infinity, 1], [1, Infinity, 2]]);
});

test('a shared partial sync description is the one describeSync gives, for every range, asked in any order', () => {
  fc.assert(
    fc.property(scenario, fc.array(fc.tuple(fc.nat(40), fc.nat(40)), { maxLength: 30 }), ([services, changes], ranges) => {
      const t = timelineOf(services, changes);
      for (const [a, b] of ranges) {
        const [from, to] = [Math.min(a, b, t.version), Math.min(Math.max(a, b), t.version)];
        assert.deepEqual(partialSyncWork(t, from, to), describeSync(t, from, to, false));
      }
    }),
  );
});
