import type { RandomStream } from '../engine/random.ts';

/**
 * Which of a Service's `n` endpoints a node's rules send a new flow to: uniformly at random
 * (iptables `statistic --mode random`, nftables `numgen random`, Cilium's random backend) from the
 * caller's stream, or round robin per (node, service port) (ipvs rr, the userspace proxy).
 */
export class EndpointChoice {
  private readonly cursors = new Map<number, number>();

  constructor(
    private readonly selection: 'random' | 'round-robin',
    private readonly stream: RandomStream,
    private readonly servicePorts: () => number,
  ) {}

  index(node: number, service: number, n: number): number {
    if (this.selection === 'random') return this.stream.integer(0, n - 1);
    const key = node * this.servicePorts() + service;
    const next = this.cursors.get(key) ?? 0;
    this.cursors.set(key, next + 1);
    return next % n;
  }
}
