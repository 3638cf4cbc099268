/**
 * Transport protocols the simulator models, with their IANA IP protocol numbers (as in
 * /etc/protocols and the kernel's include/uapi/linux/in.h: IPPROTO_ICMP 1, TCP 6, UDP 17, SCTP 132).
 */
import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';

export type Protocol = 'tcp' | 'udp' | 'sctp' | 'icmp';

export const PROTOCOL_NUMBER: Readonly<Record<Protocol, number>> = { icmp: 1, tcp: 6, udp: 17, sctp: 132 };

export const PROTOCOLS: readonly Protocol[] = ['tcp', 'udp', 'sctp', 'icmp'];

const BY_NUMBER = new Map<number, Protocol>(PROTOCOLS.map((p) => [PROTOCOL_NUMBER[p], p]));

export function protocolFromNumber(n: number): Protocol | undefined {
  return BY_NUMBER.get(n);
}

/** True for protocols that carry ports (ICMP does not; its "ports" are 0 in the simulator). */
export function hasPorts(p: Protocol): boolean {
  return p !== 'icmp';
}

/** Accepts names in any case (Kubernetes writes TCP, iptables writes tcp) and numbers ("6"). */
export function parseProtocol(text: string, where = 'protocol'): Protocol {
  const t = text.toLowerCase();
  if ((PROTOCOLS as readonly string[]).includes(t)) return t as Protocol;
  if (/^[0-9]+$/.test(t)) {
    const p = BY_NUMBER.get(Number(t));
    if (p) return p;
  }
  throw new InputError(where, 'one of tcp, udp, sctp, icmp', quoteInput(text));
}
