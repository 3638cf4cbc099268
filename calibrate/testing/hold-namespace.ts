/**
 * Test helper for calibrate.kernel.test.ts: creates one calibration namespace with a process in it,
 * prints its name, and waits (bounded) to be interrupted, as a calibration is in the middle of a probe.
 */
import { NamespaceRegistry } from '../namespaces.ts';

const reg = new NamespaceRegistry();
const ns = await reg.create('held');
reg.spawn(ns, 'sleep', ['30'], process.cwd());
process.stdout.write(`${ns}\n`);
setTimeout(() => {
  reg.close();
  process.exit(0);
}, 30_000);
