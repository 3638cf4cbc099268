import { InputError } from './input-error.ts';

/**
 * How a message shows text a user gave us (a line of a dump, a value, the start of a file that is
 * not text): quoted, printable ASCII only, and short. Every input's text echoed as an InputError's
 * `found` goes through here, so a binary file or a pasted escape sequence never reaches the
 * terminal byte for byte.
 */

/** Longest excerpt, in characters of the escaped form, before it is cut with `...`. */
export const EXCERPT_MAX = 60;

/** A character a terminal shows as itself: a letter, mark, digit, punctuation, symbol or space (µ, é, →). */
const VISIBLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u;

/** Escaped form of one character of decoded text: visible non-ASCII kept, so `100µs` reads as written. */
function escapeChar(ch: string): string {
  const c = ch.codePointAt(0)!;
  return c > 0x7e && c !== 0xfffd && VISIBLE.test(ch) ? ch : escapeUnit(c);
}

function escapeUnit(c: number): string {
  if (c === 0x5c) return '\\\\';
  if (c === 0x22) return '\\"';
  if (c >= 0x20 && c <= 0x7e) return String.fromCharCode(c);
  if (c === 0x0a) return '\\n';
  if (c === 0x09) return '\\t';
  if (c === 0x0d) return '\\r';
  if (c <= 0xff) return `\\x${c.toString(16).padStart(2, '0')}`;
  return `\\u{${c.toString(16)}}`;
}

/**
 * `"iptables-save v1.8\x00\x01..."`: `input` (text, or raw bytes read from a file) in double quotes,
 * printable ASCII kept, `"` and `\` escaped, \n \t \r as themselves; of raw bytes, every other byte
 * as \xNN; of text, visible characters (µ, é) kept and control, format and separator characters,
 * lone surrogates and U+FFFD escaped as \xNN or \u{N}; cut after `max` characters with `...`.
 */
export function quoteInput(input: string | Uint8Array, max = EXCERPT_MAX): string {
  const escaped: Iterable<string> =
    typeof input === 'string' ? [...input].map(escapeChar) : Array.from(input, (c) => escapeUnit(c));
  let body = '';
  let cut = false;
  for (const e of escaped) {
    if (body.length + e.length > max) {
      cut = true;
      break;
    }
    body += e;
  }
  return `"${body}"${cut ? '...' : ''}`;
}

/**
 * A message from a parser (JSON.parse's, the YAML library's) that quotes the input itself: every
 * character outside printable ASCII escaped as quoteInput does, so its excerpt of the input (V8's
 * `"\x01..." is not valid JSON`) cannot carry a control character or a line break into ours.
 */
export function printableMessage(message: string): string {
  let out = '';
  for (const ch of message) {
    const c = ch.codePointAt(0)!;
    out += c === 0x5c || c === 0x22 ? ch : escapeChar(ch);
  }
  return out;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** C0 controls other than tab, newline, carriage return and form feed; DEL; C1 controls. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]/;

/**
 * The text of a file a user named, or an InputError when it is not text: bytes that are not UTF-8
 * or hold a NUL (a binary file, `found binary data "\x7fELF..."`), or a control character in
 * otherwise good text (terminal colours pasted into a dump: named by line and column). `file` names
 * the file in the message; `expected` says what it should have been ("an iptables-save dump").
 */
export function textOf(file: string, bytes: Uint8Array, expected: string): string {
  let text: string | undefined;
  if (!bytes.includes(0)) {
    try {
      text = decoder.decode(bytes);
    } catch {
      text = undefined;
    }
  }
  if (text === undefined) throw new InputError(file, `${expected} (a text file)`, `binary data ${quoteInput(bytes.subarray(0, 2 * EXCERPT_MAX))}`);
  const m = CONTROL.exec(text);
  if (m) {
    const before = text.slice(0, m.index);
    const line = before.split('\n').length;
    const lineStart = before.lastIndexOf('\n') + 1;
    const lineEnd = text.indexOf('\n', m.index);
    const col = m.index - lineStart + 1;
    const from = Math.max(lineStart, m.index - 20);
    throw new InputError(
      `${file}:${line}:${col}`,
      `${expected} (text without control characters)`,
      `${quoteInput(m[0])} in ${from > lineStart ? '...' : ''}${quoteInput(text.slice(from, lineEnd < 0 ? undefined : lineEnd))}`,
    );
  }
  // A UTF-8 byte order mark is text; the parsers take what follows it.
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
