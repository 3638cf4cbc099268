/** Packet helpers shared by the conntrack tests: a TCP segment, a packet tracked and confirmed, an entry's state. */
import assert from 'node:assert/strict';
import { makePacket, type Packet } from '../../net/packet.ts';
import { CtLookup } from '../common.ts';
import type { ConntrackTable } from '../table.ts';

export function tcp(src: number, sport: number, dst: number, dport: number, flags: number): Packet {
  return makePacket({ proto: 'tcp', src, sport, dst, dport, tcpFlags: flags });
}

/** Tracks and confirms one packet, as a node does at PREROUTING and POSTROUTING. */
export function pass(t: ConntrackTable, p: Packet, now: number, out = new CtLookup()): CtLookup {
  const ok = t.track(p, now, out);
  if (ok && out.entry >= 0) assert.ok(t.confirm(out.entry, now), 'confirm');
  return out;
}

/** The TCP state name of the entry holding the packet's tuple, or undefined when there is none. */
export function stateOf(t: ConntrackTable, p: Packet, now: number): string | undefined {
  return t.get({ proto: p.proto, src: p.src, sport: p.sport, dst: p.dst, dport: p.dport }, now)?.state;
}
