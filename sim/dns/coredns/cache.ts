import type { RandomStream } from '../../engine/random.ts';
import { SECOND, type Nanos } from '../../engine/time.ts';
import type { DnsAnswer, QueryType } from '../types.ts';
import { inNormalZone, normalName } from './zone.ts';

/**
 * CoreDNS's cache plugin (coredns/coredns plugin/cache): a success cache and a denial cache, each a
 * plugin/pkg/cache of 256 shards with random eviction.
 *
 * - Capacity: each shard holds max(capacity / 256, 4) entries (integer division: pkg/cache New), so
 *   the default 10000 gives 256 x 39 = 9984 usable entries. The shard is the key's low 8 bits.
 * - Eviction: adding a new key to a full shard deletes one entry of that shard chosen at random (Go
 *   map order: pkg/cache shard.Add), success and denial alike (the README says LRU for denial; the
 *   code is the same shard type). Expired entries are not swept: they keep their slot until
 *   overwritten or evicted, and a lookup of an expired entry is a miss.
 * - TTL: an answer is stored for min(max(ttl, minTtl), maxTtl) (cache.go computeTTL), and the reply
 *   leaves with that TTL; a hit answers with the stored TTL less the whole seconds since it was
 *   stored (item.ttl), and is a hit only while that is > 0.
 * - Kinds (cache.go WriteMsg, set): NOERROR with addresses is success; NXDOMAIN and NODATA are
 *   denial; SERVFAIL from an upstream is stored in the denial cache for `servfail` (default 5 s).
 *   REFUSED is not cached. Replies the server writes itself on a plugin error (forward's SERVFAIL
 *   after its deadline, max_concurrent's REFUSED) never pass the cache (the caller does not put them).
 * - `disable success|denial ZONES`: answers for names in those zones are not stored in that cache.
 */
export interface CacheConfig {
  /** `success CAPACITY TTL`: entries (before sharding) and the maximum TTL in seconds. */
  successCapacity: number;
  successMaxTtl: number;
  successMinTtl: number;
  denialCapacity: number;
  denialMaxTtl: number;
  denialMinTtl: number;
  /** `servfail DURATION`, seconds (0: SERVFAIL is not cached). */
  servfailTtl: number;
  /** `disable success ZONES...` and `disable denial ZONES...`. */
  disableSuccess: readonly string[];
  disableDenial: readonly string[];
}

/** plugin/cache/cache.go: defaultCap, maxTTL (dnsutil.MaximumDefaultTTL 1 h), maxNTTL (half), minTTL and minNTTL (dnsutil.MinimalDefaultTTL 5 s), failttl = minNTTL. */
export const CACHE_DEFAULTS: CacheConfig = {
  successCapacity: 10_000,
  successMaxTtl: 3600,
  successMinTtl: 5,
  denialCapacity: 10_000,
  denialMaxTtl: 1800,
  denialMinTtl: 5,
  servfailTtl: 5,
  disableSuccess: [],
  disableDenial: [],
};

/** `cache TTL` (the kubeadm Corefile's `cache 30`): TTL caps both the success and the denial cache (plugin/cache/setup.go). */
export function cacheWithTtl(ttl: number, extra: Partial<CacheConfig> = {}): CacheConfig {
  return { ...CACHE_DEFAULTS, successMaxTtl: ttl, denialMaxTtl: ttl, ...extra };
}

/** plugin/pkg/cache/cache.go shardSize. */
export const CACHE_SHARDS = 256;

/** Entries a cache of this capacity holds: 256 shards of max(capacity / 256, 4) (pkg/cache New). */
export function usableCapacity(capacity: number): number {
  return CACHE_SHARDS * Math.max(Math.floor(capacity / CACHE_SHARDS), 4);
}

export type CacheKind = 'success' | 'denial';

interface Entry {
  answer: DnsAnswer;
  /** Seconds, as computeTTL gave it. */
  ttl: number;
  stored: Nanos;
}

/**
 * One plugin/pkg/cache: 256 shards of bounded size. The entries sit in one map (a lookup hashes the
 * key once); each shard keeps its keys in an array, for its size and an O(1) random eviction.
 */
class ShardedStore {
  private readonly entries = new Map<string, Entry>();
  private readonly keys: string[][] = [];
  private readonly perShard: number;
  evictions = 0;

  constructor(capacity: number, private readonly rng: RandomStream) {
    this.perShard = Math.max(Math.floor(capacity / CACHE_SHARDS), 4);
    for (let i = 0; i < CACHE_SHARDS; i++) this.keys.push([]);
  }

  get size(): number {
    return this.entries.size;
  }

  get(key: string): Entry | undefined {
    return this.entries.get(key);
  }

  add(key: string, entry: Entry): void {
    if (this.entries.get(key) === undefined) {
      const keys = this.keys[shardOf(key)]!;
      if (keys.length >= this.perShard) this.evict(keys);
      keys.push(key);
    }
    this.entries.set(key, entry);
  }

  private evict(keys: string[]): void {
    const i = this.rng.integer(0, keys.length - 1);
    this.entries.delete(keys[i]!);
    keys[i] = keys[keys.length - 1]!;
    keys.pop();
    this.evictions++;
  }
}

/** FNV-1a over the key: a fixed spread of keys over shards (CoreDNS hashes qname, qtype and class with FNV-64). */
function shardOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h & (CACHE_SHARDS - 1);
}

export interface CacheStats {
  hits: Record<CacheKind, number>;
  misses: number;
}

export class DnsCache {
  private readonly success: ShardedStore;
  private readonly denial: ShardedStore;
  readonly stats: CacheStats = { hits: { success: 0, denial: 0 }, misses: 0 };

  constructor(readonly config: CacheConfig, rng: RandomStream) {
    this.success = new ShardedStore(config.successCapacity, rng);
    this.denial = new ShardedStore(config.denialCapacity, rng);
  }

  /** Entries held (expired ones included: they hold their slot until replaced). */
  get size(): Record<CacheKind, number> {
    return { success: this.success.size, denial: this.denial.size };
  }

  get evictions(): Record<CacheKind, number> {
    return { success: this.success.evictions, denial: this.denial.evictions };
  }

  /**
   * The cached answer with its remaining TTL, or null (a miss, counted). The denial cache is looked
   * up first, except that a cached SERVFAIL does not shadow a live success entry
   * (plugin/cache/handler.go getIfNotStale).
   */
  get(name: string, type: QueryType, now: Nanos): DnsAnswer | null {
    const key = `${name}/${type}`;
    const denial = live(this.denial.get(key), now);
    const success = live(this.success.get(key), now);
    if (denial && !(denial.answer.rcode === 'SERVFAIL' && success)) return this.hit('denial', denial);
    if (success) return this.hit('success', success);
    this.stats.misses++;
    return null;
  }

  private hit(kind: CacheKind, e: { answer: DnsAnswer; left: number }): DnsAnswer {
    this.stats.hits[kind]++;
    return { ...e.answer, ttl: e.left };
  }

  /**
   * Stores an answer that came through the cache plugin and returns it as the client gets it: with
   * the TTL the cache computed (cache.go applies it to the reply whether or not it stores it).
   * REFUSED passes unchanged. A missing TTL reads as the cap (dnsutil.MinimalTTLWithMaximum of no
   * records is the maximum).
   */
  put(name: string, type: QueryType, answer: DnsAnswer, now: Nanos): DnsAnswer {
    if (answer.rcode === 'REFUSED') return answer;
    const kind = kindOf(answer);
    const ttl = this.ttlFor(answer, kind);
    const out = { ...answer, ttl };
    const disabled = kind === 'success' ? this.config.disableSuccess : this.config.disableDenial;
    if (ttl > 0 && !disabled.some((z) => inNormalZone(normalName(name), normalName(z)))) {
      (kind === 'success' ? this.success : this.denial).add(`${name}/${type}`, { answer: out, ttl, stored: now });
    }
    return out;
  }

  private ttlFor(answer: DnsAnswer, kind: CacheKind): number {
    const c = this.config;
    if (answer.rcode === 'SERVFAIL') return c.servfailTtl;
    const [min, max] = kind === 'success' ? [c.successMinTtl, c.successMaxTtl] : [c.denialMinTtl, c.denialMaxTtl];
    const msgTtl = Math.min(answer.ttl ?? max, max);
    return Math.min(Math.max(msgTtl, min), max);
  }
}

/** The entry with its TTL left in whole seconds (item.ttl), or null once that is 0 or less. */
function live(e: Entry | undefined, now: Nanos): { answer: DnsAnswer; left: number } | null {
  if (!e) return null;
  const left = e.ttl - Math.floor((now - e.stored) / SECOND);
  return left > 0 ? { answer: e.answer, left } : null;
}

/** response.Typify as the cache uses it: NOERROR with addresses is success; NXDOMAIN, NODATA and SERVFAIL go to the denial cache. */
export function kindOf(answer: DnsAnswer): CacheKind {
  return answer.rcode === 'NOERROR' && answer.addresses.length > 0 ? 'success' : 'denial';
}
