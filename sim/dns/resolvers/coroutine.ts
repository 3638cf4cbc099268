import type { DnsAnswer, DnsQuery, LookupResult, QueryType, ResolverSession, ResolverStep } from '../types.ts';

/**
 * A resolver library written as a generator that reads like the C or Go source it follows: it
 * yields "send these queries, then wait until time T" and is resumed with what happened (an answer,
 * an ICMP error, or the wait's end). `CoroutineSession` turns such a generator into the
 * ResolverSession contract. Time is the lookup's own: 0 at `start`, advanced only by the caller
 * (a timeout moves it to the wait's end; an answer may say how long into the wait it came), so a
 * library never reads a clock.
 */
export type ResolverEvent =
  | { kind: 'answer'; query: DnsQuery; answer: DnsAnswer }
  | { kind: 'unreachable'; query: DnsQuery }
  | { kind: 'timeout' };

export interface Wait {
  send: readonly DnsQuery[];
  /** Lookup time (ns) at which the wait ends; the same value as before with nothing to send: keep waiting. */
  until: number;
}

export type LookupBody = Generator<Wait, LookupResult, ResolverEvent>;

/** What a library's generator uses to make queries and read the lookup's time. */
export class LookupContext {
  private nextId = 1;
  private nextSocket = 1;
  now = 0;
  readonly sent = new Map<number, DnsQuery>();

  query(name: string, type: QueryType, server: string, socket: number, transport: 'udp' | 'tcp' = 'udp'): DnsQuery {
    const q: DnsQuery = { id: this.nextId++, name, type, server, socket, transport };
    this.sent.set(q.id, q);
    return q;
  }

  /** A new client socket (a new ephemeral source port). */
  socket(): number {
    return this.nextSocket++;
  }

  get queries(): number {
    return this.sent.size;
  }
}

export const NS_PER_S = 1_000_000_000;

export class CoroutineSession implements ResolverSession {
  private readonly ctx = new LookupContext();
  private body?: LookupBody;
  private waitStart = 0;
  private until = 0;
  private finished = false;

  constructor(private readonly make: (ctx: LookupContext) => LookupBody) {}

  start(): ResolverStep {
    if (this.body) throw new Error('ResolverSession.start called twice');
    this.body = this.make(this.ctx);
    return this.step(this.body.next(), true)!;
  }

  /**
   * `elapsedNs`: how long after the last step's wait began the answer came (the static driver's
   * answers come at once: 0). Libraries that keep timers across answers (glibc's single-request
   * budget, musl's retry interval, Go's per-query deadlines) need it to be exact.
   */
  answer(queryId: number, answer: DnsAnswer, elapsedNs = 0): ResolverStep | null {
    const query = this.ctx.sent.get(queryId);
    if (!query || this.finished) return null;
    return this.resume({ kind: 'answer', query, answer }, elapsedNs);
  }

  unreachable(queryId: number, elapsedNs = 0): ResolverStep | null {
    const query = this.ctx.sent.get(queryId);
    if (!query || this.finished) return null;
    return this.resume({ kind: 'unreachable', query }, elapsedNs);
  }

  timeout(): ResolverStep {
    if (this.finished || !this.body) throw new Error('ResolverSession.timeout after the lookup ended');
    this.ctx.now = this.until;
    return this.step(this.body.next({ kind: 'timeout' }), true)!;
  }

  private resume(ev: ResolverEvent, elapsedNs: number): ResolverStep | null {
    if (!this.body) throw new Error('ResolverSession: answer before start');
    this.ctx.now = this.waitStart + Math.min(Math.max(0, elapsedNs), this.until - this.waitStart);
    return this.step(this.body.next(ev), false);
  }

  private step(r: IteratorResult<Wait, LookupResult>, mustChange: boolean): ResolverStep | null {
    if (r.done) {
      this.finished = true;
      return { done: { ...r.value, queries: this.ctx.queries } };
    }
    const w = r.value;
    if (!mustChange && w.send.length === 0 && w.until === this.until) return null;
    // A deadline already reached (an answer that came exactly at another lane's deadline) is a wait
    // of 0: the caller's timeout delivers it at once.
    this.waitStart = this.ctx.now;
    this.until = Math.max(w.until, this.ctx.now);
    return { send: w.send, waitNs: this.until - this.ctx.now };
  }
}

/**
 * Runs several lookups side by side (Go's A and AAAA goroutines): each keeps its own deadline, the
 * combined wait ends at the earliest, every event goes to the lane that sent its query. Returns the
 * lanes' results in the order they finished.
 */
export function* parallel<R>(ctx: LookupContext, lanes: Generator<Wait, R, ResolverEvent>[]): Generator<Wait, { index: number; value: R }[], ResolverEvent> {
  const state = lanes.map((g) => ({ g, wait: undefined as Wait | undefined, done: false, ids: new Set<number>() }));
  const finished: { index: number; value: R }[] = [];
  let send: DnsQuery[] = [];
  const advance = (i: number, ev?: ResolverEvent) => {
    const s = state[i]!;
    const r = ev === undefined ? s.g.next() : s.g.next(ev);
    if (r.done) {
      s.done = true;
      finished.push({ index: i, value: r.value });
      return;
    }
    s.wait = r.value;
    for (const q of r.value.send) s.ids.add(q.id);
    send.push(...r.value.send);
  };
  state.forEach((_, i) => advance(i));
  while (state.some((s) => !s.done)) {
    const until = Math.min(...state.filter((s) => !s.done).map((s) => s.wait!.until));
    const ev = yield { send, until };
    send = [];
    if (ev.kind === 'timeout') {
      state.forEach((s, i) => !s.done && s.wait!.until <= ctx.now && advance(i, ev));
    } else {
      const i = state.findIndex((s) => !s.done && s.ids.has(ev.query.id));
      if (i >= 0) advance(i, ev);
    }
  }
  return finished;
}
