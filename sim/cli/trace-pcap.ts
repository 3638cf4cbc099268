/**
 * `svcsim trace --pcap FILE`: the traced packet as a capture, so it can be opened in tshark or
 * Wireshark next to a capture from a real node. Two records, as a capture on the way in and on
 * the way out would show them: the packet as it arrived (simulated time 0) and, when the rules let
 * it through, the packet as it leaves with its DNAT and SNAT applied, stamped with the simulated
 * cost of the walk (the time netfilter took in the model). Link type LINKTYPE_RAW (101): the
 * record starts at the IPv4 header, what `tcpdump -w` writes for a raw-IP interface and what
 * Wireshark shows as "Raw IP"; the simulator has no Ethernet header to put in front.
 */
import { InputError } from '../io/input-error.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import type { Packet } from '../net/packet.ts';
import { LINKTYPE_RAW, PcapWriter } from '../net/pcap.ts';
import type { TraceReport } from './trace.ts';

/** The packet as it leaves, from the report's NAT results; null when it does not leave (DROP, REJECT). */
export function leavingPacket(r: TraceReport, arrived: Packet, nodeIp: number | null): Packet | null {
  if (r.verdict !== 'ACCEPT') return null;
  const p: Packet = { ...arrived, mark: r.mark };
  if (r.dnat !== null) {
    const [ip, port] = r.dnat.split(':');
    p.dst = tryParseIPv4(ip!)!;
    if (port !== undefined && p.proto !== 'icmp') p.dport = Number(port);
  }
  if (r.snat !== null) {
    // "ip[:lo[-hi]]": the kernel keeps the source port when it is in the range (and free), else
    // searches the range; one packet alone finds the first port free.
    const [ip, ports] = r.snat.split(':');
    p.src = tryParseIPv4(ip!)!;
    if (ports !== undefined && p.proto !== 'icmp') {
      const [lo, hi] = ports.split('-').map(Number) as [number, number | undefined];
      if (p.sport < lo || p.sport > (hi ?? lo)) p.sport = lo;
    }
  } else if (r.masquerade && nodeIp !== null) {
    // MASQUERADE takes the outgoing interface's address: the node's first address (--node-ip).
    p.src = nodeIp;
  }
  return p;
}

/** Writes the capture whole or not at all; an unwritable path is the user's mistake (exit 2). */
export function writeTracePcap(path: string, r: TraceReport, arrived: Packet, nodeIp: number | null): number {
  const w = new PcapWriter({ linkType: LINKTYPE_RAW });
  w.add(0, arrived);
  const out = leavingPacket(r, arrived, nodeIp);
  if (out !== null) w.add(Math.round(r.costNs), out);
  try {
    w.writeTo(path);
  } catch (e) {
    throw new InputError('--pcap', 'a file path that can be written', JSON.stringify(path), (e as Error).message);
  }
  return w.count;
}
