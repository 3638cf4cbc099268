/**
 * A packet as the data-plane models see it: a plain mutable record, so the hot loop can reuse one
 * object per hop and V8 keeps a single hidden class. Header fields are the ones netfilter, conntrack,
 * ipvs and nftables match on; `costNs` accumulates the simulated processing time charged so far.
 */
import type { IPv4 } from './ipv4.ts';
import type { Protocol } from './protocol.ts';

/** TCP flag bits, values as in the TCP header (RFC 9293) and iptables `--tcp-flags`. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;

export interface Packet {
  proto: Protocol;
  src: IPv4;
  dst: IPv4;
  /** Ports; 0 for ICMP. */
  sport: number;
  dport: number;
  /** TCP flag bits (TCP_SYN | ...); 0 for other protocols. */
  tcpFlags: number;
  /** Size in bytes on the wire (IP header included). */
  size: number;
  /** skb->mark (32-bit unsigned), set by MARK and matched by -m mark. */
  mark: number;
  /** Simulated processing time accumulated along the path, in ns. */
  costNs: number;
  /** Input interface name ('' when locally generated), output interface ('' until routed). */
  inIface: string;
  outIface: string;
}

export function makePacket(init: Partial<Packet> & Pick<Packet, 'proto' | 'src' | 'dst'>): Packet {
  // Every field is written in the same order so all packets share one hidden class.
  return {
    proto: init.proto,
    src: init.src,
    dst: init.dst,
    sport: init.sport ?? 0,
    dport: init.dport ?? 0,
    tcpFlags: init.tcpFlags ?? (init.proto === 'tcp' ? TCP_SYN : 0),
    size: init.size ?? 60,
    mark: init.mark ?? 0,
    costNs: init.costNs ?? 0,
    inIface: init.inIface ?? '',
    outIface: init.outIface ?? '',
  };
}

export function clonePacket(p: Packet): Packet {
  return makePacket(p);
}
