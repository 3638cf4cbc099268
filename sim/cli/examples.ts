import type { Command } from 'commander';

/**
 * The examples a subcommand's `--help` ends with. Each runs from the repository's root on the
 * example files it ships (scenarios/, test/golden/); sim/cli/examples.test.ts runs every one shown.
 * `exit` is the status it ends with when not 0 (compare's 1 on a regression); `needsRoot` marks one
 * the test cannot run (it measures the real kernel), shown all the same.
 */
export interface Example {
  /** What it does, one line, sentence case. */
  say: string;
  /** The command lines, in order (later ones may read what earlier ones wrote under out/). */
  run: string[];
  exit?: number;
  needsRoot?: boolean;
}

export const EXAMPLES_HEADING = 'Examples:';

export function formatExamples(examples: readonly Example[]): string {
  const out = ['', EXAMPLES_HEADING];
  for (const e of examples) {
    out.push(`  # ${e.say}${e.needsRoot ? ' (needs root)' : ''}`);
    e.run.forEach((line, i) => {
      const last = i === e.run.length - 1;
      out.push(`  $ ${line}${last && e.exit !== undefined ? `   # exit status ${e.exit}` : ''}`);
    });
  }
  return out.join('\n');
}

export function addExamples(command: Command, examples: readonly Example[]): Command {
  return command.addHelpText('after', formatExamples(examples));
}
