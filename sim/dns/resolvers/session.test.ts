import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podResolvConf, type PodDnsConfig } from '../resolv-conf.ts';
import type { DnsAnswer, ResolverStep } from '../types.ts';
import { resolverSession } from './index.ts';

/**
 * The session contract with answers that arrive during a wait, as a run delivers them: the wait a
 * library asks for next is counted from the arrival, and deadlines kept across answers hold.
 */

const ok: DnsAnswer = { rcode: 'NOERROR', addresses: ['10.96.0.20'] };
const nodata: DnsAnswer = { rcode: 'NOERROR', addresses: [] };
const servfail: DnsAnswer = { rcode: 'SERVFAIL', addresses: [] };
const S = 1e9;
const session = (lib: 'glibc' | 'musl' | 'go', dnsConfig?: PodDnsConfig) => resolverSession(lib, podResolvConf({ namespace: 'default', dnsConfig }), 'web.default.svc.cluster.local.');
const sends = (s: ResolverStep | null) => (s && 'send' in s ? s.send.map((q) => `${q.type}#${q.id}`) : s);

test('glibc single-request: the AAAA goes out after the A answer and shares the 5 s budget', () => {
  const s = session('glibc', { options: [{ name: 'single-request' }] });
  const first = s.start();
  assert.deepEqual(first, { send: [{ id: 1, name: 'web.default.svc.cluster.local', type: 'A', server: '10.96.0.10', socket: 1, transport: 'udp' }], waitNs: 5 * S });
  const second = s.answer(1, ok, 2 * S);
  assert.deepEqual(second && 'send' in second ? [sends(second), second.waitNs] : second, [['AAAA#2'], 3 * S]);
  assert.deepEqual(s.answer(2, nodata, 0.5 * S), { done: { outcome: 'ok', addresses: ['10.96.0.20'], queries: 2 } });
  assert.equal(s.answer(2, nodata), null, 'after the end, answers are ignored');
});

test('musl: an answer that completes nothing keeps the wait (null); a SERVFAIL is resent within the same interval', () => {
  const s = session('musl');
  assert.deepEqual(sends(s.start()), ['A#1', 'AAAA#2']);
  assert.equal(s.answer(1, ok, 0.2 * S), null);
  const resend = s.answer(2, servfail, 1 * S);
  assert.deepEqual(resend && 'send' in resend ? [sends(resend), resend.waitNs] : resend, [['AAAA#3'], 1.5 * S]);
  assert.equal(s.answer(99, ok), null, 'an id this lookup never sent');
  const t = s.timeout(); // 2.5 s: the retry interval
  assert.deepEqual(t && 'send' in t ? [sends(t), t.waitNs] : t, [['AAAA#4'], 2.5 * S]);
  assert.deepEqual(s.answer(4, nodata, 0.1 * S), { done: { outcome: 'ok', addresses: ['10.96.0.20'], queries: 4 } });
});

test('Go: A and AAAA keep their own deadlines; a lane that retries early waits its own full timeout', () => {
  const s = session('go');
  assert.deepEqual(sends(s.start()), ['A#1', 'AAAA#2']);
  const retry = s.answer(1, servfail, 1 * S); // the A lane moves to attempt 2 at 1 s: deadline 6 s
  assert.deepEqual(retry && 'send' in retry ? [sends(retry), retry.waitNs] : retry, [['A#3'], 4 * S]);
  const t = s.timeout(); // 5 s: only the AAAA lane's deadline
  assert.deepEqual('send' in t ? [sends(t), t.waitNs] : t, [['AAAA#4'], 1 * S]);
  const t2 = s.timeout(); // 6 s: the A lane's second try ends; it has no attempt left
  assert.deepEqual('send' in t2 ? [sends(t2), t2.waitNs] : t2, [[], 4 * S]);
  // The error kept is the first one (the A lane's timeout): the name is rooted, so no as-given override.
  assert.deepEqual(s.answer(4, nodata, 1 * S), { done: { outcome: 'timeout', addresses: [], queries: 4 } });
});

test('the contract: start once, and no timeout after the end', () => {
  const s = session('glibc');
  s.start();
  assert.throws(() => s.start());
  s.answer(1, ok);
  s.answer(2, nodata);
  assert.throws(() => s.timeout());
});
