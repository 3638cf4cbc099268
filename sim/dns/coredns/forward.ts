import { sampleNs, type Distribution } from '../../engine/distribution.ts';
import type { RandomStream } from '../../engine/random.ts';
import type { EventHandle, Simulator } from '../../engine/simulator.ts';
import { SECOND, type Nanos } from '../../engine/time.ts';
import type { DnsAnswer, DnsQuery, QueryType } from '../types.ts';

/**
 * One exchange with one upstream: send `query`; call `answered` when the answer arrives, `failed`
 * when the exchange fails at once (ICMP port unreachable on UDP, a refused or reset TCP connection:
 * proxy.Connect returns an error), or neither (the query or its answer was lost: the forward
 * plugin's read timeout ends the wait). At most one of the two, at most once.
 */
export type UpstreamExchange = (query: DnsQuery, answered: (answer: DnsAnswer) => void, failed: () => void) => void;

/**
 * CoreDNS's forward plugin (coredns/coredns plugin/forward/forward.go ServeDNS):
 * - `max_concurrent`: a query arriving while that many are in flight is answered REFUSED at once
 *   (ErrLimitExceeded); it is not an upstream error, so no health check follows.
 * - the upstreams are tried in the policy's order (default `random`: policy.go random.List, a fresh
 *   shuffle per query), each attempt waiting up to the read timeout (2 s, defaultReadTimeout) or
 *   failing at once on a connection error; after a failed attempt the next upstream is tried,
 *   wrapping round the list, while fewer than
 *   max_connect_attempts (default 2 per upstream, defaultConnectAttemptsPerUpstream) have failed and
 *   the 5 s deadline (defaultTimeout) has not passed when an attempt starts. Then SERVFAIL.
 * - `force_tcp` changes the transport of the upstream queries only.
 * Not modelled: upstream health checks (max_fails, the 0.5 s health_check) and connection reuse.
 */
export interface ForwardConfig {
  /** 0: no limit (the plugin's default; the kubeadm Corefile sets 1000). */
  maxConcurrent: number;
  readTimeoutNs: Nanos;
  /** The overall deadline per query across attempts. */
  deadlineNs: Nanos;
  /** undefined: 2 per upstream. */
  maxConnectAttempts?: number;
  forceTcp: boolean;
}

export const FORWARD_DEFAULTS: ForwardConfig = { maxConcurrent: 0, readTimeoutNs: 2 * SECOND, deadlineNs: 5 * SECOND, forceTcp: false };

export interface ForwardStats {
  /** Queries handed to an upstream (not refused). */
  forwarded: number;
  refusedMaxConcurrent: number;
  /** Upstream attempts, and those that ended at the read timeout. */
  attempts: number;
  readTimeouts: number;
  /** Attempts that failed at once (refused, reset). */
  connectErrors: number;
  /** Queries that ended in SERVFAIL (attempts or deadline used up). */
  servfail: number;
}

export class Forwarder {
  readonly stats: ForwardStats = { forwarded: 0, refusedMaxConcurrent: 0, attempts: 0, readTimeouts: 0, connectErrors: 0, servfail: 0 };
  private inFlight = 0;

  constructor(
    private readonly sim: Simulator,
    readonly config: ForwardConfig,
    private readonly upstreams: readonly UpstreamExchange[],
    private readonly policyRng: RandomStream,
  ) {
    if (upstreams.length === 0) throw new RangeError('Forwarder: at least one upstream');
  }

  /** Queries in flight to the upstreams now. */
  get concurrent(): number {
    return this.inFlight;
  }

  /**
   * Forwards `query`. Returns false when max_concurrent refuses it (the caller answers REFUSED);
   * otherwise `done` runs once, with the upstream's answer or SERVFAIL (`fromUpstream` false).
   */
  serve(query: DnsQuery, done: (answer: DnsAnswer, fromUpstream: boolean) => void): boolean {
    if (this.config.maxConcurrent > 0 && this.inFlight + 1 > this.config.maxConcurrent) {
      this.stats.refusedMaxConcurrent++;
      return false;
    }
    this.inFlight++;
    this.stats.forwarded++;
    new ForwardAttempts(this, query, this.order(), done).next();
    return true;
  }

  /** @internal */
  exchange(i: number, q: DnsQuery, answered: (a: DnsAnswer) => void, failed: () => void): void {
    this.stats.attempts++;
    this.upstreams[i]!({ ...q, transport: this.config.forceTcp ? 'tcp' : q.transport }, answered, failed);
  }

  /** @internal */
  finished(servfail: boolean): void {
    this.inFlight--;
    if (servfail) this.stats.servfail++;
  }

  /** @internal */
  get simulator(): Simulator {
    return this.sim;
  }

  /** The random policy: one shuffle per query; no draw for a single upstream. */
  private order(): number[] {
    const list = this.upstreams.map((_, i) => i);
    for (let i = list.length - 1; i > 0; i--) {
      const j = this.policyRng.integer(0, i);
      [list[i], list[j]] = [list[j]!, list[i]!];
    }
    return list;
  }
}

/** One query's walk through the upstream list. */
class ForwardAttempts {
  private i = 0;
  private failed = 0;
  private readonly deadline: Nanos;
  private readonly maxAttempts: number;
  private timer: EventHandle = -1;
  private attempt = 0;
  private over = false;

  constructor(
    private readonly fwd: Forwarder,
    private readonly query: DnsQuery,
    private readonly list: number[],
    private readonly done: (answer: DnsAnswer, fromUpstream: boolean) => void,
  ) {
    this.deadline = fwd.simulator.now + fwd.config.deadlineNs;
    this.maxAttempts = fwd.config.maxConnectAttempts ?? 2 * list.length;
  }

  next(): void {
    const sim = this.fwd.simulator;
    if (!(sim.now < this.deadline) || (this.maxAttempts > 0 && this.failed >= this.maxAttempts)) return this.finish(SERVFAIL, false);
    if (this.i >= this.list.length) this.i = 0;
    const upstream = this.list[this.i++]!;
    const attempt = ++this.attempt;
    this.timer = sim.schedule(this.fwd.config.readTimeoutNs, readTimeout, this);
    this.fwd.exchange(
      upstream,
      this.query,
      (a) => {
        if (this.over || attempt !== this.attempt) return; // a late answer: its read already failed
        sim.cancel(this.timer);
        this.finish(a, true);
      },
      () => {
        if (this.over || attempt !== this.attempt) return;
        sim.cancel(this.timer);
        this.fwd.stats.connectErrors++;
        this.attemptFailed();
      },
    );
  }

  /** @internal */
  timedOut(): void {
    if (this.over) return;
    this.fwd.stats.readTimeouts++;
    this.attemptFailed();
  }

  /** A failed attempt counts against max_connect_attempts, and the next upstream is tried at once. */
  private attemptFailed(): void {
    this.failed++;
    this.attempt++;
    this.next();
  }

  private finish(answer: DnsAnswer, fromUpstream: boolean): void {
    this.over = true;
    this.fwd.finished(!fromUpstream);
    this.done(answer, fromUpstream);
  }
}

const SERVFAIL: DnsAnswer = { rcode: 'SERVFAIL', addresses: [] };
const readTimeout = (a: ForwardAttempts) => a.timedOut();

/** An upstream outside the cluster: each query is lost with probability `loss`, else answered after a draw of `latency`. */
export interface SimulatedUpstreamConfig {
  latency: Distribution;
  /** Probability in [0, 1] that the query or its answer is lost. */
  loss: number;
}

/**
 * An UpstreamExchange whose answers come from `answer` after a latency drawn from `latencyRng`,
 * with losses drawn from `lossRng` (no draw when loss is 0).
 */
export function simulatedUpstream(
  sim: Simulator,
  config: SimulatedUpstreamConfig,
  answer: (name: string, type: QueryType) => DnsAnswer,
  latencyRng: RandomStream,
  lossRng: RandomStream,
): UpstreamExchange {
  return (q, answered) => {
    if (config.loss > 0 && lossRng.bernoulli(config.loss)) return;
    const a = answer(q.name, q.type);
    sim.schedule(sampleNs(config.latency, latencyRng), () => answered(a));
  };
}

/**
 * `servers` simulated upstreams (a resolv.conf's nameservers) sharing one latency and loss, drawn
 * from the streams `${rngPrefix}/upstream-latency` and `${rngPrefix}/upstream-loss`.
 */
export function simulatedUpstreams(
  sim: Simulator,
  config: SimulatedUpstreamConfig & { servers: number },
  answer: (name: string, type: QueryType) => DnsAnswer,
  rngPrefix: string,
): UpstreamExchange[] {
  const latency = sim.rng(`${rngPrefix}/upstream-latency`);
  const loss = sim.rng(`${rngPrefix}/upstream-loss`);
  return Array.from({ length: config.servers }, () => simulatedUpstream(sim, config, answer, latency, loss));
}
