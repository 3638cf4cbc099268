import type { Simulator } from '../../engine/simulator.ts';
import type { Nanos } from '../../engine/time.ts';
import type { DnsAnswer, DnsQuery, QueryType, Rcode } from '../types.ts';
import { DnsCache, type CacheConfig } from './cache.ts';
import { CpuQueue } from './cpu.ts';
import { Forwarder, type ForwardConfig, type UpstreamExchange } from './forward.ts';
import { matchZone, normalName } from './zone.ts';

/**
 * Answers names it is authoritative for (the kubernetes plugin over the simulated Services), or null
 * for a name outside its zones, which then goes on to `forward`.
 */
export type Authority = (name: string, type: QueryType) => DnsAnswer | null;

/**
 * One server block of a Corefile, reduced to the plugins that shape an answer, in CoreDNS's plugin
 * order (core/dnsserver/zdirectives.go: cache before kubernetes before forward): the cache sees
 * every answer the plugins after it write.
 */
export interface BlockSpec {
  /** The block's zone: "." or a domain. A query goes to the block with the longest matching zone. */
  zone: string;
  cache: CacheConfig | null;
  /** The kubernetes plugin and its `ttl` (seconds), stamped on every answer it gives. */
  authority?: { answer: Authority; ttl: number };
  forward?: { config: ForwardConfig; upstreams: readonly UpstreamExchange[] };
}

export interface ServerSpec {
  cores: number;
  /** Client queries the socket's receive buffer holds while every core is busy. */
  receiveBufferQueries: number;
  /** CPU per query answered here (cache hit or authority), and per forwarded query in all (ns). */
  queryCostNs: Nanos;
  forwardedQueryCostNs: Nanos;
  blocks: readonly BlockSpec[];
  /** `health { lameduck }`: how long the server keeps answering after SIGTERM (0: exits at once). */
  lameduckNs: Nanos;
}

/** running: answers, ready. lameduck: SIGTERM received, still answers, /ready fails. stopped: the process has exited. */
export type ServerState = 'running' | 'lameduck' | 'stopped';

export interface ServerStats {
  queries: number;
  answered: Record<Rcode, number>;
  cacheHits: { success: number; denial: number };
  cacheMisses: number;
  forwarded: number;
  refusedMaxConcurrent: number;
  /** Lost in a full receive buffer. */
  droppedQueueFull: number;
  /** Arrived after the process exited. */
  droppedStopped: number;
  /** Waiting or in progress when the process exited. */
  droppedAtExit: number;
  cpuBusyNs: number;
}

interface Pending {
  query: DnsQuery;
  reply: (answer: DnsAnswer | null) => void;
  done: boolean;
}

type Block = { zone: string; cache: DnsCache | null; authority?: BlockSpec['authority']; forward?: Forwarder };

/**
 * A CoreDNS process as a component on the engine: a CPU queue in front of the plugin chain of its
 * server blocks. A query's reply callback runs once: with the answer at the time it leaves the
 * server (from a scheduled event), or with null at once when the query is dropped (no answer will
 * ever come: the client's resolver times out).
 */
export class DnsServer {
  private readonly cpu: CpuQueue;
  private readonly blocks: Block[];
  private readonly zones: string[];
  private readonly pending = new Set<Pending>();
  private readonly counts = { queries: 0, droppedQueueFull: 0, droppedStopped: 0, droppedAtExit: 0 };
  private readonly answered: Record<Rcode, number> = { NOERROR: 0, NXDOMAIN: 0, SERVFAIL: 0, REFUSED: 0 };
  state: ServerState = 'running';

  constructor(private readonly sim: Simulator, readonly name: string, private readonly spec: ServerSpec, rngPrefix: string) {
    this.cpu = new CpuQueue(sim, spec.cores, spec.receiveBufferQueries);
    this.blocks = spec.blocks.map((b) => ({
      zone: b.zone,
      cache: b.cache ? new DnsCache(b.cache, sim.rng(`${rngPrefix}/${zoneLabel(b.zone)}/cache-evict`)) : null,
      ...(b.authority ? { authority: b.authority } : {}),
      ...(b.forward ? { forward: new Forwarder(sim, b.forward.config, b.forward.upstreams, sim.rng(`${rngPrefix}/${zoneLabel(b.zone)}/forward-policy`)) } : {}),
    }));
    this.zones = this.blocks.map((b) => normalName(b.zone));
  }

  /** The readiness endpoint answers OK (plugin/ready: false from the moment shutdown starts). */
  get ready(): boolean {
    return this.state === 'running';
  }

  /** /health answers OK, during lameduck too (plugin/health README). */
  get healthy(): boolean {
    return this.state !== 'stopped';
  }

  /** Share of the cores busy since the server started. */
  cpuUtilisation(now: Nanos = this.sim.now): number {
    return this.cpu.utilisation(now);
  }

  get stats(): ServerStats {
    const s: ServerStats = { ...this.counts, answered: { ...this.answered }, cacheHits: { success: 0, denial: 0 }, cacheMisses: 0, forwarded: 0, refusedMaxConcurrent: 0, cpuBusyNs: this.cpu.busyNs };
    for (const b of this.blocks) {
      if (b.cache) {
        s.cacheHits.success += b.cache.stats.hits.success;
        s.cacheHits.denial += b.cache.stats.hits.denial;
        s.cacheMisses += b.cache.stats.misses;
      }
      if (b.forward) {
        s.forwarded += b.forward.stats.forwarded;
        s.refusedMaxConcurrent += b.forward.stats.refusedMaxConcurrent;
      }
    }
    return s;
  }

  /** The caches of the blocks, by zone (tests and metrics). */
  cache(zone: string): DnsCache | null {
    return this.blocks.find((b) => b.zone === zone)?.cache ?? null;
  }

  /** Receives one query. */
  query(query: DnsQuery, reply: (answer: DnsAnswer | null) => void): void {
    this.counts.queries++;
    if (this.state === 'stopped') {
      this.counts.droppedStopped++;
      return reply(null);
    }
    const p: Pending = { query, reply, done: false };
    if (!this.cpu.submit(this.spec.queryCostNs, () => this.handle(p), true)) {
      this.counts.droppedQueueFull++;
      return reply(null);
    }
    this.pending.add(p);
  }

  /**
   * SIGTERM: /ready fails at once, queries are answered for the lameduck period, then the process
   * exits. In CoreDNS the ready plugin's shutdown hook (which turns /ready off) runs before the
   * health plugin's, which sleeps for lameduck while the DNS servers still serve (ready comes
   * before health in zdirectives.go; plugin/ready/ready.go onFinalShutdown, plugin/health/health.go
   * OnFinalShutdown); the servers stop after the hooks.
   */
  terminate(): void {
    if (this.state !== 'running') return;
    this.state = 'lameduck';
    this.sim.schedule(this.spec.lameduckNs, () => this.exit());
  }

  /** The process is gone: what was waiting or in progress is never answered. */
  private exit(): void {
    this.state = 'stopped';
    this.cpu.clear();
    const left = [...this.pending];
    this.pending.clear();
    for (const p of left) {
      p.done = true;
      this.counts.droppedAtExit++;
      p.reply(null);
    }
  }

  private handle(p: Pending): void {
    const { name, type } = p.query;
    const block = this.blocks[matchZone(name, this.zones)];
    // A name no block serves is REFUSED by the server (core/dnsserver/server.go: no matching zone).
    if (!block) return this.answer(p, REFUSED);
    const hit = block.cache?.get(name, type, this.sim.now) ?? null;
    if (hit) return this.answer(p, hit);
    const auth = block.authority?.answer(name, type);
    if (auth) return this.answer(p, this.store(block, p.query, { ...auth, ttl: block.authority!.ttl }));
    // plugin.NextOrFailure with no next plugin: SERVFAIL.
    if (!block.forward) return this.answer(p, SERVFAIL);
    const accepted = block.forward.serve(p.query, (a, fromUpstream) => this.forwarded(p, block, a, fromUpstream));
    if (!accepted) this.answer(p, REFUSED);
  }

  /** An upstream's answer costs the rest of a forwarded query's CPU before it leaves; forward's own SERVFAIL leaves at once. */
  private forwarded(p: Pending, block: Block, a: DnsAnswer, fromUpstream: boolean): void {
    if (p.done) return;
    if (!fromUpstream) return this.answer(p, a);
    const out = this.store(block, p.query, a);
    const extra = Math.max(0, this.spec.forwardedQueryCostNs - this.spec.queryCostNs);
    this.cpu.submit(extra, () => this.answer(p, out), false);
  }

  private store(block: Block, q: DnsQuery, a: DnsAnswer): DnsAnswer {
    return block.cache ? block.cache.put(q.name, q.type, a, this.sim.now) : a;
  }

  private answer(p: Pending, a: DnsAnswer): void {
    if (p.done) return;
    p.done = true;
    this.pending.delete(p);
    this.answered[a.rcode]++;
    p.reply(a);
  }
}

const REFUSED: DnsAnswer = { rcode: 'REFUSED', addresses: [] };
const SERVFAIL: DnsAnswer = { rcode: 'SERVFAIL', addresses: [] };

/** A zone as a stream-name segment: "." reads "root". */
function zoneLabel(zone: string): string {
  const z = zone.replace(/\.$/, '');
  return z === '' ? 'root' : z;
}
