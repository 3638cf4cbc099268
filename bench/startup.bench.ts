/**
 * The installed command's start-up: `svcsim trace` on a small dump and `svcsim --help`, each a
 * process of its own, as a shell or a script calls them (issue 24). The time is the child's CPU time
 * from its start to its exit (user + system, as the child's process.cpuUsage() reports it at exit,
 * written to a pipe by a preloaded module), charged to the clock with chargeChildCpu: node's own
 * start, the build check (bin/build-state.js), loading the command's modules and the work.
 *
 * They time the compiled command in dist/ and refuse to run without a fresh build: the sources
 * through tsx would time something else (`npm run build`, which `npm ci` runs as `prepare`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildState } from '../bin/build-state.js';
import { chargeChildCpu } from './measure.ts';
import type { BenchSuite, BenchTask } from './suite.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'svcsim.js');

/** The child writes its CPU time (us) to fd 3 as it exits: after the command's own work and flush. */
const REPORTER = `import { writeSync } from 'node:fs';
process.on('exit', () => { const u = process.cpuUsage(); writeSync(3, String(u.user + u.system)); });
`;

function startupTask(name: string, args: string[]): BenchTask {
  let dir = '';
  let reporter = '';
  let stdoutBytes = 0;
  return {
    name: `startup/${name}`,
    beforeAll: async () => {
      const build = await buildState(root);
      if (build.state !== 'fresh') {
        throw new Error(`dist/ is ${build.state === 'missing' ? 'missing' : `out of date (${build.reason})`}: run npm run build; the start-up tasks time the compiled command`);
      }
      dir = mkdtempSync(join(tmpdir(), 'svcsim-startup-bench-'));
      reporter = join(dir, 'report-cpu.mjs');
      writeFileSync(reporter, REPORTER);
    },
    fn: () => {
      const r = spawnSync(process.execPath, ['--import', reporter, bin, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
      if (r.status !== 0) throw new Error(`svcsim ${args.join(' ')}: exit ${r.status}: ${String(r.stderr)}`);
      const us = Number(String(r.output[3]));
      if (!(us > 0)) throw new Error(`svcsim ${args.join(' ')}: the child reported no CPU time`);
      stdoutBytes = r.stdout.length;
      chargeChildCpu(us / 1e3);
    },
    afterAll: () => rmSync(dir, { recursive: true, force: true }),
    per: { unit: 'call', count: 1 },
    figures: () => ({ stdoutBytes }),
  };
}

const suite: BenchSuite = {
  name: 'startup',
  tasks: () => [
    startupTask('svcsim trace, 54-rule iptables-save dump', [
      'trace',
      '--rules',
      'test/golden/netfilter/kube-proxy-legacy.iptables-save',
      '--packet',
      'tcp 10.244.2.8:40000 > 10.96.112.40:80',
      '--node-ip',
      '172.18.0.3',
    ]),
    startupTask('svcsim --help', ['--help']),
  ],
};
export default suite;
