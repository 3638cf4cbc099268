import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { InputError } from '../io/input-error.ts';
import { compileRuleset, type CompiledRuleset } from './compile.ts';
import { applyIptablesRestore, parseIptablesSave } from './iptables-save.ts';
import { recompileRuleset } from './recompile.ts';
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
