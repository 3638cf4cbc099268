/**
 * Parser for the text nft reads with `nft -f` (nft(8) "INPUT FILE FORMATS"): both the command form
 * kube-proxy's knftables writes (`add table ip kube-proxy { comment "..." ; }`, `add rule ip
 * kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips`, `flush chain ...`,
 * `add element ... { k : v }`, `delete ...`) and the block form `nft list ruleset` prints
 * (`table ip kube-proxy { chain services { ... } }`). Every error names file:line:col.
 *
 * The independent mistakes of an input are reported together (see recovery.ts): after a bad
 * statement (a command, a rule, a line of a chain, set or table block) parsing resumes at the
 * statement's end. An input with mistakes is not applied: a failed definition would make every
 * later use of it fail too.
 */
import { parseDuration } from '../engine/time.ts';
import { combineInputErrors } from '../io/input-error.ts';
import { isKeyType, parseScalar } from './key.ts';
import { TokenStream, tokenize, type LocatedError, type Token } from './lexer.ts';
import { PRIORITY_NAMES } from './priority.ts';
import { FIELD_TYPE, parseField, parseRule, parseVerdict } from './rule.ts';
import { MAX_PROBLEMS, recover, SkipStatement, StopParsing, type Recovery } from './recovery.ts';
import { applyTransaction, type Command, type TableRef } from './transaction.ts';
import { tableKey, type BaseChainSpec, type ChainType, type Hook, type KeyType, type NftFamily, type Rule, type Ruleset, type SetElement } from './types.ts';

const FAMILIES: readonly NftFamily[] = ['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev'];
const CHAIN_TYPES: readonly ChainType[] = ['filter', 'nat', 'route'];
const HOOKS: readonly Hook[] = ['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress'];

/** One parse of one input. */
interface Parse extends Recovery {
  /** The ruleset the parsed text will be applied to, for typing elements of sets it already holds. */
  readonly base: Ruleset | undefined;
}

/** Parses nft input text into commands (nothing applied yet); throws every problem found at once. */
export function parseNftCommands(source: string, file = 'nft', base?: Ruleset): Command[] {
  const lexical: LocatedError[] = [];
  const p: Parse = { ts: new TokenStream(tokenize(source, file, lexical), file), base, problems: [] };
  const out: Command[] = [];
  try {
    parseStatements(p, out);
  } catch (e) {
    if (!(e instanceof StopParsing)) throw e;
  }
  if (lexical.length === 0 && p.problems.length === 0) return out;
  // After an unterminated string the parser saw the rest of its line as the string, and a newline
  // typed inside a string leaves the line before it short: parse errors from that line on may be
  // consequences. Strings never span lines, so lexical errors are independent of each other.
  const firstLexicalLine = lexical.length ? lexical[0].line : Infinity;
  const problems = [...p.problems.filter((x) => x.line < firstLexicalLine - 1), ...lexical];
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  throw combineInputErrors(problems.slice(0, MAX_PROBLEMS).map((x) => x.error));
}

/** Top level: commands and table blocks, each resumed after on an error. */
function parseStatements(p: Parse, out: Command[]): void {
  const ts = p.ts;
  for (;;) {
    ts.skipNewlines();
    const t = ts.peek();
    if (t.kind === 'eof') return;
    const start = ts.pos;
    try {
      parseTopStatement(p, t, out);
    } catch (e) {
      recover(p, e, start, false);
    }
  }
}

function parseTopStatement(p: Parse, t: Token, out: Command[]): void {
  const ts = p.ts;
  if (t.kind !== 'word') throw ts.error(t, 'a command (add, create, flush, delete) or "table"');
  if (t.text === 'table') {
    ts.next();
    parseTableBlock(p, t, out);
    return;
  }
  if (t.text === 'add' || t.text === 'create' || t.text === 'flush' || t.text === 'delete') {
    ts.next();
    parseCommand(p, t, t.text, out);
    if (!ts.atStatementEnd()) throw ts.error(ts.peek(), 'the end of the command');
    return;
  }
  throw ts.error(t, 'a command (add, create, flush, delete) or "table"');
}

/** Parses and applies nft input text to `base` (or an empty ruleset), atomically. */
export function parseNft(source: string, file = 'nft', base?: Ruleset): Ruleset {
  return applyTransaction(base, parseNftCommands(source, file, base));
}

function parseTableRef(ts: TokenStream): TableRef {
  const ft = ts.word('a family (ip, ip6, inet ...) and a table name');
  let family: NftFamily = 'ip';
  let name: Token;
  // nft allows omitting the family (default ip) — `add table foo`.
  if ((FAMILIES as readonly string[]).includes(ft.text) && ts.peek().kind === 'word') {
    family = ft.text as NftFamily;
    name = ts.word('a table name');
  } else name = ft;
  return { family, table: name.text };
}

/** The source text of tokens from `start` up to the current one (a rule as it was written). */
function sourceText(ts: TokenStream, start: number): string {
  return ts.tokens
    .slice(start, ts.pos)
    .map((x) => (x.kind === 'string' ? `"${x.text}"` : x.text))
    .join(' ');
}

function parseCommand(p: Parse, verbTok: Token, verb: 'add' | 'create' | 'flush' | 'delete', out: Command[]): void {
  const ts = p.ts;
  const objTok = ts.word('an object type (table, chain, rule, set, map, element)');
  const w = ts.at(verbTok);
  switch (objTok.text) {
    case 'ruleset':
      if (verb !== 'flush') throw ts.error(objTok, 'an object type (table, chain, rule, set, map, element)');
      out.push({ verb: 'flush', object: 'ruleset', family: 'ip', table: '', where: w });
      return;
    case 'table': {
      const ref = parseTableRef(ts);
      let comment: string | undefined;
      if (ts.accept('{')) {
        for (;;) {
          ts.skipNewlines();
          if (ts.accept('}')) break;
          const k = ts.word('"comment" or "}"');
          if (k.text === 'comment') comment = ts.expect('string', 'a quoted comment').text;
          else if (k.text === 'flags') ts.word('table flags');
          else throw ts.error(k, '"comment" or "}"');
        }
      }
      out.push({ verb, object: 'table', ...ref, ...(comment !== undefined ? { comment } : {}), where: w });
      return;
    }
    case 'chain': {
      const ref = parseTableRef(ts);
      const name = ts.word('a chain name').text;
      let spec: { base?: BaseChainSpec; comment?: string } = {};
      if (ts.accept('{')) spec = parseChainBody(p, ref, name, out, false);
      out.push({ verb, object: 'chain', ...ref, name, ...spec, where: w });
      return;
    }
    case 'rule': {
      if (verb === 'flush') throw ts.error(objTok, 'an object type flush applies to (table, chain, set, map)');
      if (verb === 'delete') throw ts.error(objTok, 'an object kube-proxy deletes (table, chain, set, map, element)', undefined);
      const ref = parseTableRef(ts);
      const chain = ts.word('a chain name').text;
      const ruleStart = ts.pos;
      const rule = parseRule(ts);
      out.push({ verb, object: 'rule', ...ref, chain, rule, text: sourceText(ts, ruleStart), where: w });
      return;
    }
    case 'set':
    case 'map': {
      const ref = parseTableRef(ts);
      const name = ts.word(`a ${objTok.text} name`).text;
      let body: SetBody = {};
      if (ts.accept('{')) body = parseSetBody(p, objTok.text);
      out.push({ verb, object: objTok.text, ...ref, name, ...body, where: w });
      return;
    }
    case 'element': {
      if (verb === 'flush') throw ts.error(objTok, 'an object type flush applies to (table, chain, set, map)');
      const ref = parseTableRef(ts);
      const setTok = ts.word('a set or map name');
      ts.expect('{', '"{" starting the elements');
      // The set's key type is needed to parse elements: look for it among earlier commands.
      const def = findSetDef(p, out, ref, setTok.text);
      // After an earlier problem the set may be unknown because its definition was the bad statement.
      if (!def && p.problems.length > 0) throw new SkipStatement();
      if (!def) throw ts.error(setTok, `a set or map defined earlier in this input`, `set "${setTok.text}" unknown`);
      const elements = parseElements(ts, def.keyType, def.isMap);
      out.push({ verb: verb as 'add', object: 'element', ...ref, set: setTok.text, elements, where: w });
      return;
    }
  }
  throw ts.error(objTok, 'an object type (table, chain, rule, set, map, element)');
}

/**
 * Element keys are typed by their set; the parser looks the set up among the commands parsed so far,
 * then in the ruleset the text will be applied to.
 */
function findSetDef(p: Parse, cmds: readonly Command[], ref: TableRef, name: string): { keyType: readonly KeyType[]; isMap: boolean } | undefined {
  for (let i = cmds.length - 1; i >= 0; i--) {
    const c = cmds[i];
    if ((c.object === 'set' || c.object === 'map') && c.name === name && c.family === ref.family && c.table === ref.table && c.keyType)
      return { keyType: c.keyType, isMap: c.object === 'map' };
  }
  const s = p.base?.tables.get(tableKey(ref.family, ref.table))?.sets.get(name);
  return s ? { keyType: s.keyType, isMap: s.kind === 'map' } : undefined;
}

interface SetBody {
  keyType?: KeyType[];
  dataType?: 'verdict';
  flags?: string[];
  timeoutNs?: number;
  comment?: string;
  elements?: SetElement[];
}

function parseTypeList(ts: TokenStream, isMap: boolean): { keyType: KeyType[]; dataType?: 'verdict' } {
  const keyType: KeyType[] = [];
  for (;;) {
    const t = ts.word('a data type (ipv4_addr, inet_proto, inet_service, mark)');
    if (!isKeyType(t.text)) throw ts.error(t, 'a data type (ipv4_addr, inet_proto, inet_service, mark)');
    keyType.push(t.text);
    if (ts.acceptWord('.')) continue;
    break;
  }
  if (isMap) {
    ts.expectWord(':');
    const d = ts.word('"verdict"');
    if (d.text !== 'verdict') throw ts.error(d, '"verdict" (the only map data type modelled)');
    return { keyType, dataType: 'verdict' };
  }
  return { keyType };
}

/** `typeof ip daddr . meta l4proto . th dport` gives the key type from the fields' types. */
function parseTypeofList(ts: TokenStream, isMap: boolean): { keyType: KeyType[]; dataType?: 'verdict' } {
  const keyType: KeyType[] = [];
  for (;;) {
    const at = ts.peek();
    const f = parseField(ts);
    const ft = f ? FIELD_TYPE[f] : undefined;
    if (!f || ft === 'fib' || ft === undefined) throw ts.error(at, 'a field such as ip daddr, meta l4proto, th dport');
    keyType.push(ft);
    if (ts.acceptWord('.')) continue;
    break;
  }
  if (isMap) {
    ts.expectWord(':');
    const d = ts.word('"verdict"');
    if (d.text !== 'verdict') throw ts.error(d, '"verdict" (the only map data type modelled)');
    return { keyType, dataType: 'verdict' };
  }
  return { keyType };
}

function parseSetBody(p: Parse, kind: 'set' | 'map'): SetBody {
  const ts = p.ts;
  const body: SetBody = {};
  const problemsBefore = p.problems.length;
  for (;;) {
    ts.skipNewlines();
    if (ts.accept('}')) return body;
    const start = ts.pos;
    try {
      parseSetItem(ts, kind, body, p.problems.length > problemsBefore);
    } catch (e) {
      recover(p, e, start, true, true);
    }
  }
}

/** One line of a set or map block. `typeMayHaveFailed`: an earlier line of this block was bad. */
function parseSetItem(ts: TokenStream, kind: 'set' | 'map', body: SetBody, typeMayHaveFailed: boolean): void {
  const isMap = kind === 'map';
  const k = ts.word('type, typeof, flags, timeout, size, comment, elements or "}"');
  switch (k.text) {
    case 'type':
      Object.assign(body, parseTypeList(ts, isMap));
      return;
    case 'typeof':
      Object.assign(body, parseTypeofList(ts, isMap));
      return;
    case 'flags': {
      const flags: string[] = [];
      for (;;) {
        const f = ts.word('a set flag (constant, dynamic, interval, timeout)');
        if (!['constant', 'dynamic', 'interval', 'timeout'].includes(f.text)) throw ts.error(f, 'a set flag (constant, dynamic, interval, timeout)');
        flags.push(f.text);
        if (!ts.accept(',')) break;
      }
      body.flags = flags;
      return;
    }
    case 'timeout': {
      const d = ts.word('a timeout like 10800s or 3h');
      body.timeoutNs = parseNftDuration(ts, d);
      return;
    }
    case 'size':
    case 'gc-interval':
    case 'policy':
      ts.word(`a value for ${k.text}`);
      return;
    case 'comment':
      body.comment = ts.expect('string', 'a quoted comment').text;
      return;
    case 'elements': {
      ts.expectWord('=');
      ts.expect('{', '"{" starting the elements');
      if (!body.keyType && typeMayHaveFailed) throw new SkipStatement();
      if (!body.keyType) throw ts.error(k, 'the type before the elements');
      body.elements = parseElements(ts, body.keyType, isMap);
      return;
    }
  }
  throw ts.error(k, 'type, typeof, flags, timeout, size, comment, elements or "}"');
}

/** nft durations: `10800s`, `3h`, `1d2h3m4s`, `250ms` (nft(8) "time" values). */
function parseNftDuration(ts: TokenStream, t: Token): number {
  const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(t.text);
  if (!m || t.text === '') {
    try {
      return parseDuration(t.text, ts.at(t));
    } catch {
      throw ts.error(t, 'a duration like 10800s, 3h or 1h30m');
    }
  }
  const [, d, h, mi, s, ms] = m.map((x) => (x === undefined ? 0 : Number(x)));
  return ((((d * 24 + h) * 60 + mi) * 60 + s) * 1000 + ms) * 1_000_000;
}

/** Parses `a . b . c [timeout T] [expires T] [comment "x"] [: VERDICT], ... }` (the "{" consumed). */
function parseElements(ts: TokenStream, keyType: readonly KeyType[], isMap: boolean): SetElement[] {
  const out: SetElement[] = [];
  for (;;) {
    while (ts.peek().kind === 'nl') ts.next();
    if (ts.accept('}')) return out;
    const key: number[] = [];
    for (let i = 0; i < keyType.length; i++) {
      if (i > 0) ts.expectWord('.');
      const kt = ts.word(`a ${keyType[i]} value`);
      const v = parseScalar(keyType[i], kt.text);
      if (v === undefined) throw ts.error(kt, `a value of type ${keyType[i]}`);
      key.push(v);
    }
    const e: { key: number[]; value?: any; comment?: string; timeoutNs?: number } = { key };
    for (;;) {
      if (ts.acceptWord('timeout')) e.timeoutNs = parseNftDuration(ts, ts.word('a timeout'));
      else if (ts.acceptWord('expires')) parseNftDuration(ts, ts.word('an expiry'));
      else if (ts.acceptWord('comment')) e.comment = ts.expect('string', 'a quoted comment').text;
      else break;
    }
    if (isMap) {
      ts.expectWord(':');
      const v = parseVerdict(ts);
      if (!v) throw ts.error(ts.peek(), 'a verdict (accept, drop, reject, jump CHAIN, goto CHAIN)');
      e.value = v;
    } else if (ts.isWord(':')) throw ts.error(ts.peek(), '"," or "}" (a set element has no value)');
    out.push(e);
    while (ts.peek().kind === 'nl') ts.next();
    if (ts.accept(',')) continue;
    ts.expect('}', '"," or "}"');
    return out;
  }
}

/** Parses `type filter hook prerouting priority -110 ; policy accept ;` and rules (list form). */
function parseChainBody(p: Parse, ref: TableRef, name: string, out: Command[], rulesAllowed: boolean): { base?: BaseChainSpec; comment?: string } {
  const ts = p.ts;
  const spec: { base?: BaseChainSpec; comment?: string } = {};
  const rules: Command[] = [];
  const problemsBefore = p.problems.length;
  for (;;) {
    ts.skipNewlines();
    if (ts.accept('}')) break;
    const start = ts.pos;
    try {
      const rule = parseChainItem(ts, spec, rulesAllowed, p.problems.length > problemsBefore);
      if (rule) rules.push({ verb: 'add', object: 'rule', ...ref, chain: name, rule, text: sourceText(ts, start), where: ts.at(ts.tokens[start]) });
    } catch (e) {
      recover(p, e, start, true);
    }
  }
  out.push(...rules);
  return { ...(spec.base ? { base: spec.base } : {}), ...(spec.comment !== undefined ? { comment: spec.comment } : {}) };
}

/**
 * One line of a chain block: the base chain's type or policy, a comment, or a rule (returned).
 * `typeMayHaveFailed`: an earlier line of this block was bad.
 */
function parseChainItem(ts: TokenStream, spec: { base?: BaseChainSpec; comment?: string }, rulesAllowed: boolean, typeMayHaveFailed: boolean): Rule | undefined {
  const t = ts.peek();
  if (t.kind === 'word' && t.text === 'type') {
    ts.next();
    const ct = ts.word('a chain type (filter, nat, route)');
    if (!(CHAIN_TYPES as readonly string[]).includes(ct.text)) throw ts.error(ct, 'a chain type (filter, nat, route)');
    ts.expectWord('hook');
    const ht = ts.word('a hook (prerouting, input, forward, output, postrouting)');
    if (!(HOOKS as readonly string[]).includes(ht.text)) throw ts.error(ht, 'a hook (prerouting, input, forward, output, postrouting)');
    ts.expectWord('priority');
    const priority = parsePriority(ts);
    spec.base = { type: ct.text as ChainType, hook: ht.text as Hook, priority, policy: 'accept' };
    return undefined;
  }
  if (t.kind === 'word' && t.text === 'policy') {
    ts.next();
    const p = ts.word('accept or drop');
    if (p.text !== 'accept' && p.text !== 'drop') throw ts.error(p, 'accept or drop');
    if (!spec.base && typeMayHaveFailed) throw new SkipStatement();
    if (!spec.base) throw ts.error(t, 'a policy only on a base chain (after type ... hook ... priority)');
    spec.base = { ...spec.base, policy: p.text };
    return undefined;
  }
  if (t.kind === 'word' && t.text === 'comment' && ts.peek(1).kind === 'string') {
    ts.next();
    spec.comment = ts.next().text;
    return undefined;
  }
  if (!rulesAllowed) throw ts.error(t, 'type, policy, comment or "}"');
  return parseRule(ts);
}

/** A number, a standard name, or `name +|- n` (also written `dstnat-10` or `dstnat - 10`). */
function parsePriority(ts: TokenStream): number {
  const t = ts.word('a priority (a number or raw, mangle, dstnat, filter, security, srcnat)');
  const m = /^(-?\d+)$/.exec(t.text);
  if (m) return Number(m[1]);
  const m2 = /^([a-z]+)([+-]\d+)?$/.exec(t.text);
  if (!m2 || !(m2[1] in PRIORITY_NAMES)) throw ts.error(t, 'a priority (a number or raw, mangle, dstnat, filter, security, srcnat)');
  let v = PRIORITY_NAMES[m2[1]];
  if (m2[2]) return v + Number(m2[2]);
  if (ts.isWord('+') || ts.isWord('-')) {
    const sign = ts.next().text === '-' ? -1 : 1;
    const nt = ts.word('a number');
    if (!/^\d+$/.test(nt.text)) throw ts.error(nt, 'a number');
    v += sign * Number(nt.text);
  }
  return v;
}

/** The block form: `table ip kube-proxy { comment "..." set ... map ... chain ... }`. */
function parseTableBlock(p: Parse, tableTok: Token, out: Command[]): void {
  const ts = p.ts;
  const ref = parseTableRef(ts);
  ts.expect('{', '"{" starting the table');
  const tableCmd: Command & { comment?: string } = { verb: 'add', object: 'table', ...ref, where: ts.at(tableTok) };
  out.push(tableCmd);
  // Rules may jump to chains defined later in the block: collect chains first, rules after.
  const block: TableBlock = { ref, tableCmd, chainCmds: [], ruleCmds: [], setCmds: [] };
  for (;;) {
    ts.skipNewlines();
    if (ts.accept('}')) break;
    const start = ts.pos;
    try {
      parseTableItem(p, block);
    } catch (e) {
      recover(p, e, start, true, true);
    }
  }
  out.push(...block.setCmds, ...block.chainCmds, ...block.ruleCmds);
}

interface TableBlock {
  readonly ref: TableRef;
  readonly tableCmd: Command & { comment?: string };
  readonly chainCmds: Command[];
  readonly ruleCmds: Command[];
  readonly setCmds: Command[];
}

/** One item of a table block: its comment or flags, a chain, a set or a map. */
function parseTableItem(p: Parse, block: TableBlock): void {
  const ts = p.ts;
  const ref = block.ref;
  const k = ts.word('comment, chain, set, map or "}"');
  switch (k.text) {
    case 'comment':
      (block.tableCmd as any).comment = ts.expect('string', 'a quoted comment').text;
      return;
    case 'flags':
      ts.word('table flags');
      return;
    case 'chain': {
      const name = ts.word('a chain name').text;
      ts.expect('{', '"{" starting the chain');
      const spec = parseChainBody(p, ref, name, block.ruleCmds, true);
      block.chainCmds.push({ verb: 'add', object: 'chain', ...ref, name, ...spec, where: ts.at(k) });
      return;
    }
    case 'set':
    case 'map': {
      const name = ts.word(`a ${k.text} name`).text;
      ts.expect('{', `"{" starting the ${k.text}`);
      block.setCmds.push({ verb: 'add', object: k.text, ...ref, name, ...parseSetBody(p, k.text), where: ts.at(k) });
      return;
    }
  }
  throw ts.error(k, 'comment, chain, set, map or "}"');
}

/** Parses the text of one rule (what follows `add rule FAMILY TABLE CHAIN`). */
export function parseRuleText(text: string, where = 'rule'): Rule {
  const ts = new TokenStream(tokenize(text, where), where);
  const rule = parseRule(ts);
  if (ts.peek().kind !== 'eof') throw ts.error(ts.peek(), 'the end of the rule');
  return rule;
}
