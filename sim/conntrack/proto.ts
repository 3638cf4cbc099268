/**
 * The protocol trackers' packet handlers (nf_conntrack_proto_tcp.c, _udp.c, _icmp.c, _generic.c): for
 * a packet of a known or new entry, the new TCP state, the ASSURED bit and the new timeout. TCP follows
 * the kernel's transition table (tcp-state.ts) without window tracking.
 */
import { PROTOCOL_NUMBER } from '../net/protocol.ts';
import type { Nanos } from '../engine/time.ts';
import { IPS_ASSURED, IPS_CONFIRMED, IPS_FIXED_TIMEOUT, IPS_SEEN_REPLY } from './common.ts';
import type { ConntrackStore } from './store.ts';
import {
  TCP_CONNTRACK_NONE, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_ESTABLISHED,
  TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_TIME_WAIT, TCP_CONNTRACK_INVALID, TCP_CONNTRACK_IGNORE, TCP_RST_SET,
  TCP_TRANSITIONS, tcpFlagIndex,
} from './tcp-state.ts';

/** What a tracker decided: the packet is invalid, accepted, reopens a closed connection, or kills its entry. */
export const PKT_INVALID = 0;
export const PKT_ACCEPT = 1;
export const PKT_REPEAT = 2;
export const PKT_KILLED = 3;

// Per-entry TCP bookkeeping packed in one byte: CLOSE_INIT seen per direction, last flag index, last direction.
const TCPX_CLOSE_INIT_ORIG = 1;
const TCPX_CLOSE_INIT_REPLY = 2;
const TCPX_LAST_DIR = 4;
const TCPX_LAST_INDEX_SHIFT = 3;

const PROTO_TCP = PROTOCOL_NUMBER.tcp;
const PROTO_UDP = PROTOCOL_NUMBER.udp;
const PROTO_ICMP = PROTOCOL_NUMBER.icmp;

/** The tracker of `proto` for one packet of entry `e` in direction `dir`; returns a PKT_* value. */
export function protoPacket(s: ConntrackStore, e: number, dir: number, proto: number, flags: number, now: Nanos): number {
  if (proto === PROTO_TCP) return tcpPacket(s, e, dir, flags, now);
  if (proto === PROTO_UDP) {
    const status = s.eStatus[e]!;
    // A clash entry keeps its fixed 1 s and is never ASSURED (nf_ct_refresh_acct skips
    // IPS_FIXED_TIMEOUT; nf_conntrack_udp_packet returns before ASSURED for IPS_NAT_CLASH).
    if (status & IPS_FIXED_TIMEOUT) return PKT_ACCEPT;
    // nf_conntrack_udp_packet: a reply seen and still active 2 s after creation => stream, ASSURED.
    if (!(status & IPS_CONFIRMED)) s.eStreamTs[e] = now + 2_000_000_000;
    if (status & IPS_SEEN_REPLY) {
      if (now > s.eStreamTs[e]!) {
        s.eExpires[e] = now + s.timeouts.udp.stream;
        s.eStatus[e] = status | IPS_ASSURED;
      } else {
        s.eExpires[e] = now + s.timeouts.udp.unreplied;
      }
    } else {
      s.eExpires[e] = now + s.timeouts.udp.unreplied;
    }
    return PKT_ACCEPT;
  }
  s.eExpires[e] = now + (proto === PROTO_ICMP ? s.timeouts.icmp : s.timeouts.generic);
  return PKT_ACCEPT;
}

/** nf_conntrack_tcp_packet without window tracking (see tcp-state.ts). */
function tcpPacket(s: ConntrackStore, e: number, dir: number, flags: number, now: Nanos): number {
  const index = tcpFlagIndex(flags);
  const old = s.eState[e]!;
  const status = s.eStatus[e]!;
  const tcpx = s.eTcpx[e]!;
  if (!(status & IPS_CONFIRMED) && old === TCP_CONNTRACK_NONE) {
    // tcp_new: only a SYN, or (nf_conntrack_tcp_loose) an ACK picking up a connection, may create an entry.
    const first = TCP_TRANSITIONS[index * 10]!;
    if (first === TCP_CONNTRACK_INVALID || (first === TCP_CONNTRACK_ESTABLISHED && !s.tcpLoose)) return PKT_INVALID;
  }
  const next = TCP_TRANSITIONS[dir * 60 + index * 10 + old]!;
  if (next === TCP_CONNTRACK_SYN_SENT && old >= TCP_CONNTRACK_TIME_WAIT) {
    // A SYN on a closed or aborted connection reopens it: the caller deletes the entry and starts afresh.
    const lastIndex = tcpx >> TCPX_LAST_INDEX_SHIFT;
    const lastDir = tcpx & TCPX_LAST_DIR ? 1 : 0;
    if (tcpx & (TCPX_CLOSE_INIT_ORIG | TCPX_CLOSE_INIT_REPLY) || (lastDir === dir && lastIndex === TCP_RST_SET)) return PKT_REPEAT;
    s.eTcpx[e] = (tcpx & 3) | (dir ? TCPX_LAST_DIR : 0) | (index << TCPX_LAST_INDEX_SHIFT);
    return PKT_ACCEPT;
  }
  if (next === TCP_CONNTRACK_IGNORE) {
    s.eTcpx[e] = (tcpx & 3) | (dir ? TCPX_LAST_DIR : 0) | (index << TCPX_LAST_INDEX_SHIFT);
    return PKT_ACCEPT;
  }
  if (next === TCP_CONNTRACK_INVALID) return PKT_INVALID;
  let x = (tcpx & 3) | (dir ? TCPX_LAST_DIR : 0) | (index << TCPX_LAST_INDEX_SHIFT);
  if (old !== next && next === TCP_CONNTRACK_FIN_WAIT) x |= dir ? TCPX_CLOSE_INIT_REPLY : TCPX_CLOSE_INIT_ORIG;
  s.eTcpx[e] = x;
  s.eState[e] = next;
  if (!(status & IPS_SEEN_REPLY)) {
    // "If only reply is a RST, we can consider ourselves not to have an established connection":
    // the entry is deleted at once (connection refused frees its slot immediately).
    if (index === TCP_RST_SET) return PKT_KILLED;
  } else if (!(status & IPS_ASSURED) && (old === TCP_CONNTRACK_SYN_RECV || old === TCP_CONNTRACK_ESTABLISHED) && next === TCP_CONNTRACK_ESTABLISHED) {
    s.eStatus[e] = status | IPS_ASSURED;
  }
  s.eExpires[e] = now + (index === TCP_RST_SET ? s.timeouts.tcp.close : s.tcpTimeout[next]!);
  return PKT_ACCEPT;
}
