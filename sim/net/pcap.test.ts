import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { makePacket, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, type Packet } from './packet.ts';
import { parseIPv4 } from './ipv4.ts';
import { PcapWriter, parsePcap, decodeIPv4, encodeIPv4, checksum, LINKTYPE_RAW, LINKTYPE_IPV4, PCAP_MAGIC_NS } from './pcap.ts';

const C = parseIPv4('10.244.1.5');
const S = parseIPv4('10.244.2.7');

function conversation(): [number, Packet][] {
  const o = (f: number, size = 40) => makePacket({ proto: 'tcp', src: C, sport: 40000, dst: S, dport: 8080, tcpFlags: f, size });
  const r = (f: number, size = 40) => makePacket({ proto: 'tcp', src: S, sport: 8080, dst: C, dport: 40000, tcpFlags: f, size });
  return [
    [1_000, o(TCP_SYN, 60)], [51_000, r(TCP_SYN | TCP_ACK, 60)], [101_000, o(TCP_ACK)],
    [102_000, o(TCP_PSH | TCP_ACK, 140)], [150_000, r(TCP_ACK)], [1_000_000_123, r(TCP_PSH | TCP_ACK, 540)],
    [1_000_050_000, o(TCP_FIN | TCP_ACK)], [1_000_100_000, r(TCP_FIN | TCP_ACK)], [1_000_150_000, o(TCP_ACK)],
    [2_000_000_000, makePacket({ proto: 'udp', src: C, sport: 33000, dst: parseIPv4('10.244.0.3'), dport: 53, size: 71 })],
    [2_000_000_001, makePacket({ proto: 'icmp', src: C, dst: S, sport: 7, size: 84 })],
  ];
}

function write(linkType = LINKTYPE_RAW): Uint8Array {
  const w = new PcapWriter({ linkType });
  for (const [t, p] of conversation()) w.add(t, p);
  assert.equal(w.count, 11);
  return w.toBytes();
}

test('the file parses back: header, nanosecond timestamps, lengths, addresses, ports, flags, checksums', () => {
  const bytes = write();
  const v = new DataView(bytes.buffer);
  assert.equal(v.getUint32(0, true), PCAP_MAGIC_NS);
  assert.equal(v.getUint16(4, true), 2);
  assert.equal(v.getUint16(6, true), 4);
  const { linkType, records } = parsePcap(bytes);
  assert.equal(linkType, LINKTYPE_RAW);
  const conv = conversation();
  assert.equal(records.length, conv.length);
  records.forEach((r, i) => {
    const [t, p] = conv[i]!;
    assert.equal(r.timeNs, t);
    assert.equal(r.data.length, p.size);
    const d = decodeIPv4(r.data);
    assert.equal(d.src, p.src);
    assert.equal(d.dst, p.dst);
    assert.equal(d.totalLength, p.size);
    assert.ok(d.ipChecksumOk, `ip checksum of record ${i}`);
    assert.ok(d.l4ChecksumOk, `l4 checksum of record ${i}`);
    if (p.proto !== 'icmp') {
      assert.equal(d.sport, p.sport);
      assert.equal(d.dport, p.dport);
    }
    if (p.proto === 'tcp') assert.equal(d.tcpFlags, p.tcpFlags);
  });
  // Sequence numbers follow the conversation: the SYN/ACK acknowledges the SYN, data advances seq.
  const d = records.map((r) => decodeIPv4(r.data));
  assert.equal(d[1]!.ack, (d[0]!.seq + 1) >>> 0);
  assert.equal(d[2]!.seq, (d[0]!.seq + 1) >>> 0);
  assert.equal(d[4]!.ack, (d[3]!.seq + 100) >>> 0);
  assert.equal(d[8]!.ack, (d[7]!.seq + 1) >>> 0);
});

test('checksums verify for random packets (property)', () => {
  fc.assert(fc.property(
    fc.constantFrom('tcp', 'udp', 'icmp' as const), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 1500 }), fc.integer({ min: 0, max: 0x3f }),
    (proto, src, dst, sport, dport, size, flags) => {
      const b = encodeIPv4(makePacket({ proto, src, dst, sport, dport, size, tcpFlags: flags }), 7, 123456, 654321);
      const d = decodeIPv4(b);
      assert.ok(d.ipChecksumOk && d.l4ChecksumOk);
      assert.equal(d.src, src);
      assert.equal(d.dst, dst);
    }));
  // RFC 1071 example: the checksum of 00 01 f2 03 f4 f5 f6 f7 is ~0xddf2.
  assert.equal(checksum(Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8, 0), ~0xddf2 & 0xffff);
});

test('snaplen truncates the captured bytes but keeps the original length; time may not go backwards', () => {
  const w = new PcapWriter({ snaplen: 54, linkType: LINKTYPE_IPV4 });
  w.add(5, makePacket({ proto: 'udp', src: C, dst: S, sport: 1, dport: 2, size: 1000 }));
  const { records, linkType } = parsePcap(w.toBytes());
  assert.equal(linkType, LINKTYPE_IPV4);
  assert.equal(records[0]!.data.length, 54);
  assert.equal(records[0]!.origLen, 1000);
  assert.throws(() => w.add(4, makePacket({ proto: 'udp', src: C, dst: S })), /before the previous/);
  assert.throws(() => new PcapWriter({ linkType: 1 }), /link type/);
});

const tshark = spawnSync('tshark', ['--version'], { encoding: 'utf8' });
test('tshark reads the file and decodes the conversation', { skip: tshark.status !== 0 ? 'tshark not installed' : false }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcsim-pcap-'));
  try {
    for (const linkType of [LINKTYPE_RAW, LINKTYPE_IPV4]) {
      const w = new PcapWriter({ linkType });
      for (const [t, p] of conversation()) w.add(t, p);
      const file = join(dir, `conv-${linkType}.pcap`);
      w.writeTo(file);
      assert.deepEqual(readFileSync(file), Buffer.from(w.toBytes()));
      const r = spawnSync('tshark', ['-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
        '-T', 'fields', '-e', 'frame.time_epoch', '-e', 'ip.src', '-e', 'ip.dst', '-e', '_ws.col.Protocol', '-e', 'tcp.flags.str',
        '-e', 'ip.checksum.status', '-e', 'tcp.checksum.status', '-e', 'udp.checksum.status', '-e', '_ws.expert'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
      assert.equal(lines.length, 11);
      assert.match(lines[0]![0]!, /^0?\.000001000/);
      assert.match(lines[5]![0]!, /^1\.000000123/);
      assert.equal(lines[0]![1], '10.244.1.5');
      assert.equal(lines[0]![2], '10.244.2.7');
      assert.equal(lines[9]![3], 'DNS');
      assert.equal(lines[10]![3], 'ICMP');
      for (const l of lines) {
        assert.equal(l[5], '1', 'ip checksum good'); // PROTO_CHECKSUM_E_GOOD in epan/proto.h
        if (l[6]) assert.equal(l[6], '1', 'tcp checksum good');
        if (l[7]) assert.equal(l[7], '1', 'udp checksum good');
      }
      // Sequence tracking keeps Wireshark's TCP analysis quiet for the TCP packets.
      for (const l of lines.slice(0, 9)) assert.doesNotMatch(l[8] ?? '', /retransmission|out-of-order|previous segment not captured/i);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
