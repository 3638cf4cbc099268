#!/usr/bin/env -S npx tsx
/**
 * The `svcsim` command. Each subcommand lives in sim/cli/<name>.ts and registers itself on the
 * program; this file lists them (SUBCOMMANDS), loads only the one a command line names, and turns a
 * user's mistake (InputError, or a commander usage error) into one message and exit status 2, with
 * no stack trace.
 *
 * Why lazily: a subcommand's module pulls in everything it uses (the scenario runner, vega and
 * resvg for charts, the rule generators), and loading all of them cost most of a second at every
 * call, `svcsim trace` included (issue 24). `svcsim --help` lists every command from the table
 * alone, without loading any of them.
 */
import { Command, CommanderError, Help } from 'commander';
import { isInputError } from './io/input-error.ts';
import { svcsimVersion } from './scenario/version.ts';

/** What registers a subcommand on the program: its name, options, help text and action. */
export type RegisterCommand = (program: Command) => void;

/**
 * One subcommand. `usage` and `description` are what `svcsim --help` lists before the module is
 * loaded; they must read as the module's own command does (sim/cli.test.ts checks every entry).
 */
export interface Subcommand {
  name: string;
  /** The listing's words after the name: `[options]` when it has options, then its arguments. */
  usage: string;
  description: string;
  load: () => Promise<RegisterCommand>;
}

/** Every subcommand, in the order `svcsim --help` lists them. Adding a command is one entry. */
export const SUBCOMMANDS: readonly Subcommand[] = [
  { name: 'calibrate', usage: '[options]', description: "Measure this host's kernel (as root, in network namespaces) and fit the CostModel", load: async () => (await import('./cli/calibrate.ts')).registerCalibrate },
  { name: 'compare', usage: '[options] <baseline> <current>', description: 'Compare two summary.json files and print the metrics that changed; exit 1 on a significant regression larger than the threshold', load: async () => (await import('./cli/compare.ts')).registerCompare },
  { name: 'dns', usage: '[options]', description: "Print a pod's resolv.conf and every query its resolver sends to look a name up, with the answers and the outcome", load: async () => (await import('./cli/dns.ts')).registerDns },
  { name: 'endpoints', usage: '[options]', description: 'Print the EndpointSlices the controller would write for the Services and Pods in the manifests, or explain one Service', load: async () => (await import('./cli/endpoints.ts')).registerEndpoints },
  { name: 'render', usage: '[options]', description: "Print what one node's kube-proxy would program for the Services and EndpointSlices in the manifests", load: async () => (await import('./cli/render.ts')).registerRender },
  { name: 'scenario', usage: '[options] [files...]', description: 'Run scenario files (default: scenarios/quickstart.yaml) and write CSV, charts and a report for each', load: async () => (await import('./cli/scenario.ts')).registerScenario },
  { name: 'trace', usage: '[options]', description: "Trace one packet through a node's rules, as the kernel's TRACE target logs it, with the verdict, NAT and simulated cost", load: async () => (await import('./cli/trace.ts')).registerTrace },
  { name: 'schema', usage: '', description: 'Print the JSON Schema of scenario files (for editors: # yaml-language-server: $schema=...)', load: async () => (await import('./cli/schema.ts')).registerSchema },
  { name: 'why', usage: '[options]', description: 'Walk the path from a pod or a node to a Service step by step (DNS, Service port, EndpointSlices, node rules, endpoint) and name the first break', load: async () => (await import('./cli/why.ts')).registerWhy },
  { name: 'merge', usage: '[options] <dirs...>', description: 'Join the shard folders of a study (svcsim scenario --shard I/N) into the run folder one unsharded run writes', load: async () => (await import('./cli/merge.ts')).registerMerge },
  { name: 'job', usage: '[options] <file>', description: 'Print Kubernetes manifests that run a study as an Indexed Job of shards and merge them', load: async () => (await import('./cli/job.ts')).registerJob },
];

/**
 * The subcommand a command line runs, as commander picks it: the first word that is not an option
 * (svcsim's own options, -V and -h, take no value), or for `help NAME` the command NAME.
 */
export function selectedSubcommand(argv: readonly string[]): Subcommand | undefined {
  const words = argv.filter((a) => !a.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return SUBCOMMANDS.find((s) => s.name === name);
}

/**
 * The program with each subcommand in `loaded` registered by its own module and every other one as
 * a placeholder that carries its name and description only (for the listing of `svcsim --help`).
 */
function programWith(loaded: ReadonlyMap<string, RegisterCommand>): Command {
  const listed = new Map<Command, string>();
  const program = new Command('svcsim')
    .description('Deterministic discrete-event simulator of Kubernetes Service networking')
    // commander's convention: -V, --version prints the version (package.json's, as reports record it).
    .version(svcsimVersion(), '-V, --version', 'print the svcsim version')
    .helpCommand('help [command]', 'Print the help of a command')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({
      subcommandTerm(cmd: Command): string {
        return listed.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    })
    .exitOverride();
  for (const s of SUBCOMMANDS) {
    const register = loaded.get(s.name);
    if (register) {
      register(program);
      continue;
    }
    const placeholder = program.command(s.name).description(s.description);
    listed.set(placeholder, s.usage ? `${s.name} ${s.usage}` : s.name);
  }
  return program;
}

/** The program as `svcsim --help` lists it, loading no subcommand. */
export function buildProgram(): Command {
  return programWith(new Map());
}

/** The program a command line runs: the subcommand it names loaded, the others listed. */
export async function loadProgram(argv: readonly string[]): Promise<Command> {
  const s = selectedSubcommand(argv);
  return programWith(new Map(s ? [[s.name, await s.load()]] : []));
}

/** The program with every subcommand's module loaded (tests compare it with the listing). */
export async function loadAllSubcommands(): Promise<Command> {
  return programWith(new Map(await Promise.all(SUBCOMMANDS.map(async (s) => [s.name, await s.load()] as const))));
}

export async function main(argv: string[]): Promise<number> {
  const program = await loadProgram(argv);
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

/** Runs a command line and exits with its status: what `svcsim` (bin/svcsim.js) does. */
export function runCommandLine(argv: string[]): void {
  // process.exit drops what a pipe has not taken yet (stdout to a pipe is asynchronous: `svcsim
  // schema | jq` got the first 64 KiB), so exit once both streams have flushed what was written.
  const exit = (code: number) => process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  main(argv).then(exit, (e) => {
    process.stderr.write(`svcsim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    exit(1);
  });
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('sim/cli.ts')) {
  runCommandLine(process.argv.slice(2));
}
