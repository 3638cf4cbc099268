#!/usr/bin/env -S npx tsx
/**
 * The `svcsim` command. Each subcommand lives in sim/cli/<name>.ts and registers itself on the
 * program; this file only wires them and turns a user's mistake (InputError, or a commander usage
 * error) into one message and exit status 2, with no stack trace.
 */
import { Command, CommanderError } from 'commander';
import { isInputError } from './io/input-error.ts';
import { registerCalibrate } from './cli/calibrate.ts';
import { registerCompare } from './cli/compare.ts';
import { registerDns } from './cli/dns.ts';
import { registerEndpoints } from './cli/endpoints.ts';
import { registerJob } from './cli/job.ts';
import { registerMerge } from './cli/merge.ts';
import { registerRender } from './cli/render.ts';
import { registerScenario } from './cli/scenario.ts';
import { registerTrace } from './cli/trace.ts';
import { registerSchema } from './cli/schema.ts';
import { svcsimVersion } from './scenario/report-input.ts';

export function buildProgram(): Command {
  const program = new Command('svcsim')
    .description('Deterministic discrete-event simulator of Kubernetes Service networking')
    // commander's convention: -V, --version prints the version (package.json's, as reports record it).
    .version(svcsimVersion(), '-V, --version', 'print the svcsim version')
    .helpCommand('help [command]', 'Print the help of a command')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCalibrate(program);
  registerCompare(program);
  registerDns(program);
  registerEndpoints(program);
  registerJob(program);
  registerMerge(program);
  registerRender(program);
  registerScenario(program);
  registerTrace(program);
  registerSchema(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has already printed its message (usage errors) or the help text.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2;
    }
    if (isInputError(e)) {
      process.stderr.write(`svcsim: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('sim/cli.ts')) {
  // process.exit drops what a pipe has not taken yet (stdout to a pipe is asynchronous: `svcsim
  // schema | jq` got the first 64 KiB), so exit once both streams have flushed what was written.
  const exit = (code: number) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  main(process.argv.slice(2)).then(exit, (e) => {
    process.stderr.write(`svcsim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    exit(1);
  });
}
