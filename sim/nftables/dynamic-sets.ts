/**
 * Elements that the packet path itself writes into sets (`update @affinity-X { ip saddr }`), kept per
 * node, apart from the immutable ruleset version the node shares with others.
 *
 * In the kernel these live in the set (nft_dynset with a timeout: the element expires `timeout`
 * after its last update, nft_dynset_eval refreshing the expiry on every hit). kube-proxy re-adds
 * its affinity sets with `add set` on every sync, which keeps existing elements, and deletes sets of
 * endpoints that went away, which drops theirs — `retain` mirrors that when a node installs a new
 * ruleset version.
 */
import type { KeyCode, Ruleset } from './types.ts';

export class DynamicSets {
  /** table key -> set name -> element key -> expiry time (ns). */
  private readonly tables = new Map<string, Map<string, Map<KeyCode, number>>>();

  has(tableKey: string, set: string, key: KeyCode, nowNs: number): boolean {
    const exp = this.tables.get(tableKey)?.get(set)?.get(key);
    return exp !== undefined && exp > nowNs;
  }

  /** Adds the element or refreshes its expiry (nft `update`). */
  update(tableKey: string, set: string, key: KeyCode, expiresAtNs: number): void {
    let t = this.tables.get(tableKey);
    if (!t) this.tables.set(tableKey, (t = new Map()));
    let s = t.get(set);
    if (!s) t.set(set, (s = new Map()));
    s.set(key, expiresAtNs);
  }

  /** Live elements of a set at `nowNs`. */
  size(tableKey: string, set: string, nowNs: number): number {
    let n = 0;
    for (const exp of this.tables.get(tableKey)?.get(set)?.values() ?? []) if (exp > nowNs) n++;
    return n;
  }

  /** Drops the state of sets (and tables) that no longer exist in `rs`. */
  retain(rs: Ruleset): void {
    for (const [tk, sets] of this.tables) {
      const t = rs.tables.get(tk);
      if (!t) {
        this.tables.delete(tk);
        continue;
      }
      for (const name of sets.keys()) if (!t.sets.has(name)) sets.delete(name);
    }
  }

  /** Garbage-collects expired elements (the kernel's set gc worker does this periodically). */
  expire(nowNs: number): void {
    for (const sets of this.tables.values())
      for (const s of sets.values())
        for (const [k, exp] of s) if (exp <= nowNs) s.delete(k);
  }
}
