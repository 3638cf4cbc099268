/**
 * Network namespaces the calibration creates, and nothing else: every name carries the prefix
 * `svcsim-cal-<pid>-`, every namespace and helper process is recorded when made, and all of them
 * are removed on normal exit, on an exception, and on SIGINT/SIGTERM. Traffic stays inside these
 * namespaces (veth pairs are created inside them, never in the host's namespace).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export const NAMESPACE_PREFIX = `svcsim-cal-${process.pid}-`;

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole command (fork, exec, work), ns. */
  elapsedNs: number;
}

/** Runs a command and times it; throws with the command's stderr when it fails. */
export function run(cmd: string, args: string[], input?: string, allowFailure = false): RunResult {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: 300_000 });
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  const status = r.status ?? 1;
  if (status !== 0 && !allowFailure) {
    throw new Error(`${cmd} ${args.slice(0, 6).join(' ')}${args.length > 6 ? ' ...' : ''}: exit ${status}: ${(r.stderr || r.stdout).trim().slice(0, 500)}`);
  }
  return { status, stdout: r.stdout, stderr: r.stderr, elapsedNs };
}

export class NamespaceRegistry {
  private readonly names = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private counter = 0;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.removeAll();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  private readonly onExit = () => this.removeAll();

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  /** Creates a namespace with loopback up; `role` is a short label (cl, rt, sv...). */
  create(role: string): string {
    const name = `${NAMESPACE_PREFIX}${++this.counter}-${role}`;
    run('ip', ['netns', 'add', name]);
    this.names.add(name);
    run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    return name;
  }

  /**
   * Runs a command in a namespace under bash's `time`, which reports the command's own CPU time
   * (user + system, from wait4's rusage): on a machine shared with other work, the CPU time is
   * what the command costs, while its wall time also counts the time it waited for a CPU.
   */
  execCpuTimed(ns: string, cmd: string, args: string[], input?: string): RunResult & { cpuNs: number; wallNs: number } {
    const script = 'TIMEFORMAT="svcsim-time %3R %3U %3S"; time "$@"';
    const r = run('ip', ['netns', 'exec', ns, 'bash', '-c', script, 'bash', cmd, ...args], input);
    const m = /svcsim-time (\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr);
    if (!m) throw new Error(`${cmd}: no timing in bash's output: ${r.stderr.slice(-200)}`);
    return { ...r, wallNs: Number(m[1]) * 1e9, cpuNs: (Number(m[2]) + Number(m[3])) * 1e9 };
  }

  exec(ns: string, cmd: string, args: string[], input?: string, allowFailure = false): RunResult {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], input, allowFailure);
  }

  /** Starts a long-running helper inside a namespace; it is killed on cleanup. */
  spawn(ns: string, cmd: string, args: string[], cwd: string): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  kill(child: ChildProcess): void {
    if (child.exitCode === null && child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.children.delete(child);
  }

  remove(ns: string): void {
    if (!this.names.has(ns)) return;
    // Processes inside would keep the namespace alive after `ip netns del`: kill ours first.
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' })
      .stdout?.split('\n')
      .filter((p) => /^\d+$/.test(p))
      .forEach((p) => {
        try {
          process.kill(Number(p), 'SIGKILL');
        } catch {
          /* gone */
        }
      });
    spawnSync('ip', ['netns', 'del', ns]);
    this.names.delete(ns);
  }

  removeAll(): void {
    for (const c of [...this.children]) this.kill(c);
    for (const ns of [...this.names]) this.remove(ns);
  }

  /** Removes everything and stops listening for signals. */
  close(): void {
    this.removeAll();
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
  }
}
