// @ts-check
/**
 * One TCP connect, timed from connect() to the socket's 'connect' event, for the agents the
 * calibration runs inside its namespaces (agent.mjs, latency-agent.mjs). Bounded by a timeout.
 */
import { connect as tcpConnect } from 'node:net';

const CONNECT_TIMEOUT_MS = 3000;

/** @param {string} ip @param {number} port @returns {Promise<number>} */
export function connectOnce(ip, port) {
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
