/** kube-proxy's conntrack settings on top of the kernel's (timeouts.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TCP_ACK, TCP_SYN } from '../net/packet.ts';
import { parseIPv4 } from '../net/ipv4.ts';
import { SECOND, HOUR } from '../engine/time.ts';
import { ConntrackTable } from './table.ts';
import { KERNEL_TIMEOUTS, kubeProxyTimeouts, kubeProxyConntrackMax, kubeProxyHashsize } from './timeouts.ts';
import { pass, tcp } from './testing/pass.ts';

const ip = (s: string) => parseIPv4(s);
const CLIENT = ip('10.244.1.5');
const POD = ip('10.244.2.7');

test('kube-proxy timeouts: established 86400 s, close_wait 3600 s; nf_conntrack_max and hashsize', () => {
  const k = kubeProxyTimeouts();
  assert.equal(k.tcp.established, 86400 * SECOND);
  assert.equal(k.tcp.closeWait, 1 * HOUR);
  assert.equal(k.tcp.timeWait, KERNEL_TIMEOUTS.tcp.timeWait);
  assert.equal(k.udp.unreplied, 30 * SECOND);
  assert.equal(kubeProxyConntrackMax(2), 131072);
  assert.equal(kubeProxyConntrackMax(8), 262144);
  assert.equal(kubeProxyHashsize(262144), 65536);
  const t = new ConntrackTable({ max: 10, timeouts: k });
  pass(t, tcp(CLIENT, 1, POD, 80, TCP_SYN), 0);
  pass(t, tcp(POD, 80, CLIENT, 1, TCP_SYN | TCP_ACK), 0);
  const res = pass(t, tcp(CLIENT, 1, POD, 80, TCP_ACK), 5);
  assert.equal(t.expires(res.entry), 5 + 86400 * SECOND);
});
