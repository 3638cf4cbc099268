/**
 * What the ebpf probe needs beyond the rest of calibration: clang (to build calibrate/bpf/*.c for
 * the BPF target), bpftool and tc, a cgroup v2 hierarchy, the BPF run-time statistics switch, and a
 * kernel that loads a program (CONFIG_BPF_SYSCALL, CGROUP_BPF, NET_CLS_BPF). Returns what is
 * missing, each saying how to get it; empty when the probe can run. The check loads nothing: a
 * kernel without BPF fails the probe's first load, which calibrate reports as the probe's failure.
 */
import { existsSync } from 'node:fs';
import { realHost, type HostProbe } from '../preflight.ts';
import { cgroup2Root } from './session.ts';

export const EBPF_TOOLS: { cmd: string; pkg: string }[] = [
  { cmd: 'clang', pkg: 'clang llvm libbpf-dev' },
  { cmd: 'bpftool', pkg: 'bpftool' },
  { cmd: 'tc', pkg: 'iproute2' },
  { cmd: 'mount', pkg: 'mount' },
];

export interface EbpfHost extends HostProbe {
  exists(path: string): boolean;
  cgroup2(): string | undefined;
}

export const realEbpfHost: EbpfHost = { ...realHost, exists: existsSync, cgroup2: () => cgroup2Root() };

export function ebpfMissing(host: EbpfHost = realEbpfHost): string[] {
  const missing: string[] = [];
  const uid = host.uid();
  if (uid !== 0) missing.push(`root (running as uid ${uid ?? 'unknown'}; loading BPF programs needs CAP_BPF, CAP_NET_ADMIN and CAP_SYS_ADMIN)`);
  const absent = EBPF_TOOLS.filter((t) => !host.onPath(t.cmd));
  if (absent.length) missing.push(`${absent.map((t) => t.cmd).join(', ')} not on PATH (apt-get install ${[...new Set(absent.map((t) => t.pkg))].join(' ')})`);
  if (!host.exists('/usr/include/bpf/bpf_helpers.h')) missing.push('bpf/bpf_helpers.h (apt-get install libbpf-dev)');
  if (!host.cgroup2()) missing.push('a cgroup v2 hierarchy (mount -t cgroup2 none /sys/fs/cgroup/unified): cgroup/connect4 programs attach to one');
  if (!host.exists('/proc/sys/kernel/bpf_stats_enabled')) missing.push('kernel.bpf_stats_enabled (a kernel with CONFIG_BPF_SYSCALL, 5.1 or later)');
  return missing;
}
