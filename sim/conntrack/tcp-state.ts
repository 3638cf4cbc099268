/**
 * TCP connection-tracking states and the kernel's transition table.
 *
 * Source: torvalds/linux net/netfilter/nf_conntrack_proto_tcp.c (tcp_conntrack_names,
 * tcp_conntracks[2][6][TCP_CONNTRACK_MAX], get_conntrack_index), as in current mainline kernels, since
 * those are what a node runs. Two rows differ from older kernels: an ORIGINAL-direction SYN/ACK is
 * invalid except in simultaneous open (sSR -> sSR, "Late retransmitted SYN/ACK in simultaneous open";
 * sES..sCL -> sIV, "Invalid SYN/ACK packets sent by the client"), and a REPLY-direction SYN in
 * TIME_WAIT reopens the connection (sTW -> sSS, "server may have switched role"). tcp-state.test.ts
 * checks every cell against the kernel's table.
 * The state numbers are the kernel's enum tcp_conntrack values, so `conntrack -L` names and
 * the table below index the same way as the kernel's. Window tracking (tcp_in_window) is not
 * modelled: the simulator only sends in-window segments, so every segment passes that check.
 */

export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
export const TCP_CONNTRACK_SYN_SENT2 = 9;
/** Pseudo-states of the table: the segment is invalid (sIV) or ignored (sIG). */
export const TCP_CONNTRACK_INVALID = 10;
export const TCP_CONNTRACK_IGNORE = 11;

export const TCP_STATE_NAMES: readonly string[] = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
];

/** Row index of the transition table, from the flags of the segment (get_conntrack_index). */
export const TCP_SYN_SET = 0;
export const TCP_SYNACK_SET = 1;
export const TCP_FIN_SET = 2;
export const TCP_ACK_SET = 3;
export const TCP_RST_SET = 4;
export const TCP_NONE_SET = 5;

// Flag bits as in the TCP header (same values as sim/net/packet.ts TCP_*).
const FIN = 0x01, SYN = 0x02, RST = 0x04, ACK = 0x10;

/** RST wins over SYN, SYN over FIN, FIN over ACK: the kernel's precedence. */
export function tcpFlagIndex(flags: number): number {
  if (flags & RST) return TCP_RST_SET;
  if (flags & SYN) return flags & ACK ? TCP_SYNACK_SET : TCP_SYN_SET;
  if (flags & FIN) return TCP_FIN_SET;
  if (flags & ACK) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

const sSS = TCP_CONNTRACK_SYN_SENT, sSR = TCP_CONNTRACK_SYN_RECV;
const sES = TCP_CONNTRACK_ESTABLISHED, sFW = TCP_CONNTRACK_FIN_WAIT, sCW = TCP_CONNTRACK_CLOSE_WAIT;
const sLA = TCP_CONNTRACK_LAST_ACK, sTW = TCP_CONNTRACK_TIME_WAIT, sCL = TCP_CONNTRACK_CLOSE;
const sS2 = TCP_CONNTRACK_SYN_SENT2, sIV = TCP_CONNTRACK_INVALID, sIG = TCP_CONNTRACK_IGNORE;

// [direction][flag index][old state] -> new state; columns NONE sSS sSR sES sFW sCW sLA sTW sCL sS2.
const TABLE: number[][][] = [
  [ // ORIGINAL
    /* syn    */ [sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2],
    /* synack */ [sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR],
    /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack    */ [sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV],
    /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
  [ // REPLY
    /* syn    */ [sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2],
    /* synack */ [sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR],
    /* fin    */ [sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV],
    /* ack    */ [sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG],
    /* rst    */ [sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL],
    /* none   */ [sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV],
  ],
];

/** Flattened for the hot path: index = dir * 60 + flagIndex * 10 + oldState. */
export const TCP_TRANSITIONS: Uint8Array = Uint8Array.from(TABLE.flat(2));

export function tcpNextState(dir: number, flagIndex: number, oldState: number): number {
  return TCP_TRANSITIONS[dir * 60 + flagIndex * 10 + oldState]!;
}
