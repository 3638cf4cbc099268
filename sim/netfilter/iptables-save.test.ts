import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { InputError } from '../io/input-error.ts';
import { applyIptablesRestore, parseIptablesSave, renderIptablesSave } from './iptables-save.ts';
import { EMPTY_RULESET } from './ruleset.ts';

const G = 'test/golden/netfilter';
const read = (name: string) => readFileSync(`${G}/${name}`, 'utf8');
/** A dump without its `#` lines (the header and footer carry the date and tool version). */
const body = (text: string) => text.split('\n').filter((l) => !l.startsWith('#'));

test('iptables-save round trip: a real legacy dump renders back line for line', () => {
  const text = read('kube-proxy-legacy.iptables-save');
  const { ruleset, warnings, ruleLines } = parseIptablesSave(text, 'legacy');
  assert.deepEqual(warnings, []);
  assert.equal(ruleLines, 54);
  assert.deepEqual(body(renderIptablesSave(ruleset)), body(text));
});

test('iptables-save -c round trip: a real nf_tables dump keeps [pkts:bytes] and reports the CT target', () => {
  const text = read('kube-proxy-nft.iptables-save');
  const { ruleset, warnings } = parseIptablesSave(text, 'nft');
  assert.deepEqual(body(renderIptablesSave(ruleset, { counters: true })), body(text));
  // `-j CT --notrack` is not modelled: kept verbatim, reported with its position, walked past.
  assert.deepEqual(warnings, [
    { where: 'nft:5:57', message: 'target "CT" is not modelled: rule kept, a matching packet goes on to the next rule' },
    { where: 'nft:6:47', message: 'target "CT" is not modelled: rule kept, a matching packet goes on to the next rule' },
  ]);
  assert.equal(ruleset.tables.get('raw')!.chains.get('PREROUTING')!.rules[0]!.counters?.join(':'), '311:18660');
  // Without -c, rules print without counters and chain lines keep theirs.
  const plain = renderIptablesSave(ruleset);
  assert.match(plain, /^:PREROUTING ACCEPT \[18422:10237761\]$/m);
  assert.match(plain, /^-A PREROUTING -p udp -m udp --dport 4789 -j CT --notrack$/m);
});

test('both backends parse to the same rules (nft adds counters and a raw table only)', () => {
  const legacy = parseIptablesSave(read('kube-proxy-legacy.iptables-save')).ruleset;
  const nft = parseIptablesSave(read('kube-proxy-nft.iptables-save')).ruleset;
  for (const t of ['mangle', 'filter', 'nat'] as const) {
    const a = renderIptablesSave({ tables: new Map([[t, legacy.tables.get(t)!]]) });
    const b = renderIptablesSave({ tables: new Map([[t, nft.tables.get(t)!]]) });
    assert.equal(a, b, t);
  }
});

test('kube-proxy\'s restore input renders in the kernel\'s normal form, as iptables-save prints it after loading', () => {
  // kube-proxy writes `-m comment ... -m tcp -p tcp -d IP --dport 80`, unquoted comments, short
  // probabilities and --or-mark/--xor-mark; iptables-save prints -s/-d/-p first, /32, quotes,
  // 11-decimal probabilities and --set-xmark. Every rendered rule must be a line of the real dump.
  const dump = new Set(body(read('kube-proxy-legacy.iptables-save')).filter((l) => l.startsWith('-A ')));
  const { ruleset } = applyIptablesRestore(EMPTY_RULESET, read('kube-proxy-restore.input'), { noflush: true, file: 'restore' });
  const rendered = body(renderIptablesSave(ruleset)).filter((l) => l.startsWith('-A '));
  assert.ok(rendered.length >= 15);
  for (const line of rendered) {
    // KUBE-POSTROUTING's --xor-mark is not what this dump's kube-proxy wrote (it used --set-xmark 0x4000/0x0).
    if (line.includes('--set-xmark 0x4000/0x0') || line.includes('MASQUERADE')) continue;
    assert.ok(dump.has(line), `not in the real dump: ${line}`);
  }
  assert.ok(rendered.includes('-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0'), '--xor-mark 0x4000 is --set-xmark 0x4000/0x0');
  assert.ok(rendered.includes('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000'), '--or-mark 0x4000 is --set-xmark 0x4000/0x4000');
  assert.ok(rendered.some((l) => l.includes('--probability 0.33333333349')), '0.3333333333 in the kernel fixed point');
  // -X deleted the declared chains.
  assert.equal(ruleset.tables.get('nat')!.chains.has('KUBE-SVC-ERIFXISQEP7F7OF4'), false);
});

test('comments and quoting: iptables-save quotes anything outside [A-Za-z0-9_-] and escapes " and \\', () => {
  const text = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    '-A INPUT -m comment --comment plain_word-1 -j ACCEPT',
    '-A INPUT -m comment --comment "ns/svc:port has \\"quotes\\" and \\\\" -j ACCEPT',
    '-A INPUT -m comment --comment "" -j ACCEPT',
    'COMMIT',
    '',
  ].join('\n');
  const { ruleset } = parseIptablesSave(text);
  const rules = ruleset.tables.get('filter')!.chains.get('INPUT')!.rules;
  const comments = rules.map((r) => (r.matches[0]!.kind === 'comment' ? r.matches[0]!.comment : null));
  assert.deepEqual(comments, ['plain_word-1', 'ns/svc:port has "quotes" and \\', '']);
  const out = renderIptablesSave(ruleset);
  assert.ok(out.includes('--comment plain_word-1 -j'));
  assert.ok(out.includes('--comment "ns/svc:port has \\"quotes\\" and \\\\" -j'));
  assert.ok(out.includes('--comment "" -j'));
  // And it parses back to the same.
  assert.equal(renderIptablesSave(parseIptablesSave(out).ruleset), out);
});

test('unknown match modules are kept verbatim, reported with their position, and never match', () => {
  const text = [
    '*filter',
    ':FORWARD ACCEPT [0:0]',
    '-A FORWARD -m physdev --physdev-is-bridged ! --physdev-out "br 0" -j DROP',
    '-A FORWARD -m hashlimit --hashlimit-upto 5/sec --hashlimit-name x -m comment --comment kept -j ACCEPT',
    'COMMIT',
    '',
  ].join('\n');
  const { ruleset, warnings } = parseIptablesSave(text, 'f.rules');
  assert.deepEqual(
    warnings.map((w) => w.where),
    ['f.rules:3:15', 'f.rules:4:15'],
  );
  assert.match(warnings[0]!.message, /match module "physdev" is not modelled/);
  const rules = ruleset.tables.get('filter')!.chains.get('FORWARD')!.rules;
  assert.ok(rules.every((r) => r.unsupported));
  const out = renderIptablesSave(ruleset);
  assert.ok(out.includes('-A FORWARD -m physdev --physdev-is-bridged ! --physdev-out "br 0" -j DROP'));
  assert.ok(out.includes('-A FORWARD -m hashlimit --hashlimit-upto 5/sec --hashlimit-name x -m comment --comment kept -j ACCEPT'));
});

/** The InputError thrown for `text`, or a failure. */
function inputError(text: string, file = 'bad.rules'): InputError {
  try {
    parseIptablesSave(text, file);
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  assert.fail('no InputError');
}

test('syntax errors name the file, line and column', () => {
  const head = '*nat\n:OUTPUT ACCEPT [0:0]\n:KUBE-SERVICES - [0:0]\n';
  const cases: [string, RegExp][] = [
    [head + '-A OUTPUT -d 10.96.0.300/32 -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:14: expected an IPv4 address or CIDR, found "10\.96\.0\.300\/32"$/],
    [head + '-A OUTPUT -p tcp -m tcp --dport 80 -j KUBE-MISSING\nCOMMIT\n', /^bad\.rules:4:39: expected a built-in target or a chain declared in this table, found "KUBE-MISSING"$/],
    [head + '-A OUTPUT -m comment --comment "unterminated -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:32: expected a closing double quote, found end of line$/],
    [head + '-A OUTPUT -p tcp --dport 99999 -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:26: expected a port or range LO:HI \(0-65535\), found "99999"$/],
    [head + '-A NOPE -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:4: expected a chain declared in table nat, found "NOPE"$/],
    [head + '-A OUTPUT -m statistic --mode random --probability 1.5 -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:52: expected a probability between 0 and 1, found "1\.5"$/],
    [head + '-A OUTPUT -j ACCEPT\n', /^bad\.rules:5:1: expected COMMIT to close table nat \(opened on line 1\), found end of input$/],
    ['*nat\n:OUTPUT ACCEPT [0:0]\n*filter\n', /^bad\.rules:3:1: expected COMMIT before a new table/],
    ['*secure\nCOMMIT\n', /^bad\.rules:1:2: expected a table name \(raw, mangle, nat, filter\), found "secure"$/],
    ['*security\n:INPUT ACCEPT [0:0]\n', /^bad\.rules:3:1: expected COMMIT to close table security \(opened on line 1\), found end of input$/],
    [head + '-A OUTPUT -j DNAT --to-destination 10.0.0.1:\nCOMMIT\n', /^bad\.rules:4:36: expected \[ip\[-ip\]\]\[:port\[-port\]\], found "10\.0\.0\.1:"$/],
    [head + '-A OUTPUT -m statistic --mode nth --every 2 --packet 2 -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:11: expected -m statistic --mode nth with --every N and --packet P, 0 <= P <= N - 1, found --packet 2 with --every 2$/],
    [head + '-A OUTPUT -m set -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:11: expected -m set with --match-set NAME FLAGS, found none$/],
    ['-A OUTPUT -j ACCEPT\n', /^bad\.rules:1:1: expected a table line like \*filter before rules/],
    [head + '-A OUTPUT -m mark --mark 0x4000/zz -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:26: expected VALUE\[\/MASK\] like 0x4000\/0x4000, found "0x4000\/zz"$/],
    [head + '-A OUTPUT -j MARK --set-xmark 0x4000/0x4000 --or-mark 1\nCOMMIT\n', /^bad\.rules:4:14: expected exactly one of --set-xmark/],
    ['*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DNAT --to-destination 10.0.0.1\nCOMMIT\n', /^bad\.rules:3:10: expected DNAT only in the nat table, found table filter$/],
    [head + '-A OUTPUT -m recent --name x -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:11: expected -m recent with one of --set, --rcheck, --update, --remove, found none$/],
    [head + ':INPUT DROPP [0:0]\nCOMMIT\n', /^bad\.rules:4:8: expected ACCEPT or DROP as the policy of built-in chain INPUT, found "DROPP"$/],
    [head + '-A OUTPUT -m multiport --dports 80,http -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:33: expected a comma-separated list of ports/],
    [head + '-A OUTPUT -m set --match-set KUBE-CLUSTER-IP bogus -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:46: expected direction flags like src or dst,dst, found "bogus"$/],
    [head + '-A OUTPUT -m conntrack --ctstate NEWISH -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:34: expected states from INVALID,NEW/],
    [head + '-A OUTPUT -m addrtype --dst-type LOCALE -j ACCEPT\nCOMMIT\n', /^bad\.rules:4:34: expected LOCAL, UNICAST, BROADCAST or MULTICAST, found "LOCALE"$/],
  ];
  const wrong = cases.map(([text, re]) => [inputError(text).message, re] as const).filter(([m, re]) => !re.test(m));
  assert.deepEqual(wrong, []);
});

test('iptables-restore --noflush: a table commits all or nothing, untouched chains are shared', () => {
  const base = parseIptablesSave(read('kube-proxy-legacy.iptables-save')).ruleset;
  const update = '*nat\n:KUBE-SERVICES - [0:0]\n-A KUBE-SERVICES -d 10.96.0.77/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-7EJNTS7AENER2WX5\nCOMMIT\n';
  const next = applyIptablesRestore(base, update, { noflush: true }).ruleset;
  const nat0 = base.tables.get('nat')!;
  const nat1 = next.tables.get('nat')!;
  assert.equal(nat1.chains.get('KUBE-SERVICES')!.rules.length, 1, 'a chain named on a : line is flushed');
  assert.equal(nat1.chains.get('KUBE-SVC-7EJNTS7AENER2WX5'), nat0.chains.get('KUBE-SVC-7EJNTS7AENER2WX5'), 'untouched chain shared');
  assert.equal(next.tables.get('filter'), base.tables.get('filter'), 'untouched table shared');
  assert.equal(base.tables.get('nat')!.chains.get('KUBE-SERVICES')!.rules.length, 5, 'the old version is unchanged');
  // An error anywhere leaves nothing applied (the function throws; the caller keeps `base`).
  assert.throws(() => applyIptablesRestore(base, update.replace('COMMIT', '-A KUBE-SERVICES -j NOWHERE\nCOMMIT'), { noflush: true, file: 'sync' }), /sync:4:/);
  // Without --noflush the table is replaced whole.
  const flushed = applyIptablesRestore(base, '*nat\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n').ruleset;
  assert.deepEqual([...flushed.tables.get('nat')!.chains.keys()], ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING']);
});

test('-I, -R, -D (by number and by spec), -N, -F, -P edit chains as iptables does', () => {
  const base = parseIptablesSave('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 10.0.0.1/32 -j ACCEPT\n-A INPUT -s 10.0.0.2/32 -j ACCEPT\nCOMMIT\n').ruleset;
  const ops = [
    '*filter',
    '-I INPUT -s 10.0.0.0/32 -j ACCEPT',
    '-I INPUT 3 -s 10.0.0.9/32 -j DROP',
    '-R INPUT 2 -s 10.0.0.5/32 -j ACCEPT',
    '-D INPUT -s 10.0.0.2 -j ACCEPT',
    '-D INPUT 1',
    '-N NEW',
    '-A NEW -j RETURN',
    '-P INPUT DROP',
    'COMMIT',
    '',
  ].join('\n');
  const rs = applyIptablesRestore(base, ops, { noflush: true }).ruleset;
  const out = renderIptablesSave(rs);
  assert.deepEqual(body(out), [
    '*filter',
    ':INPUT DROP [0:0]',
    ':FORWARD ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':NEW - [0:0]',
    '-A INPUT -s 10.0.0.5/32 -j ACCEPT',
    '-A INPUT -s 10.0.0.9/32 -j DROP',
    '-A NEW -j RETURN',
    'COMMIT',
    '',
  ]);
  assert.throws(() => applyIptablesRestore(rs, '*filter\n-D INPUT -s 10.9.9.9/32 -j ACCEPT\nCOMMIT\n', { noflush: true, file: 'd' }), /d:2:10: expected a rule that exists in chain INPUT/);
  assert.throws(() => applyIptablesRestore(rs, '*filter\n-X NEW\nCOMMIT\n', { noflush: true, file: 'x' }), /x:2:4: expected an empty chain to delete/);
  assert.throws(() => applyIptablesRestore(rs, '*filter\n-F\n-P NEW DROP\nCOMMIT\n', { noflush: true, file: 'p' }), /p:3:4: expected a built-in chain/);
});

test('what a real dump may hold that the model does not evaluate is kept verbatim, reported and rendered back', () => {
  // A security table, unmodelled targets (CT, CHECKSUM, TPROXY), unmodelled options of known
  // modules (conntrack --ctorigdst), a port-only DNAT and NAT ranges (and statistic --mode nth, modelled).
  const text = read('unmodelled.iptables-save');
  const { ruleset, warnings } = parseIptablesSave(text, 'u');
  assert.deepEqual(body(renderIptablesSave(ruleset)), body(text));
  assert.deepEqual(warnings.map((w) => `${w.where} ${w.message}`), [
    'u:5:39 target "CT" is not modelled: rule kept, a matching packet goes on to the next rule',
    'u:15:43 target "TPROXY" is not modelled: rule kept, a matching packet goes on to the next rule',
    'u:16:44 target "CHECKSUM" is not modelled: rule kept, a matching packet goes on to the next rule',
    'u:25:38 match -m conntrack option --ctorigdst is not modelled: rule kept, never matches',
    'u:33:2 table security is not modelled: kept verbatim, not evaluated',
  ]);
  const nat = ruleset.tables.get('nat')!.chains.get('OUTPUT')!.rules;
  assert.deepEqual(nat.map((r) => r.unsupported), [true, false, false]);
  assert.deepEqual(nat[1]!.matches[0], { kind: 'nth', module: 'statistic', every: 2, packet: 0, neg: false });
  // Render of parse of render is a fixed point, security table included.
  assert.equal(renderIptablesSave(parseIptablesSave(renderIptablesSave(ruleset)).ruleset), renderIptablesSave(ruleset));
});

test('several independent mistakes in a dump are reported together, each with file:line:col, in one InputError', () => {
  const text = [
    '*nat',
    ':PREROUTING ACCEPT [0:0]',
    ':OUTPUT ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]',
    '-A OUTPUT -p tcp --dport 99999 -j KUBE-SERVICES',
    '-A OUTPUT -j KUBE-SERVICES',
    '-A KUBE-SERVICES -d 10.96.0.1/32 -j ACCEPT',
    '-A KUBE-SERVICES -d 10.96.0.2/32 -j ACCEPT',
    '-A KUBE-SERVICES -d 10.96.0.3/32 -j KUBE-SVC-GONE',
    'COMMIT',
    '',
  ].join('\n');
  const e = inputError(text);
  assert.equal(e.exitCode, 2);
  assert.equal(
    e.message,
    [
      'bad.rules:5:26: expected a port or range LO:HI (0-65535), found "99999"',
      'bad.rules:9:37: expected a built-in target or a chain declared in this table, found "KUBE-SVC-GONE"',
    ].join('\n'),
  );
  // The first problem's fields, for callers that read them.
  assert.equal(e.where, 'bad.rules:5:26');
});

test('a single mistake gives exactly the message it gave alone, not a list', () => {
  const e = inputError('*nat\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -d 10.96.0.300/32 -j ACCEPT\n-A OUTPUT -j ACCEPT\nCOMMIT\n');
  assert.equal(e.constructor, InputError);
  assert.equal(e.message, 'bad.rules:3:14: expected an IPv4 address or CIDR, found "10.96.0.300/32"');
});

test('after a bad table header its lines are skipped up to its COMMIT, and the next table is still checked', () => {
  const text = ['*natt', ':OUTPUT ACCEPT [0:0]', '-A OUTPUT -j NOWHERE', 'COMMIT', '*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -j DROPP', 'COMMIT', ''].join('\n');
  assert.equal(
    inputError(text).message,
    ['bad.rules:1:2: expected a table name (raw, mangle, nat, filter), found "natt"', 'bad.rules:7:13: expected a built-in target or a chain declared in this table, found "DROPP"'].join('\n'),
  );
  // No COMMIT at all after the bad header: the missing COMMIT is a consequence, not reported.
  assert.equal(inputError('*natt\n:OUTPUT ACCEPT [0:0]\n-A OUTPUT -j NOWHERE\n').message, 'bad.rules:1:2: expected a table name (raw, mangle, nat, filter), found "natt"');
});

test('lines before any table header are one mistake: reading resumes at the next header', () => {
  const text = [':INPUT ACCEPT [0:0]', '-A INPUT -j ACCEPT', 'COMMIT', '*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp --dport x -j ACCEPT', 'COMMIT', ''].join('\n');
  assert.equal(
    inputError(text).message,
    ['bad.rules:1:1: expected a table line like *filter before rules, found ":INPUT ACCEPT [0:0]"', 'bad.rules:6:25: expected a port or range LO:HI (0-65535), found "x"'].join('\n'),
  );
});

test('a chain whose declaration or first use was wrong is taken as declared, so its rules are still checked once', () => {
  const text = [
    '*filter',
    ':INPUT ACCEPT [0:0]',
    ':KUBE-FW ACCEPT [0:0]',
    '-A INPUT -j KUBE-FW',
    '-A KUBE-FW -s 10.0.0.0/33 -j DROP',
    '-A KUBE-MISSING -j ACCEPT',
    '-A KUBE-MISSING -j ACCEPT',
    '-A INPUT -j KUBE-MISSING',
    'COMMIT',
    '',
  ].join('\n');
  assert.equal(
    inputError(text).message,
    [
      'bad.rules:3:10: expected "-" as the policy of user chain KUBE-FW (only built-in chains have policies), found "ACCEPT"',
      'bad.rules:5:15: expected an IPv4 address or CIDR, found "10.0.0.0/33"',
      'bad.rules:6:4: expected a chain declared in table filter, found "KUBE-MISSING"',
    ].join('\n'),
  );
});

test('a missing COMMIT is reported with the mistakes before it; whole-ruleset checks wait for a clean dump', () => {
  // The loop (A -> B -> A) would be refused at load, but only once the lines themselves are right.
  const text = ['*filter', ':INPUT ACCEPT [0:0]', ':A - [0:0]', ':B - [0:0]', '-A A -j B', '-A B -j A', '-A INPUT -m mark --mark zz -j A', ''].join('\n');
  assert.equal(
    inputError(text).message,
    [
      'bad.rules:7:25: expected VALUE[/MASK] like 0x4000/0x4000, found "zz"',
      'bad.rules:8:1: expected COMMIT to close table filter (opened on line 1), found end of input',
    ].join('\n'),
  );
});

test('a forgotten COMMIT before the next table is one mistake; the next table is read on its own', () => {
  const text = ['*nat', ':OUTPUT ACCEPT [0:0]', '*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -j ACCEPT', 'COMMIT', ''].join('\n');
  assert.equal(inputError(text).message, 'bad.rules:3:1: expected COMMIT before a new table (table nat opened on line 1), found "*filter"');
});

test('words that are names of Object.prototype members are not options, protocols or targets', () => {
  const dump = (rule: string) => `*filter\n:INPUT ACCEPT [0:0]\n-A INPUT ${rule}\nCOMMIT\n`;
  assert.throws(() => parseIptablesSave(dump('-p constructor -j ACCEPT'), 'p'), /p:3:\d+: expected a protocol/);
  assert.throws(() => parseIptablesSave(dump('constructor -s 10.0.0.1 -j ACCEPT'), 'w'), (e: unknown) => e instanceof InputError && /w:3:/.test(e.message));
  assert.throws(() => parseIptablesSave(dump('-j toString'), 'j'), /j:3:\d+: expected a built-in target or a chain declared in this table/);
});
