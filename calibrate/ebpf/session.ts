/**
 * What the ebpf probe makes outside its namespaces, each undone by the NamespaceRegistry (also from
 * its SIGINT/SIGTERM handler): a private bpffs mount holding the pinned programs and maps, a cgroup
 * v2 directory the measuring client runs in (its connect4 program attached there), and
 * kernel.bpf_stats_enabled (switched on to read each program's run time, restored after). Every
 * name carries `svcsim-ebpf-<pid>-`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NamespaceRegistry } from '../namespaces.ts';

export const EBPF_PREFIX = `svcsim-ebpf-${process.pid}-`;

/** Where the cgroup v2 hierarchy is mounted (a unified-only host, or the hybrid layout's `unified`), or undefined. */
export function cgroup2Root(mounts = readFileSync('/proc/mounts', 'utf8')): string | undefined {
  const roots = mounts.split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'cgroup2').map((f) => f[1]!);
  return roots.sort((a, b) => a.length - b.length)[0];
}

function must(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim().slice(0, 400)}`);
  return r.stdout;
}

export class EbpfSession {
  /** The bpffs mount (pins live under it) and the scratch directory for objects and batch files. */
  readonly bpffs: string;
  readonly scratch: string;
  readonly cgroup: string;
  private readonly undo: (() => void)[] = [];

  private constructor(reg: NamespaceRegistry, cgroupRoot: string) {
    this.scratch = mkdtempSync(join(tmpdir(), EBPF_PREFIX));
    this.undo.push(reg.addCleanup(() => rmSync(this.scratch, { recursive: true, force: true })));
    this.bpffs = join(this.scratch, 'bpffs');
    this.cgroup = join(cgroupRoot, `${EBPF_PREFIX}client`);
  }

  /** Mounts the bpffs, makes the cgroup, switches on BPF run-time statistics; each undone on close. */
  static open(reg: NamespaceRegistry): EbpfSession {
    const root = cgroup2Root();
    if (!root) throw new Error('no cgroup2 hierarchy is mounted (cgroup/connect4 programs attach to a cgroup v2 directory)');
    const s = new EbpfSession(reg, root);
    mkdirSync(s.bpffs);
    // Registered before the mount: an interruption right after it still unmounts.
    s.undo.push(reg.addCleanup(() => spawnSync('umount', ['-l', s.bpffs])));
    must('mount', ['-t', 'bpf', 'bpf', s.bpffs]);
    s.undo.push(reg.addCleanup(() => removeCgroup(s.cgroup)));
    mkdirSync(s.cgroup);
    const stats = '/proc/sys/kernel/bpf_stats_enabled';
    const before = readFileSync(stats, 'utf8').trim();
    s.undo.push(reg.addCleanup(() => writeFileSync(stats, `${before}\n`)));
    writeFileSync(stats, '1\n');
    return s;
  }

  /** A path under the bpffs. */
  pin(...parts: string[]): string {
    return join(this.bpffs, ...parts);
  }

  close(): void {
    for (const u of this.undo.splice(0).reverse()) u();
  }
}

/** Detaches every program from the cgroup, ends the processes left in it, and removes it. */
function removeCgroup(dir: string): void {
  if (!existsSync(dir)) return;
  const shown = spawnSync('bpftool', ['-j', 'cgroup', 'show', dir], { encoding: 'utf8' });
  try {
    for (const p of JSON.parse(shown.stdout || '[]') as { id: number; attach_type: string }[]) {
      spawnSync('bpftool', ['cgroup', 'detach', dir, p.attach_type, 'id', String(p.id)]);
    }
  } catch {
    /* nothing attached, or bpftool gone: rmdir still frees the attachments */
  }
  for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  // A cgroup directory goes with rmdir(2) once no process is left in it (the killed ones take a moment).
  for (let i = 0; i < 50 && existsSync(dir); i++) {
    try {
      rmdirSync(dir);
    } catch {
      spawnSync('sleep', ['0.1']);
    }
  }
}

/** Names under the cgroup root and /tmp left by an ebpf probe of this process (the kernel test checks none remain). */
export function leftovers(root = cgroup2Root()): string[] {
  const mine = (d: string) => (existsSync(d) ? readdirSync(d).filter((n) => n.startsWith(EBPF_PREFIX)).map((n) => join(d, n)) : []);
  return [...(root ? mine(root) : []), ...mine(tmpdir())];
}
