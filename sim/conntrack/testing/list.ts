/**
 * `conntrack -L` text, as conntrack-tools prints an entry through libnetfilter_conntrack
 * (src/conntrack/snprintf_default.c __snprintf_conntrack_default), for the default output:
 *   "%-8s %u " protocol name and number, "%u " seconds left, TCP state, "src=%s dst=%s sport=%u dport=%u "
 *   of the original tuple, "[UNREPLIED] " if no reply was seen, the reply tuple, "[ASSURED] ",
 *   "mark=%u ", "use=%u ", with the last blank removed. The timeout is what ctnetlink reports:
 *   the remaining time in whole seconds, truncated (nf_ct_expires / HZ).
 * ICMP entries print "type=%d code=%d id=%d"; the simulator's ICMP packets are echo requests (type 8)
 * answered by echo replies (type 0), with the identifier carried in the port fields.
 */
import { formatIPv4 } from '../../net/ipv4.ts';
import { PROTOCOL_NUMBER } from '../../net/protocol.ts';
import type { FiveTuple } from '../../net/tuple.ts';
import type { Nanos } from '../../engine/time.ts';
import type { ConntrackTable } from '../table.ts';
import { IPS_ASSURED, IPS_SEEN_REPLY } from '../common.ts';
import type { ConntrackEntry } from '../netlink.ts';

/** The conntrack-tools version of the reference capture (test/golden/conntrack), printed in the summary line. */
export const CONNTRACK_TOOLS_VERSION = 'v1.4.7';

export function formatConntrackEntry(c: ConntrackEntry, now: Nanos): string {
  const secs = Math.max(0, Math.floor((c.expires - now) / 1e9));
  let s = `${c.proto.padEnd(8)} ${PROTOCOL_NUMBER[c.proto]} ${secs} `;
  if (c.proto === 'tcp') s += `${c.state} `;
  s += tupleText(c.original, 8);
  if (!(c.status & IPS_SEEN_REPLY)) s += '[UNREPLIED] ';
  s += tupleText(c.reply, 0);
  if (c.status & IPS_ASSURED) s += '[ASSURED] ';
  s += `mark=${c.mark} use=1`;
  return s;
}

function tupleText(t: FiveTuple, icmpType: number): string {
  const addr = `src=${formatIPv4(t.src)} dst=${formatIPv4(t.dst)} `;
  if (t.proto === 'icmp') return `${addr}type=${icmpType} code=0 id=${t.sport} `;
  return `${addr}sport=${t.sport} dport=${t.dport} `;
}

/** The lines of `conntrack -L` (stdout), in hash-table dump order, each ending in a newline. */
export function conntrackList(table: ConntrackTable, now: Nanos): string {
  let out = '';
  for (const e of table.entries(now)) out += formatConntrackEntry(table.entry(e), now) + '\n';
  return out;
}

/** The summary conntrack -L writes to stderr after the entries. */
export function conntrackListSummary(shown: number): string {
  return `conntrack ${CONNTRACK_TOOLS_VERSION} (conntrack-tools): ${shown} flow entries have been shown.\n`;
}

/** `conntrack -C`: the current number of entries (nf_conntrack_count). */
export function conntrackCount(table: ConntrackTable): string {
  return `${table.count}\n`;
}

/**
 * `conntrack -S`: the per-CPU statistics line as conntrack-tools 1.4.7 prints it ("cpu=%-4u\t", then
 * "name=value " per counter, checked against a 6.18 kernel). The simulator has one CPU. Current kernels
 * no longer count `found` and `insert`, so neither is printed from the table; `early_drop` includes the
 * gc worker's evictions under pressure.
 */
export function conntrackStats(table: ConntrackTable): string {
  const s = table.stats;
  return (
    `cpu=${'0'.padEnd(4)}\tfound=0 invalid=${s.invalid} insert=0 insert_failed=${s.insertFailed} drop=${s.drop} ` +
    `early_drop=${s.earlyDrop} error=0 search_restart=0 clash_resolve=${s.clashResolve} chaintoolong=0 \n`
  );
}
