import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { clusterNameIndex } from '../names.ts';
import { podResolvConf, type PodDnsConfig } from '../resolv-conf.ts';
import { runStaticLookup, type StaticLookup, type StaticReply } from '../static-lookup.ts';
import type { DnsAnswer, DnsQuery, ResolverStep } from '../types.ts';
import { newResolverState, resolverSession, type ResolverState } from './index.ts';

/**
 * The acceptance of issue 14 for the client side: per library, which queries a lookup sends, in
 * which order, on which socket, and how it ends, with every server answering at once (or not).
 */

const LIBS = ['glibc', 'musl', 'go'] as const;
type Lib = (typeof LIBS)[number];
const names = clusterNameIndex({
  domain: 'cluster.local',
  services: [
    { name: 'web', namespace: 'default', clusterIP: '10.96.0.20' },
    { name: 'db', namespace: 'other', clusterIP: '10.96.0.30' },
  ],
  missingExternal: ['nope.example.com', 'a.b.c.d.e.f', 'web', 'example.com.corp.example'],
});
const cluster = (q: DnsQuery): StaticReply => names.answer(q.name, q.type);

function lookup(lib: Lib, name: string, o: { dnsConfig?: PodDnsConfig; reply?: (q: DnsQuery) => StaticReply; state?: ResolverState } = {}): StaticLookup {
  const conf = podResolvConf({ namespace: 'default', dnsConfig: o.dnsConfig });
  return runStaticLookup(resolverSession(lib, conf, name, o.state), o.reply ?? cluster);
}

/** `step:type name socket transport`, with the cluster domain cut short to keep the lines readable. */
function trace(r: StaticLookup): string[] {
  return r.queries.map(({ query: q, step }) => `${step}:${q.type} ${q.name.replace(/\.cluster\.local$/, '.~')} s${q.socket}${q.transport === 'tcp' ? ' tcp' : ''}`);
}
const names_ = (r: StaticLookup) => [...new Set(r.queries.map((q) => q.query.name))];

test('a short name in the pod\'s namespace: one A and one AAAA, the first suffix answers', () => {
  for (const lib of LIBS) {
    const r = lookup(lib, 'web');
    assert.deepEqual(r.result, { outcome: 'ok', addresses: ['10.96.0.20'], queries: 2 }, lib);
    assert.equal(r.durationNs, 0);
  }
  // glibc and musl: both on one socket (sendmmsg; one msend socket); Go: a socket per exchange.
  assert.deepEqual(trace(lookup('glibc', 'web')), ['0:A web.default.svc.~ s1', '0:AAAA web.default.svc.~ s1']);
  assert.deepEqual(trace(lookup('musl', 'web')), ['0:A web.default.svc.~ s1', '0:AAAA web.default.svc.~ s1']);
  assert.deepEqual(trace(lookup('go', 'web')), ['0:A web.default.svc.~ s1', '0:AAAA web.default.svc.~ s2']);
});

test('another namespace (svc.otherns): the first suffix is NXDOMAIN, the second answers: 4 queries', () => {
  for (const lib of LIBS) {
    const r = lookup(lib, 'db.other');
    assert.equal(r.result.outcome, 'ok', lib);
    assert.deepEqual(r.result.addresses, ['10.96.0.30']);
    assert.deepEqual(names_(r), ['db.other.default.svc.cluster.local', 'db.other.svc.cluster.local'], lib);
    assert.equal(r.queries.length, 4);
  }
});

test('external names: every suffix first, the name as given last (8 queries); a missing one ends NXDOMAIN', () => {
  const expected = ['example.com.default.svc.cluster.local', 'example.com.svc.cluster.local', 'example.com.cluster.local', 'example.com'];
  for (const lib of LIBS) {
    const r = lookup(lib, 'example.com');
    assert.equal(r.result.outcome, 'ok', lib);
    assert.deepEqual(names_(r), expected, lib);
    assert.equal(r.queries.length, 8);
    const missing = lookup(lib, 'nope.example.com');
    assert.equal(missing.result.outcome, 'nxdomain', lib);
    assert.equal(missing.queries.length, 8, lib);
  }
});

test('dots below ndots search first; at or above ndots the name goes first (musl: alone)', () => {
  for (const lib of LIBS) {
    const below = lookup(lib, 'a.b.c.d.e'); // 4 dots < ndots:5
    assert.deepEqual(names_(below).at(-1), 'a.b.c.d.e', lib);
    assert.equal(below.queries.length, 8, lib);
    const above = lookup(lib, 'x.b.c.d.e.f'); // 5 dots, exists upstream
    assert.deepEqual(names_(above), ['x.b.c.d.e.f'], lib);
  }
  // A missing name with 5 dots: glibc and Go go on down the list after the as-is NXDOMAIN; musl
  // does not search at all.
  assert.deepEqual(names_(lookup('glibc', 'a.b.c.d.e.f')), ['a.b.c.d.e.f', 'a.b.c.d.e.f.default.svc.cluster.local', 'a.b.c.d.e.f.svc.cluster.local', 'a.b.c.d.e.f.cluster.local']);
  assert.deepEqual(names_(lookup('go', 'a.b.c.d.e.f')), names_(lookup('glibc', 'a.b.c.d.e.f')));
  assert.deepEqual(names_(lookup('musl', 'a.b.c.d.e.f')), ['a.b.c.d.e.f']);
  assert.equal(lookup('musl', 'a.b.c.d.e.f').result.outcome, 'nxdomain');
});

test('a trailing dot: the name alone, never searched, whatever it answers', () => {
  for (const lib of LIBS) {
    const r = lookup(lib, 'web.default.svc.cluster.local.');
    assert.deepEqual(names_(r), ['web.default.svc.cluster.local'], lib);
    assert.equal(r.result.outcome, 'ok');
    const missing = lookup(lib, 'web.');
    assert.deepEqual(names_(missing), ['web'], lib);
    assert.equal(missing.result.outcome, 'nxdomain', lib);
  }
});

test('dnsConfig ndots:2 and an extra search domain change the order and the count', () => {
  const dnsConfig: PodDnsConfig = { options: [{ name: 'ndots', value: '2' }], searches: ['corp.example'] };
  for (const lib of LIBS) {
    const two = lookup(lib, 'www.example.com', { dnsConfig }); // 2 dots >= ndots:2
    assert.deepEqual(names_(two), ['www.example.com'], lib);
    const one = lookup(lib, 'example.com', { dnsConfig }); // 1 dot: 4 suffixes, then as given
    assert.equal(names_(one).length, 5, lib);
    assert.equal(names_(one)[3], 'example.com.corp.example', lib);
    assert.equal(one.queries.length, 10, lib);
  }
});

test('single-request: A, then AAAA after its answer; -reopen: on a new socket (glibc); Go: both sequential; musl ignores both', () => {
  const opt = (name: string): PodDnsConfig => ({ options: [{ name }] });
  assert.deepEqual(trace(lookup('glibc', 'web', { dnsConfig: opt('single-request') })), ['0:A web.default.svc.~ s1', '1:AAAA web.default.svc.~ s1']);
  assert.deepEqual(trace(lookup('glibc', 'web', { dnsConfig: opt('single-request-reopen') })), ['0:A web.default.svc.~ s1', '1:AAAA web.default.svc.~ s2']);
  for (const o of ['single-request', 'single-request-reopen']) {
    assert.deepEqual(trace(lookup('go', 'web', { dnsConfig: opt(o) })), ['0:A web.default.svc.~ s1', '1:AAAA web.default.svc.~ s2'], o);
    assert.deepEqual(trace(lookup('musl', 'web', { dnsConfig: opt(o) })), ['0:A web.default.svc.~ s1', '0:AAAA web.default.svc.~ s1'], o);
  }
});

test('use-vc: glibc writes both queries on one TCP connection, Go dials TCP per query, musl stays on UDP', () => {
  const dnsConfig: PodDnsConfig = { options: [{ name: 'use-vc' }] };
  assert.deepEqual(trace(lookup('glibc', 'web', { dnsConfig })), ['0:A web.default.svc.~ s1 tcp', '0:AAAA web.default.svc.~ s1 tcp']);
  assert.deepEqual(trace(lookup('go', 'web', { dnsConfig })), ['0:A web.default.svc.~ s1 tcp', '0:AAAA web.default.svc.~ s2 tcp']);
  assert.deepEqual(trace(lookup('musl', 'web', { dnsConfig })), ['0:A web.default.svc.~ s1', '0:AAAA web.default.svc.~ s1']);
});

test('glibc: a timeout that left one answer switches to serial, then to reopen, then returns that answer (15 s)', () => {
  const state = newResolverState();
  const aaaaLost = (q: DnsQuery): StaticReply => (q.type === 'AAAA' ? 'none' : cluster(q));
  const r = lookup('glibc', 'web', { reply: aaaaLost, state });
  assert.deepEqual(r.result, { outcome: 'ok', addresses: ['10.96.0.20'], queries: 6 });
  assert.equal(r.durationNs, 15e9);
  assert.deepEqual(
    r.queries.map((q) => `${q.atNs / 1e9}s ${q.query.type} s${q.query.socket}`),
    ['0s A s1', '0s AAAA s1', '5s A s1', '5s AAAA s1', '10s A s2', '10s AAAA s3'],
  );
  // The flags stay in the thread's state: the next lookup is serial with a reopen from the start.
  assert.deepEqual(state.glibc, { snglkup: true, snglkupreop: true, rotateCounter: 0 });
  assert.deepEqual(trace(lookup('glibc', 'web', { state })), ['0:A web.default.svc.~ s1', '1:AAAA web.default.svc.~ s2']);
  // A thread that never saw it stays parallel.
  assert.deepEqual(trace(lookup('glibc', 'web')).map((l) => l[0]), ['0', '0']);
});

test('no answer at all: glibc 2 attempts x 5 s per name and the as-is try after the list ends; musl 5 s; Go every name', () => {
  const down = () => 'none' as const;
  const g = lookup('glibc', 'web', { reply: down });
  assert.deepEqual([g.result.outcome, g.durationNs / 1e9, g.queries.length], ['timeout', 20, 8]);
  assert.deepEqual(names_(g), ['web.default.svc.cluster.local', 'web']);
  const m = lookup('musl', 'web', { reply: down });
  assert.deepEqual([m.result.outcome, m.durationNs / 1e9], ['timeout', 5]);
  assert.deepEqual(m.queries.map((q) => q.atNs / 1e9), [0, 0, 2.5, 2.5], 'resent every timeout/attempts');
  const go = lookup('go', 'web', { reply: down });
  assert.deepEqual([go.result.outcome, go.durationNs / 1e9, go.queries.length], ['timeout', 40, 16]);
});

test('ICMP port unreachable: glibc and Go fail at once (refused); musl\'s unconnected socket never hears it', () => {
  const refused = () => 'unreachable' as const;
  const g = lookup('glibc', 'web', { reply: refused });
  assert.deepEqual([g.result.outcome, g.durationNs, g.queries.length], ['refused', 0, 4]);
  assert.deepEqual(names_(g), ['web.default.svc.cluster.local'], 'TRY_AGAIN at once: no as-is query');
  const g5 = lookup('glibc', 'a.b.c.d.e.f', { reply: refused });
  assert.deepEqual(names_(g5), ['a.b.c.d.e.f', 'a.b.c.d.e.f.default.svc.cluster.local']);
  const go = lookup('go', 'web', { reply: refused });
  assert.deepEqual([go.result.outcome, go.durationNs, go.queries.length], ['refused', 0, 16]);
  const m = lookup('musl', 'web', { reply: refused });
  assert.deepEqual([m.result.outcome, m.durationNs / 1e9], ['timeout', 5]);
});

test('musl asks every nameserver at once; glibc tries them in turn, the second with a shorter wait', () => {
  const dnsConfig: PodDnsConfig = { nameservers: ['10.0.0.53'] };
  const firstDown = (q: DnsQuery): StaticReply => (q.server === '10.96.0.10' ? 'none' : cluster(q));
  const m = lookup('musl', 'web', { dnsConfig, reply: firstDown });
  assert.deepEqual(m.queries.map((q) => `${q.query.type}@${q.query.server}`), ['A@10.96.0.10', 'A@10.0.0.53', 'AAAA@10.96.0.10', 'AAAA@10.0.0.53']);
  assert.deepEqual([m.result.outcome, m.durationNs], ['ok', 0]);
  const g = lookup('glibc', 'web', { dnsConfig, reply: firstDown });
  assert.deepEqual([g.result.outcome, g.durationNs / 1e9], ['ok', 5]);
  // All down, two servers: glibc waits 5 s on the first, (5 << 1) / 2 = 5 s on the second, twice.
  const allDown = lookup('glibc', 'web.default.svc.cluster.local.', { dnsConfig, reply: () => 'none' });
  assert.deepEqual(allDown.queries.map((q) => `${q.atNs / 1e9}@${q.query.server}`).filter((_, i) => i % 2 === 0), ['0@10.96.0.10', '5@10.0.0.53', '10@10.96.0.10', '15@10.0.0.53']);
});

test('musl resends in whole milliseconds: attempts:3 sends at 0, 1.666, 3.332 and 4.998 s and waits until 6.664 s', () => {
  const dnsConfig: PodDnsConfig = { options: [{ name: 'attempts', value: '3' }] };
  const m = lookup('musl', 'web.', { dnsConfig, reply: () => 'none' });
  assert.deepEqual([...new Set(m.queries.map((q) => q.atNs / 1e9))], [0, 1.666, 3.332, 4.998]);
  assert.equal(m.durationNs / 1e9, 6.664);
});

test('musl resends a SERVFAIL at once, at most 2 x queries per interval, and ends EAI_AGAIN', () => {
  const m = lookup('musl', 'web.', { reply: () => ({ rcode: 'SERVFAIL', addresses: [] }) });
  assert.equal(m.result.outcome, 'servfail');
  assert.equal(m.durationNs / 1e9, 5);
  assert.deepEqual(m.queries.map((q) => q.atNs / 1e9), [0, 0, 0, 0, 0, 0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5]);
  // glibc: SERVFAIL for both goes to the next try and, at the end, continues the search list.
  const g = lookup('glibc', 'web', { reply: (q) => (q.name.startsWith('web.default') ? { rcode: 'SERVFAIL', addresses: [] } : cluster(q)) });
  assert.deepEqual(names_(g).slice(0, 2), ['web.default.svc.cluster.local', 'web.svc.cluster.local']);
  // musl: SERVFAIL ends the search.
  const ms = lookup('musl', 'web', { reply: (q) => (q.name.startsWith('web.default') ? { rcode: 'SERVFAIL', addresses: [] } : cluster(q)) });
  assert.deepEqual(names_(ms), ['web.default.svc.cluster.local']);
});

test('NODATA: glibc and Go continue the list, musl stops with EAI_NODATA', () => {
  const nodata = (q: DnsQuery): StaticReply => (q.name === 'x.default.svc.cluster.local' ? { rcode: 'NOERROR', addresses: [] } : cluster(q));
  assert.equal(names_(lookup('glibc', 'x', { reply: nodata })).length, 4);
  assert.equal(names_(lookup('go', 'x', { reply: nodata })).length, 4);
  const m = lookup('musl', 'x', { reply: nodata });
  assert.deepEqual([names_(m).length, m.result.outcome], [1, 'nodata']);
});

test('glibc no-aaaa (2.36+): A queries only; musl and Go do not know the option', () => {
  const dnsConfig: PodDnsConfig = { options: [{ name: 'no-aaaa' }] };
  assert.deepEqual(trace(lookup('glibc', 'web', { dnsConfig })), ['0:A web.default.svc.~ s1']);
  const ext = lookup('glibc', 'example.com', { dnsConfig });
  assert.deepEqual([ext.result.outcome, ext.queries.length, new Set(ext.queries.map((q) => q.query.type)).size], ['ok', 4, 1]);
  assert.equal(lookup('musl', 'web', { dnsConfig }).queries.length, 2);
  assert.equal(lookup('go', 'web', { dnsConfig }).queries.length, 2);
});

test('REFUSED: musl ignores it and waits; glibc retries, then stops the list; Go moves on', () => {
  const refusedAt = (q: DnsQuery): StaticReply => (q.name.startsWith('web.default') ? { rcode: 'REFUSED', addresses: [] } : cluster(q));
  const m = lookup('musl', 'web', { reply: refusedAt });
  assert.deepEqual([m.result.outcome, m.durationNs / 1e9, m.queries.length], ['timeout', 5, 4]);
  const g = lookup('glibc', 'web', { reply: refusedAt });
  // 2 attempts of both queries, then NO_RECOVERY ends the list and the name is tried as given.
  assert.deepEqual(names_(g), ['web.default.svc.cluster.local', 'web']);
  assert.equal(g.queries.length, 6);
  const go = lookup('go', 'web', { reply: refusedAt });
  assert.deepEqual([go.result.outcome, names_(go)[1]], ['nxdomain', 'web.svc.cluster.local']);
});

test('rotate: glibc starts each lookup at the next nameserver; Go advances per query type', () => {
  const dnsConfig: PodDnsConfig = { nameservers: ['10.0.0.53'], options: [{ name: 'rotate' }] };
  const state = newResolverState();
  const servers = [0, 1, 2].map(() => lookup('glibc', 'web', { dnsConfig, state }).queries.map((q) => q.query.server).join(' '));
  assert.deepEqual(servers, ['10.96.0.10 10.96.0.10', '10.0.0.53 10.0.0.53', '10.96.0.10 10.96.0.10']);
  // Go: serverOffset() (src/net/dnsconfig.go) is called by tryOneName, once for A and once for
  // AAAA, so with two servers A always goes to the first and AAAA to the second.
  const goState = newResolverState();
  const go = [0, 1].map(() => lookup('go', 'web', { dnsConfig, state: goState }).queries.map((q) => `${q.query.type}@${q.query.server}`).join(' '));
  assert.deepEqual(go, ['A@10.96.0.10 AAAA@10.0.0.53', 'A@10.96.0.10 AAAA@10.0.0.53']);
  // musl ignores rotate: every query goes to every server.
  assert.equal(lookup('musl', 'web', { dnsConfig }).queries.length, 4);
});

// ---------------------------------------------------------------------------------------------------
// Properties

const replyKinds = fc.constantFrom<'answer' | 'none' | 'unreachable' | 'SERVFAIL' | 'REFUSED' | 'NXDOMAIN'>('answer', 'none', 'unreachable', 'SERVFAIL', 'REFUSED', 'NXDOMAIN');
const label = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
const hostName = fc.tuple(fc.array(label, { minLength: 1, maxLength: 7 }), fc.boolean()).map(([ls, dot]) => ls.join('.') + (dot ? '.' : ''));
const options = fc.subarray(['single-request', 'single-request-reopen', 'use-vc', 'rotate', 'no-aaaa', 'ndots:1', 'ndots:2', 'attempts:1', 'attempts:3', 'timeout:1']);
const servers = fc.subarray(['10.0.0.53', '10.0.0.54']);

test('property: every session ends, query ids increase in sending order, and the count is what was sent', () => {
  fc.assert(
    fc.property(fc.constantFrom(...LIBS), hostName, options, servers, fc.array(replyKinds, { minLength: 1, maxLength: 12 }), (lib, name, opts, extra, kinds) => {
      const dnsConfig: PodDnsConfig = { nameservers: extra, options: opts.map((o) => { const [n, v] = o.split(':'); return v ? { name: n!, value: v } : { name: n! }; }) };
      const reply = (q: DnsQuery): StaticReply => {
        const k = kinds[q.id % kinds.length]!;
        if (k === 'answer') return cluster(q);
        if (k === 'none' || k === 'unreachable') return k;
        return { rcode: k, addresses: [] };
      };
      const r = lookup(lib, name, { dnsConfig, reply });
      const ids = r.queries.map((q) => q.query.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b));
      assert.equal(new Set(ids).size, ids.length);
      assert.equal(r.result.queries, r.queries.length);
      assert.ok(r.durationNs >= 0 && Number.isFinite(r.durationNs));
      if (r.result.outcome === 'ok') assert.ok(r.result.addresses.length > 0);
    }),
    { numRuns: 300 },
  );
});

test('property: with every server answering, any library resolves an existing short name to its ClusterIP', () => {
  fc.assert(
    fc.property(fc.constantFrom(...LIBS), options, servers, (lib, opts, extra) => {
      const dnsConfig: PodDnsConfig = { nameservers: extra, options: opts.map((o) => { const [n, v] = o.split(':'); return v ? { name: n!, value: v } : { name: n! }; }) };
      const r = lookup(lib, 'web', { dnsConfig });
      assert.equal(r.result.outcome, 'ok');
      assert.deepEqual(r.result.addresses, ['10.96.0.20']);
    }),
  );
});

test('property: the static driver is deterministic', () => {
  fc.assert(
    fc.property(fc.constantFrom(...LIBS), hostName, fc.array(replyKinds, { minLength: 1, maxLength: 8 }), (lib, name, kinds) => {
      const reply = (q: DnsQuery): StaticReply => {
        const k = kinds[q.id % kinds.length]!;
        return k === 'answer' ? cluster(q) : k === 'none' || k === 'unreachable' ? k : { rcode: k, addresses: [] };
      };
      assert.deepEqual(lookup(lib, name, { reply }), lookup(lib, name, { reply }));
    }),
    { numRuns: 100 },
  );
});

/** A driver with delays: each query's reply arrives `delay` after it was sent (or never), as in a run. */
function runWithDelays(lib: Lib, name: string, delaysMs: readonly (number | null)[], dnsConfig?: PodDnsConfig): { result: { outcome: string }; endNs: number; waits: number[] } {
  const s = resolverSession(lib, podResolvConf({ namespace: 'default', dnsConfig }), name);
  const inflight: { at: number; id: number; q: DnsQuery }[] = [];
  const waits: number[] = [];
  let now = 0;
  let waitStart = 0;
  let deadline = 0;
  const take = (step: ResolverStep): { outcome: string } | undefined => {
    if ('done' in step) return step.done;
    waits.push(step.waitNs);
    for (const q of step.send) {
      const d = delaysMs[q.id % delaysMs.length];
      if (d !== null && d !== undefined) inflight.push({ at: now + d * 1e6, id: q.id, q });
    }
    waitStart = now;
    deadline = now + step.waitNs;
    return undefined;
  };
  let result = take(s.start());
  for (let n = 0; result === undefined; n++) {
    if (n > 100_000) throw new Error('no end');
    inflight.sort((a, b) => a.at - b.at || a.id - b.id);
    const next = inflight[0];
    if (next && next.at < deadline) {
      inflight.shift();
      now = next.at;
      const step = s.answer(next.id, cluster(next.q) as DnsAnswer, now - waitStart);
      if (step) result = take(step);
    } else {
      now = deadline;
      result = take(s.timeout());
    }
  }
  return { result, endNs: now, waits };
}

test('property: with replies delayed or lost at random, every session ends and never asks for a negative wait', () => {
  fc.assert(
    fc.property(fc.constantFrom(...LIBS), hostName, options, fc.array(fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: null }), { minLength: 1, maxLength: 10 }), (lib, name, opts, delays) => {
      const dnsConfig: PodDnsConfig = { options: opts.map((o) => { const [n, v] = o.split(':'); return v ? { name: n!, value: v } : { name: n! }; }) };
      const r = runWithDelays(lib, name, delays, dnsConfig);
      assert.ok(r.waits.every((w) => w >= 0 && Number.isFinite(w)));
      assert.ok(['ok', 'nxdomain', 'nodata', 'servfail', 'refused', 'timeout'].includes(r.result.outcome));
    }),
    { numRuns: 300 },
  );
});

test('with a 1 s reply delay, glibc and musl still resolve within their first wait; Go too', () => {
  for (const lib of LIBS) {
    const r = runWithDelays(lib, 'web', [1000]);
    assert.deepEqual([r.result.outcome, r.endNs], ['ok', 1e9], lib);
  }
});
