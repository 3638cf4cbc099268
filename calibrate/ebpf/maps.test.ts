import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backendId, serviceAddress, serviceBatch, serviceKey } from './maps.ts';

test('service 0 is the probe target 10.100.0.1:80, slot 0 its master entry', () => {
  assert.deepEqual(serviceAddress(0), [10, 100, 0, 1]);
  assert.equal(serviceKey(0, 0), '0a 64 00 01 00 50 00 00');
  assert.equal(serviceKey(299, 3), '0a 64 01 2c 00 50 03 00');
});

test('ClusterIPs are distinct and stop before the /16 runs out', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 65_535; i += 7) seen.add(serviceAddress(i).join('.'));
  assert.equal(seen.size, Math.ceil(65_535 / 7));
  assert.throws(() => serviceAddress(65_535), RangeError);
});

test('a batch holds a master entry, E slots and E backends per service, each backend once', () => {
  const text = serviceBatch({ services: '/m/s', backends: '/m/b' }, 10, 13, 4);
  const lines = text.trim().split('\n');
  assert.equal(lines.length, 3 * 9);
  assert.equal(lines[0], 'map update pinned /m/s key hex 0a 64 00 0b 00 50 00 00 value hex 00 00 00 00 04 00 0a 00');
  // slot 1 of service 10 points at backend 41, which is the server 192.168.60.2:8080
  assert.equal(lines[1], 'map update pinned /m/s key hex 0a 64 00 0b 00 50 01 00 value hex 29 00 00 00 00 00 0a 00');
  assert.equal(lines[2], 'map update pinned /m/b key hex 29 00 00 00 value hex c0 a8 3c 02 1f 90 00 00');
  const ids = lines.filter((l) => l.includes('/m/b')).map((l) => l.split(' key hex ')[1]!.slice(0, 11));
  assert.equal(new Set(ids).size, 12);
  assert.equal(backendId(10, 1, 4), 41);
  assert.equal(serviceBatch({ services: 's', backends: 'b' }, 5, 5, 4), '');
});
