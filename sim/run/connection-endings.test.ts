import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../engine/simulator.ts';
import { KERNEL_TIMEOUTS } from '../conntrack/timeouts.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { ClientConntrack } from './client-conntrack.ts';
import { loadScenarioText } from '../scenario/load.ts';
import { runPoint } from '../scenario/run-point.ts';

test('a connection the server closes and the client never does sits in CLOSE_WAIT; a clean close ends in TIME_WAIT', () => {
  const sim = new Simulator({ seed: 1 });
  const ct = new ClientConntrack(sim, 1000, 64, KERNEL_TIMEOUTS);
  const [vip, ep] = [parseIPv4('10.96.0.10'), parseIPv4('10.244.1.5')];
  const a = ct.open(0, 0, vip, 80, ep, 8080, 0);
  ct.established(0, a, ep, 8080, vip, 80, 0);
  assert.equal(ct.table(0).entry(a.entry).state, 'ESTABLISHED');
  ct.serverCloseUnanswered(0, a, ep, 8080, vip, 80, 1);
  assert.equal(ct.table(0).entry(a.entry).state, 'CLOSE_WAIT');
  const b = ct.open(0, 0, vip, 80, ep, 8080, 2);
  ct.established(0, b, ep, 8080, vip, 80, 2);
  ct.close(0, b, ep, 8080, vip, 80, 3);
  assert.equal(ct.table(0).entry(b.entry).state, 'TIME_WAIT');
});

/**
 * Conntrack entries on the one client node at the end of a 3-minute run at 20 connections/s. (Not the
 * peak: the kernel's gc worker first runs after 60 s, so every run's peak holds a minute of entries.)
 */
function entriesAtEnd(traffic: string, conntrack: string): number {
  const text = `name: t
question: q
duration: 3m
cluster: { nodes: 1, services: { count: 5, endpointsPerService: 2 } }
proxy: { mode: iptables, conntrack: { tcpTimeWaitTimeout: 1s, ${conntrack} } }
traffic: { connectionsPerSecond: 20, ${traffic} }
metrics: { interval: 5s }
`;
  const point = loadScenarioText(text, 'endings.yaml').points[0]!;
  const series = runPoint({ scenario: point.scenario, point: point.params, replication: 0, seed: 1 }).timeseries.filter((r) => r.series === 'conntrack.entries');
  return series[series.length - 1]!.value;
}

test("kube-proxy's close_wait and established timeouts decide how long unclosed connections hold conntrack entries", () => {
  // Clean closes: TIME_WAIT (1 s here) entries, and the expired ones the gc worker has not reaped yet
  // (its interval is a running average that starts at 60 s, nf_conntrack_core.c).
  const clean = entriesAtEnd('', 'tcpCloseWaitTimeout: 1h');
  // Half the connections left in CLOSE_WAIT: with kube-proxy's 1 h they pile up for the whole run
  // (about 0.5 x 20/s x 180 s = 1800 more); with 2 s they are reaped like TIME_WAIT.
  const cw1h = entriesAtEnd('halfClosedFraction: 0.5', 'tcpCloseWaitTimeout: 1h');
  const cw2s = entriesAtEnd('halfClosedFraction: 0.5', 'tcpCloseWaitTimeout: 2s');
  // Left open: ESTABLISHED for tcpEstablishedTimeout (24 h by kube-proxy) or a short override.
  const es24h = entriesAtEnd('leftOpenFraction: 0.5', 'tcpEstablishedTimeout: 24h');
  const es2s = entriesAtEnd('leftOpenFraction: 0.5', 'tcpEstablishedTimeout: 2s');
  const figures = JSON.stringify({ clean, cw1h, cw2s, es24h, es2s });
  for (const kept of [cw1h, es24h]) assert.ok(kept - clean > 1400 && kept - clean < 2200, figures);
  // Short timeouts also shorten the gc worker's interval (it averages the lifetimes it sees), so fewer stay.
  for (const reaped of [cw2s, es2s]) assert.ok(reaped < Math.max(300, clean), figures);
});

test('the two shares may not add up to more than 1', () => {
  assert.throws(() => entriesAtEnd('halfClosedFraction: 0.6, leftOpenFraction: 50%', ''), /traffic\.leftOpenFraction: expected halfClosedFraction \+ leftOpenFraction at most 1/);
});
