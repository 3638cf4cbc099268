/**
 * Test helpers: an EvalContext with the defaults a test usually wants (first packet of a NEW
 * connection, legacy backend, default costs, a statistic stream from a seed), and a packet from
 * a short text like 'tcp 10.244.1.5:40000 > 10.96.0.10:80'.
 */
import { RandomStream } from '../../engine/random.ts';
import { DEFAULT_COSTS } from '../../cost/cost-model.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import { makePacket, type Packet } from '../../net/packet.ts';
import type { Protocol } from '../../net/protocol.ts';
import type { EvalContext } from '../context.ts';
import { RecentTables } from '../recent.ts';
import { CT_NEW } from '../rule.ts';

export function testContext(over: Partial<EvalContext> & { seed?: number } = {}): EvalContext {
  const { seed, ...rest } = over;
  return {
    backend: 'legacy',
    costs: DEFAULT_COSTS,
    firstPacket: true,
    ctState: CT_NEW,
    random: new RandomStream(seed ?? 1, 'netfilter/test/statistic'),
    recent: new RecentTables(),
    nowNs: 0,
    ipsets: null,
    localAddrs: new Set([parseIPv4('192.168.0.2')]),
    conntrack: null,
    trace: null,
    ...rest,
  };
}

/** 'tcp 10.244.1.5:40000 > 10.96.0.10:80' (icmp: 'icmp 10.0.0.1 > 10.0.0.2'). Test input only. */
export function pkt(text: string, over: Partial<Packet> = {}): Packet {
  const m = /^(tcp|udp|sctp|icmp) ([0-9.]+)(?::(\d+))? > ([0-9.]+)(?::(\d+))?$/.exec(text);
  if (!m) throw new Error(`bad test packet ${text}`);
  return makePacket({
    proto: m[1] as Protocol,
    src: parseIPv4(m[2]!),
    sport: Number(m[3] ?? 0),
    dst: parseIPv4(m[4]!),
    dport: Number(m[5] ?? 0),
    ...over,
  });
}
