/**
 * How many nodes run each timeline version, kept as a count per version so that "which is the oldest
 * version still active somewhere" and "how many nodes are behind" cost O(1) amortised per sync instead
 * of a pass over every node (a 5,000-node cluster syncs 5,000 times per change).
 * Versions only move forward on a node (a sync never goes back), which is what makes the oldest
 * pointer monotone.
 */
export class ActiveVersions {
  private readonly counts = new Map<number, number>();
  private min = 0;

  constructor(private readonly nodes: number) {
    this.counts.set(0, nodes);
  }

  /** A node's rules moved from version `from` to `to` (to >= from). */
  move(from: number, to: number): void {
    if (to === from) return;
    const left = this.counts.get(from)! - 1;
    if (left === 0) this.counts.delete(from);
    else this.counts.set(from, left);
    this.counts.set(to, (this.counts.get(to) ?? 0) + 1);
    while (!this.counts.has(this.min)) this.min++;
  }

  /** The oldest version some node still runs. */
  get oldest(): number {
    return this.min;
  }

  /** Nodes whose rules are older than `version`. */
  behind(version: number): number {
    return this.nodes - (this.counts.get(version) ?? 0);
  }
}
