/**
 * Every cell of the TCP conntrack transition table against the kernel's tcp_conntracks[2][6][TCP_CONNTRACK_MAX]
 * (torvalds/linux net/netfilter/nf_conntrack_proto_tcp.c), rows written here in the kernel's own spelling so a
 * reader can hold the two side by side. Also the default timeouts (tcp_timeouts[], udp_timeouts[]).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  tcpNextState, tcpFlagIndex, TCP_STATE_NAMES, TCP_CONNTRACK_INVALID, TCP_CONNTRACK_IGNORE,
  TCP_SYN_SET, TCP_SYNACK_SET, TCP_FIN_SET, TCP_ACK_SET, TCP_RST_SET, TCP_NONE_SET,
} from './tcp-state.ts';
import { KERNEL_TIMEOUTS } from './timeouts.ts';
import { SECOND, MINUTE, HOUR } from '../engine/time.ts';

// Columns: sNO, sSS, sSR, sES, sFW, sCW, sLA, sTW, sCL, sS2 (the kernel's order).
const KERNEL_TABLE: Record<'ORIGINAL' | 'REPLY', Record<string, string>> = {
  ORIGINAL: {
    syn: 'sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2',
    synack: 'sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR',
    fin: 'sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV',
    ack: 'sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV',
    rst: 'sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL',
    none: 'sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV',
  },
  REPLY: {
    syn: 'sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2',
    synack: 'sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR',
    fin: 'sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV',
    ack: 'sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG',
    rst: 'sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL',
    none: 'sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV',
  },
};

const KERNEL_SHORT: Record<string, number> = {
  sNO: 0, sSS: 1, sSR: 2, sES: 3, sFW: 4, sCW: 5, sLA: 6, sTW: 7, sCL: 8, sS2: 9,
  sIV: TCP_CONNTRACK_INVALID, sIG: TCP_CONNTRACK_IGNORE,
};
const ROWS: Record<string, number> = {
  syn: TCP_SYN_SET, synack: TCP_SYNACK_SET, fin: TCP_FIN_SET, ack: TCP_ACK_SET, rst: TCP_RST_SET, none: TCP_NONE_SET,
};
const COLUMNS = ['sNO', 'sSS', 'sSR', 'sES', 'sFW', 'sCW', 'sLA', 'sTW', 'sCL', 'sS2'];

for (const [dirName, rows] of Object.entries(KERNEL_TABLE)) {
  const dir = dirName === 'ORIGINAL' ? 0 : 1;
  for (const [row, cells] of Object.entries(rows)) {
    test(`tcp_conntracks ${dirName} ${row}: every column as in the kernel`, () => {
      const expected = cells.split(', ');
      assert.equal(expected.length, 10);
      expected.forEach((cell, old) => {
        assert.equal(
          tcpNextState(dir, ROWS[row]!, old), KERNEL_SHORT[cell],
          `${dirName} ${row} in ${COLUMNS[old]} (${TCP_STATE_NAMES[old]}) should be ${cell}`,
        );
      });
    });
  }
}

test('the two cells the first copy had wrong: ORIGINAL SYN/ACK in SYN_RECV, REPLY SYN in TIME_WAIT', () => {
  assert.equal(tcpNextState(0, TCP_SYNACK_SET, 2), 2);
  assert.equal(tcpNextState(0, TCP_SYNACK_SET, 3), TCP_CONNTRACK_INVALID);
  assert.equal(tcpNextState(1, TCP_SYN_SET, 7), 1);
});

test('get_conntrack_index: RST over SYN, SYN(+ACK) over FIN, FIN over ACK', () => {
  const FIN = 1, SYN = 2, RST = 4, ACK = 0x10;
  assert.equal(tcpFlagIndex(RST | SYN | ACK), TCP_RST_SET);
  assert.equal(tcpFlagIndex(SYN | FIN), TCP_SYN_SET);
  assert.equal(tcpFlagIndex(SYN | ACK | FIN), TCP_SYNACK_SET);
  assert.equal(tcpFlagIndex(FIN | ACK), TCP_FIN_SET);
  assert.equal(tcpFlagIndex(ACK), TCP_ACK_SET);
  assert.equal(tcpFlagIndex(0), TCP_NONE_SET);
});

test('default timeouts are tcp_timeouts[] and udp_timeouts[] of nf_conntrack_proto_{tcp,udp}.c', () => {
  assert.deepEqual(KERNEL_TIMEOUTS.tcp, {
    synSent: 2 * MINUTE, synRecv: 60 * SECOND, established: 5 * 24 * HOUR, finWait: 2 * MINUTE,
    closeWait: 60 * SECOND, lastAck: 30 * SECOND, timeWait: 2 * MINUTE, close: 10 * SECOND, synSent2: 2 * MINUTE,
  });
  // nf_conntrack_udp_timeout 30 s; nf_conntrack_udp_timeout_stream 120 s.
  assert.deepEqual(KERNEL_TIMEOUTS.udp, { unreplied: 30 * SECOND, stream: 120 * SECOND });
});
