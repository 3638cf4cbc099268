import type { DnsAnswer, LookupOutcome, QueryType } from '../types.ts';
import type { ResolverConfig } from '../resolver-options.ts';
import { NS_PER_S, parallel, type LookupBody, type LookupContext, type ResolverEvent, type Wait } from './coroutine.ts';

/**
 * Go's pure resolver (net.Resolver without cgo) for LookupIP / LookupHost, followed from golang/go
 * src/net/dnsclient_unix.go:
 * - `nameList`: a rooted name alone; otherwise the name as given first when it has ndots dots or
 *   more, then every suffix (fqdn of at most 254 characters), then the name as given when it was not
 *   tried first;
 * - `goLookupIPCNAME`: per name, A and AAAA in two goroutines (or one after the other with
 *   single-request or single-request-reopen, which dnsconfig_unix.go treats alike); results are
 *   read as they come; any address ends the list; every error, a timeout included, moves to the
 *   next name (StrictErrors is off by default); the error kept is the first, or the as-given name's;
 * - `tryOneName`: attempts x servers from `serverOffset` (rotate); NXDOMAIN or no record of the type
 *   ends it at once (errNoSuchHost); SERVFAIL, other codes, timeouts and socket errors try the next;
 * - `exchange`: a new socket per exchange (r.dial), UDP (a connected socket: an ICMP port
 *   unreachable fails the read at once) or TCP with use-vc, with a deadline of `timeout`.
 */

/** Go's process-wide rotate counter (`dnsConfig.soffset`, src/net/dnsconfig.go); keep one per client process. */
export interface GoState {
  rotateCounter: number;
}

export function newGoState(): GoState {
  return { rotateCounter: 0 };
}

type OneName = { ok: true; addresses: string[] } | { ok: false; error: GoError };
type GoError = 'nxdomain' | 'nodata' | 'servfail' | 'misbehaving' | 'timeout' | 'refused';

function* goLookupBody(ctx: LookupContext, cfg: ResolverConfig, name: string, state: GoState): LookupBody {
  // Go compares the rooted fqdn with name+".": the as-given entry of an unrooted name; never for a
  // rooted one (name+"." then ends in two dots).
  const asGiven = name.endsWith('.') ? undefined : name;
  let lastErr: GoError | undefined;
  for (const fqdn of nameList(cfg, name)) {
    const lane = (t: QueryType) => tryOneName(ctx, cfg, fqdn, t, state);
    let results: OneName[];
    if (cfg.singleRequest) results = [yield* lane('A'), yield* lane('AAAA')];
    else results = (yield* parallel(ctx, [lane('A'), lane('AAAA')])).map((r) => r.value);
    const addresses: string[] = [];
    for (const r of results) {
      if (!r.ok) {
        if (lastErr === undefined || fqdn === asGiven) lastErr = r.error;
        continue;
      }
      addresses.push(...r.addresses);
    }
    if (addresses.length > 0) return { outcome: 'ok', addresses: [...new Set(addresses)], queries: 0 };
  }
  return { outcome: outcomeOf(lastErr), addresses: [], queries: 0 };
}

function outcomeOf(e: GoError | undefined): LookupOutcome {
  if (e === undefined || e === 'nxdomain') return 'nxdomain';
  if (e === 'misbehaving') return 'servfail';
  return e;
}

/** `nameList`, names without their trailing dot. */
export function nameList(cfg: ResolverConfig, name: string): string[] {
  const rooted = name.endsWith('.');
  if (name.length > 254 || (name.length === 254 && !rooted)) return [];
  if (rooted) return [name.slice(0, -1)];
  const hasNdots = [...name].filter((c) => c === '.').length >= cfg.ndots;
  const names: string[] = [];
  if (hasNdots) names.push(name);
  for (const suffix of cfg.searches) {
    const s = suffix.endsWith('.') ? suffix.slice(0, -1) : suffix;
    if (name.length + 1 + s.length + 1 <= 254) names.push(`${name}.${s}`);
  }
  if (!hasNdots) names.push(name);
  return names;
}

/** `tryOneName` for one query type. */
function* tryOneName(ctx: LookupContext, cfg: ResolverConfig, fqdn: string, type: QueryType, state: GoState): Generator<Wait, OneName, ResolverEvent> {
  const offset = cfg.rotate ? state.rotateCounter++ : 0; // dnsconfig.go serverOffset: soffset.Add(1) - 1, 0 to start
  const n = cfg.nameservers.length;
  let lastErr: GoError = 'timeout';
  for (let i = 0; i < cfg.attempts; i++) {
    for (let j = 0; j < n; j++) {
      const server = cfg.nameservers[(offset + j) % n]!;
      const r = yield* exchange(ctx, cfg, server, fqdn, type);
      if (r === 'timeout' || r === 'refused') {
        lastErr = r;
        continue;
      }
      if (r.rcode === 'NXDOMAIN') return { ok: false, error: 'nxdomain' };
      if (r.rcode !== 'NOERROR') {
        lastErr = r.rcode === 'SERVFAIL' ? 'servfail' : 'misbehaving';
        continue;
      }
      if (r.addresses.length === 0) return { ok: false, error: 'nodata' }; // skipToAnswer: errNoSuchHost
      return { ok: true, addresses: [...r.addresses] };
    }
  }
  return { ok: false, error: lastErr };
}

/** `exchange`: one query on a new socket, read until the deadline. */
function* exchange(ctx: LookupContext, cfg: ResolverConfig, server: string, fqdn: string, type: QueryType): Generator<Wait, DnsAnswer | 'timeout' | 'refused', ResolverEvent> {
  const q = ctx.query(fqdn, type, server, ctx.socket(), cfg.useVc ? 'tcp' : 'udp');
  const until = ctx.now + cfg.timeoutS * NS_PER_S;
  let send = [q];
  for (;;) {
    const ev = yield { send, until };
    send = [];
    if (ev.kind === 'timeout') return 'timeout';
    if (ev.query !== q) continue; // another socket's datagram
    if (ev.kind === 'unreachable') return 'refused';
    return ev.answer;
  }
}

export function goLookup(ctx: LookupContext, cfg: ResolverConfig, name: string, state: GoState): LookupBody {
  return goLookupBody(ctx, cfg, name, state);
}
