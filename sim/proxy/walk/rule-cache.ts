/**
 * Rule sets by version (and node, under internalTrafficPolicy Local), kept while nodes may still
 * use them: at most a few per node, the oldest dropped first. Nodes move forward through the
 * versions, so an old version is rarely asked for again; when it is, it is rebuilt, which costs time,
 * never a different answer.
 */
export class RuleCache<T> {
  private readonly entries = new Map<string, T>();

  get(key: string, nodes: number, build: () => T): T {
    let v = this.entries.get(key);
    if (v !== undefined) return v;
    v = build();
    this.entries.set(key, v);
    const keep = 2 * nodes + 4;
    while (this.entries.size > keep) this.entries.delete(this.entries.keys().next().value!);
    return v;
  }

  get size(): number {
    return this.entries.size;
  }
}
