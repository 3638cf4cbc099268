import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseIPv4 } from '../net/ipv4.ts';
import { destLine, renderIpvsadmList } from './ipvsadm.ts';
import { IpvsServiceTable } from './service-table.ts';
import { IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED2, makeRealServer } from './types.ts';

// UPDATE_GOLDEN=1 rewrites the golden file after an intended change; review the diff.
function golden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN) writeFileSync(path, actual);
  assert.equal(actual, readFileSync(path, 'utf8'), `differs from ${path}`);
}

test('ipvsadm -Ln: header, sorted services and destinations, flags, persistence, padded columns', () => {
  const t = new IpvsServiceTable();
  const ip = parseIPv4;
  // Inserted out of order: ipvsadm sorts by protocol number, address, port.
  const dns = t.addService({ protocol: 'UDP', addr: ip('10.96.0.10'), port: 53, scheduler: 'rr', flags: 0, timeoutSeconds: 0 });
  t.addDest(dns, ip('10.244.1.3'), 53);
  t.addDest(dns, ip('10.244.0.2'), 53);
  const api = t.addService({ protocol: 'TCP', addr: ip('10.96.0.1'), port: 443, scheduler: 'rr', flags: 0, timeoutSeconds: 0 });
  const apiDest = t.addDest(api, ip('192.168.0.10'), 6443);
  apiDest.activeConns = 3;
  apiDest.inactiveConns = 12;
  const sticky = t.addService({ protocol: 'TCP', addr: ip('10.96.12.7'), port: 80, scheduler: 'rr', flags: IP_VS_SVC_F_PERSISTENT, timeoutSeconds: 10800 });
  t.addDest(sticky, ip('10.244.2.9'), 8080);
  const gone = t.addDest(sticky, ip('10.244.1.10'), 8080);
  t.updateDest(sticky, gone, 0);
  const mh = t.addService({ protocol: 'TCP', addr: ip('10.96.0.20'), port: 8443, scheduler: 'mh', flags: IP_VS_SVC_F_SCHED2, timeoutSeconds: 0 });
  t.addDest(mh, ip('10.244.3.4'), 8443);
  t.addService({ protocol: 'TCP', addr: ip('192.168.0.10'), port: 30080, scheduler: 'rr', flags: 0, timeoutSeconds: 0 });
  t.addService({ protocol: 'SCTP', addr: ip('10.96.5.5'), port: 9, scheduler: 'wlc', flags: 0, timeoutSeconds: 0 });
  golden('test/golden/ipvs/list.txt', renderIpvsadmList(t));
});

test('ipvsadm -Ln: destination columns are printf("%-28s %-7s %-6d %-10u %-10u")', () => {
  const d = makeRealServer(parseIPv4('10.244.0.5'), 8080, 1);
  assert.equal(destLine(d), '  -> 10.244.0.5:8080              Masq    1      0          0         ');
  assert.equal(destLine(d).length, 2 + 3 + 28 + 1 + 7 + 1 + 6 + 1 + 10 + 1 + 10);
});
