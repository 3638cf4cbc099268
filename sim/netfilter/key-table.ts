/**
 * An integer-keyed hash table in one Int32Array, for the compiled chain index (compile.ts).
 *
 * Why not a Map: at kube-proxy scale (100k Services) a Map of 100k entries is a few MB of hash
 * buckets and entry records, and one lookup of a random key reads two or three cold cache lines;
 * that lookup is the part of a packet's walk that grows with the rule count. Here a key and its
 * value sit side by side in one flat array (open addressing, linear probing, load <= 1/2), so a
 * lookup is usually one cache line.
 *
 * Keys are any 32-bit values (IPv4 addresses, protocol * 65536 + port); values are any int32
 * except 0's encoding is reserved for empty slots (values are stored + 1 when >= 0).
 */
export const KEY_ABSENT = -0x80000000;

export class KeyTable {
  private readonly slots: Int32Array;
  private readonly shift: number;
  private readonly mask: number;

  constructor(entries: ReadonlyMap<number, number>) {
    let bits = 1;
    while (1 << bits < entries.size * 2) bits++;
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.slots = new Int32Array(2 << bits);
    for (const [k, v] of entries) {
      if (v === KEY_ABSENT) throw new Error('KeyTable: value out of range');
      let s = this.home(k);
      while (this.slots[2 * s + 1] !== 0) s = (s + 1) & this.mask;
      this.slots[2 * s] = k | 0;
      this.slots[2 * s + 1] = v >= 0 ? v + 1 : v;
    }
  }

  private home(key: number): number {
    // Fibonacci hashing: the top bits of key * 2^32/phi spread consecutive addresses and ports.
    return Math.imul(key | 0, 0x9e3779b1) >>> this.shift;
  }

  /** The value stored for `key`, or KEY_ABSENT. */
  get(key: number): number {
    const slots = this.slots;
    const k = key | 0;
    let s = this.home(k);
    for (;;) {
      const v = slots[2 * s + 1]!;
      if (v === 0) return KEY_ABSENT;
      if (slots[2 * s] === k) return v > 0 ? v - 1 : v;
      s = (s + 1) & this.mask;
    }
  }
}
