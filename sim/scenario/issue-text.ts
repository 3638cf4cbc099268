/**
 * The schema's own error callbacks speak in the project's InputError terms (what was expected, a hint),
 * but zod carries only a message string per issue. This packs `expected` and `hint` into that string
 * so the loader can unpack them; a message without the marker is one of zod's own.
 */
const MARK = 'svcsim-issue:';

export interface IssueText {
  expected: string;
  hint?: string;
  /**
   * Set where a transform refuses one value on its own (a duration too long to represent): a
   * problem of that field, not of a relation between fields as other custom issues are.
   */
  value?: true;
}

export function issueText(t: IssueText): string {
  return MARK + JSON.stringify(t);
}

export function readIssueText(message: string): IssueText | undefined {
  if (!message.startsWith(MARK)) return undefined;
  return JSON.parse(message.slice(MARK.length)) as IssueText;
}
