// @ts-check
/**
 * The client of the connect-latency distribution probe (calibrate/connect-distribution.ts), run
 * inside its client namespace: `ip netns exec NS node calibrate/latency-agent.mjs MODE ...`.
 *   one IP PORT COUNT WARMUP             COUNT sequential connects to one address.
 *   services N PORT COUNT WARMUP SEED    COUNT sequential connects, each to one of the N ClusterIPs
 *                                        of calibrate/rulesets.ts serviceIP (10.96.0.1 up), chosen
 *                                        uniformly by a seeded generator: a client of a cluster with
 *                                        N Services, so a SYN meets the Service's rule at a uniform
 *                                        position in KUBE-SERVICES, as in a run.
 * Prints one JSON line: { times: [ns...] } (connect() to the 'connect' event, per connection).
 * Every loop is bounded by its count and every connect by a timeout.
 */
import { connectOnce } from './connect-once.mjs';


/** calibrate/rulesets.ts serviceIP: the apiserver's default range from 10.96.0.1 up. @param {number} s */
function serviceIP(s) {
  const n = s + 1;
  return `10.${96 + (n >>> 16)}.${(n >>> 8) & 255}.${n & 255}`;
}

/** A small seeded generator (mulberry32) so the order of Services is the same on every run. @param {number} seed */
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** @param {() => string} next @param {number} port @param {number} count @param {number} warmup */
async function connectMany(next, port, count, warmup) {
  for (let i = 0; i < warmup; i++) await connectOnce(next(), port);
  /** @type {number[]} */
  const times = [];
  for (let i = 0; i < count; i++) times.push(await connectOnce(next(), port));
  process.stdout.write(`${JSON.stringify({ times })}\n`);
}

const [mode, ...args] = process.argv.slice(2);
/** @param {number} i */
const num = (i) => Number(args[i]);
/** @param {Error} e */
const fail = (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
};
if (mode === 'one') connectMany(() => String(args[0]), num(1), num(2), num(3)).catch(fail);
else if (mode === 'services') {
  const n = num(0);
  const rnd = mulberry32(num(4));
  connectMany(() => serviceIP(Math.floor(rnd() * n)), num(1), num(2), num(3)).catch(fail);
} else fail(new Error(`latency-agent: unknown mode ${String(mode)}`));
