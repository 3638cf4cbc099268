import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExpectations, parseExpectations } from './expectations.ts';
import { junitXml } from './junit.ts';
import { summarizePoints } from './summarize.ts';
import { fixtureInput } from './testing/fixture.ts';
import { checkXml } from './testing/xml-check.ts';

test('JUnit XML: one testcase per expect: line, failures with each failing point, text escaped', () => {
  const input = fixtureInput();
  const { names, points } = summarizePoints(input.runs, input.meta.sweep);
  const lines = ['nftables.firstPacketLatency.p99 < 100us', 'iptables.failedConnections.rate <= 0.1%', 'ipvs.tailDrops.count < 5'];
  const xml = junitXml('a&b "study"', checkExpectations(parseExpectations(lines, input.meta.sweep), points, names), names);
  const root = checkXml(xml);
  assert.deepEqual(root.attributes, { name: 'svcsim', tests: '3', failures: '2', errors: '0' });
  assert.equal((xml.match(/<testcase /g) ?? []).length, 3);
  assert.match(xml, /<testsuite name="a&amp;b &quot;study&quot;" tests="3" failures="2" errors="0" skipped="0">/);
  assert.match(xml, /<testcase classname="svcsim\.a&amp;b &quot;study&quot;" name="expect\[0\] nftables\.firstPacketLatency\.p99 &lt; 100us">\n {6}<system-out>/);
  assert.match(xml, /<failure message="2 of 2 points did not hold" type="expectation">\nexpect\[1\] iptables\.failedConnections\.rate &lt;= 0\.1% at mode=iptables services=100: FAILED, mean 0\.25% .* by 0\.15% \(150%\)\n/);
  assert.match(xml, /<failure message="not measured at mode=ipvs services=1000" type="not-measured">/);
  assert.doesNotMatch(xml, /time=|timestamp=/, 'deterministic: no wall-clock attributes');
});
