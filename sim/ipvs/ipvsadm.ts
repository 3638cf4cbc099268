/**
 * `ipvsadm -Ln` text, as ipvsadm 1.31 prints it (ipvsadm.c list_all / print_title /
 * print_service_entry, libipvs ipvs_cmp_services / ipvs_cmp_dests):
 *
 *   IP Virtual Server version 1.2.1 (size=4096)
 *   Prot LocalAddress:Port Scheduler Flags
 *     -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
 *   TCP  10.96.0.1:443 rr
 *     -> 192.168.0.10:6443            Masq    1      0          0
 *
 * Destination lines are printf("  -> %-28s %-7s %-6d %-10u %-10u\n"), so they end in padding
 * spaces, as the real tool's output does. Services are sorted by protocol number, then address,
 * then port, and destinations by address then port, with libipvs's comparators: they subtract the
 * host-order values as C ints, so two addresses more than 2^31 apart compare the "wrong" way round
 * (e.g. 192.168.0.1 before 10.0.0.1), exactly as ipvsadm prints them. Scheduler flags print as
 * " (sh-fallback,sh-port)" / " (mh-port)" / " (flag-1,...)", persistence as " persistent N" and a
 * netmask other than 255.255.255.255 as " mask M".
 */
import { formatIPv4 } from '../net/ipv4.ts';
import type { IpvsServiceTable } from './service-table.ts';
import {
  IPVS_PROTOCOL_NUMBER,
  IP_VS_SVC_F_ONEPACKET,
  IP_VS_SVC_F_SCHED1,
  IP_VS_SVC_F_SCHED2,
  IP_VS_SVC_F_SCHED3,
  isPersistent,
  type RealServer,
  type VirtualServer,
} from './types.ts';

export interface IpvsadmOptions {
  /** The connection hash table size (2^conn_tab_bits, default bits 12). */
  connTabSize?: number;
}

/** libipvs compares host-order addresses by int subtraction. */
function cmpAddr(a: number, b: number): number {
  return ((a >>> 0) - (b >>> 0)) | 0;
}

export function compareServices(a: VirtualServer, b: VirtualServer): number {
  return IPVS_PROTOCOL_NUMBER[a.protocol] - IPVS_PROTOCOL_NUMBER[b.protocol] || cmpAddr(a.addr, b.addr) || a.port - b.port;
}

export function compareDests(a: RealServer, b: RealServer): number {
  return cmpAddr(a.addr, b.addr) || a.port - b.port;
}

function schedFlags(vs: VirtualServer): string {
  const names =
    vs.scheduler === 'sh' || vs.scheduler === 'mh'
      ? [`${vs.scheduler}-fallback`, `${vs.scheduler}-port`, 'flag-3']
      : ['flag-1', 'flag-2', 'flag-3'];
  const bits = [IP_VS_SVC_F_SCHED1, IP_VS_SVC_F_SCHED2, IP_VS_SVC_F_SCHED3];
  const on = names.filter((_, i) => vs.flags & bits[i]!);
  return on.length ? ` (${on.join(',')})` : '';
}

export function serviceLine(vs: VirtualServer): string {
  let line = `${vs.protocol}  ${formatIPv4(vs.addr)}:${vs.port} ${vs.scheduler}${schedFlags(vs)}`;
  if (isPersistent(vs)) {
    line += ` persistent ${vs.timeoutSeconds}`;
    if (vs.netmask >>> 0 !== 0xffffffff) line += ` mask ${formatIPv4(vs.netmask)}`;
  }
  if (vs.flags & IP_VS_SVC_F_ONEPACKET) line += ' ops';
  return line;
}

export function destLine(d: RealServer): string {
  const name = `${formatIPv4(d.addr)}:${d.port}`.slice(0, 28);
  return `  -> ${name.padEnd(28)} ${d.forward.padEnd(7)} ${String(d.weight).padEnd(6)} ${String(d.activeConns).padEnd(10)} ${String(d.inactiveConns).padEnd(10)}`;
}

export function renderIpvsadmList(table: IpvsServiceTable, opts: IpvsadmOptions = {}): string {
  const out = [
    `IP Virtual Server version 1.2.1 (size=${opts.connTabSize ?? 4096})`,
    'Prot LocalAddress:Port Scheduler Flags',
    '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn',
  ];
  const services = [...table.entries()].map((e) => e.vs).sort(compareServices);
  for (const vs of services) {
    out.push(serviceLine(vs));
    for (const d of [...vs.dests].sort(compareDests)) out.push(destLine(d));
  }
  return out.join('\n') + '\n';
}
