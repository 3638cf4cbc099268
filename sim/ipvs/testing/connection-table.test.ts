import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MINUTE, SECOND } from '../../engine/time.ts';
import { parseIPv4 } from '../../net/ipv4.ts';
import { IpvsConnectionTable } from './connection-table.ts';
import { IpvsServiceTable } from '../service-table.ts';
import { IP_VS_SVC_F_PERSISTENT, type IpvsProtocol } from '../types.ts';

const VIP = parseIPv4('10.96.0.10');
const C1 = parseIPv4('10.244.1.5');
const C2 = parseIPv4('10.244.2.5');

function setup(protocol: IpvsProtocol = 'TCP', persistentSeconds = 0) {
  const t = new IpvsServiceTable();
  const e = t.addService({
    protocol,
    addr: VIP,
    port: 80,
    scheduler: 'rr',
    flags: persistentSeconds ? IP_VS_SVC_F_PERSISTENT : 0,
    timeoutSeconds: persistentSeconds,
  });
  const a = t.addDest(e, parseIPv4('10.244.0.1'), 8080);
  const b = t.addDest(e, parseIPv4('10.244.0.2'), 8080);
  return { t, e, a, b, ct: new IpvsConnectionTable(t) };
}

test('a TCP connection counts as inactive until ESTABLISHED, then active; it expires after its state timeout', () => {
  const { a, ct } = setup();
  const c = ct.connect('TCP', C1, 40000, VIP, 80, 0)!;
  assert.equal(c.dest, a);
  assert.deepEqual([a.activeConns, a.inactiveConns], [0, 1]);
  ct.setState(c, 'ESTABLISHED', 1 * SECOND);
  assert.deepEqual([a.activeConns, a.inactiveConns], [1, 0]);
  // Later packets of the same connection keep its server and refresh the 15-minute timer.
  assert.equal(ct.lookup('TCP', C1, 40000, VIP, 80, 10 * MINUTE), c);
  assert.equal(ct.lookup('TCP', C1, 40000, VIP, 80, 24 * MINUTE), c);
  ct.expire(40 * MINUTE);
  assert.equal(ct.size, 0);
  assert.deepEqual([a.activeConns, a.inactiveConns], [0, 0]);
});

test('UDP entries live 5 minutes and are always inactive', () => {
  const { a, ct } = setup('UDP');
  ct.connect('UDP', C1, 5353, VIP, 80, 0);
  assert.deepEqual([a.activeConns, a.inactiveConns], [0, 1]);
  ct.expire(5 * MINUTE - 1);
  assert.equal(ct.size, 1);
  ct.expire(5 * MINUTE);
  assert.equal(ct.size, 0);
});

test('expire_nodest_conn: after its real server is deleted the next packet finds no connection', () => {
  const { t, e, a, ct } = setup();
  const c = ct.connect('TCP', C1, 40000, VIP, 80, 0)!;
  ct.setState(c, 'ESTABLISHED', 0);
  t.deleteDest(e, a);
  assert.equal(ct.lookup('TCP', C1, 40000, VIP, 80, SECOND), undefined);
  assert.equal(ct.nodestExpired, 1);
  assert.equal(a.activeConns, 0);
  // A new connection from the same client goes to the remaining server.
  assert.equal(ct.connect('TCP', C1, 40001, VIP, 80, SECOND)!.dest.addr, parseIPv4('10.244.0.2'));
});

test('persistence: a client sticks to its server across connections until the template times out', () => {
  const { a, b, ct } = setup('TCP', 10800);
  const first = ct.connect('TCP', C1, 40000, VIP, 80, 0)!;
  const other = ct.connect('TCP', C2, 40000, VIP, 80, 0)!;
  assert.notEqual(first.dest, other.dest);
  assert.equal(a.persistConns + b.persistConns, 2);
  for (let p = 1; p <= 5; p++) assert.equal(ct.connect('TCP', C1, 40000 + p, VIP, 80, p * SECOND)!.dest, first.dest);
  // All connections gone and the template's 3 hours over: the client is scheduled afresh.
  ct.expire(4 * 3600 * SECOND);
  assert.equal(ct.templateCount, 0);
  assert.equal(a.persistConns + b.persistConns, 0);
});

test('persistence: a template does not expire while it still controls connections', () => {
  const { ct } = setup('TCP', 60);
  const c = ct.connect('TCP', C1, 40000, VIP, 80, 0)!;
  ct.setState(c, 'ESTABLISHED', 0);
  ct.expire(2 * MINUTE);
  assert.equal(ct.templateCount, 1);
});

test('expire_quiescent_template: a template pointing at a weight-0 server is dropped, the client rescheduled', () => {
  const { t, e, ct } = setup('TCP', 10800);
  const first = ct.connect('TCP', C1, 40000, VIP, 80, 0)!;
  t.updateDest(e, first.dest, 0);
  const next = ct.connect('TCP', C1, 40001, VIP, 80, SECOND)!;
  assert.notEqual(next.dest, first.dest);
});

test('no available server: no connection', () => {
  const { t, e, a, b, ct } = setup();
  t.updateDest(e, a, 0);
  t.updateDest(e, b, 0);
  assert.equal(ct.connect('TCP', C1, 40000, VIP, 80, 0), undefined);
  assert.equal(ct.connect('TCP', C1, 40000, parseIPv4('10.96.0.11'), 80, 0), undefined);
});
