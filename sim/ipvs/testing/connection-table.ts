/**
 * The IPVS connection table (net/netfilter/ipvs/ip_vs_conn.c): one entry per client connection to a
 * virtual server, remembering the real server the scheduler chose, so every later packet of the
 * connection goes to the same place; plus persistence templates for services with
 * IP_VS_SVC_F_PERSISTENT (kube-proxy's ClientIP session affinity).
 *
 * What is modelled, with where the kernel does it:
 * - Counters: a connection counts in its destination's activeconns while TCP ESTABLISHED and in
 *   inactconns otherwise (IP_VS_CONN_F_INACTIVE, ip_vs_bind_dest / set_tcp_state); a template counts
 *   in persistconns. These drive lc/wlc/sed/nq and kube-proxy's graceful termination.
 * - Timeouts: per protocol state (ip_vs_proto_tcp.c tcp_timeouts: SYN_RECV 1m, ESTABLISHED 15m,
 *   FIN_WAIT 2m, TIME_WAIT 2m, CLOSE 10s, CLOSE_WAIT 1m, LAST_ACK 30s; ip_vs_proto_udp.c 5m); SCTP
 *   is treated with the TCP states here. kube-proxy's --ipvs-tcp-timeout etc. override them.
 * - Persistence (ip_vs_core.c ip_vs_sched_persist): a template keyed by (protocol, client address &
 *   netmask, virtual address, virtual port) holds the destination for `timeout` seconds; a template
 *   whose destination was deleted, or has weight 0 with net.ipv4.vs.expire_quiescent_template=1
 *   (kube-proxy sets it), is dropped and the client scheduled again (ip_vs_check_template). A
 *   template does not expire while connections it controls still exist (ip_vs_conn_expire).
 * - expire_nodest_conn=1 (kube-proxy sets it): a packet for a connection whose destination was
 *   deleted expires the entry at once (ip_vs_in); the caller sees no connection.
 * Expiry is lazy: an entry past its deadline is removed when looked up or by expire(now).
 */
import { MINUTE, SECOND } from '../../engine/time.ts';
import type { IpvsServiceTable, ServiceEntry } from '../service-table.ts';
import { isPersistent, type IpvsProtocol, type RealServer } from '../types.ts';

export type IpvsConnState = 'SYN_RECV' | 'ESTABLISHED' | 'FIN_WAIT' | 'TIME_WAIT' | 'CLOSE' | 'CLOSE_WAIT' | 'LAST_ACK' | 'UDP';

/** Default timeouts in ns (tcp_timeouts / udp_timeouts in the kernel). */
export const IPVS_DEFAULT_TIMEOUTS: Readonly<Record<IpvsConnState, number>> = {
  SYN_RECV: 1 * MINUTE,
  ESTABLISHED: 15 * MINUTE,
  FIN_WAIT: 2 * MINUTE,
  TIME_WAIT: 2 * MINUTE,
  CLOSE: 10 * SECOND,
  CLOSE_WAIT: 1 * MINUTE,
  LAST_ACK: 30 * SECOND,
  UDP: 5 * MINUTE,
};

export interface IpvsConn {
  readonly protocol: IpvsProtocol;
  readonly caddr: number;
  readonly cport: number;
  readonly vaddr: number;
  readonly vport: number;
  readonly dest: RealServer;
  state: IpvsConnState;
  expiresAt: number;
  /** The persistence template that chose the destination, if any. */
  readonly template: IpvsTemplate | undefined;
}

export interface IpvsTemplate {
  readonly key: string;
  readonly dest: RealServer;
  expiresAt: number;
  readonly timeoutNs: number;
  /** Connections controlled by this template (cp->n_control). */
  controlled: number;
}

export interface IpvsConnectionTableOptions {
  /** net.ipv4.vs.expire_nodest_conn (kube-proxy: 1). */
  expireNodestConn?: boolean;
  /** net.ipv4.vs.expire_quiescent_template (kube-proxy: 1). */
  expireQuiescentTemplate?: boolean;
  /** Overrides of the state timeouts (ipvsadm --set tcp tcpfin udp). */
  timeouts?: Partial<Record<IpvsConnState, number>>;
}

function isActive(state: IpvsConnState): boolean {
  return state === 'ESTABLISHED';
}

function connKey(protocol: IpvsProtocol, caddr: number, cport: number, vaddr: number, vport: number): string {
  return `${protocol} ${caddr >>> 0}:${cport} ${vaddr >>> 0}:${vport}`;
}

export class IpvsConnectionTable {
  private readonly conns = new Map<string, IpvsConn>();
  private readonly templates = new Map<string, IpvsTemplate>();
  private readonly timeouts: Record<IpvsConnState, number>;
  private readonly expireNodestConn: boolean;
  private readonly expireQuiescentTemplate: boolean;
  /** Entries expired early because their destination had been deleted. */
  nodestExpired = 0;

  constructor(
    private readonly services: IpvsServiceTable,
    opts: IpvsConnectionTableOptions = {},
  ) {
    this.timeouts = { ...IPVS_DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.expireNodestConn = opts.expireNodestConn ?? true;
    this.expireQuiescentTemplate = opts.expireQuiescentTemplate ?? true;
  }

  get size(): number {
    return this.conns.size;
  }

  get templateCount(): number {
    return this.templates.size;
  }

  /**
   * A packet of a connection already in the table; undefined when there is none, it has expired, or
   * its destination was deleted (then, with expire_nodest_conn, the entry goes at once).
   */
  lookup(protocol: IpvsProtocol, caddr: number, cport: number, vaddr: number, vport: number, now: number): IpvsConn | undefined {
    const key = connKey(protocol, caddr, cport, vaddr, vport);
    const c = this.conns.get(key);
    if (!c) return undefined;
    if (c.expiresAt <= now) {
      this.remove(key, c);
      return undefined;
    }
    if (!c.dest.available && this.expireNodestConn) {
      this.nodestExpired++;
      this.remove(key, c);
      return undefined;
    }
    c.expiresAt = now + this.timeouts[c.state];
    return c;
  }

  /**
   * The first packet of a new connection to a virtual server (ip_vs_schedule): picks a destination
   * through the persistence template or the scheduler and enters the connection (TCP in SYN_RECV,
   * UDP in its single state). Undefined when the service has no available destination, which the
   * kernel answers with ICMP port unreachable or a drop.
   */
  connect(
    protocol: IpvsProtocol,
    caddr: number,
    cport: number,
    vaddr: number,
    vport: number,
    now: number,
  ): IpvsConn | undefined {
    const existing = this.lookup(protocol, caddr, cport, vaddr, vport, now);
    if (existing) return existing;
    const e = this.services.get(protocol, vaddr, vport);
    if (!e) return undefined;
    let template: IpvsTemplate | undefined;
    let dest: RealServer | undefined;
    if (isPersistent(e.vs)) {
      template = this.template(e, protocol, caddr, cport, vaddr, vport, now);
      dest = template?.dest;
    } else {
      dest = e.scheduler.schedule(e.vs, caddr >>> 0, cport, vaddr >>> 0);
    }
    if (!dest) return undefined;
    const state: IpvsConnState = protocol === 'UDP' ? 'UDP' : 'SYN_RECV';
    const c: IpvsConn = { protocol, caddr: caddr >>> 0, cport, vaddr: vaddr >>> 0, vport, dest, state, expiresAt: now + this.timeouts[state], template };
    dest.inactiveConns++;
    if (template) template.controlled++;
    this.conns.set(connKey(protocol, caddr, cport, vaddr, vport), c);
    return c;
  }

  /** A protocol state change (the TCP state machine of ip_vs_proto_tcp.c, driven by the caller). */
  setState(c: IpvsConn, state: IpvsConnState, now: number): void {
    const wasActive = isActive(c.state);
    const active = isActive(state);
    if (wasActive && !active) {
      c.dest.activeConns--;
      c.dest.inactiveConns++;
    } else if (!wasActive && active) {
      c.dest.inactiveConns--;
      c.dest.activeConns++;
    }
    c.state = state;
    c.expiresAt = now + this.timeouts[state];
  }

  /** Removes every entry and template past its deadline (the kernel's per-entry timers). */
  expire(now: number): void {
    for (const [k, c] of this.conns) if (c.expiresAt <= now) this.remove(k, c);
    for (const [k, t] of this.templates) this.expireTemplate(k, t, now);
  }

  /** Connections currently bound to `dest`. */
  *connectionsTo(dest: RealServer): IterableIterator<IpvsConn> {
    for (const c of this.conns.values()) if (c.dest === dest) yield c;
  }

  private template(
    e: ServiceEntry,
    protocol: IpvsProtocol,
    caddr: number,
    cport: number,
    vaddr: number,
    vport: number,
    now: number,
  ): IpvsTemplate | undefined {
    const key = `${protocol} ${(caddr & e.vs.netmask) >>> 0} ${vaddr >>> 0}:${vport}`;
    const t = this.templates.get(key);
    if (t) {
      if (t.expiresAt <= now && t.controlled > 0) this.expireTemplate(key, t, now);
      const quiescent = this.expireQuiescentTemplate && t.dest.weight === 0;
      if (t.expiresAt > now && t.dest.available && !quiescent) {
        t.expiresAt = Math.max(t.expiresAt, now + t.timeoutNs);
        return t;
      }
      // ip_vs_check_template: an unusable template goes; the client is scheduled again.
      this.templates.delete(key);
      t.dest.persistConns--;
    }
    const dest = e.scheduler.schedule(e.vs, caddr >>> 0, cport, vaddr >>> 0);
    if (!dest) return undefined;
    const timeoutNs = e.vs.timeoutSeconds * SECOND;
    const nt: IpvsTemplate = { key, dest, expiresAt: now + timeoutNs, timeoutNs, controlled: 0 };
    dest.persistConns++;
    this.templates.set(key, nt);
    return nt;
  }

  private expireTemplate(key: string, t: IpvsTemplate, now: number): void {
    if (t.expiresAt > now) return;
    if (t.controlled > 0) {
      // ip_vs_conn_expire re-arms a template that still controls connections (its timer fired at
      // expiresAt; the entries are expired lazily, so step the deadline past now).
      while (t.expiresAt <= now) t.expiresAt += Math.max(t.timeoutNs, 1);
      return;
    }
    this.templates.delete(key);
    t.dest.persistConns--;
  }

  private remove(key: string, c: IpvsConn): void {
    this.conns.delete(key);
    if (isActive(c.state)) c.dest.activeConns--;
    else c.dest.inactiveConns--;
    // The template's own timer decides its end (expire / template()), not its connections'.
    if (c.template) c.template.controlled--;
  }
}
