/**
 * The reference workload: a fixed integer arithmetic loop (xorshift32, a fixed number of rounds) that
 * depends on nothing but the CPU the process runs on. The harness measures it several times,
 * interleaved with the suites, and divides every task's time by it, so a figure says "this many
 * reference loops" rather than "this many nanoseconds on whichever machine and load the run met".
 * The loop is never changed: changing it would invalidate every committed baseline.
 */
export const REFERENCE_NAME = 'reference/xorshift32 x 100000';
const ROUNDS = 100_000;

/** Written by every call so the optimiser cannot drop the loop. */
export let referenceSink = 0;

export function referenceWorkload(): void {
  let x = 2463534242 | 0;
  let acc = 0;
  for (let i = 0; i < ROUNDS; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    acc = (acc + (x & 0xffff)) | 0;
  }
  referenceSink = acc;
}
