// @ts-check
/**
 * The helper the calibration runs inside its namespaces (`ip netns exec NS node
 * bench/calibrate/agent.mjs MODE ...`), since a Node process cannot enter a namespace itself.
 * Plain JavaScript so node starts it in a tenth of the time tsx takes: it is started once per
 * measurement, dozens of times per calibration.
 *   serve PORT                    TCP server: accept and close; prints "ready" once listening.
 *   connect IP PORT COUNT WARMUP  COUNT sequential TCP connects; prints JSON of connect times (ns).
 *   udp PORT PACKETS ROUNDS       UDP bursts to 127.1.x.y: the same flow, then a new flow per packet
 *                                 (a new conntrack entry each), conntrack flushed before each burst;
 *                                 prints JSON of the bursts' CPU times (ns).
 * Every loop is bounded by its count, and every connect by a timeout.
 */
import { createServer, connect as tcpConnect } from 'node:net';
import { createSocket } from 'node:dgram';
import { spawnSync } from 'node:child_process';

const CONNECT_TIMEOUT_MS = 3000;

/** @param {number} port */
function serve(port) {
  const server = createServer({ noDelay: true }, (sock) => sock.destroy());
  server.listen({ port, host: '0.0.0.0', backlog: 4096 }, () => process.stdout.write('ready\n'));
}

/** @param {string} ip @param {number} port @returns {Promise<number>} */
function connectOnce(ip, port) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const sock = tcpConnect({ host: ip, port, noDelay: true });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`connect ${ip}:${port}: no answer within ${CONNECT_TIMEOUT_MS} ms`));
    }, CONNECT_TIMEOUT_MS);
    sock.once('connect', () => {
      const dt = Number(process.hrtime.bigint() - t0);
      clearTimeout(timer);
      sock.destroy();
      resolve(dt);
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`connect ${ip}:${port}: ${e.message}`));
    });
  });
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

/** @param {import('node:dgram').Socket} sock @param {number} port @param {number} packets @param {boolean} unique @returns {Promise<number>} */
function burst(sock, port, packets, unique) {
  const payload = Buffer.alloc(16);
  return new Promise((resolve, reject) => {
    let left = packets;
    const cpu0 = process.cpuUsage();
    /** @param {Error | null} err */
    const done = (err) => {
      if (err) return reject(err);
      if (--left === 0) {
        const cpu = process.cpuUsage(cpu0);
        resolve((cpu.user + cpu.system) * 1000);
      }
    };
    for (let i = 0; i < packets; i++) {
      // 127.0.0.0/8 is all local on lo: a different destination address is a different flow.
      const n = unique ? i + 1 : 1;
      sock.send(payload, port, `127.1.${(n >>> 8) & 255}.${n & 255}`, done);
    }
  });
}

/** @param {number} port @param {number} packets @param {number} rounds */
async function udp(port, packets, rounds) {
  const sink = createSocket({ type: 'udp4', recvBufferSize: 4096 });
  await new Promise((r) => sink.bind(port, '0.0.0.0', () => r()));
  sink.on('message', () => {});
  const sock = createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', () => r()));
  /** @type {number[]} */
  const same = [];
  /** @type {number[]} */
  const fresh = [];
  const flush = () => spawnSync('conntrack', ['-F'], { stdio: 'ignore' });
  await burst(sock, port, Math.min(packets, 2000), false); // warm the code paths
  for (let r = 0; r < rounds; r++) {
    flush();
    same.push(await burst(sock, port, packets, false));
    flush();
    fresh.push(await burst(sock, port, packets, true));
  }
  flush();
  sock.close();
  sink.close();
  process.stdout.write(`${JSON.stringify({ same, fresh })}\n`);
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
else if (mode === 'udp') udp(num(0), Math.min(num(1), 65_000), num(2)).catch(fail);
else fail(new Error(`agent: unknown mode ${String(mode)}`));
