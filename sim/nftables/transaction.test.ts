import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, InputErrorList } from '../io/input-error.ts';
import { parseNft } from './parse.ts';

function messageOf(text: string): string {
  try {
    parseNft(text, 't.nft');
  } catch (e) {
    assert.ok(e instanceof InputError, String(e));
    return e.message;
  }
  assert.fail('expected an InputError');
}

test('every failing command is reported, but not the ones that fail only because of an earlier one', () => {
  const text = [
    'add table ip t',
    'add rule ip t c drop', // no chain c
    'add rule ip t c accept', // the same missing chain: not again
    'add rule ip u c drop', // no table u
    'add rule ip u d drop', // the same missing table: not again
    'add chain ip t e',
    'add rule ip t e drop',
    'add rule ip t x drop', // no chain x
  ].join('\n');
  assert.equal(
    messageOf(text),
    [
      't.nft:2:1: expected an existing chain c, found no such chain (add the chain before its rules)',
      't.nft:4:1: expected an existing table ip u, found no such table (add the table first)',
      't.nft:8:1: expected an existing chain x, found no such chain (add the chain before its rules)',
    ].join('\n'),
  );
});

test('each missing jump target or set is reported once, however many rules name it', () => {
  const text = [
    'add table ip t',
    'add chain ip t c',
    'add rule ip t c jump nowhere',
    'add rule ip t c jump nowhere',
    'add rule ip t c ip daddr @nosuch drop',
    'add rule ip t c goto elsewhere',
  ].join('\n');
  assert.equal(
    messageOf(text),
    [
      't.nft:3:1: expected an existing chain "nowhere" to jump to, found no such chain',
      't.nft:3:1: expected an existing set or map "nosuch", found no such set',
      't.nft:3:1: expected an existing chain "elsewhere" to jump to, found no such chain',
    ].join('\n'),
  );
});

test('references are not checked after a failed command (they may name what it failed to add)', () => {
  let err: unknown;
  try {
    parseNft('add table ip t\nadd set ip t s\nadd chain ip t c\nadd rule ip t c ip daddr @s drop\n', 't.nft');
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof InputError && !(err instanceof InputErrorList));
  assert.equal(err.message, 't.nft:2:1: expected a type for the new set s, found none');
});
