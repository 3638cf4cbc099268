/**
 * The words the DNS models share: a query as a resolver sends it, an answer as a server gives it,
 * and a lookup as a state machine that a caller drives. The caller owns time and the network: the
 * static driver of `svcsim dns` answers at once, a run carries each query through the node's
 * conntrack and kube-proxy's rules to a CoreDNS replica and calls back when the answer (or the
 * timer) comes. Resolver libraries never read a clock.
 */

export type QueryType = 'A' | 'AAAA';

/** RFC 1035 response codes that the models produce. NODATA is NOERROR with no addresses. */
export type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';

export interface DnsQuery {
  /** Unique within one lookup, in the order sent. */
  id: number;
  /** Fully qualified, without the trailing dot: `web.default.svc.cluster.local`. */
  name: string;
  type: QueryType;
  /** The nameserver's address, from resolv.conf. */
  server: string;
  /**
   * The client socket, numbered within the lookup. Queries with the same socket and server share a
   * 5-tuple (glibc sends A and AAAA with one sendmmsg on one socket), which is what the conntrack
   * insertion race needs; a new number is a new ephemeral source port.
   */
  socket: number;
  transport: 'udp' | 'tcp';
}

export interface DnsAnswer {
  rcode: Rcode;
  addresses: readonly string[];
  /** Seconds, as the record carries it (caches cap and floor it). */
  ttl?: number;
}

/**
 * The end of a lookup as the application sees it (getaddrinfo's result). `refused`: the socket got
 * ICMP port unreachable (a Service with no endpoints under a REJECT rule), which glibc maps to
 * TRY_AGAIN at once.
 */
export type LookupOutcome = 'ok' | 'nxdomain' | 'nodata' | 'servfail' | 'refused' | 'timeout';

export interface LookupResult {
  outcome: LookupOutcome;
  addresses: readonly string[];
  /** Every query sent, resends included. */
  queries: number;
}

/** What a resolver wants next: send these queries and wait at most `waitNs`, or stop. */
export type ResolverStep = { send: readonly DnsQuery[]; waitNs: number } | { done: LookupResult };

/**
 * One lookup by one resolver library (getaddrinfo for AF_UNSPEC unless the library says otherwise).
 * The caller calls `start` once, then `answer` for each answer that arrives before the wait ends
 * (null: keep waiting, the step's timer still runs) and `timeout` when the wait of the last step
 * ends with no new step. After a `done` step the session is finished.
 */
export interface ResolverSession {
  start(): ResolverStep;
  /**
   * `elapsedNs`: how long after the last returned step's wait began the answer arrived (default 0,
   * as the static driver delivers). A step returned here starts a new wait: its `waitNs` is counted
   * from the arrival, and libraries that keep a deadline across answers (glibc's single-request
   * budget, musl's retry interval, Go's per-query deadlines) compute it from `elapsedNs`, so a
   * caller that delivers answers later than at once must pass it.
   */
  answer(queryId: number, answer: DnsAnswer, elapsedNs?: number): ResolverStep | null;
  /** The socket got an ICMP error (port unreachable) for this query; `elapsedNs` as for `answer`. */
  unreachable(queryId: number, elapsedNs?: number): ResolverStep | null;
  timeout(): ResolverStep;
}
