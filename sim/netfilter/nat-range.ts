/**
 * Which address of a NAT range (`--to-destination 10.0.0.1-10.0.0.4`, `--to-source 1.2.3.4-1.2.3.8`)
 * a new connection gets: the kernel's find_best_ips_proto (torvalds/linux net/netfilter/nf_nat_core.c).
 * It hashes the tuple's source address with jhash2 (include/linux/jhash.h), seeded with the
 * destination address (0 with --persistent), and scales the hash onto the range with
 * reciprocal_scale, so a client keeps its address choice across connections and reboots. No
 * random stream is involved: the choice is a pure function of the addresses, as in the kernel.
 *
 * Byte order: the kernel hashes the addresses as they sit in memory (network order) read as host
 * u32s; on the little-endian hosts Kubernetes runs on that is the byte-swapped address.
 */

function rol32(x: number, s: number): number {
  return ((x << s) | (x >>> (32 - s))) >>> 0;
}

function bswap32(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

/** jhash2 (lookup3's hashword) of `k` with `initval`, as include/linux/jhash.h computes it. */
export function jhash2(k: readonly number[], initval: number): number {
  let length = k.length;
  let a = (0xdeadbeef + (length << 2) + initval) >>> 0;
  let b = a;
  let c = a;
  let i = 0;
  while (length > 3) {
    a = (a + k[i]!) >>> 0;
    b = (b + k[i + 1]!) >>> 0;
    c = (c + k[i + 2]!) >>> 0;
    // __jhash_mix
    a = (a - c) >>> 0; a = (a ^ rol32(c, 4)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 6)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 8)) >>> 0; b = (b + a) >>> 0;
    a = (a - c) >>> 0; a = (a ^ rol32(c, 16)) >>> 0; c = (c + b) >>> 0;
    b = (b - a) >>> 0; b = (b ^ rol32(a, 19)) >>> 0; a = (a + c) >>> 0;
    c = (c - b) >>> 0; c = (c ^ rol32(b, 4)) >>> 0; b = (b + a) >>> 0;
    length -= 3;
    i += 3;
  }
  if (length === 0) return c;
  if (length === 3) c = (c + k[i + 2]!) >>> 0;
  if (length >= 2) b = (b + k[i + 1]!) >>> 0;
  a = (a + k[i]!) >>> 0;
  // __jhash_final
  c = (c ^ b) >>> 0; c = (c - rol32(b, 14)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 11)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 25)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 16)) >>> 0;
  a = (a ^ c) >>> 0; a = (a - rol32(c, 4)) >>> 0;
  b = (b ^ a) >>> 0; b = (b - rol32(a, 14)) >>> 0;
  c = (c ^ b) >>> 0; c = (c - rol32(b, 24)) >>> 0;
  return c;
}

/** reciprocal_scale(val, ep_ro): val scaled onto [0, ep_ro) by the high half of a 64-bit product. */
function reciprocalScale(val: number, range: number): number {
  return Number((BigInt(val >>> 0) * BigInt(range >>> 0)) >> 32n);
}

/**
 * The address find_best_ips_proto picks from [lo, hi] for a connection from `src` to `dst` (the
 * original tuple's addresses, host order). One address: that address.
 */
export function pickRangeAddress(lo: number, hi: number, src: number, dst: number, persistent: boolean): number {
  lo >>>= 0;
  hi >>>= 0;
  if (lo === hi) return lo;
  // union nf_inet_addr is four u32s; an IPv4 address fills the first. Zone id 0.
  const j = jhash2([bswap32(src), 0, 0, 0], persistent ? 0 : bswap32(dst));
  return (lo + reciprocalScale(j, hi - lo + 1)) >>> 0;
}
