import { InputErrorList, combineInputErrors, isInputError, type InputError } from './input-error.ts';

/**
 * Collects the independent mistakes of one phase of reading an input (every bad `--set`, every bad
 * sweep parameter, every bad object of a manifest stream), so the user sees them all at once. A phase
 * whose result a later phase needs ends with `throwIfAny()`: checking on past a broken input would
 * only report the consequences of its mistakes.
 */
export class Problems {
  private readonly list: InputError[] = [];

  get count(): number {
    return this.list.length;
  }

  /** Keeps `e`'s problems, each once (the points of a sweep can repeat the same mistake). */
  add(e: InputError): void {
    for (const p of problemsOf(e)) if (!this.list.some((q) => q.message === p.message)) this.list.push(p);
  }

  /** Runs `check`; an InputError it throws is kept and `undefined` returned; any other error propagates. */
  run<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (e) {
      if (!isInputError(e)) throw e;
      this.add(e);
      return undefined;
    }
  }

  /** Throws the problems collected so far as one InputError (one line each, in the order found). */
  throwIfAny(): void {
    if (this.list.length > 0) throw combineInputErrors(this.list);
  }
}

/** The single problems an InputError stands for (a list's own, else the error itself). */
export function problemsOf(e: InputError): readonly InputError[] {
  return e instanceof InputErrorList ? e.problems : [e];
}
