import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError } from './input-error.ts';
import { EXCERPT_MAX, quoteInput, textOf } from './excerpt.ts';

test('quoteInput: printable text kept, controls and raw bytes escaped, cut at EXCERPT_MAX with ...', () => {
  assert.equal(quoteInput('five'), '"five"');
  assert.equal(quoteInput('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(quoteInput('\x1b[31mred\x00\tx\n'), '"\\x1b[31mred\\x00\\tx\\n"');
  assert.equal(quoteInput('100µs ✓'), '"100µs ✓"', 'visible characters of text read as written');
  assert.equal(quoteInput('a\u200eb\u2028c\ufffd\ud800'), '"a\\u{200e}b\\u{2028}c\\u{fffd}\\u{d800}"', 'format, separator, replacement and lone surrogate escaped');
  assert.equal(quoteInput('\x85\x9b'), '"\\x85\\x9b"', 'C1 controls escaped');
  assert.equal(quoteInput(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0xff])), '"\\x7fELF\\x02\\xff"');
  const long = quoteInput('x'.repeat(500));
  assert.equal(long, `"${'x'.repeat(EXCERPT_MAX)}"...`);
  // An escape is never split by the cut.
  assert.equal(quoteInput('\x00'.repeat(100)), `"${'\\x00'.repeat(EXCERPT_MAX / 4)}"...`);
});

test('textOf: text passes; binary data and control characters are refused with an escaped excerpt', () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(textOf('f', enc('*filter\n-A X\tY\r\nCOMMIT\n'), 'a dump'), '*filter\n-A X\tY\r\nCOMMIT\n');
  assert.equal(textOf('f', enc('\ufeffname: x\n'), 'a dump'), 'name: x\n');
  assert.throws(
    () => textOf('a.out', new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00]), 'an iptables-save dump'),
    (e: unknown) => e instanceof InputError && e.message === 'a.out: expected an iptables-save dump (a text file), found binary data "\\x7fELF\\x02\\x01\\x01\\x00"',
  );
  assert.throws(
    () => textOf('rules.txt', enc('*filter\n-A KUBE-SERVICES \x1b[31m-j DROP\x1b[0m\n'), 'an iptables-save dump'),
    (e: unknown) => e instanceof InputError && e.message === 'rules.txt:2:18: expected an iptables-save dump (text without control characters), found "\\x1b" in "-A KUBE-SERVICES \\x1b[31m-j DROP\\x1b[0m"',
  );
});
