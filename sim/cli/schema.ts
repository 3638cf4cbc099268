import type { Command } from 'commander';
import { scenarioJsonSchema } from '../scenario/schema.ts';

/**
 * `svcsim schema`: the JSON Schema of scenario files, generated from the zod schema (the single source
 * of truth), so editors complete and check scenarios:
 *   npx svcsim schema > scenario.schema.json
 * and start a scenario with `# yaml-language-server: $schema=./scenario.schema.json`.
 */
export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors: # yaml-language-server: $schema=...)')
    .action(() => {
      process.stdout.write(`${JSON.stringify({ title: 'svcsim scenario', ...scenarioJsonSchema() }, null, 2)}\n`);
    });
}
