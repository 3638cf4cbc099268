// @ts-check
/**
 * The helper the calibration runs inside its namespaces (`ip netns exec NS node
 * calibrate/agent.mjs MODE ...`), since a Node process cannot enter a namespace itself.
 * Plain JavaScript so node starts it in a tenth of the time tsx takes: it is started once per
 * measurement, dozens of times per calibration.
 *   serve PORT                    TCP server: accept and close; prints "ready" once listening.
 *   connect IP PORT COUNT WARMUP  COUNT sequential TCP connects; prints JSON of connect times (ns).
 * Every loop is bounded by its count, and every connect by a timeout.
 */
import { createServer } from 'node:net';
import { connectOnce } from './connect-once.mjs';

/** @param {number} port */
function serve(port) {
  const server = createServer({ noDelay: true }, (sock) => sock.destroy());
  server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => process.stdout.write('ready\n'));
}


/** @param {string} ip @param {number} port @param {number} count @param {number} warmup */
async function connectMany(ip, port, count, warmup) {
  for (let i = 0; i < warmup; i++) await connectOnce(ip, port);
  /** @type {number[]} */
  const times = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < count; i++) times.push(await connectOnce(ip, port));
  const cpu = process.cpuUsage(cpu0);
  // CPU time of this process per connect (user + system, ns): the SYN's trip through the router's
  // netfilter runs in softirq on the sending CPU, mostly charged here, and CPU time does not count
  // the time this process waited for a CPU on a shared machine.
  const cpuNsPerConnect = ((cpu.user + cpu.system) * 1000) / count;
  process.stdout.write(`${JSON.stringify({ times, cpuNsPerConnect })}\n`);
}

const [mode, ...args] = process.argv.slice(2);
/** @param {number} i */
const num = (i) => Number(args[i]);
/** @param {Error} e */
const fail = (e) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
};
if (mode === 'serve') serve(num(0));
else if (mode === 'connect') connectMany(String(args[0]), num(1), num(2), num(3)).catch(fail);
else fail(new Error(`agent: unknown mode ${String(mode)}`));
