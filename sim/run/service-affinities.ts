import type { Endpoint } from '../proxy/endpoint.ts';
import { SessionAffinity, type AffinityCheck } from '../proxy/cost/session-affinity.ts';
import type { ModeModel } from '../proxy/cost/mode-model.ts';
import { SECOND } from '../engine/time.ts';

/**
 * ClientIP affinity for the Services that have it, each with its own timeout, in runs where Services
 * differ: one SessionAffinity store per distinct timeout (an xt_recent `--rcheck --seconds T` match
 * or a set timeout is per Service in kube-proxy's rules, pkg/proxy/iptables/proxier.go
 * writeServiceToEndpointRules), and none for the others, whose connections are chosen afresh.
 */
export class ServiceAffinities {
  private readonly byService: (SessionAffinity | null)[];

  /** `seconds[i]`: service port i's stickyMaxAgeSeconds (0: no affinity). */
  constructor(store: ModeModel['affinityStore'], seconds: readonly number[]) {
    const stores = new Map<number, SessionAffinity>();
    this.byService = seconds.map((t) => {
      if (t <= 0) return null;
      let a = stores.get(t);
      if (!a) stores.set(t, (a = new SessionAffinity(store, t * SECOND)));
      return a;
    });
  }

  /** Whether any service port has affinity. */
  get any(): boolean {
    return this.byService.some((a) => a !== null);
  }

  covers(service: number): boolean {
    return this.byService[service] != null;
  }

  check(node: number, service: number, client: number, endpoints: readonly Endpoint[], nowNs: number): AffinityCheck {
    return this.byService[service]!.check(node, service, client, endpoints, nowNs);
  }

  record(node: number, service: number, client: number, endpoint: string, nowNs: number): void {
    this.byService[service]?.record(node, service, client, endpoint, nowNs);
  }

  forget(node: number, service: number, endpoint: string): void {
    this.byService[service]?.forget(node, service, endpoint);
  }
}

/** What the run asks of a store of ClientIP affinity (SessionAffinity: every Service; ServiceAffinities: some). */
export type AffinityTable = Pick<ServiceAffinities, 'covers' | 'check' | 'record' | 'forget'>;
