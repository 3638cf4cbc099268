/**
 * Rule text <-> rule expressions, for the statements kube-proxy writes (pkg/proxy/nftables/proxier.go)
 * and their canonical forms as `nft list ruleset` prints them (nftables src/statement.c,
 * src/expression.c print functions): both spellings parse to the same expressions.
 *
 * Two renderings: 'input' is the spelling kube-proxy sends through knftables (`mark set mark or
 * 0x4000`, `{ a , b }` with spaced commas, as knftables.Concat joins words); 'list' is nft's own
 * output (`meta mark set meta mark | 0x00004000`, `{ a, b }`, `counter packets 0 bytes 0`).
 */
import { tryParseCidr } from '../net/ipv4.ts';
import { formatScalar, parseIntIn, parseScalar } from './key.ts';
import type { TokenStream, Token } from './lexer.ts';
import type { AnonElement, Expr, Field, KeyType, Rule, Verdict } from './types.ts';

export type RenderStyle = 'input' | 'list';

/** Route types `fib ... type` compares against (include/uapi/linux/rtnetlink.h RTN_*). */
export const FIB_TYPES: Readonly<Record<string, number>> = {
  unspec: 0,
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
};
const FIB_NAME = new Map(Object.entries(FIB_TYPES).map(([k, v]) => [v, k]));

export type FieldType = KeyType | 'fib';

export const FIELD_TYPE: Readonly<Record<Field, FieldType>> = {
  'ip saddr': 'ipv4_addr',
  'ip daddr': 'ipv4_addr',
  'ip protocol': 'inet_proto',
  'meta l4proto': 'inet_proto',
  'th sport': 'inet_service',
  'th dport': 'inet_service',
  'tcp dport': 'inet_service',
  'udp dport': 'inet_service',
  'sctp dport': 'inet_service',
  'tcp sport': 'inet_service',
  'udp sport': 'inet_service',
  'sctp sport': 'inet_service',
  'meta mark': 'mark',
  'ct state': 'ct_state',
  'fib saddr type': 'fib',
  'fib daddr type': 'fib',
};

/** Reads a field (payload/meta/ct/fib selector) if the tokens start one; consumes nothing otherwise. */
export function parseField(ts: TokenStream): Field | undefined {
  const a = ts.peek();
  if (a.kind !== 'word') return undefined;
  const b = ts.peek(1).kind === 'word' ? ts.peek(1).text : '';
  let f: Field | undefined;
  let used = 2;
  switch (a.text) {
    case 'ip':
      if (b === 'saddr' || b === 'daddr' || b === 'protocol') f = `ip ${b}` as Field;
      break;
    case 'meta':
      if (b === 'l4proto' || b === 'mark') f = `meta ${b}` as Field;
      break;
    case 'mark':
      f = 'meta mark';
      used = 1;
      break;
    case 'th':
    case 'tcp':
    case 'udp':
    case 'sctp':
      if (b === 'dport' || b === 'sport') f = `${a.text} ${b}` as Field;
      break;
    case 'ct':
      if (b === 'state') f = 'ct state';
      break;
    case 'fib':
      if ((b === 'saddr' || b === 'daddr') && ts.isWord('type', 2)) {
        f = `fib ${b} type` as Field;
        used = 3;
      }
      break;
  }
  if (f) for (let i = 0; i < used; i++) ts.next();
  return f;
}

function parseLiteral(ts: TokenStream, field: Field, tok: Token): AnonElement {
  const type = FIELD_TYPE[field];
  if (type === 'fib') {
    const v = FIB_TYPES[tok.text];
    if (v === undefined) throw ts.error(tok, `a route type (${Object.keys(FIB_TYPES).join(', ')})`);
    return { kind: 'value', value: v };
  }
  if (type === 'ipv4_addr' && tok.text.includes('/')) {
    const c = tryParseCidr(tok.text);
    if (!c) throw ts.error(tok, 'an IPv4 prefix like 10.0.0.0/8');
    return { kind: 'prefix', prefix: { addr: c.addr, mask: c.mask, prefix: c.prefix } };
  }
  const v = parseScalar(type, tok.text);
  if (v === undefined) throw ts.error(tok, `a value of type ${type} for ${field}`);
  return { kind: 'value', value: v };
}

function parseCtStateValue(ts: TokenStream): AnonElement {
  let bits = 0;
  for (;;) {
    const tok = ts.word('a connection state (new, established, related, invalid, untracked)');
    const b = parseScalar('ct_state', tok.text);
    if (b === undefined) throw ts.error(tok, 'a connection state (new, established, related, invalid, untracked)');
    bits |= b;
    if (ts.peek().kind !== ',') break;
    ts.next();
  }
  return { kind: 'value', value: bits };
}

export function parseVerdict(ts: TokenStream): Verdict | undefined {
  const t = ts.peek();
  if (t.kind !== 'word') return undefined;
  switch (t.text) {
    case 'accept':
    case 'drop':
    case 'return':
    case 'continue':
      ts.next();
      return { code: t.text };
    case 'reject':
      ts.next();
      // `reject with icmp type port-unreachable` is the default nft prints as plain `reject`.
      if (ts.acceptWord('with')) {
        while (ts.peek().kind === 'word' && !isStatementStart(ts.peek().text)) ts.next();
      }
      return { code: 'reject' };
    case 'jump':
    case 'goto': {
      ts.next();
      const c = ts.word('a chain name');
      return { code: t.text, chain: c.text };
    }
  }
  return undefined;
}

function isStatementStart(w: string): boolean {
  return w === 'comment' || w === 'counter';
}

/** Parses `{ 0 : goto a , 1 : goto b }` (the opening brace not yet consumed). */
function parseNumgenEntries(ts: TokenStream, mod: number): Map<number, Verdict> {
  ts.expect('{', '"{" starting the verdict map');
  const out = new Map<number, Verdict>();
  for (;;) {
    while (ts.peek().kind === 'nl') ts.next();
    const kt = ts.word('a number');
    const k = parseIntIn(kt.text, 0, 0xffffffff);
    if (k === undefined) throw ts.error(kt, 'a number');
    if (k >= mod) throw ts.error(kt, `a number below the modulus ${mod}`);
    ts.expectWord(':');
    const v = parseVerdict(ts);
    if (!v) throw ts.error(ts.peek(), 'a verdict (accept, drop, jump CHAIN, goto CHAIN ...)');
    if (out.has(k)) throw ts.error(kt, 'each key once in the verdict map');
    out.set(k, v);
    while (ts.peek().kind === 'nl') ts.next();
    if (ts.accept(',')) continue;
    ts.expect('}', '"," or "}"');
    return out;
  }
}

/** Parses one rule: expressions up to the end of the statement (newline, ";", "}" or end). */
export function parseRule(ts: TokenStream): Rule {
  const exprs: Expr[] = [];
  let comment: string | undefined;
  const start = ts.peek();
  while (!ts.atStatementEnd()) {
    const t = ts.peek();
    if (comment !== undefined) throw ts.error(t, 'the end of the rule after its comment');
    if (t.kind !== 'word') throw ts.error(t, 'a rule expression');
    if (t.text === 'comment') {
      ts.next();
      comment = ts.expect('string', 'a quoted comment').text;
      continue;
    }
    // Statements first: they start with a keyword that is not a field.
    const stmt = parseStatement(ts, t.text);
    if (stmt) {
      exprs.push(stmt);
      continue;
    }
    const verdict = parseVerdict(ts);
    if (verdict) {
      exprs.push({ kind: 'verdict', verdict });
      continue;
    }
    exprs.push(parseFieldExpr(ts));
  }
  if (exprs.length === 0) throw ts.error(start, 'a rule');
  return comment === undefined ? { exprs } : { exprs, comment };
}

/** A statement starting with `keyword` (the next token), or undefined when `keyword` starts none. */
function parseStatement(ts: TokenStream, keyword: string): Expr | undefined {
  switch (keyword) {
    case 'counter':
      ts.next();
      return parseCounter(ts);
    case 'masquerade':
      ts.next();
      return parseMasquerade(ts);
    case 'dnat':
      ts.next();
      return parseDnat(ts);
    case 'update':
      ts.next();
      return parseUpdate(ts);
    case 'numgen':
      ts.next();
      return parseNumgen(ts);
  }
  return undefined;
}

/** `counter [packets N bytes M]` (the keyword consumed). */
function parseCounter(ts: TokenStream): Expr {
  let packets = 0;
  let bytes = 0;
  if (ts.acceptWord('packets')) {
    packets = Number(ts.word('a packet count').text);
    ts.expectWord('bytes');
    bytes = Number(ts.word('a byte count').text);
  }
  return { kind: 'counter', packets, bytes };
}

/** `masquerade [fully-random|random|persistent[,...]]` (the keyword consumed). */
function parseMasquerade(ts: TokenStream): Expr {
  let fullyRandom = false;
  while (ts.isWord('fully-random') || ts.isWord('random') || ts.isWord('persistent')) {
    if (ts.next().text === 'fully-random') fullyRandom = true;
    if (ts.peek().kind === ',') ts.next();
  }
  return { kind: 'masquerade', fullyRandom };
}

/** `dnat [ip] to ADDR[:PORT]` (the keyword consumed). */
function parseDnat(ts: TokenStream): Expr {
  ts.acceptWord('ip');
  ts.expectWord('to');
  const at = ts.word('an address and port like 10.180.0.1:80');
  const m = /^([0-9.]+)(?::([0-9]+))?$/.exec(at.text);
  const addr = m ? parseScalar('ipv4_addr', m[1]) : undefined;
  const port = m && m[2] !== undefined ? parseIntIn(m[2], 1, 65535) : 0;
  if (addr === undefined || port === undefined) throw ts.error(at, 'an address and port like 10.180.0.1:80');
  return { kind: 'dnat', addr, port };
}

/** `update @SET { FIELD . FIELD ... }` (the keyword consumed). */
function parseUpdate(ts: TokenStream): Expr {
  const st = ts.word('@SET');
  if (!st.text.startsWith('@') || st.text.length < 2) throw ts.error(st, '@SET naming the set to update');
  ts.expect('{', '"{" starting the key to add');
  const fields = parseConcat(ts);
  ts.expect('}', '"}" closing the key');
  return { kind: 'update', set: st.text.slice(1), fields };
}

/** `numgen random mod N [offset 0] vmap { ... }` (the keyword consumed). */
function parseNumgen(ts: TokenStream): Expr {
  ts.expectWord('random');
  ts.expectWord('mod');
  const mt = ts.word('the modulus');
  const mod = parseIntIn(mt.text, 1, 0xffffffff);
  if (mod === undefined) throw ts.error(mt, 'a positive modulus');
  if (ts.acceptWord('offset')) {
    const ot = ts.word('the offset');
    if (ot.text !== '0') throw ts.error(ot, 'offset 0 (the only offset modelled)');
  }
  ts.expectWord('vmap');
  return { kind: 'numgen-vmap', mod, entries: parseNumgenEntries(ts, mod) };
}

/** `FIELD . FIELD ...` */
function parseConcat(ts: TokenStream): Field[] {
  const fields: Field[] = [];
  for (;;) {
    const f = parseField(ts);
    if (!f) throw ts.error(ts.peek(), 'a field such as ip saddr, ip daddr, meta l4proto, th dport');
    fields.push(f);
    if (!ts.isWord('.')) return fields;
    ts.next();
  }
}

function parseFieldExpr(ts: TokenStream): Expr {
  const fieldTok = ts.peek();
  const fields = parseConcat(ts);
  if (fields.length === 0) throw ts.error(fieldTok, 'a rule expression');
  const field = fields[0];
  if (ts.acceptWord('vmap')) {
    const mt = ts.word('@MAP');
    if (!mt.text.startsWith('@')) throw ts.error(mt, '@MAP naming a verdict map');
    return { kind: 'vmap', fields, map: mt.text.slice(1) };
  }
  // meta mark: `set`, `and`/`&` mask comparison, or a plain comparison.
  if (field === 'meta mark' && fields.length === 1) {
    if (ts.acceptWord('set')) {
      if (!ts.acceptWord('mark')) {
        ts.expectWord('meta');
        ts.expectWord('mark');
      }
      const opTok = ts.word('or, xor, and, |, ^ or &');
      const op = ({ or: 'or', '|': 'or', xor: 'xor', '^': 'xor', and: 'and', '&': 'and' } as const)[opTok.text as 'or'];
      if (!op) throw ts.error(opTok, 'or, xor, and, |, ^ or &');
      const vt = ts.word('a mark value');
      const value = parseIntIn(vt.text, 0, 0xffffffff);
      if (value === undefined) throw ts.error(vt, 'a 32-bit mark value');
      return { kind: 'mark-set', op, value };
    }
    if (ts.isWord('and') || ts.isWord('&')) {
      ts.next();
      const mt = ts.word('a mask');
      const mask = parseIntIn(mt.text, 0, 0xffffffff);
      if (mask === undefined) throw ts.error(mt, 'a 32-bit mask');
      let negate = false;
      if (ts.acceptWord('!=')) negate = true;
      else ts.acceptWord('==');
      const vt = ts.word('a mark value');
      const value = parseIntIn(vt.text, 0, 0xffffffff);
      if (value === undefined) throw ts.error(vt, 'a 32-bit mark value');
      return { kind: 'mark-cmp', mask, negate, value };
    }
  }
  let negate = false;
  if (ts.acceptWord('!=')) negate = true;
  else ts.acceptWord('==');
  const vt = ts.peek();
  if (vt.kind === 'word' && vt.text.startsWith('@')) {
    ts.next();
    return { kind: 'lookup', fields, set: vt.text.slice(1), negate };
  }
  if (fields.length > 1) throw ts.error(vt, '"vmap @MAP" or "@SET" after a concatenation');
  if (vt.kind === '{') {
    ts.next();
    const elements: AnonElement[] = [];
    const texts: string[] = [];
    for (;;) {
      while (ts.peek().kind === 'nl') ts.next();
      const et = ts.word('a set element');
      elements.push(parseLiteral(ts, field, et));
      texts.push(et.text);
      while (ts.peek().kind === 'nl') ts.next();
      if (ts.accept(',')) continue;
      ts.expect('}', '"," or "}"');
      break;
    }
    return { kind: 'anon-set', field, negate, elements, texts };
  }
  if (field === 'ct state') return { kind: 'cmp', field, negate, value: parseCtStateValue(ts), text: '' };
  const lt = ts.word(`a value for ${field}`);
  return { kind: 'cmp', field, negate, value: parseLiteral(ts, field, lt), text: lt.text };
}

// ---------------------------------------------------------------- rendering

export function renderVerdict(v: Verdict): string {
  return v.code === 'jump' || v.code === 'goto' ? `${v.code} ${v.chain}` : v.code;
}

function renderValue(field: Field, v: AnonElement): string {
  if (v.kind === 'prefix') return `${formatScalar('ipv4_addr', v.prefix.addr)}/${v.prefix.prefix}`;
  const type = FIELD_TYPE[field];
  if (type === 'fib') return FIB_NAME.get(v.value) ?? String(v.value);
  return formatScalar(type, v.value);
}

function hex8(v: number): string {
  return `0x${v.toString(16).padStart(8, '0')}`;
}

function renderExpr(e: Expr, style: RenderStyle): string {
  const sep = style === 'input' ? ' , ' : ', ';
  switch (e.kind) {
    case 'cmp':
      return `${e.field} ${e.negate ? '!= ' : ''}${renderValue(e.field, e.value)}`;
    case 'anon-set':
      return `${e.field} ${e.negate ? '!= ' : ''}{ ${e.elements.map((x) => renderValue(e.field, x)).join(sep)} }`;
    case 'mark-cmp':
      return style === 'input'
        ? `mark and 0x${e.mask.toString(16)} ${e.negate ? '!=' : '=='} ${e.value === 0 ? '0' : `0x${e.value.toString(16)}`}`
        : `meta mark & ${hex8(e.mask)} ${e.negate ? '!=' : '=='} ${hex8(e.value)}`;
    case 'lookup':
      return `${e.fields.join(' . ')} ${e.negate ? '!= ' : ''}@${e.set}`;
    case 'vmap':
      return `${e.fields.join(' . ')} vmap @${e.map}`;
    case 'numgen-vmap':
      return `numgen random mod ${e.mod} vmap { ${[...e.entries].map(([k, v]) => `${k} : ${renderVerdict(v)}`).join(sep)} }`;
    case 'mark-set': {
      if (style === 'input') return `mark set mark ${e.op} 0x${e.value.toString(16)}`;
      const sym = { or: '|', xor: '^', and: '&', set: '' }[e.op];
      return `meta mark set meta mark ${sym} ${hex8(e.value)}`;
    }
    case 'counter':
      return style === 'input' ? 'counter' : `counter packets ${e.packets} bytes ${e.bytes}`;
    case 'masquerade':
      return e.fullyRandom ? 'masquerade fully-random' : 'masquerade';
    case 'dnat':
      return `dnat to ${formatScalar('ipv4_addr', e.addr)}${e.port ? `:${e.port}` : ''}`;
    case 'update':
      return `update @${e.set} { ${e.fields.join(' . ')} }`;
    case 'verdict':
      return renderVerdict(e.verdict);
  }
}

export function renderRule(r: Rule, style: RenderStyle): string {
  let s = r.exprs.map((e) => renderExpr(e, style)).join(' ');
  if (r.comment !== undefined) s += ` comment "${r.comment}"`;
  return s;
}

/** The chains a rule can transfer control to (jump/goto, directly or through an anonymous vmap). */
export function ruleTargets(r: Rule): string[] {
  const out: string[] = [];
  for (const e of r.exprs) {
    if (e.kind === 'verdict' && (e.verdict.code === 'jump' || e.verdict.code === 'goto')) out.push(e.verdict.chain);
    if (e.kind === 'numgen-vmap') for (const v of e.entries.values()) if (v.code === 'jump' || v.code === 'goto') out.push(v.chain);
  }
  return out;
}

/** Named sets and maps a rule refers to. */
export function ruleSetRefs(r: Rule): string[] {
  const out: string[] = [];
  for (const e of r.exprs) {
    if (e.kind === 'lookup' || e.kind === 'update') out.push(e.set);
    if (e.kind === 'vmap') out.push(e.map);
  }
  return out;
}
