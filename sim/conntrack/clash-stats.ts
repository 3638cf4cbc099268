/**
 * `conntrack -S` as conntrack-tools prints the kernel's per-CPU counters: one line per CPU,
 * "cpu=%-4u\t" and then "name=value " for each counter the kernel sent, in CTA_STATS_* order
 * (conntrack-tools src/conntrack.c nfct_stats_cb). Which counters a kernel sends depends on its
 * version (kernel-version.ts cpuStatNames): `ignore` up to 5.9, `clash_resolve` from 5.10,
 * `chaintoolong` from 5.15. Checked against conntrack v1.4.7 on Linux 6.18.
 */
import type { ConntrackStats } from './store.ts';
import { cpuStatNames, type CpuStatName, type KernelVersion } from './kernel-version.ts';

/** One CPU's counters; a counter the kernel does not keep any more is 0. */
export type CpuStats = Partial<Record<CpuStatName, number>>;

export function conntrackStatsText(version: KernelVersion, cpus: readonly CpuStats[]): string {
  const names = cpuStatNames(version);
  let out = '';
  cpus.forEach((stats, cpu) => {
    out += `cpu=${String(cpu).padEnd(4)}\t`;
    for (const name of names) out += `${name}=${(stats[name] ?? 0) >>> 0} `;
    out += '\n';
  });
  return out;
}

/** The counters of a table, which keeps one set (one CPU's line). */
export function cpuStatsOf(stats: ConntrackStats): CpuStats {
  return {
    found: stats.found,
    invalid: stats.invalid,
    insert: stats.insert,
    insert_failed: stats.insertFailed,
    drop: stats.drop,
    early_drop: stats.earlyDrop,
    clash_resolve: stats.clashResolve,
  };
}
