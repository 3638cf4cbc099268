import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseNetworkCidr as parseCidr, PodIPAllocator } from './ipam.ts';
import { formatCidr } from '../net/ipv4.ts';
import { formatIPv4 } from '../net/ipv4.ts';

const cidr = parseCidr('10.244.1.0/24');

test('host-local: a freed address is not handed out again before the range wraps', () => {
  const a = new PodIPAllocator(cidr);
  const first = [a.allocate()!, a.allocate()!, a.allocate()!].map(formatIPv4);
  assert.deepEqual(first, ['10.244.1.2', '10.244.1.3', '10.244.1.4']);
  a.release(cidr.addr + 3);
  assert.equal(formatIPv4(a.allocate()!), '10.244.1.5');
});

test('host-local: pods running at start count as reserved up to the highest, so a replacement gets a new address', () => {
  const a = new PodIPAllocator(cidr);
  for (const last of [2, 3, 4]) a.reserve(cidr.addr + last);
  a.release(cidr.addr + 3);
  assert.equal(formatIPv4(a.allocate()!), '10.244.1.5');
});

test('host-local: every allocation is a usable address not in use; the range fills exactly', () => {
  fc.assert(
    fc.property(fc.array(fc.boolean(), { maxLength: 600 }), (ops) => {
      const a = new PodIPAllocator(parseCidr('10.244.2.0/28'));
      const inUse = new Set<number>();
      for (const alloc of ops) {
        if (alloc || inUse.size === 0) {
          const ip = a.allocate();
          if (inUse.size === 13) assert.equal(ip, undefined);
          else {
            assert.ok(ip !== undefined && !inUse.has(ip));
            const host = ip - parseCidr('10.244.2.0/28').addr;
            assert.ok(host >= 2 && host <= 14, `host part ${host}`);
            inUse.add(ip);
          }
        } else {
          const ip = [...inUse][0]!;
          inUse.delete(ip);
          a.release(ip);
        }
      }
    }),
  );
});

test('a CIDR for the cluster needs a prefix and its network address, as the API server checks', () => {
  assert.equal(formatCidr(parseCidr('10.96.0.0/12')), '10.96.0.0/12');
  assert.throws(() => parseCidr('10.96.0.1/12'), /a CIDR whose address is its network address \(10\.96\.0\.0\/12\), found "10\.96\.0\.1\/12"/);
  assert.throws(() => parseCidr('10.96.0.0'), /an IPv4 CIDR such as 10\.244\.0\.0\/16, found "10\.96\.0\.0"/);
  assert.throws(() => parseCidr('10.96.0.0/255.240.0.0'), /an IPv4 CIDR such as/);
  assert.throws(() => parseCidr('10.96.0.0/33'), /an IPv4 CIDR such as/);
});
