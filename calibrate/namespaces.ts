/**
 * Network namespaces the calibration creates, and nothing else: every name carries the prefix
 * `svcsim-cal-<pid>-`, every namespace and helper process is recorded when made, and all of them
 * are removed on normal exit, on an exception, and on SIGINT/SIGTERM. Traffic stays inside these
 * namespaces (veth pairs are created inside them, never in the host's namespace).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';

export const NAMESPACE_PREFIX = `svcsim-cal-${process.pid}-`;

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
  /** Wall time of the whole command (fork, exec, work), ns. */
  elapsedNs: number;
}

/**
 * Runs a command without blocking the event loop and times it; rejects with the command's stderr
 * when it fails. Never spawnSync: a signal arriving while a synchronous child runs (an
 * iptables-restore of 10k services, a few hundred connects) would wait for that child to end.
 * `track` is told of the child while it runs, so an interruption can kill it.
 */
export function run(cmd: string, args: string[], input?: string, allowFailure = false, track?: (c: ChildProcess, running: boolean) => void): Promise<RunResult> {
  return new Promise((resolveRun, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 300_000 });
    track?.(child, true);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.stdin!.on('error', () => {
      /* the command exited before reading all of its input: its status says why */
    });
    child.stdin!.end(input ?? '');
    child.once('error', (e) => {
      track?.(child, false);
      reject(new Error(`${cmd} ${args.join(' ')}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      track?.(child, false);
      const elapsedNs = Number(process.hrtime.bigint() - t0);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      const status = code ?? 1;
      if (status !== 0 && !allowFailure) {
        const why = signal ? `killed by ${signal}` : `exit ${status}`;
        reject(new Error(`${cmd} ${args.slice(0, 6).join(' ')}${args.length > 6 ? ' ...' : ''}: ${why}: ${(stderr || stdout).trim().slice(0, 500)}`));
        return;
      }
      resolveRun({ status, stdout, stderr, elapsedNs });
    });
  });
}

/** The exit status of a process ended by a signal, as shells report it: 128 + the signal's number. */
function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (osConstants.signals[sig] ?? 0);
}

export class NamespaceRegistry {
  private readonly names = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  /** Undo steps for what is not a namespace (a cgroup, a bpffs mount: calibrate/ebpf/session.ts), run first, newest first. */
  private readonly cleanups: (() => void)[] = [];
  private counter = 0;
  /**
   * On SIGINT/SIGTERM: kill every child we started, delete every namespace we made (synchronously:
   * the process is about to end), and exit with 130/143. Installed when the registry is made, which
   * calibrate does before anything is created (the preflight's namespace included).
   */
  private readonly onSignal = (sig: NodeJS.Signals) => {
    this.removeAll();
    process.stderr.write(`calibrate: ${sig}: removed the namespaces and processes it had made\n`);
    process.exit(signalExitCode(sig));
  };
  private readonly onExit = () => this.removeAll();
  private readonly track = (c: ChildProcess, running: boolean) => {
    if (running) this.children.add(c);
    else this.children.delete(c);
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  /** The name the next namespace with this role will get (for one made by someone else: adopt it). */
  nextName(role: string): string {
    return `${NAMESPACE_PREFIX}${++this.counter}-${role}`;
  }

  /** Records a namespace made elsewhere (the preflight's) so an interruption removes it too. */
  adopt(name: string): void {
    this.names.add(name);
  }

  /** Stops tracking a namespace its maker has removed. */
  forget(name: string): void {
    this.names.delete(name);
  }

  /** Creates a namespace with loopback up; `role` is a short label (cl, rt, sv...). */
  async create(role: string): Promise<string> {
    const name = this.nextName(role);
    // Recorded before it exists: a signal between `ip netns add` and the next line still removes it.
    this.names.add(name);
    await run('ip', ['netns', 'add', name], undefined, false, this.track);
    await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'], undefined, false, this.track);
    return name;
  }

  /**
   * Runs a command in a namespace under bash's `time`, which reports the command's own CPU time
   * (user + system, from wait4's rusage): on a machine shared with other work, the CPU time is
   * what the command costs, while its wall time also counts the time it waited for a CPU.
   */
  async execCpuTimed(ns: string, cmd: string, args: string[], input?: string): Promise<RunResult & { cpuNs: number; wallNs: number }> {
    const script = 'TIMEFORMAT="svcsim-time %3R %3U %3S"; time "$@"';
    const r = await run('ip', ['netns', 'exec', ns, 'bash', '-c', script, 'bash', cmd, ...args], input, false, this.track);
    const m = /svcsim-time (\d+\.\d+) (\d+\.\d+) (\d+\.\d+)\s*$/.exec(r.stderr);
    if (!m) throw new Error(`${cmd}: no timing in bash's output: ${r.stderr.slice(-200)}`);
    return { ...r, wallNs: Number(m[1]) * 1e9, cpuNs: (Number(m[2]) + Number(m[3])) * 1e9 };
  }

  exec(ns: string, cmd: string, args: string[], input?: string, allowFailure = false): Promise<RunResult> {
    return run('ip', ['netns', 'exec', ns, cmd, ...args], input, allowFailure, this.track);
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

  /** Deletes a namespace (synchronously: it is also the signal handler's last act). */
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

  /**
   * Records a synchronous undo step (it may also run from the signal handler); returns a function
   * that runs it now, once, and forgets it.
   */
  addCleanup(undo: () => void): () => void {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      const i = this.cleanups.indexOf(once);
      if (i >= 0) this.cleanups.splice(i, 1);
      undo();
    };
    this.cleanups.push(once);
    return once;
  }

  removeAll(): void {
    for (const c of [...this.children]) this.kill(c);
    for (const undo of [...this.cleanups].reverse()) undo();
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
