/**
 * The words of one iptables-restore line: splitting it as iptables-restore does, and quoting a word
 * back the way iptables-save prints it.
 */
import { InputError } from '../io/input-error.ts';

export interface Tokens {
  words: string[];
  /** 1-based column of each word in its line. */
  cols: number[];
}

/**
 * Splits a line as iptables-restore does (add_param_to_argv in iptables/xshared.c): whitespace
 * separates words, double quotes group, and inside quotes a backslash escapes the next character.
 * `where(col)` names a position for errors.
 */
export function tokenize(line: string, where: (col: number) => string): Tokens {
  const words: string[] = [];
  const cols: number[] = [];
  const n = line.length;
  let i = 0;
  while (i < n) {
    const ch = line.charCodeAt(i);
    if (ch === 32 || ch === 9 || ch === 13) {
      i++;
      continue;
    }
    const start = i;
    // Fast path: a bare word (the vast majority) is one slice.
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === 32 || c === 9 || c === 13 || c === 34) break;
      i++;
    }
    if (i >= n || line.charCodeAt(i) !== 34) {
      words.push(line.slice(start, i));
      cols.push(start + 1);
      continue;
    }
    // The word contains quotes: assemble it character by character.
    let word = line.slice(start, i);
    let quoted = false;
    let openAt = -1;
    while (i < n) {
      const c = line[i]!;
      if (quoted) {
        if (c === '\\' && i + 1 < n) {
          word += line[i + 1];
          i += 2;
        } else if (c === '"') {
          quoted = false;
          i++;
        } else {
          word += c;
          i++;
        }
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r') break;
      if (c === '"') {
        quoted = true;
        openAt = i;
      } else word += c;
      i++;
    }
    if (quoted) throw new InputError(where(openAt + 1), 'a closing double quote', 'end of line');
    words.push(word);
    cols.push(start + 1);
  }
  return { words, cols };
}

/** Quotes a word as iptables-save does (xtables_save_string): bare if only [A-Za-z0-9_-], else "..." with \ before " \ '. */
export function saveString(s: string): string {
  if (s.length > 0 && /^[A-Za-z0-9_-]+$/.test(s)) return s;
  return '"' + s.replace(/["\\']/g, (m) => '\\' + m) + '"';
}
