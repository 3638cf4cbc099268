import type { DnsAnswer, DnsQuery, LookupOutcome, LookupResult } from '../types.ts';
import type { ResolverConfig } from '../resolver-options.ts';
import { NS_PER_S, type LookupBody, type LookupContext, type ResolverEvent, type Wait } from './coroutine.ts';

/**
 * glibc's stub resolver as getaddrinfo(AF_UNSPEC) drives it through nss_dns: one
 * `__res_context_search` with T_QUERY_A_AND_AAAA. Followed from bminor/glibc (04e750e):
 * - resolv/res_query.c `__res_context_search`: the ndots rule, the search loop, the as-is try;
 *   `__res_context_query`: how the two answers make one result (h_errno);
 * - resolv/res_send.c `__res_context_send`: attempts x nameservers, rotate, use-vc (one pass);
 *   `send_dg`: A and AAAA on one socket (sendmmsg), the per-try wait `retrans << ns` (divided by
 *   nscount for ns > 0), and the serial retry stages after a timeout that left one answer;
 *   `send_vc`: TCP, both queries on one connection, no read timeout.
 * - resolv/nss_dns/dns-host.c `_nss_dns_gethostbyname4_r`: with `no-aaaa` the search asks T_A only.
 * Not modelled: truncated answers (TC, the switch to TCP), hostaliases, strict-error, and the lame
 * answer check (NOERROR without aa, ra or records goes to the next server): the simulated servers
 * answer with RA set.
 */

/**
 * The resolver state of one thread (`_res`): the private flags RES_F_SNGLKUP / RES_F_SNGLKUPREOP
 * that send_dg sets and nothing clears, so later lookups of that thread stay serial; and the rotate
 * offset (a process-wide counter in `nameserver_offset`, seeded at random there, from 0 here).
 * Keep one per client thread and pass it to every lookup.
 */
export interface GlibcState {
  snglkup: boolean;
  snglkupreop: boolean;
  rotateCounter: number;
}

export function newGlibcState(): GlibcState {
  return { snglkup: false, snglkupreop: false, rotateCounter: 0 };
}

/** h_errno values (netdb.h) the search reads. */
type HErrno = 'HOST_NOT_FOUND' | 'TRY_AGAIN' | 'NO_RECOVERY' | 'NO_DATA';

interface QueryResult {
  ok: boolean;
  addresses: string[];
  herrno?: HErrno;
  /** hp->rcode as the search loop reads it: the last response written to the answer buffer. */
  rcode: DnsAnswer['rcode'];
}

interface SendResult {
  /** The responses kept, in the order they arrived (at most two). */
  answers: DnsAnswer[];
  failed: boolean;
}

const isError = (a: DnsAnswer) => a.rcode === 'SERVFAIL' || a.rcode === 'REFUSED';

class GlibcLookup {
  /** errno as the search loop reads it: set by a failed send, never cleared during the lookup. */
  private errno: 'ECONNREFUSED' | 'ETIMEDOUT' | undefined;
  private lastRcode: DnsAnswer['rcode'] = 'NOERROR';

  constructor(
    private readonly ctx: LookupContext,
    private readonly cfg: ResolverConfig,
    private readonly state: GlibcState,
  ) {}

  /** `__res_context_search`. */
  *search(name: string): LookupBody {
    const dots = [...name].filter((c) => c === '.').length;
    const trailingDot = name.endsWith('.');
    const bare = trailingDot ? name.slice(0, -1) : name;
    let savedHerrno: HErrno | undefined;
    let triedAsIs = false;
    let searched = false;
    let rootOnList = false;
    let gotNodata = false;
    let gotServfail = false;
    let last: QueryResult | undefined;
    if (dots >= this.cfg.ndots || trailingDot) {
      last = yield* this.query(bare);
      if (last.ok || trailingDot) return this.result(last, last.herrno);
      savedHerrno = last.herrno;
      triedAsIs = true;
    }
    // RES_DEFNAMES and RES_DNSRCH are in RES_DEFAULT: a name without a trailing dot is searched.
    if (!trailingDot) {
      for (const domain of this.cfg.searches) {
        searched = true;
        const d = domain.startsWith('.') ? domain.slice(1) : domain;
        if (d === '') rootOnList = true;
        last = yield* this.query(d === '' ? bare : `${bare}.${d}`);
        if (last.ok) return this.result(last);
        if (this.errno === 'ECONNREFUSED') return this.result(last, 'TRY_AGAIN');
        if (last.herrno === 'NO_DATA') gotNodata = true;
        else if (last.herrno === 'HOST_NOT_FOUND') continue;
        else if (last.herrno === 'TRY_AGAIN' && last.rcode === 'SERVFAIL') gotServfail = true;
        else break; // a timeout or a refusal by rcode ends the list
      }
    }
    if ((dots > 0 || !searched || !this.cfg.noTldQuery) && !(triedAsIs || rootOnList)) {
      last = yield* this.query(bare);
      if (last.ok) return this.result(last);
    }
    const herrno = savedHerrno ?? (gotNodata ? 'NO_DATA' : gotServfail ? 'TRY_AGAIN' : last?.herrno ?? 'HOST_NOT_FOUND');
    return this.result(last, herrno);
  }

  private result(r: QueryResult | undefined, herrno?: HErrno): LookupResult {
    if (r?.ok && herrno === undefined) return { outcome: 'ok', addresses: r.addresses, queries: 0 };
    return { outcome: this.outcome(herrno ?? 'HOST_NOT_FOUND'), addresses: [], queries: 0 };
  }

  /** getaddrinfo's view: EAI_NONAME, EAI_NODATA, EAI_AGAIN (refused, timed out or SERVFAIL), EAI_FAIL. */
  private outcome(h: HErrno): LookupOutcome {
    switch (h) {
      case 'HOST_NOT_FOUND':
        return 'nxdomain';
      case 'NO_DATA':
        return 'nodata';
      case 'NO_RECOVERY':
        return 'servfail';
      case 'TRY_AGAIN':
        if (this.errno === 'ECONNREFUSED') return 'refused';
        return this.lastRcode === 'SERVFAIL' ? 'servfail' : 'timeout';
    }
  }

  /** `__res_context_query`: send both, then read the two answers as one. */
  private *query(fqdn: string): Generator<Wait, QueryResult, ResolverEvent> {
    this.lastRcode = 'NOERROR';
    const sent = yield* this.send(fqdn);
    if (sent.failed) return { ok: false, addresses: [], herrno: 'TRY_AGAIN', rcode: this.lastRcode };
    const [hp, hp2 = sent.answers[0]!] = sent.answers;
    const hasData = (a: DnsAnswer) => a.rcode === 'NOERROR' && a.addresses.length > 0;
    if (hasData(hp!) || hasData(hp2)) return { ok: true, addresses: [...new Set(sent.answers.flatMap((a) => (hasData(a) ? a.addresses : [])))], rcode: hp!.rcode };
    const rc = hp!.rcode === 'NOERROR' ? hp2.rcode : hp!.rcode;
    const herrno: HErrno = rc === 'NXDOMAIN' ? 'HOST_NOT_FOUND' : rc === 'SERVFAIL' ? 'TRY_AGAIN' : rc === 'NOERROR' ? 'NO_DATA' : 'NO_RECOVERY';
    return { ok: false, addresses: [], herrno, rcode: hp!.rcode };
  }

  /** `__res_context_send`. */
  private *send(fqdn: string): Generator<Wait, SendResult, ResolverEvent> {
    const nscount = this.cfg.nameservers.length;
    const vc = this.cfg.useVc;
    let gotsomewhere = false;
    let terrno: 'ECONNREFUSED' | 'ETIMEDOUT' = 'ETIMEDOUT';
    const offset = this.cfg.rotate && nscount > 1 ? this.state.rotateCounter++ % nscount : 0;
    const sockets = new Map<number, number>();
    for (let attempt = 0; attempt < this.cfg.attempts; attempt++) {
      for (let shift = 0; shift < nscount; shift++) {
        const ns = (shift + offset) % nscount;
        const r: { answers: DnsAnswer[]; gotsomewhere?: boolean; refused?: boolean } = vc ? yield* this.sendVc(fqdn, ns) : yield* this.sendDg(fqdn, ns, sockets, gotsomewhere);
        if (r.gotsomewhere !== undefined) gotsomewhere = r.gotsomewhere;
        if (r.refused) terrno = 'ECONNREFUSED';
        if (r.answers.length > 0) return { answers: r.answers, failed: false };
      }
      if (vc) break; // send_vc: at most one attempt per server
    }
    this.errno = vc ? terrno : gotsomewhere ? 'ETIMEDOUT' : 'ECONNREFUSED';
    return { answers: [], failed: true };
  }

  /** `send_vc`: connect, write both queries, read both answers whatever their rcode. */
  private *sendVc(fqdn: string, ns: number): Generator<Wait, { answers: DnsAnswer[]; refused: boolean }, ResolverEvent> {
    const server = this.cfg.nameservers[ns]!;
    const socket = this.ctx.socket();
    const qs = [this.ctx.query(fqdn, 'A', server, socket, 'tcp'), this.ctx.query(fqdn, 'AAAA', server, socket, 'tcp')];
    const until = this.ctx.now + GLIBC_TCP_WAIT_NS;
    const answers: DnsAnswer[] = [];
    let send: DnsQuery[] = qs;
    for (;;) {
      const ev = yield { send, until };
      send = [];
      if (ev.kind === 'timeout') return { answers: [], refused: false };
      if (!qs.includes(ev.query)) continue;
      // connect() refused: close_and_return_error, next server
      if (ev.kind === 'unreachable') return { answers: [], refused: true };
      answers.push(ev.answer);
      this.lastRcode = ev.answer.rcode;
      if (answers.length === 2) return { answers, refused: false };
    }
  }

  /** `send_dg` for nameserver `ns`. */
  private *sendDg(fqdn: string, ns: number, sockets: Map<number, number>, gotsomewhereIn: boolean): Generator<Wait, DgResult, ResolverEvent> {
    const nscount = this.cfg.nameservers.length;
    const server = this.cfg.nameservers[ns]!;
    let seconds = this.cfg.timeoutS << ns;
    if (ns > 0) seconds = Math.trunc(seconds / nscount);
    if (seconds <= 0) seconds = 1;
    let reopenMode = this.cfg.singleRequestReopen || this.state.snglkupreop;
    let single = this.cfg.singleRequest || this.state.snglkup || reopenMode;
    const saveGot = gotsomewhereIn;
    let gotsomewhere = gotsomewhereIn;
    const socketFor = () => {
      let s = sockets.get(ns); // `reopen`: the socket stays open across tries to this server
      if (s === undefined) sockets.set(ns, (s = this.ctx.socket()));
      return s;
    };
    const close = () => sockets.delete(ns);
    retry: for (;;) {
      const until = this.ctx.now + seconds * NS_PER_S;
      let socket = socketFor();
      const qa = this.ctx.query(fqdn, 'A', server, socket);
      let qaaaa: DnsQuery | undefined;
      let send: DnsQuery[] = [qa];
      if (!single && !this.cfg.noAaaa) send.push((qaaaa = this.ctx.query(fqdn, 'AAAA', server, socket))); // one sendmmsg
      // Slots as send_dg fills them: the first response received, then the second; an error
      // response in the first slot leaves its length 0.
      let first: DnsAnswer | undefined;
      let firstUsable = false;
      let recvA = false;
      let recvAAAA = this.cfg.noAaaa; // one query: the second slot counts as received (buf2 == NULL)
      for (;;) {
        const ev = yield { send, until };
        send = [];
        if (ev.kind === 'timeout') {
          if (firstUsable && (recvA || recvAAAA)) {
            if (!single) {
              this.state.snglkup = single = true;
              gotsomewhere = saveGot;
              continue retry;
            } else if (!reopenMode) {
              this.state.snglkupreop = reopenMode = true;
              gotsomewhere = saveGot;
              close();
              continue retry;
            }
            return { answers: [first!], gotsomewhere }; // stage 3 timed out: the one answer it has
          }
          return { answers: [], gotsomewhere: true };
        }
        const q = ev.query;
        const isA = q.socket === socket && q.name === fqdn && q.type === 'A' && !recvA;
        const isAAAA = q.socket === socket && q.name === fqdn && q.type === 'AAAA' && !recvAAAA && (qaaaa !== undefined || !single);
        if (!isA && !isAAAA) continue; // a spurious datagram: dropped, keep waiting
        if (ev.kind === 'unreachable') {
          close(); // POLLERR: close_and_return_error
          return { answers: [], gotsomewhere };
        }
        gotsomewhere = true;
        const a = ev.answer;
        this.lastRcode = a.rcode;
        if (isError(a)) {
          if (!this.cfg.noAaaa && (recvA || recvAAAA)) return { answers: firstUsable ? [first!] : [], gotsomewhere }; // use the first response
          if (!single && !this.cfg.noAaaa) {
            if (isA) recvA = true;
            else recvAAAA = true;
            continue; // wait for the other
          }
          close();
          return { answers: [], gotsomewhere };
        }
        const firstArrival = !recvA && !recvAAAA;
        if (isA) recvA = true;
        else recvAAAA = true;
        if (firstArrival) {
          first = a;
          firstUsable = true;
        }
        if (recvA && recvAAAA) return { answers: firstUsable && !firstArrival ? [first!, a] : [a], gotsomewhere };
        if (single) {
          if (reopenMode) {
            close();
            socket = socketFor();
          }
          send = [(qaaaa = this.ctx.query(fqdn, 'AAAA', server, socket))];
        }
      }
    }
  }
}

interface DgResult {
  answers: DnsAnswer[];
  gotsomewhere: boolean;
}

/**
 * send_vc reads with no timeout: a TCP query waits until the kernel gives the connection up. The
 * wait here is the SYN retry budget of net.ipv4.tcp_syn_retries = 6 (1+2+4+8+16+32+64 s = 127 s,
 * Documentation/networking/ip-sysctl.rst), the shortest way such a wait ends.
 */
export const GLIBC_TCP_WAIT_NS = 127 * NS_PER_S;

export function glibcLookup(ctx: LookupContext, cfg: ResolverConfig, name: string, state: GlibcState): LookupBody {
  return new GlibcLookup(ctx, cfg, state).search(name);
}
