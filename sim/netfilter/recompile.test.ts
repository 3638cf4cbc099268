import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../io/input-error.ts';
import { compileRuleset, type CompiledRuleset } from './compile.ts';
import { applyIptablesRestore, parseIptablesSave } from './iptables-save.ts';
import { recompileRuleset, replaceChains } from './recompile.ts';
import { TABLE_NAMES, type Ruleset } from './ruleset.ts';

/** A nat table: PREROUTING jumps to SERVICES, which jumps to one SVC chain per service, each to its SEP chains. */
function natText(services: readonly number[]): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':SERVICES - [0:0]'];
  services.forEach((eps, s) => {
    lines.push(`:SVC-${s} - [0:0]`);
    for (let e = 0; e < eps; e++) lines.push(`:SEP-${s}-${e} - [0:0]`);
  });
  lines.push('-A PREROUTING -j SERVICES', '-A OUTPUT -j SERVICES');
  services.forEach((eps, s) => {
    lines.push(`-A SERVICES -d 10.96.0.${s + 1}/32 -p tcp --dport 80 -j SVC-${s}`);
    for (let e = 0; e < eps; e++) {
      lines.push(`-A SVC-${s} -j SEP-${s}-${e}`);
      lines.push(`-A SEP-${s}-${e} -p tcp -j DNAT --to-destination 10.244.${s}.${e + 2}:8080`);
    }
  });
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** What compileRuleset and recompileRuleset must agree on: per table, chain by chain, its Chain, index and targets. */
function shape(c: CompiledRuleset) {
  return TABLE_NAMES.flatMap((t) => {
    const table = c.tables[t];
    if (!table) return [];
    return [...table.chains].map(([name, ch]) => ({ t, name, chain: ch.chain, index: ch.index, targets: ch.jumpTargets.map((j) => j.chain.name), hooks: Object.keys(table.hooks) }));
  });
}

test('recompiling after a change gives what compiling anew gives, and reuses the untouched chains', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 12 }), fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 12 }), (before, after) => {
      const first = parseIptablesSave(natText(before)).ruleset;
      const prev = compileRuleset(first);
      // A --noflush restore that rewrites SERVICES and the changed services' chains (0: unchanged).
      const next = before.map((n, s) => (after[s] ? after[s]! : n));
      const changed = next.map((n, s) => n !== before[s]);
      const text = natText(next)
        .split('\n')
        .filter((l) => !/^:(PREROUTING|OUTPUT) /.test(l) && !/^-A (PREROUTING|OUTPUT) /.test(l))
        .filter((l) => {
          const m = /(?:^:|^-A )(SVC|SEP)-(\d+)/.exec(l);
          return m === null || changed[Number(m[2])];
        })
        .join('\n');
      const rs = applyIptablesRestore(first, text, { noflush: true }).ruleset;
      const again = recompileRuleset(prev, rs);
      assert.deepEqual(shape(again), shape(compileRuleset(rs)));
      // Every service chain the restore did not touch keeps its compiled chain.
      before.forEach((_, s) => {
        if (!changed[s]) assert.equal(again.tables.nat!.chains.get(`SVC-${s}`), prev.tables.nat!.chains.get(`SVC-${s}`), `SVC-${s}`);
      });
      assert.notEqual(again.tables.nat!.chains.get('SERVICES'), prev.tables.nat!.chains.get('SERVICES'));
    }),
    { numRuns: 60 },
  );
});

test('a rule set recompilation cannot vouch for is compiled anew, with compileRuleset\'s errors', () => {
  const prev = compileRuleset(parseIptablesSave(natText([1, 1])).ruleset);
  // iptables-restore refuses these itself, so they are built by hand: SEP-0-0 jumping back to SVC-0, then to OUTPUT.
  const withRule = (target: string): Ruleset => {
    const nat = prev.source.tables.get('nat')!;
    const toSvc = nat.chains.get('SERVICES')!.rules[0]!;
    const sep = nat.chains.get('SEP-0-0')!;
    const chains = new Map(nat.chains);
    chains.set('SEP-0-0', { ...sep, rules: [{ ...toSvc, target: { kind: 'jump', chain: target } }, ...sep.rules] });
    return { tables: new Map([['nat', { ...nat, chains }]]) };
  };
  assert.throws(() => recompileRuleset(prev, withRule('SVC-0')), (e: unknown) => e instanceof InputError && /loops/.test(e.message));
  assert.throws(() => recompileRuleset(prev, withRule('OUTPUT')), (e: unknown) => e instanceof InputError && /user-defined/.test(e.message));
  assert.throws(() => recompileRuleset(prev, withRule('NOWHERE')), (e: unknown) => e instanceof InputError && /existing chain/.test(e.message));
  assert.deepEqual(shape(recompileRuleset(null, prev.source)), shape(compileRuleset(prev.source)));
});

test('a restore given the compiled base checks by recompiling, and hands back the compiled set', () => {
  const first = parseIptablesSave(natText([2, 1, 3])).ruleset;
  const prev = compileRuleset(first);
  const text = '*nat\n:SERVICES - [0:0]\n:SVC-1 - [0:0]\n-A SERVICES -d 10.96.0.2/32 -p tcp --dport 80 -j SVC-1\n-A SVC-1 -j SEP-1-0\nCOMMIT\n';
  const loaded = applyIptablesRestore(first, text, { noflush: true, compiledBase: prev });
  assert.deepEqual(shape(loaded.compiled!), shape(compileRuleset(loaded.ruleset)));
  assert.equal(loaded.compiled!.tables.nat!.chains.get('SVC-2'), prev.tables.nat!.chains.get('SVC-2'));
  assert.equal(applyIptablesRestore(first, text, { noflush: true }).compiled, undefined);
  // Its checks still refuse what the kernel refuses: here a jump to a chain that does not exist.
  assert.throws(() => applyIptablesRestore(first, '*nat\n-A SEP-0-0 -j NOWHERE\nCOMMIT\n', { noflush: true, compiledBase: prev }), (e: unknown) => e instanceof InputError);
});

test('replacing a chain by a reordering of its rules compiles what compiling anew would, sharing the rest', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 12 }), fc.nat(), (services, seed) => {
      const base = compileRuleset(parseIptablesSave(natText(services)).ruleset);
      const chain = base.source.tables.get('nat')!.chains.get('SERVICES')!;
      // A rotation of SERVICES' rules: the same targets in another order.
      const k = seed % chain.rules.length;
      const rotated = { ...chain, rules: [...chain.rules.slice(k), ...chain.rules.slice(0, k)] };
      const swapped = replaceChains(base, [{ table: 'nat', chain: rotated }]);
      const nat = base.source.tables.get('nat')!;
      const full = compileRuleset({ tables: new Map([['nat', { ...nat, chains: new Map(nat.chains).set('SERVICES', rotated) }]]) });
      assert.deepEqual(shape(swapped), shape(full));
      assert.deepEqual([...swapped.source.tables.get('nat')!.chains.keys()], [...nat.chains.keys()]);
      services.forEach((_, s) => assert.equal(swapped.tables.nat!.chains.get(`SVC-${s}`), base.tables.nat!.chains.get(`SVC-${s}`)));
      assert.notEqual(swapped.tables.nat!.hooks.PREROUTING, base.tables.nat!.hooks.PREROUTING, 'the chain above it is compiled again');
    }),
    { numRuns: 40 },
  );
});

test('a replacement that jumps somewhere new is compiled in full, with its errors', () => {
  const base = compileRuleset(parseIptablesSave(natText([1, 1])).ruleset);
  const sep = base.source.tables.get('nat')!.chains.get('SEP-0-0')!;
  const toSvc = base.source.tables.get('nat')!.chains.get('SERVICES')!.rules[0]!;
  const loop = { ...sep, rules: [{ ...toSvc, target: { kind: 'jump' as const, chain: 'SVC-0' } }] };
  assert.throws(() => replaceChains(base, [{ table: 'nat', chain: loop }]), (e: unknown) => e instanceof InputError && /loops/.test(e.message));
  const elsewhere = { ...sep, rules: [{ ...toSvc, target: { kind: 'jump' as const, chain: 'SEP-1-0' } }] };
  const swapped = replaceChains(base, [{ table: 'nat', chain: elsewhere }]);
  assert.deepEqual(swapped.tables.nat!.chains.get('SEP-0-0')!.jumpTargets.map((c) => c.chain.name), ['SEP-1-0']);
});
