import type { DnsAnswer, DnsQuery, LookupResult, ResolverSession, ResolverStep } from './types.ts';

/**
 * Drives a ResolverSession with servers that answer at once, or not at all: what `svcsim dns`
 * prints and what tests pin. Each query gets the reply `reply(query)` gives: an answer (delivered
 * with no delay, in the order the queries were sent), `'unreachable'` (ICMP port unreachable: a
 * Service with no endpoints behind a REJECT rule) or `'none'` (dropped: the wait ends). The
 * driver's clock is the sum of the waits that ran out. Replies are delivered one at a time in the
 * order their queries were sent, a reply to a query of an earlier step included (the library
 * decides whether it still matches).
 */
export type StaticReply = DnsAnswer | 'unreachable' | 'none';

export interface SentQuery {
  query: DnsQuery;
  /** Lookup time (ns) it was sent at. */
  atNs: number;
  /** The step of the session that sent it (0: the first); queries sent together share it. */
  step: number;
  reply: StaticReply;
}

export interface StaticLookup {
  queries: SentQuery[];
  result: LookupResult;
  /** When the lookup ended (ns after it began). */
  durationNs: number;
}

/** A guard against a session that never ends (a bug): far more events than any library takes. */
const MAX_EVENTS = 1_000_000;

export function runStaticLookup(session: ResolverSession, reply: (q: DnsQuery) => StaticReply): StaticLookup {
  const queries: SentQuery[] = [];
  const inbox: SentQuery[] = [];
  let now = 0;
  let waitNs = 0;
  let steps = 0;
  const take = (step: ResolverStep): LookupResult | undefined => {
    if ('done' in step) return step.done;
    const index = steps++;
    for (const query of step.send) {
      const sent = { query, atNs: now, step: index, reply: reply(query) };
      queries.push(sent);
      if (sent.reply !== 'none') inbox.push(sent);
    }
    waitNs = step.waitNs;
    return undefined;
  };
  let result = take(session.start());
  for (let n = 0; result === undefined; n++) {
    if (n > MAX_EVENTS) throw new Error(`static lookup did not end within ${MAX_EVENTS} events`);
    const next = inbox.shift();
    if (next === undefined) {
      now += waitNs;
      result = take(session.timeout());
      continue;
    }
    const step = next.reply === 'unreachable' ? session.unreachable(next.query.id) : session.answer(next.query.id, next.reply as DnsAnswer);
    if (step !== null) result = take(step);
  }
  return { queries, result, durationNs: now };
}
