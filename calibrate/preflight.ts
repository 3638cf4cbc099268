/**
 * What calibration needs from the host, checked before anything is measured: root, network
 * namespaces, the kernel tools for both iptables backends, nftables and conntrack, and a kernel
 * that accepts a nat table through each of them inside a namespace. Returns the list of what is
 * missing, each item saying what and how to get it; empty when calibration can run.
 */
import { spawnSync } from 'node:child_process';

export const REQUIRED_TOOLS: { cmd: string; pkg: string }[] = [
  { cmd: 'ip', pkg: 'iproute2' },
  { cmd: 'iptables-legacy-restore', pkg: 'iptables' },
  { cmd: 'iptables-nft-restore', pkg: 'iptables' },
  { cmd: 'iptables-legacy', pkg: 'iptables' },
  { cmd: 'iptables-nft', pkg: 'iptables' },
  { cmd: 'nft', pkg: 'nftables' },
  { cmd: 'conntrack', pkg: 'conntrack' },
  { cmd: 'bash', pkg: 'bash' },
  { cmd: 'python3', pkg: 'python3' },
];

/** The nat-table checks run inside the throw-away namespace: the kernel side of each backend. */
export const KERNEL_CHECKS: { cmd: string; args: string[]; what: string }[] = [
  { cmd: 'iptables-legacy', args: ['-t', 'nat', '-S'], what: 'the legacy iptables nat table (kernel module iptable_nat / ip_tables)' },
  { cmd: 'iptables-nft', args: ['-t', 'nat', '-S'], what: 'the iptables-nft nat table (kernel module nf_tables / nft_compat)' },
  { cmd: 'nft', args: ['list', 'ruleset'], what: 'nftables (kernel module nf_tables)' },
];

/** What the checks ask of the host; the real one runs commands, tests pass a fake. */
export interface HostProbe {
  uid(): number | undefined;
  onPath(cmd: string): boolean;
  /** Runs a command; status and the first line of stderr. */
  run(cmd: string, args: string[]): { status: number; stderr: string };
}

export const realHost: HostProbe = {
  uid: () => (typeof process.getuid === 'function' ? process.getuid() : undefined),
  onPath: (cmd) => spawnSync('sh', ['-c', 'command -v "$0"', cmd], { stdio: 'ignore' }).status === 0,
  run: (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status ?? 1, stderr: (r.stderr ?? r.error?.message ?? '').trim().split('\n')[0] ?? '' };
  },
};

export function missingPrerequisites(host: HostProbe = realHost, name = `svcsim-cal-${process.pid}-preflight`): string[] {
  const missing: string[] = [];
  const uid = host.uid();
  if (uid !== 0) {
    missing.push(`root (running as uid ${uid ?? 'unknown'}; network namespaces and netfilter tables need CAP_SYS_ADMIN and CAP_NET_ADMIN: run as root, e.g. sudo npx svcsim calibrate)`);
  }
  const absent = REQUIRED_TOOLS.filter((t) => !host.onPath(t.cmd));
  if (absent.length) {
    const pkgs = [...new Set(absent.map((t) => t.pkg))].join(' ');
    missing.push(`${absent.map((t) => t.cmd).join(', ')} not on PATH (apt-get install ${pkgs})`);
  }
  if (missing.length) return missing;
  // Creating a namespace and a nat table in it is the only sure test that the kernel and the
  // container allow what the probes do.
  const add = host.run('ip', ['netns', 'add', name]);
  if (add.status !== 0) return [`network namespaces (ip netns add failed: ${add.stderr || `exit ${add.status}`})`];
  try {
    for (const c of KERNEL_CHECKS) {
      const r = host.run('ip', ['netns', 'exec', name, c.cmd, ...c.args]);
      if (r.status !== 0) missing.push(`${c.what}: \`${c.cmd} ${c.args.join(' ')}\` failed in a namespace (${r.stderr || `exit ${r.status}`})`);
    }
  } finally {
    host.run('ip', ['netns', 'del', name]);
  }
  return missing;
}

/** The message `svcsim calibrate` prints before exiting with status 2. */
export function missingMessage(missing: string[]): string {
  return ['calibrate: cannot measure this host\'s kernel; missing:', ...missing.map((m) => `  - ${m}`), 'Nothing was created or changed.'].join('\n');
}
