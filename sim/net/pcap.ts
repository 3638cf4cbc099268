/**
 * Writes simulated packets as a pcap file that tcpdump, tshark and Wireshark open.
 *
 * Format (https://www.tcpdump.org/manpages/pcap-savefile.5.html, and draft-ietf-opsawg-pcap):
 * a 24-byte file header with the magic 0xa1b23c4d (timestamps in nanoseconds), version 2.4,
 * snaplen and link type; then per packet a 16-byte record header (seconds, nanoseconds, captured
 * length, original length) and the bytes. The link type is LINKTYPE_RAW (101: the packet starts with
 * the IP header) or LINKTYPE_IPV4 (228); both carry no link-layer header, which the simulator does not
 * model. Multi-byte header fields are written little-endian (readers detect the byte order from the
 * magic); the packet bytes are in network order.
 *
 * The packet bytes are real IPv4 (RFC 791) with TCP (RFC 9293), UDP (RFC 768) or ICMP echo (RFC 792)
 * headers and correct checksums, and a zero-filled payload up to the packet's size (a SYN's spare room
 * holds TCP options instead, as a real 60-byte SYN does). TCP sequence and
 * acknowledgement numbers are kept per connection by the writer (SYN and FIN count one, payload its
 * length) so that Wireshark's TCP analysis follows the conversation.
 */
import { writeFileAtomic } from '../io/atomic-write.ts';
import type { Packet } from './packet.ts';
import { TCP_FIN, TCP_SYN } from './packet.ts';
import { PROTOCOL_NUMBER } from './protocol.ts';

export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_IPV4 = 228;

const IP_HEADER = 20;
const TCP_HEADER = 20;
const UDP_HEADER = 8;
const ICMP_HEADER = 8;

export interface PcapOptions {
  /** LINKTYPE_RAW (101, default) or LINKTYPE_IPV4 (228). */
  linkType?: number;
  /** Bytes kept per packet (default 262144, tcpdump's default); longer packets are truncated. */
  snaplen?: number;
  /** Added to every simulated timestamp (ns since the Unix epoch of simulated time 0; default 0). */
  epochNs?: number;
}

interface TcpFlow {
  /** Next sequence number of the side that sent the first packet seen (a), and of the other side (b). */
  nextA: number;
  nextB: number;
  /** Source address and port of side a, to tell the directions apart. */
  srcA: number;
  sportA: number;
}

export class PcapWriter {
  readonly linkType: number;
  readonly snaplen: number;
  readonly epochNs: number;
  private chunks: Uint8Array[] = [];
  private bytes = 0;
  private packets = 0;
  private ipId = 0;
  private lastTime = -Infinity;
  private readonly flows = new Map<string, TcpFlow>();

  constructor(options: PcapOptions = {}) {
    this.linkType = options.linkType ?? LINKTYPE_RAW;
    if (this.linkType !== LINKTYPE_RAW && this.linkType !== LINKTYPE_IPV4) {
      throw new RangeError(`pcap link type must be ${LINKTYPE_RAW} (RAW) or ${LINKTYPE_IPV4} (IPV4), got ${this.linkType}`);
    }
    this.snaplen = options.snaplen ?? 262144;
    this.epochNs = options.epochNs ?? 0;
    const h = new DataView(new ArrayBuffer(24));
    h.setUint32(0, PCAP_MAGIC_NS, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setInt32(8, 0, true); // thiszone (reserved)
    h.setUint32(12, 0, true); // sigfigs (reserved)
    h.setUint32(16, this.snaplen, true);
    h.setUint32(20, this.linkType, true);
    this.push(new Uint8Array(h.buffer));
  }

  /** Number of packets written so far. */
  get count(): number {
    return this.packets;
  }

  /** Appends `p` as seen at simulated time `timeNs`. Times must not go backwards (pcap readers expect order). */
  add(timeNs: number, p: Packet): void {
    if (timeNs < this.lastTime) throw new RangeError(`pcap: packet at ${timeNs} ns is before the previous one (${this.lastTime} ns)`);
    this.lastTime = timeNs;
    let seq = 0, ack = 0;
    if (p.proto === 'tcp') [seq, ack] = this.tcpNumbers(p);
    const data = encodeIPv4(p, this.ipId, seq, ack);
    this.ipId = (this.ipId + 1) & 0xffff;
    const caplen = Math.min(data.length, this.snaplen);
    const t = timeNs + this.epochNs;
    const rec = new DataView(new ArrayBuffer(16));
    rec.setUint32(0, Math.floor(t / 1e9), true);
    rec.setUint32(4, t % 1e9, true);
    rec.setUint32(8, caplen, true);
    rec.setUint32(12, data.length, true);
    this.push(new Uint8Array(rec.buffer));
    this.push(caplen === data.length ? data : data.subarray(0, caplen));
    this.packets++;
  }

  /** The whole file. */
  toBytes(): Uint8Array {
    const out = new Uint8Array(this.bytes);
    let off = 0;
    for (const c of this.chunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  /** Writes the file whole or not at all. */
  writeTo(path: string): void {
    writeFileAtomic(path, this.toBytes());
  }

  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.bytes += b.length;
  }

  private tcpNumbers(p: Packet): [number, number] {
    const forward = p.src < p.dst || (p.src === p.dst && p.sport <= p.dport);
    const key = forward ? `${p.src}:${p.sport}>${p.dst}:${p.dport}` : `${p.dst}:${p.dport}>${p.src}:${p.sport}`;
    let f = this.flows.get(key);
    if (!f || p.tcpFlags === TCP_SYN) {
      // A fresh connection (or a new SYN reusing the tuple): deterministic initial sequence numbers.
      const isn = isnOf(p.src, p.sport, p.dst, p.dport);
      f = { nextA: isn, nextB: isnOf(p.dst, p.dport, p.src, p.sport), srcA: p.src, sportA: p.sport };
      this.flows.set(key, f);
    }
    const fromA = p.src === f.srcA && p.sport === f.sportA;
    const seq = fromA ? f.nextA : f.nextB;
    const ack = fromA ? f.nextB : f.nextA;
    const payload = Math.max(0, p.size - IP_HEADER - tcpHeaderLength(p));
    const used = payload + (p.tcpFlags & TCP_SYN ? 1 : 0) + (p.tcpFlags & TCP_FIN ? 1 : 0);
    if (fromA) f.nextA = (f.nextA + used) >>> 0;
    else f.nextB = (f.nextB + used) >>> 0;
    return [seq, ack];
  }
}

function isnOf(src: number, sport: number, dst: number, dport: number): number {
  let h = Math.imul(src ^ 0x5bd1e995, 0x01000193) ^ dst;
  h = Math.imul(h ^ ((sport << 16) | dport), 0x01000193);
  h ^= h >>> 15;
  return Math.imul(h, 0x2c1b3c6d) >>> 0;
}

/**
 * The bytes of `p` as an IPv4 datagram. `size` is the total length (at least the headers); TCP gets
 * `seq`/`ack` (the ACK field only when the ACK flag is set); ICMP is written as an echo request with
 * `sport` as its identifier (the Packet record carries no ICMP type).
 */
export function encodeIPv4(p: Packet, ipId: number, seq = 0, ack = 0): Uint8Array {
  const proto = PROTOCOL_NUMBER[p.proto];
  const l4 = p.proto === 'tcp' ? TCP_HEADER : p.proto === 'udp' ? UDP_HEADER : p.proto === 'icmp' ? ICMP_HEADER : 12;
  const total = Math.max(p.size, IP_HEADER + l4);
  if (total > 65535) throw new RangeError(`packet of ${total} bytes exceeds the IPv4 limit`);
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  v.setUint8(0, 0x45);
  v.setUint8(1, 0);
  v.setUint16(2, total);
  v.setUint16(4, ipId & 0xffff);
  v.setUint16(6, 0x4000); // DF, as Linux sets on TCP and most UDP
  v.setUint8(8, 64);
  v.setUint8(9, proto);
  v.setUint32(12, p.src >>> 0);
  v.setUint32(16, p.dst >>> 0);
  v.setUint16(10, checksum(b, 0, IP_HEADER, 0));
  const o = IP_HEADER;
  const len = total - IP_HEADER;
  if (p.proto === 'tcp') {
    const hlen = tcpHeaderLength(p);
    v.setUint16(o, p.sport);
    v.setUint16(o + 2, p.dport);
    v.setUint32(o + 4, seq >>> 0);
    v.setUint32(o + 8, p.tcpFlags & 0x10 ? ack >>> 0 : 0);
    v.setUint8(o + 12, (hlen / 4) << 4);
    if (hlen >= 24) {
      // Room in a SYN goes to options, as a Linux SYN carries them: MSS 1460, SACK permitted, then NOPs.
      v.setUint8(o + 20, 2); v.setUint8(o + 21, 4); v.setUint16(o + 22, 1460);
      let k = o + 24;
      if (hlen >= 28) { v.setUint8(k, 4); v.setUint8(k + 1, 2); v.setUint8(k + 2, 1); v.setUint8(k + 3, 1); k += 4; }
      for (; k < o + hlen; k++) v.setUint8(k, 1);
    }
    v.setUint8(o + 13, p.tcpFlags & 0x3f);
    v.setUint16(o + 14, 65535);
    v.setUint16(o + 16, checksum(b, o, len, pseudoHeaderSum(p.src, p.dst, proto, len)));
  } else if (p.proto === 'udp') {
    v.setUint16(o, p.sport);
    v.setUint16(o + 2, p.dport);
    v.setUint16(o + 4, len);
    const c = checksum(b, o, len, pseudoHeaderSum(p.src, p.dst, proto, len));
    v.setUint16(o + 6, c === 0 ? 0xffff : c); // RFC 768: a computed zero is sent as all ones
  } else if (p.proto === 'icmp') {
    v.setUint8(o, 8); // echo request: the Packet record has no ICMP type field
    v.setUint8(o + 1, 0);
    v.setUint16(o + 4, p.sport & 0xffff);
    v.setUint16(o + 6, 1);
    v.setUint16(o + 2, checksum(b, o, len, 0));
  } else {
    // SCTP common header (RFC 9260) with an empty chunk list; its CRC32c is left 0 (Wireshark reports it unverified).
    v.setUint16(o, p.sport);
    v.setUint16(o + 2, p.dport);
  }
  return b;
}

/** TCP header length in bytes: 20, or up to 60 for a SYN whose size leaves room for options. */
export function tcpHeaderLength(p: Packet): number {
  if (!(p.tcpFlags & TCP_SYN)) return TCP_HEADER;
  return Math.min(60, Math.max(TCP_HEADER, (p.size - IP_HEADER) & ~3));
}

function pseudoHeaderSum(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

/** The Internet checksum (RFC 1071) of `len` bytes at `off`, starting from a partial sum. */
export function checksum(b: Uint8Array, off: number, len: number, initial: number): number {
  let sum = initial;
  let i = off;
  const end = off + len;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

/** One record of a parsed pcap file. */
export interface PcapRecord {
  timeNs: number;
  origLen: number;
  data: Uint8Array;
}

/** Reads a pcap file written by PcapWriter (or any little-endian nanosecond pcap); for tests and tools. */
export function parsePcap(bytes: Uint8Array): { linkType: number; snaplen: number; records: PcapRecord[] } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 24 || v.getUint32(0, true) !== PCAP_MAGIC_NS) throw new Error('not a little-endian nanosecond pcap file');
  const snaplen = v.getUint32(16, true);
  const linkType = v.getUint32(20, true);
  const records: PcapRecord[] = [];
  let off = 24;
  while (off + 16 <= bytes.length) {
    const sec = v.getUint32(off, true);
    const nsec = v.getUint32(off + 4, true);
    const incl = v.getUint32(off + 8, true);
    const orig = v.getUint32(off + 12, true);
    off += 16;
    if (off + incl > bytes.length) throw new Error(`truncated pcap record at byte ${off - 16}`);
    records.push({ timeNs: sec * 1e9 + nsec, origLen: orig, data: bytes.subarray(off, off + incl) });
    off += incl;
  }
  return { linkType, snaplen, records };
}

/** The header fields of an IPv4 datagram built by encodeIPv4, with its checksums verified. */
export interface DecodedIPv4 {
  proto: number;
  src: number;
  dst: number;
  totalLength: number;
  ttl: number;
  sport: number;
  dport: number;
  tcpFlags: number;
  seq: number;
  ack: number;
  ipChecksumOk: boolean;
  l4ChecksumOk: boolean;
}

export function decodeIPv4(b: Uint8Array): DecodedIPv4 {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ihl = (v.getUint8(0) & 0x0f) * 4;
  const total = v.getUint16(2);
  const proto = v.getUint8(9);
  const src = v.getUint32(12);
  const dst = v.getUint32(16);
  const len = total - ihl;
  const out: DecodedIPv4 = {
    proto, src, dst, totalLength: total, ttl: v.getUint8(8), sport: 0, dport: 0, tcpFlags: 0, seq: 0, ack: 0,
    ipChecksumOk: checksum(b, 0, ihl, 0) === 0, l4ChecksumOk: true,
  };
  if (proto === 6 || proto === 17) {
    out.sport = v.getUint16(ihl);
    out.dport = v.getUint16(ihl + 2);
    out.l4ChecksumOk = checksum(b, ihl, len, pseudoHeaderSum(src, dst, proto, len)) === 0;
    if (proto === 6) {
      out.seq = v.getUint32(ihl + 4);
      out.ack = v.getUint32(ihl + 8);
      out.tcpFlags = v.getUint8(ihl + 13);
    }
  } else if (proto === 1) {
    out.l4ChecksumOk = checksum(b, ihl, len, 0) === 0;
  }
  return out;
}
