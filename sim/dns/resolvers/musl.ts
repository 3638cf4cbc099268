import type { DnsAnswer, DnsQuery, LookupResult } from '../types.ts';
import type { ResolverConfig } from '../resolver-options.ts';
import type { LookupBody, LookupContext, ResolverEvent, Wait } from './coroutine.ts';

/**
 * musl's getaddrinfo for AF_UNSPEC, followed from bminor/musl (86373b4):
 * - src/network/lookup_name.c `name_from_dns_search`: no search when the name has ndots dots or
 *   more, or ends in a dot; otherwise every search suffix first and the name as given last; only
 *   NXDOMAIN (a count of 0) moves on, anything else (addresses, EAI_NODATA, EAI_AGAIN) ends it;
 *   `name_from_dns`: A and AAAA through one `__res_msend_rc`; a missing answer or SERVFAIL is
 *   EAI_AGAIN, NXDOMAIN is 0, no address is EAI_NODATA.
 * - src/network/res_msend.c `__res_msend_rc`: one unconnected UDP socket per call (so an ICMP port
 *   unreachable is never reported to it); every unanswered query to every nameserver at once, again
 *   every timeout/attempts ms while less than `timeout` has passed; the first NOERROR or NXDOMAIN
 *   answer from any server is kept; SERVFAIL is resent to that server at once, at most 2 x nqueries
 *   times per retry interval; REFUSED and other codes are ignored. TCP only after a truncated answer
 *   (not modelled: the simulated answers are never truncated).
 * single-request, single-request-reopen, use-vc and rotate are not read (resolvconf.c).
 */

const MS = 1_000_000;

type NameResult = { kind: 'addresses'; addresses: string[] } | { kind: 'nxdomain' } | { kind: 'nodata' } | { kind: 'again'; servfail: boolean };

function* muslLookupBody(ctx: LookupContext, cfg: ResolverConfig, name: string): LookupBody {
  const dots = [...name].filter((c) => c === '.').length;
  const trailingDot = name.endsWith('.');
  const search = dots >= cfg.ndots || trailingDot ? [] : cfg.searches;
  const bare = trailingDot ? name.slice(0, -1) : name;
  if (bare === '' || bare.endsWith('.')) return { outcome: 'nxdomain', addresses: [], queries: 0 }; // EAI_NONAME
  for (const domain of search) {
    if (domain.length >= 256 - bare.length - 1) continue; // does not fit canon[256]
    const r = yield* nameFromDns(ctx, cfg, `${bare}.${domain}`);
    if (r.kind !== 'nxdomain') return toResult(r);
  }
  return toResult(yield* nameFromDns(ctx, cfg, bare));
}

function toResult(r: NameResult): LookupResult {
  switch (r.kind) {
    case 'addresses':
      return { outcome: 'ok', addresses: r.addresses, queries: 0 };
    case 'nxdomain':
      return { outcome: 'nxdomain', addresses: [], queries: 0 };
    case 'nodata':
      return { outcome: 'nodata', addresses: [], queries: 0 };
    case 'again':
      return { outcome: r.servfail ? 'servfail' : 'timeout', addresses: [], queries: 0 };
  }
}

/** `name_from_dns`. */
function* nameFromDns(ctx: LookupContext, cfg: ResolverConfig, fqdn: string): Generator<Wait, NameResult, ResolverEvent> {
  const { answers, servfail } = yield* msend(ctx, cfg, fqdn);
  for (const a of answers) {
    if (a === undefined) return { kind: 'again', servfail };
    if (a.rcode === 'NXDOMAIN') return { kind: 'nxdomain' };
  }
  const addresses = [...new Set(answers.flatMap((a) => a!.addresses))];
  return addresses.length > 0 ? { kind: 'addresses', addresses } : { kind: 'nodata' };
}

/** `__res_msend_rc` for the A and AAAA queries of one name. */
function* msend(ctx: LookupContext, cfg: ResolverConfig, fqdn: string): Generator<Wait, { answers: (DnsAnswer | undefined)[]; servfail: boolean }, ResolverEvent> {
  const types = ['A', 'AAAA'] as const;
  const socket = ctx.socket();
  const timeout = 1000 * cfg.timeoutS * MS;
  const retryInterval = Math.trunc((1000 * cfg.timeoutS) / cfg.attempts) * MS;
  const answers: (DnsAnswer | undefined)[] = [undefined, undefined];
  let servfail = false;
  const t0 = ctx.now;
  let t1 = t0 - retryInterval;
  let servfailRetry = 0;
  let send: DnsQuery[] = [];
  for (;;) {
    if (ctx.now - t0 >= timeout || answers.every((a) => a !== undefined)) break;
    if (ctx.now - t1 >= retryInterval) {
      types.forEach((t, i) => {
        if (!answers[i]) for (const server of cfg.nameservers) send.push(ctx.query(fqdn, t, server, socket));
      });
      t1 = ctx.now;
      servfailRetry = 2 * types.length;
    }
    const ev = yield { send, until: t1 + retryInterval };
    send = [];
    if (ev.kind !== 'answer') continue; // the wait's end, or an ICMP error the unconnected socket never sees
    const q = ev.query;
    const i = types.indexOf(q.type as (typeof types)[number]);
    if (q.socket !== socket || q.name !== fqdn || answers[i]) continue;
    const rcode = ev.answer.rcode;
    if (rcode === 'SERVFAIL') {
      servfail = true;
      if (servfailRetry > 0) {
        servfailRetry--;
        send.push(ctx.query(fqdn, q.type, q.server, socket));
      }
      continue;
    }
    if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') continue;
    answers[i] = ev.answer;
  }
  return { answers, servfail };
}

export function muslLookup(ctx: LookupContext, cfg: ResolverConfig, name: string): LookupBody {
  return muslLookupBody(ctx, cfg, name);
}
