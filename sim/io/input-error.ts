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
