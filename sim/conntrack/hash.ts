/**
 * The conntrack hash table (nf_conntrack_hash) and its sizing. Each tuple node is linked into the
 * chain of its tuple's bucket, so a packet in either direction finds its entry with one hash lookup;
 * new nodes go to the head of their chain, as hlist_nulls_add_head_rcu does.
 *
 * The hash is sized to use. `buckets` (nf_conntrack_buckets) fixes each tuple's bucket and so the
 * order of chains and of a `conntrack -L` dump, but a table allocates only enough physical bucket
 * heads for the nodes it holds: physical bucket = logical bucket >> shift, and the shift drops by one
 * (the heads double) whenever there are more linked nodes than heads, down to one head per logical
 * bucket. A physical chain therefore holds the chains of a few neighbouring logical buckets
 * interleaved; since new nodes go to the head and removal keeps order, each logical chain's own order
 * is exactly the kernel's, and walks that must follow it (lookup, early drop, gc, listing) take the
 * nodes of one logical bucket in that order. While the heads are still growing, every node records its
 * logical bucket (once they are fully grown, physical = logical and the walks take the chains as they
 * are). A small table thus does not pay 4 bytes per kernel bucket (128 KiB at kube-proxy's default
 * 32768 buckets), and a gc pass visits the physical heads only.
 */
import type { Nanos } from '../engine/time.ts';
import { release, type ConntrackStore } from './store.ts';

/** Hash of a tuple (murmur3 mixing of the five fields with the table's seed). */
export function tupleHash(seed: number, proto: number, src: number, sport: number, dst: number, dport: number): number {
  let h = seed ^ proto;
  h = mix(h, src);
  h = mix(h, dst);
  h = mix(h, ((sport << 16) | dport) >>> 0);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mix(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** reciprocal_scale(hash, buckets): the bucket of a hash. */
export function bucketOf(s: ConntrackStore, hash: number): number {
  return Math.floor((hash * s.buckets) / 4294967296);
}

/** The logical bucket of tuple node `n`, from its tuple. */
function nodeBucket(s: ConntrackStore, n: number): number {
  return bucketOf(s, tupleHash(s.seed, s.eProto[n >> 1]!, s.nSrc[n]!, s.nPorts[n]! >>> 16, s.nDst[n]!, s.nPorts[n]! & 0xffff));
}

/** Links tuple node `n` at the head of its bucket's chain. */
export function link(s: ConntrackStore, n: number): void {
  const b = nodeBucket(s, n);
  const ph = b >>> s.shift;
  // Once the heads are fully grown (shift 0) they stay so and nothing reads a node's bucket again.
  if (s.shift > 0) s.nBucket[n] = b;
  s.nNext[n] = s.heads[ph]!;
  s.heads[ph] = n;
  s.linked++;
}

/** Unlinks tuple node `n` from its chain, keeping the order of the others. */
export function unlink(s: ConntrackStore, n: number): void {
  const ph = s.shift === 0 ? nodeBucket(s, n) : s.nBucket[n]! >>> s.shift;
  let cur = s.heads[ph]!;
  if (cur === n) {
    s.heads[ph] = s.nNext[n]!;
    s.linked--;
    return;
  }
  while (cur >= 0) {
    const next = s.nNext[cur]!;
    if (next === n) {
      s.nNext[cur] = s.nNext[n]!;
      s.linked--;
      return;
    }
    cur = next;
  }
}

/** Doubles the physical heads when more nodes are linked than there are heads, until one per bucket. */
export function growHeadsIfFull(s: ConntrackStore): void {
  if (s.linked > s.heads.length && s.shift > 0) growHeads(s);
}

/**
 * Doubles the physical heads (one shift less). Each physical chain is split in two by appending its
 * nodes in order, so every logical bucket keeps its chain order.
 */
function growHeads(s: ConntrackStore): void {
  const shift = s.shift - 1;
  const size = ((s.buckets - 1) >>> shift) + 1;
  const heads = new Int32Array(size).fill(-1);
  const tails = new Int32Array(size).fill(-1);
  const old = s.heads;
  for (let ph = 0; ph < old.length; ph++) {
    let n = old[ph]!;
    while (n >= 0) {
      const next = s.nNext[n]!;
      const to = s.nBucket[n]! >>> shift;
      s.nNext[n] = -1;
      if (tails[to]! < 0) heads[to] = n;
      else s.nNext[tails[to]!] = n;
      tails[to] = n;
      n = next;
    }
  }
  s.heads = heads;
  s.shift = shift;
}

/** Deletes a confirmed entry now (nf_ct_delete): unlinks both tuple nodes and frees the slot. */
export function remove(s: ConntrackStore, e: number, now: Nanos): void {
  unlink(s, e * 2);
  unlink(s, e * 2 + 1);
  release(s, e, now);
}

/** Deletes an entry whose timeout has passed (nf_ct_gc_expired). */
export function reap(s: ConntrackStore, e: number, now: Nanos): void {
  remove(s, e, now);
  s.stats.expired++;
}

/**
 * Shared work array of the chain walks that collect first (early drop, gc); they never nest. Read it
 * after `collect`, which may replace it with a larger one.
 */
export let scratch = new Int32Array(64);

/**
 * Puts the nodes of logical buckets [from, to) found in physical chain `ph` into `scratch`, ordered
 * by bucket and, within a bucket, in chain order. Returns how many.
 */
export function collect(s: ConntrackStore, ph: number, from: number, to: number): number {
  let k = 0;
  let sorted = true;
  let last = -1;
  for (let n = s.heads[ph]!; n >= 0; n = s.nNext[n]!) {
    const b = s.shift === 0 ? ph : s.nBucket[n]!;
    if (b < from || b >= to) continue;
    if (k === scratch.length) {
      const grown = new Int32Array(k * 2);
      grown.set(scratch);
      scratch = grown;
    }
    scratch[k++] = n;
    if (b < last) sorted = false;
    last = b;
  }
  if (!sorted) sortScratchByBucket(k, s.nBucket);
  return k;
}

/** Stable insertion sort of scratch[0, k) by logical bucket (physical chains are a few nodes long). */
function sortScratchByBucket(k: number, bucketOfNode: Int32Array): void {
  for (let i = 1; i < k; i++) {
    const n = scratch[i]!;
    const b = bucketOfNode[n]!;
    let j = i - 1;
    while (j >= 0 && bucketOfNode[scratch[j]!]! > b) {
      scratch[j + 1] = scratch[j]!;
      j--;
    }
    scratch[j + 1] = n;
  }
}

/** The same for a listing's own array. */
export function sortByBucket(nodes: number[], bucketOfNode: Int32Array): void {
  for (let i = 1; i < nodes.length; i++) {
    const n = nodes[i]!;
    const b = bucketOfNode[n]!;
    let j = i - 1;
    while (j >= 0 && bucketOfNode[nodes[j]!]! > b) {
      nodes[j + 1] = nodes[j]!;
      j--;
    }
    nodes[j + 1] = n;
  }
}
