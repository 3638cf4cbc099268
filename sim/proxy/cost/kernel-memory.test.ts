import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { iptablesKernelBytes, kvmallocBytes, legacyNatBytes, nftablesKernelBytes, type KernelTableCounts } from './kernel-memory.ts';

test('property: kvmalloc takes at least the size: a power of two up to 4 MiB, whole 2 MiB pages above, never less for more', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 28 }), fc.integer({ min: 0, max: 1 << 20 }), (size, more) => {
      const b = kvmallocBytes(size);
      assert.ok(b >= size);
      if (size <= 4 << 20) assert.equal(2 ** Math.log2(b), b);
      else assert.equal(b % (2 << 20), 0);
      assert.ok(kvmallocBytes(size + more) >= b);
    }),
  );
  assert.equal(kvmallocBytes(2_106_032), 4 << 20, '250 services x 4 endpoints: a 2.1 MB blob in a 4 MiB allocation (measured 4,198,400 bytes)');
  assert.equal(kvmallocBytes(4_962_032), 6 << 20, '1000 x 4: 4.96 MB in three 2 MiB pages (measured 6,295,552)');
});

const counts = fc.record({
  ports: fc.integer({ min: 0, max: 5000 }),
  without: fc.integer({ min: 0, max: 100 }),
  perPort: fc.integer({ min: 1, max: 20 }),
  affinity: fc.boolean(),
});

test('property: more endpoints, a port without endpoints, or affinity never take less memory, in any mode', () => {
  const all = (c: KernelTableCounts) => [iptablesKernelBytes('legacy', c), iptablesKernelBytes('nft', c), nftablesKernelBytes(c)];
  fc.assert(
    fc.property(counts, ({ ports, without, perPort, affinity }) => {
      const c = { ports, without, endpoints: ports * perPort, affinity };
      const base = all(c);
      // Past 1000 endpoints kube-proxy drops the endpoint comments, so compare within one side of it.
      const more = { ...c, ports: c.ports + 1, endpoints: c.endpoints + perPort };
      if ((c.endpoints <= 1000) === (more.endpoints <= 1000)) all(more).forEach((b, i) => assert.ok(b >= base[i]!));
      all({ ...c, without: without + 1 }).forEach((b, i) => assert.ok(b >= base[i]!));
      if (!affinity) all({ ...c, affinity: true }).forEach((b, i) => assert.ok(b >= base[i]!));
    }),
  );
});

test('legacy: affinity adds an xt_recent rcheck rule and a --set match per endpoint, 968 bytes as the kernel counts them', () => {
  // Per endpoint: the SVC's rcheck rule (entry, comment, recent, verdict) and the DNAT's --set match.
  const c = { ports: 10, without: 0, endpoints: 30, affinity: false };
  assert.equal(legacyNatBytes({ ...c, affinity: true }) - legacyNatBytes(c), 30 * 968);
});

test('legacy: past 1000 endpoints the endpoint rules lose their comments, 3 x 288 bytes each', () => {
  const at = (endpoints: number) => legacyNatBytes({ ports: endpoints / 4, without: 0, endpoints, affinity: false });
  assert.equal(at(1000) - at(996), 4 * (872 + 3 * 288) + 1304 + 3 * 56);
  assert.equal(at(1004) - at(1000), 4 * 872 + 1304 + 3 * 56 - 1000 * 3 * 288);
});
