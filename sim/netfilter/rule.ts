/**
 * One iptables rule, parsed: the built-in IP header matches (-s -d -p -i -o, each negatable), the
 * extension matches in the order they were given (the kernel evaluates them in that order and stops
 * at the first that fails), and the target. Rules are immutable once parsed; rule sets share them.
 *
 * Field names follow iptables(8) and iptables-extensions(8).
 */
import type { Cidr, IPv4 } from '../net/ipv4.ts';
import type { Protocol } from '../net/protocol.ts';

/** An inclusive port range; a single port has lo === hi. */
export interface PortRange {
  lo: number;
  hi: number;
}

/** Bits of `-m conntrack --ctstate` (names from iptables-extensions(8), conntrack section). */
export const CT_INVALID = 1;
export const CT_NEW = 2;
export const CT_ESTABLISHED = 4;
export const CT_RELATED = 8;
export const CT_UNTRACKED = 16;
export const CT_SNAT = 32;
export const CT_DNAT = 64;
export const CT_STATE_NAMES: ReadonlyArray<[string, number]> = [
  ['INVALID', CT_INVALID],
  ['NEW', CT_NEW],
  ['RELATED', CT_RELATED],
  ['ESTABLISHED', CT_ESTABLISHED],
  ['UNTRACKED', CT_UNTRACKED],
  ['SNAT', CT_SNAT],
  ['DNAT', CT_DNAT],
];

/** addrtype types the simulator can decide from what a node knows (its local addresses). */
export type AddrType = 'LOCAL' | 'UNICAST' | 'BROADCAST' | 'MULTICAST';

export type Match =
  | { kind: 'comment'; module: 'comment'; comment: string }
  /** -m tcp / -m udp / -m sctp: the protocol's own port match (also loaded implicitly by `-p tcp --dport`). */
  | {
      kind: 'port';
      module: Protocol;
      sport: PortRange | null;
      sportNeg: boolean;
      dport: PortRange | null;
      dportNeg: boolean;
      /** --tcp-flags MASK COMP (or --syn = SYN,RST,ACK,FIN SYN); null when absent. */
      tcpFlags: { mask: number; comp: number; neg: boolean } | null;
    }
  | { kind: 'multiport'; module: 'multiport'; dir: 'sports' | 'dports' | 'ports'; ports: PortRange[]; neg: boolean }
  | {
      kind: 'addrtype';
      module: 'addrtype';
      srcType: AddrType | null;
      srcNeg: boolean;
      dstType: AddrType | null;
      dstNeg: boolean;
    }
  | { kind: 'mark'; module: 'mark'; value: number; mask: number; neg: boolean }
  /** -m conntrack --ctstate, and the older -m state --state (same semantics, kept apart for rendering). */
  | { kind: 'ctstate'; module: 'conntrack' | 'state'; states: number; neg: boolean }
  /** -m statistic --mode random: probability in the kernel's fixed point (0x80000000 = 1.0). */
  | { kind: 'statistic'; module: 'statistic'; probability: number; neg: boolean }
  /**
   * -m statistic --mode nth --every N --packet P: every Nth packet this rule sees matches, the first
   * being packet P + 1 (xt_statistic.c; the counter is per rule and network namespace, kept in
   * EvalContext.nth).
   */
  | { kind: 'nth'; module: 'statistic'; every: number; packet: number; neg: boolean }
  | {
      kind: 'recent';
      module: 'recent';
      command: 'set' | 'rcheck' | 'update' | 'remove';
      name: string;
      seconds: number;
      hitcount: number;
      reap: boolean;
      rttl: boolean;
      mask: IPv4;
      side: 'rsource' | 'rdest';
      neg: boolean;
    }
  | { kind: 'set'; module: 'set'; setName: string; flags: ('src' | 'dst')[]; neg: boolean }
  /**
   * -m nfacct --nfacct-name NAME: counts the packet in the named accounting object and matches
   * unless the object has a quota it is still under (net/netfilter/xt_nfacct.c nfacct_mt returns
   * overquota != NFACCT_UNDERQUOTA; an object without a quota gives NFACCT_NO_QUOTA). kube-proxy's
   * counters have no quota, and a quota is not in the dump, so the match always matches.
   */
  | { kind: 'nfacct'; module: 'nfacct'; name: string }
  /** A module the simulator does not model: kept verbatim for rendering, never matches. */
  | { kind: 'unknown'; module: string; tokens: string[] };

/**
 * What a table, a hook or the whole path does with a packet, in iptables' words: let it go on
 * (ACCEPT, the kernel's NF_ACCEPT), drop it (DROP, NF_DROP) or drop it and send an error back
 * (REJECT). It is an outcome, not a rule's target (see Target: jumps, RETURN and NAT lead to one).
 */
export type Disposition = 'ACCEPT' | 'DROP' | 'REJECT';

export type Target =
  | { kind: 'none' }
  | { kind: 'accept' }
  | { kind: 'drop' }
  | { kind: 'reject'; rejectWith: string | null }
  | { kind: 'return' }
  | { kind: 'jump'; chain: string }
  | { kind: 'goto'; chain: string }
  /**
   * --to-destination [ip[-ip]][:port[-port]]. `mapIps` false: only a port was given (`:8080`), the
   * address stays (no NF_NAT_RANGE_MAP_IPS); ip and ipHi are then 0. Port 0: the port stays.
   */
  | { kind: 'dnat'; mapIps: boolean; ip: IPv4; ipHi: IPv4; port: number; portHi: number; random: boolean; persistent: boolean }
  | { kind: 'snat'; mapIps: boolean; ip: IPv4; ipHi: IPv4; port: number; portHi: number; random: boolean; randomFully: boolean; persistent: boolean }
  | { kind: 'masquerade'; port: number; portHi: number; random: boolean; randomFully: boolean }
  /** MARK: every form (--set-mark, --or-mark, --and-mark, --xor-mark) is mark = (mark & ~mask) ^ value. */
  | { kind: 'mark'; value: number; mask: number }
  /** Non-terminating logging targets: evaluation continues with the next rule. */
  | { kind: 'log'; name: 'LOG' | 'TRACE'; tokens: string[] }
  /**
   * A target the simulator does not model (CT --notrack, CHECKSUM, TPROXY...): kept verbatim and
   * reported; a packet matching the rule goes on to the next rule, as if the target were absent.
   */
  | { kind: 'unknown'; name: string; tokens: string[] };

export interface Rule {
  src: Cidr | null;
  srcNeg: boolean;
  dst: Cidr | null;
  dstNeg: boolean;
  /**
   * IP protocol number, null for any (-p all, or no -p). A protocol the simulator has no packets of
   * (e.g. gre) keeps its number: it never equals a simulated packet's, so `-p gre` never matches and
   * `! -p gre` always does, as on a host that sees only tcp/udp/sctp/icmp.
   */
  proto: number | null;
  /** The protocol as written (lower case), for rendering. */
  protoName: string | null;
  protoNeg: boolean;
  /** Interface names; a trailing '+' is a prefix wildcard as in iptables. */
  inIface: string | null;
  inNeg: boolean;
  outIface: string | null;
  outNeg: boolean;
  matches: Match[];
  target: Target;
  /** Packet and byte counters from `[pkts:bytes]` in a dump (iptables-save -c), or null. */
  counters: [number, number] | null;
  /** True when a match (module or option) is not modelled: the rule never matches (and is reported). */
  unsupported: boolean;
}

export function emptyRule(): Rule {
  return {
    src: null,
    srcNeg: false,
    dst: null,
    dstNeg: false,
    proto: null,
    protoName: null,
    protoNeg: false,
    inIface: null,
    inNeg: false,
    outIface: null,
    outNeg: false,
    matches: [],
    target: { kind: 'none' },
    counters: null,
    unsupported: false,
  };
}
