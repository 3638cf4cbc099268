/**
 * Tokens of nft's input language (nft(8) "INPUT FILE FORMATS"; the grammar of nftables'
 * src/scanner.l and src/parser_bison.y), as far as `nft -f` transactions and `nft list ruleset`
 * output need: words, quoted strings, braces, commas, semicolons and newlines, each with its line
 * and column so every error can point at the place.
 *
 * nft's scanner is context sensitive (`.` is concatenation between spaces but part of an address or
 * a chain name such as `endpoint-X-ns1/svc1/tcp/p80__10.180.0.1/80`); kube-proxy and nft itself
 * always put spaces around the concatenation dot and the map colon, so a word is a run of
 * non-space characters other than `{ } , ; "`, and `.`/`:` alone are words of their own.
 */
import { InputError } from '../io/input-error.ts';

export type TokenKind = 'word' | 'string' | '{' | '}' | ',' | ';' | 'nl' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly line: number;
  readonly col: number;
}

const PUNCT = new Set(['{', '}', ',', ';']);

/** A problem at a place in the source, kept for reporting with others in source order. */
export interface LocatedError {
  readonly line: number;
  readonly col: number;
  readonly error: InputError;
}

/**
 * The tokens of `source`. An unterminated string throws, or, when `problems` is given, is recorded
 * there and taken to end at the end of its line (a string never spans lines, so the next line is
 * read as it would be with the string closed).
 */
export function tokenize(source: string, file: string, problems?: LocatedError[]): Token[] {
  const out: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let unterminatedLine = -1;
  let i = 0;
  const n = source.length;
  while (i < n) {
    const c = source[i];
    if (c === '\n') {
      out.push({ kind: 'nl', text: '\n', line, col: i - lineStart + 1 });
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    // A backslash before a newline continues the line (nft's scanner allows it).
    if (c === '\\' && source[i + 1] === '\n') {
      i += 2;
      line++;
      lineStart = i;
      continue;
    }
    if (c === '#') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    const col = i - lineStart + 1;
    if (PUNCT.has(c)) {
      out.push({ kind: c as TokenKind, text: c, line, col });
      i++;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      while (j < n && source[j] !== '"' && source[j] !== '\n') j++;
      if (j >= n || source[j] !== '"') {
        const error = new InputError(`${file}:${line}:${col}`, 'a closing " for this string', 'end of line');
        if (!problems) throw error;
        // A string broken by a newline leaves its second half unterminated too: one mistake.
        if (unterminatedLine !== line - 1) problems.push({ line, col, error });
        unterminatedLine = line;
      }
      out.push({ kind: 'string', text: source.slice(i + 1, j), line, col });
      i = j < n && source[j] === '"' ? j + 1 : j;
      continue;
    }
    let j = i;
    while (j < n) {
      const d = source[j];
      if (d === ' ' || d === '\t' || d === '\r' || d === '\n' || d === '"' || PUNCT.has(d)) break;
      j++;
    }
    out.push({ kind: 'word', text: source.slice(i, j), line, col });
    i = j;
  }
  out.push({ kind: 'eof', text: 'end of input', line, col: i - lineStart + 1 });
  return out;
}

/** A cursor over tokens with the helpers every parser here needs. */
export class TokenStream {
  pos = 0;
  /**
   * The token the last error() pointed at, and whether it was a missing brace or comma: after such
   * a mistake the nesting of the rest is unknown, so a parser cannot resume safely.
   */
  lastError: { token: Token; structural: boolean } | undefined;
  constructor(
    readonly tokens: readonly Token[],
    readonly file: string,
  ) {}

  peek(offset = 0): Token {
    return this.tokens[Math.min(this.pos + offset, this.tokens.length - 1)];
  }
  next(): Token {
    const t = this.tokens[this.pos];
    if (this.pos < this.tokens.length - 1) this.pos++;
    return t;
  }
  at(t: Token): string {
    return `${this.file}:${t.line}:${t.col}`;
  }
  describe(t: Token): string {
    if (t.kind === 'eof') return 'end of input';
    if (t.kind === 'nl') return 'end of line';
    if (t.kind === 'string') return JSON.stringify(t.text);
    return `"${t.text}"`;
  }
  error(t: Token, expected: string, hint?: string): InputError {
    this.lastError = { token: t, structural: false };
    return new InputError(this.at(t), expected, this.describe(t), hint);
  }
  isWord(text?: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'word' && (text === undefined || t.text === text);
  }
  word(expected: string): Token {
    const t = this.peek();
    if (t.kind !== 'word') throw this.error(t, expected);
    return this.next();
  }
  expectWord(text: string): Token {
    const t = this.peek();
    if (t.kind !== 'word' || t.text !== text) throw this.error(t, `"${text}"`);
    return this.next();
  }
  expect(kind: TokenKind, expected?: string): Token {
    const t = this.peek();
    if (t.kind !== kind) {
      const e = this.error(t, expected ?? `"${kind}"`);
      if (kind === '{' || kind === '}' || kind === ',') this.lastError!.structural = true;
      throw e;
    }
    return this.next();
  }
  accept(kind: TokenKind): boolean {
    if (this.peek().kind === kind) {
      this.next();
      return true;
    }
    return false;
  }
  acceptWord(text: string): boolean {
    if (this.isWord(text)) {
      this.next();
      return true;
    }
    return false;
  }
  skipNewlines(): void {
    while (this.peek().kind === 'nl' || this.peek().kind === ';') this.next();
  }
  /** End of a statement: a newline, a semicolon, a closing brace (left in place) or the end. */
  atStatementEnd(): boolean {
    const k = this.peek().kind;
    return k === 'nl' || k === ';' || k === '}' || k === 'eof';
  }
}
