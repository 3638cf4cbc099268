import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Help } from 'commander';
import { SUBCOMMANDS, buildProgram, loadAllSubcommands, loadProgram, selectedSubcommand } from './cli.ts';

// The table is what `svcsim --help` lists without loading a module; the modules are what runs.

test('each SUBCOMMANDS entry lists its command as the command its module registers', async () => {
  const loaded = await loadAllSubcommands();
  const help = new Help();
  for (const s of SUBCOMMANDS) {
    const real = loaded.commands.find((c) => c.name() === s.name);
    assert.ok(real, `${s.name}: its module registers no command of that name`);
    assert.equal(s.description, real.description(), `${s.name}: description`);
    assert.equal(s.usage ? `${s.name} ${s.usage}` : s.name, help.subcommandTerm(real), `${s.name}: usage`);
  }
  assert.deepEqual(loaded.commands.map((c) => c.name()).filter((n) => n !== 'help'), SUBCOMMANDS.map((s) => s.name));
});

test('`svcsim --help` from the table is byte for byte the help of the program with every module loaded', async () => {
  assert.equal(buildProgram().helpInformation(), (await loadAllSubcommands()).helpInformation());
});

test('the command a command line runs is the first word that is not an option, or the word after help', () => {
  const name = (argv: string[]) => selectedSubcommand(argv)?.name;
  assert.equal(name(['trace', '--rules', 'x', '--packet', 'tcp 1.2.3.4:1 > 5.6.7.8:80']), 'trace');
  assert.equal(name(['help', 'render']), 'render');
  assert.equal(name(['--help', 'dns']), 'dns');
  assert.equal(name(['scenario', '--quick']), 'scenario');
  for (const argv of [[], ['--help'], ['-V'], ['help'], ['no-such-command'], ['help', 'no-such-command']]) {
    assert.equal(name(argv), undefined, JSON.stringify(argv));
  }
});

test('loadProgram registers the named command from its module and only lists the others', async () => {
  const program = await loadProgram(['trace', '--help']);
  const options = (n: string) => program.commands.find((c) => c.name() === n)!.options.length;
  assert.ok(options('trace') > 5, 'trace has its options');
  for (const s of SUBCOMMANDS.filter((s) => s.name !== 'trace')) assert.equal(options(s.name), 0, `${s.name} is listed only`);
});
