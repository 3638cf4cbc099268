import type { Command } from 'commander';
import { scenarioFileJsonSchema } from '../scenario/file-json-schema.ts';
import { addExamples } from './examples.ts';

/**
 * `svcsim schema`: the JSON Schema of scenario files, generated from the zod schema (the single source
 * of truth), so editors complete and check scenarios:
 *   npx svcsim schema > scenario.schema.json
 * and start a scenario with `# yaml-language-server: $schema=./scenario.schema.json`. The repository
 * commits that file (scenario.schema.json), which the studies point at; a test keeps it equal to this.
 */
export function registerSchema(program: Command): void {
  const command = program
    .command('schema')
    .description('Print the JSON Schema of scenario files (for editors: # yaml-language-server: $schema=...)')
    .action(() => {
      process.stdout.write(scenarioSchemaText());
    });
  addExamples(command, [{ say: 'Print the schema an editor validates scenario files with', run: ['svcsim schema'] }]);
}

/** The text `svcsim schema` prints (and scenario.schema.json holds). */
export function scenarioSchemaText(): string {
  return `${JSON.stringify(scenarioFileJsonSchema(), null, 2)}\n`;
}
