/**
 * Error recovery for the nft parser: where to resume after a bad statement so that one run reports
 * every independent mistake of an input, and where to stop because what follows could only give
 * follow-on errors. nft reports up to ten errors of a file the same way (its bison grammar resumes
 * at the next statement separator; libnftables parser_max_errors).
 */
import { InputError } from '../io/input-error.ts';
import type { LocatedError, Token, TokenStream } from './lexer.ts';

/** nft gives up after this many errors in one input (libnftables parser_max_errors). */
export const MAX_PROBLEMS = 10;

/** The recovery state of one parse. */
export interface Recovery {
  readonly ts: TokenStream;
  /** Problems found so far (lexical ones excluded), in source order. */
  readonly problems: LocatedError[];
  /** Where parsing resumed after the last bad statement. */
  resumedAt?: number;
}

/** Ends the parse: the problems found so far are reported, and no more are looked for. */
export class StopParsing extends Error {}

/** Skips a statement without reporting it: its error would repeat an earlier problem. */
export class SkipStatement extends Error {}

/**
 * Records the error `e` of the statement that began at token `start` and moves past the statement,
 * or throws StopParsing where resuming would be unsound because the statement's extent is in doubt:
 * the error is at a brace, comma, ";" or line end (a stray newline, a missing or extra brace); the
 * statement's first word is wrong and it spans lines, or sits in a block of keyword-led lines, or
 * belongs to another kind of block; or its end is a "}" with more of the line after it. An error
 * that leaves the extent in doubt is reported only when it is the first: after an earlier one it
 * may be that one's consequence. `inBlock`: the statement is inside braces, so a "}" at its own
 * level closes the enclosing block and ends it. `keywordItems`: every line of the block starts
 * with a keyword (a table or set block).
 */
export function recover(p: Recovery, e: unknown, start: number, inBlock: boolean, keywordItems = false): void {
  if (e instanceof StopParsing) throw e;
  if (!(e instanceof InputError) && !(e instanceof SkipStatement)) throw e;
  const ts = p.ts;
  const skip = e instanceof SkipStatement;
  const at = (skip ? undefined : ts.lastError?.token) ?? ts.tokens[start];
  const structural = !skip && ts.lastError?.structural === true;
  ts.lastError = undefined;
  const first = !skip && at === ts.tokens[start];
  const end = statementEnd(ts.tokens, start, inBlock);
  const lost =
    structural ||
    (at.kind !== 'word' && at.kind !== 'string') ||
    end === undefined ||
    closesMidLine(ts.tokens, end.index) ||
    (first && (end.multiLine || keywordItems || (inBlock && MISPLACED_WORDS.has(at.text))));
  // A statement that is wrong from its first word, right after a bad one, is most likely the rest
  // of that one (split by a stray newline, or a file that is not nft's at all): not reported.
  const continuation = first && p.resumedAt !== undefined && onlySeparators(ts.tokens, p.resumedAt, start);
  if (e instanceof InputError && !continuation && !(lost && p.problems.length > 0)) p.problems.push({ line: at.line, col: at.col, error: e });
  if (lost || p.problems.length >= MAX_PROBLEMS) throw new StopParsing();
  ts.pos = end.index;
  p.resumedAt = end.index;
}

/** Words that begin a command, or a line of another kind of block: where a block's line should begin, they suggest a missing "}". */
const MISPLACED_WORDS = new Set(['add', 'create', 'flush', 'delete', 'table', 'chain', 'set', 'map', 'elements', 'typeof', 'flags', 'timeout', 'size']);

/** A "}" with more of its line after it: more likely a stray brace than the end of the block. */
function closesMidLine(tokens: readonly Token[], i: number): boolean {
  if (tokens[i].kind !== '}') return false;
  const next = tokens[i + 1]?.kind;
  return next !== undefined && next !== 'nl' && next !== ';' && next !== '}' && next !== 'eof';
}

function onlySeparators(tokens: readonly Token[], from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (tokens[i].kind !== 'nl' && tokens[i].kind !== ';') return false;
  return true;
}

/**
 * The token ending the statement that begins at `start`: the first newline outside braces opened
 * within it, or in a block a ";" at its level or a "}" closing the block; undefined when the input
 * ends inside braces. `multiLine`: it crosses a newline inside braces. At the top level a command
 * ends at its line's end only: a ";" there is more likely a mistake inside the command.
 */
function statementEnd(tokens: readonly Token[], start: number, inBlock: boolean): { index: number; multiLine: boolean } | undefined {
  let depth = 0;
  let multiLine = false;
  for (let i = start; i < tokens.length; i++) {
    switch (tokens[i].kind) {
      case '{':
        depth++;
        break;
      case '}':
        if (depth > 0) depth--;
        else if (inBlock) return { index: i, multiLine };
        break;
      case 'nl':
        if (depth === 0) return { index: i, multiLine };
        multiLine = true;
        break;
      case ';':
        if (depth === 0 && inBlock) return { index: i, multiLine };
        break;
      case 'eof':
        return depth === 0 ? { index: i, multiLine } : undefined;
    }
  }
  return undefined;
}
