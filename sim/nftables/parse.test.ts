import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError, InputErrorList } from '../io/input-error.ts';
import { parseNft } from './parse.ts';
import { MAX_PROBLEMS } from './recovery.ts';

/** The error parseNft throws for `text`, which must be an input error. */
function problemsOf(text: string, file = 'f.nft'): InputError {
  try {
    parseNft(text, file);
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    assert.equal(e.exitCode, 2);
    return e;
  }
  assert.fail('expected an InputError');
}

function lines(e: InputError): string[] {
  return e.message.split('\n');
}

test('several independent mistakes in nft -f text are reported together, each with file:line:col', () => {
  const e = problemsOf(
    [
      'add table ip t',
      'add chain ip t c',
      'add rule ip t c ip daddr 10.0.0.300 drop',
      'add rule ip t c tcp dport 99999 drop',
      'add chain ip t d { type filter hook inptu priority 0 ; }',
      'add element ip t nosuch { 1.2.3.4 }',
      'add rule ip t c jump d',
    ].join('\n'),
  );
  assert.ok(e instanceof InputErrorList);
  assert.deepEqual(lines(e), [
    'f.nft:3:26: expected a value of type ipv4_addr for ip daddr, found "10.0.0.300"',
    'f.nft:4:27: expected a value of type inet_service for tcp dport, found "99999"',
    'f.nft:5:37: expected a hook (prerouting, input, forward, output, postrouting), found "inptu"',
  ]);
  assert.equal(e.where, 'f.nft:3:26');
});

test('nft list ruleset text: every bad line of every block, none of their follow-ons', () => {
  const e = problemsOf(
    [
      'table ip t {',
      '\tmap m {',
      '\t\ttype ipv4_addr : verdct',
      '\t\telements = { 1.2.3.4 : drop }',
      '\t}',
      '\tchain c {',
      '\t\ttype filter hook input priority filtre; policy accept;',
      '\t\tip daddr 1.2.3.400 drop',
      '\t\tcounter drop',
      '\t\tip saddr 10.0.0.0/33 accept',
      '\t}',
      '}',
    ].join('\n'),
  );
  // Not reported: the elements of m (no type to read them with) and the policy of c (no base chain).
  assert.deepEqual(lines(e), [
    'f.nft:3:20: expected "verdict" (the only map data type modelled), found "verdct"',
    'f.nft:7:35: expected a priority (a number or raw, mangle, dstnat, filter, security, srcnat), found "filtre"',
    'f.nft:8:12: expected a value of type ipv4_addr for ip daddr, found "1.2.3.400"',
    'f.nft:10:12: expected an IPv4 prefix like 10.0.0.0/8, found "10.0.0.0/33"',
  ]);
});

test('after a missing brace the parser stops: the rest would only be follow-ons', () => {
  const missingClose = 'table ip t {\n\tchain a {\n\t\tdrop\n\tchain b {\n\t\tdrop\n\t}\n\tchain c {\n\t\tip daddr 1.2.3.400 drop\n\t}\n}\n';
  const e = problemsOf(missingClose);
  assert.ok(!(e instanceof InputErrorList));
  assert.match(e.message, /^f\.nft:4:2: expected a field such as/);
  const openSet = 'add table ip t\nadd chain ip t c\nadd rule ip t c ip daddr { 1.2.3.4, 5.6.7.8\nadd rule ip t c ip daddr 1.2.3.400 drop\n';
  assert.deepEqual(lines(problemsOf(openSet)), ['f.nft:4:1: expected "," or "}", found "add"']);
});

test('unterminated strings are each reported, a string broken in two once; parse errors near or after them are not', () => {
  const e = problemsOf(
    [
      'add table ip t',
      'add chain ip t c',
      'add rule ip t c ip daddr 1.2.3.400 drop',
      'add chain ip t e',
      'add chain ip t d { comment "x ; }', // the parser would go wrong from here
      'add rule ip t d bogus',
      'add table ip u { comment "y ; }',
      'add rule ip t c drop',
      'add rule ip t c drop comment "broken',
      'in two"',
    ].join('\n'),
  );
  assert.deepEqual(lines(e), [
    'f.nft:3:26: expected a value of type ipv4_addr for ip daddr, found "1.2.3.400"',
    'f.nft:5:28: expected a closing " for this string, found end of line',
    'f.nft:7:26: expected a closing " for this string, found end of line',
    'f.nft:9:30: expected a closing " for this string, found end of line',
  ]);
});

test('the rest of a statement split by a newline, or a file that is not nft text, is not reported again', () => {
  assert.deepEqual(lines(problemsOf('add table ip t\nadd chain ip t c\nadd rule ip t c fib\nsaddr type local accept\n')), [
    'f.nft:3:17: expected a field such as ip saddr, ip daddr, meta l4proto, th dport, found "fib"',
  ]);
  const iptables = '*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j KUBE-SERVICES\nCOMMIT\n';
  assert.deepEqual(lines(problemsOf(iptables)), ['f.nft:1:1: expected a command (add, create, flush, delete) or "table", found "*nat"']);
});

test(`at most ${MAX_PROBLEMS} problems, as nft stops there`, () => {
  const text = ['add table ip t', 'add chain ip t c', ...Array.from({ length: 30 }, (_, i) => `add rule ip t c ip daddr 10.0.0.${300 + i} drop`)].join('\n');
  const e = problemsOf(text);
  assert.equal(lines(e).length, MAX_PROBLEMS);
  assert.match(lines(e)[MAX_PROBLEMS - 1], /^f\.nft:12:26: /);
});

test('a single mistake gives the one message it always gave', () => {
  for (const [text, message] of [
    ['add table ip t\nadd chain ip t c\nadd rule ip t c ip daddr 10.0.0.300 drop\n', 'f.nft:3:26: expected a value of type ipv4_addr for ip daddr, found "10.0.0.300"'],
    ['add table ip t {\n', 'f.nft:2:1: expected "comment" or "}", found end of input'],
    ['add table ip t\nadd element ip t s { 1.2.3.4 }\n', 'f.nft:2:18: expected a set or map defined earlier in this input, found "s" (set "s" unknown)'],
    ['add table ip t { comment "x ; }\n', 'f.nft:1:26: expected a closing " for this string, found end of line'],
  ] as const) {
    const e = problemsOf(text);
    assert.ok(!(e instanceof InputErrorList), text);
    assert.equal(e.message, message);
  }
});

test('property: k bad rules among n give exactly their k problems, in line order, in both forms', () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 25 }), (bad) => {
      const rule = (b: boolean, i: number): string => `ip daddr 10.0.${i}.${b ? 300 : 1} drop`;
      const command = ['add table ip t', 'add chain ip t c', ...bad.map((b, i) => `add rule ip t c ${rule(b, i)}`)].join('\n');
      const block = ['table ip t {', '\tchain c {', ...bad.map((b, i) => `\t\t${rule(b, i)}`), '\t}', '}'].join('\n');
      const expected = bad.flatMap((b, i) => (b ? [i + 3] : [])).slice(0, MAX_PROBLEMS);
      for (const text of [command, block]) {
        if (expected.length === 0) {
          parseNft(text, 'p.nft');
          continue;
        }
        const got = lines(problemsOf(text, 'p.nft')).map((l) => Number(/^p\.nft:(\d+):/.exec(l)![1]));
        assert.deepEqual(got, expected);
      }
    }),
    { numRuns: 100 },
  );
});
