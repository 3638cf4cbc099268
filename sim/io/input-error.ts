/**
 * A mistake in something a user gave us: a scenario file, a manifest, a rules dump, a flag.
 * The CLI prints `message` alone (no stack trace) and exits with status 2.
 *
 * `where` names the place: a file with line and column, or a field path. `expected` and `found`
 * say what should have been there and what was. The message is composed from these so that every
 * input error in the project reads the same way.
 */
export class InputError extends Error {
  readonly exitCode = 2;
  constructor(
    readonly where: string,
    readonly expected: string,
    readonly found?: string,
    readonly hint?: string,
  ) {
    super(
      `${where}: expected ${expected}` +
        (found !== undefined ? `, found ${found}` : '') +
        (hint ? ` (${hint})` : ''),
    );
    this.name = 'InputError';
  }
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}

/**
 * Several independent mistakes in one input, reported together as tsc and ajv (allErrors) do: a
 * user fixes them in one pass instead of one run per mistake. The message has one line per problem,
 * in the order given (most likely cause first); `where`, `expected`, `found` and `hint` are the
 * first problem's.
 */
export class InputErrorList extends InputError {
  constructor(readonly problems: readonly InputError[]) {
    const first = problems[0];
    if (first === undefined) throw new RangeError('InputErrorList needs at least one problem');
    super(first.where, first.expected, first.found, first.hint);
    this.message = problems.map((p) => p.message).join('\n');
  }
}

/** The one error to throw for `problems`: the problem itself when there is one, else a list. */
export function combineInputErrors(problems: readonly InputError[]): InputError {
  return problems.length === 1 ? problems[0]! : new InputErrorList(problems);
}
