import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConntrackTable } from '../conntrack/table.ts';
import { CtLookup } from '../conntrack/common.ts';
import { makePacket, TCP_SYN } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { cleanStaleUdpEntries } from './conntrack-cleanup.ts';

const ip = parseIPv4;
const CLIENT = ip('10.0.0.5');
// Cases after kubernetes/kubernetes pkg/proxy/conntrack/cleanup_test.go TestCleanStaleEntries: a UDP
// Service with serving endpoints, one whose endpoints are all gone, and a TCP one.
const SVC = ip('172.30.1.1');
const EMPTY = ip('172.30.2.2');
const TCP_SVC = ip('172.30.3.3');
const EP_SERVING = ip('10.244.0.1');
const EP_TERMINATING_SERVING = ip('10.244.0.2');
const EP_GONE = ip('10.244.0.3');

function entry(t: ConntrackTable, proto: 'udp' | 'tcp', sport: number, dst: number, dport: number, dnatTo: number | null): void {
  const out = new CtLookup();
  t.track(makePacket({ proto, src: CLIENT, sport, dst, dport, ...(proto === 'tcp' ? { tcpFlags: TCP_SYN } : {}) }), 0, out);
  if (dnatTo !== null) t.setDnat(out.entry, dnatTo, 8080);
  assert.ok(t.confirm(out.entry, 0));
}

test('reconciliation deletes UDP entries to a Service frontend whose DNAT target is not a serving endpoint, and nothing else', () => {
  const t = new ConntrackTable({ max: 100 });
  entry(t, 'udp', 1000, SVC, 53, EP_SERVING); // kept
  entry(t, 'udp', 1001, SVC, 53, EP_TERMINATING_SERVING); // kept: serving, though out of the rules
  entry(t, 'udp', 1002, SVC, 53, EP_GONE); // deleted
  entry(t, 'udp', 1003, SVC, 53, null); // deleted: no DNAT (reply source is the ClusterIP itself)
  entry(t, 'udp', 1004, SVC, 54, EP_GONE); // kept: another port is another frontend, not listed
  entry(t, 'udp', 1005, EMPTY, 53, EP_GONE); // kept: a Service without endpoints is left alone
  entry(t, 'tcp', 1006, TCP_SVC, 80, EP_GONE); // kept: TCP keeps its DNAT
  entry(t, 'udp', 1007, ip('8.8.8.8'), 53, null); // kept: not a Service
  const serving = new Map<string, ReadonlySet<number>>([
    [`${SVC}:53`, new Set([EP_SERVING, EP_TERMINATING_SERVING])],
    [`${EMPTY}:53`, new Set()],
  ]);
  const deleted = cleanStaleUdpEntries(t, (addr, port) => serving.get(`${addr}:${port}`) ?? null, 0);
  assert.equal(deleted, 2);
  const left = [...t.entries(0)].map((e) => t.entry(e).original.sport).sort();
  assert.deepEqual(left, [1000, 1001, 1004, 1005, 1006, 1007]);
  // A second pass finds nothing more: the table matches the serving endpoints.
  assert.equal(cleanStaleUdpEntries(t, (addr, port) => serving.get(`${addr}:${port}`) ?? null, 0), 0);
});
