/**
 * The node's kernel as a scenario names it (`kernel.version: "5.10"`), and what that kernel's
 * conntrack does when two unconfirmed entries of one flow meet at __nf_conntrack_confirm
 * (torvalds/linux net/netfilter/nf_conntrack_core.c). "X.Y" means the mainline release X.Y as
 * tagged, without stable backports: "4.14" is 4.14 as first shipped, before ed07d9a021df reached
 * 4.14 stable in March 2020 (Greg KH, "[PATCH 4.14 002/126]" stable review, 2020-03-10).
 *
 * Release of each commit (docs/research/dns-notes-checked.md section 1; [I] = inferred from merge
 * dates): 71d8c47fc653 4.7 [I], ed07d9a021df 4.19 [I], 4e35c1cb9460 5.0 [I], 6a757c07e51f 5.6
 * (net pull of Feb 2020, "allow insertion of clashing entries"), c46172147ebb 5.9 (nf pull of
 * 2020-08-29), bc92470413f3 and "remove ignore stats" 5.10 [I] (nf-next series of 2020-08-26),
 * CTA_STATS_CHAIN_TOOLONG 5.15 [I] ("refuse insertion if chain has grown too large", net pull of
 * 2021-09-03).
 */

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
}

/** The releases scenarios name most (the examples); any X.Y in the known range is accepted. */
export const NAMED_KERNEL_VERSIONS = ['4.14', '4.19', '5.4', '5.10', '6.1'] as const;

/** The last minor of each major in the known range: 4.4 (the oldest Kubernetes-era LTS) to 6.18 (this host). */
const LAST_MINOR: Readonly<Record<number, number>> = { 4: 20, 5: 19, 6: 18 };
const OLDEST: KernelVersion = { major: 4, minor: 4 };
export const KNOWN_RANGE = '4.4 to 6.18';

export type KernelVersionParse = { ok: true; version: KernelVersion } | { ok: false; message: string };

/**
 * Reads `kernel.version`: a quoted string "X.Y". A YAML number is refused, not converted: YAML reads
 * 5.10 as 5.1, itself a release, so a number cannot be trusted. The message says what was expected;
 * the caller adds the field path and what was found.
 */
export function parseKernelVersion(value: unknown): KernelVersionParse {
  const expected = `a kernel release "X.Y" from ${KNOWN_RANGE} as a quoted string (e.g. "${NAMED_KERNEL_VERSIONS.join('", "')}")`;
  if (typeof value === 'number') {
    return { ok: false, message: `expected ${expected}; a YAML number loses trailing zeros (5.10 reads 5.1): quote it` };
  }
  if (typeof value !== 'string') return { ok: false, message: `expected ${expected}` };
  const m = /^([1-9]\d?)\.(0|[1-9]\d?)$/.exec(value);
  if (!m) return { ok: false, message: `expected ${expected}` };
  const version = { major: Number(m[1]), minor: Number(m[2]) };
  const last = LAST_MINOR[version.major];
  if (last === undefined || version.minor > last || compareKernel(version, OLDEST) < 0) {
    return { ok: false, message: `expected ${expected}; ${value} is outside that range` };
  }
  return { ok: true, version };
}

export function kernelVersionText(v: KernelVersion): string {
  return `${v.major}.${v.minor}`;
}

/** Negative, zero or positive as `a` is older than, the same as or newer than `b`. */
export function compareKernel(a: KernelVersion, b: KernelVersion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

function atLeast(v: KernelVersion, major: number, minor: number): boolean {
  return compareKernel(v, { major, minor }) >= 0;
}

/**
 * How the counters of a clash are kept:
 * - 'insert-failed-all' (before 5.6): every clash increments insert_failed (the `dying:` path of
 *   __nf_conntrack_confirm), a dropped packet also increments drop (71d8c47fc653's message);
 * - 'insert-failed-merge' (5.6 to 5.9): a merge with the winner increments insert_failed, a clash
 *   entry increments nothing, a drop increments drop and insert_failed (the lines bc92470413f3
 *   replaces);
 * - 'clash-resolve' (5.10 on, bc92470413f3): a merge or a clash entry increments clash_resolve, a
 *   drop increments drop and insert_failed.
 */
export type ClashCounting = 'insert-failed-all' | 'insert-failed-merge' | 'clash-resolve';

/** What one kernel does with a clash of two UDP entries with the same original tuple. */
export interface ClashRules {
  /** 71d8c47fc653: UDP `allow_clash`; the loser adopts the winner only if the winner has no NAT binding. */
  readonly allowClash: boolean;
  /** ed07d9a021df: a loser whose original and reply tuples both equal the winner's adopts it even with NAT. */
  readonly mergeIdentical: boolean;
  /**
   * 4e35c1cb9460: nf_conntrack_tuple_taken skips an entry with the same original tuple, so NAT keeps
   * the loser's source port instead of moving it off the winner's reply tuple.
   */
  readonly sameOriginKeepsPort: boolean;
  /**
   * 6a757c07e51f: a loser with a different reply tuple is inserted in the reply direction only, with
   * a fixed 1 s timeout (nf_ct_resolve_clash_harder). 'until-reply': deleted by the first reply too
   * (5.6 to 5.8); 'fixed': kept the whole second (c46172147ebb, 5.9).
   */
  readonly clashEntries: 'none' | 'until-reply' | 'fixed';
  readonly counting: ClashCounting;
}

export function clashRules(v: KernelVersion): ClashRules {
  return {
    allowClash: atLeast(v, 4, 7),
    mergeIdentical: atLeast(v, 4, 19),
    sameOriginKeepsPort: atLeast(v, 5, 0),
    clashEntries: atLeast(v, 5, 9) ? 'fixed' : atLeast(v, 5, 6) ? 'until-reply' : 'none',
    counting: atLeast(v, 5, 10) ? 'clash-resolve' : atLeast(v, 5, 6) ? 'insert-failed-merge' : 'insert-failed-all',
  };
}

/**
 * The per-CPU counters ctnetlink sends for `conntrack -S` (ctnetlink_ct_stat_cpu_fill_info in
 * net/netfilter/nf_conntrack_netlink.c), in CTA_STATS_* order, which is the order conntrack-tools
 * prints them in (src/conntrack.c nfct_stats_cb loops over the attribute numbers). `ignore` left
 * with "remove ignore stats" (5.10), `clash_resolve` came with bc92470413f3 (5.10),
 * `chaintoolong` with the chain length limit (5.15).
 */
export type CpuStatName =
  | 'found' | 'invalid' | 'ignore' | 'insert' | 'insert_failed' | 'drop' | 'early_drop' | 'error'
  | 'search_restart' | 'clash_resolve' | 'chaintoolong';

export function cpuStatNames(v: KernelVersion): readonly CpuStatName[] {
  const names: CpuStatName[] = ['found', 'invalid'];
  if (!atLeast(v, 5, 10)) names.push('ignore');
  names.push('insert', 'insert_failed', 'drop', 'early_drop', 'error', 'search_restart');
  if (atLeast(v, 5, 10)) names.push('clash_resolve');
  if (atLeast(v, 5, 15)) names.push('chaintoolong');
  return names;
}
