/**
 * kube-proxy's own nftables transactions for the nft -f probe, as the nftables proxier
 * (sim/proxy/nftables/proxier.ts, after pkg/proxy/nftables/proxier.go) writes them and knftables
 * sends them (one command per line): the full sync of N ClusterIP service ports with E endpoints
 * each into an empty table (a cold start), then partial syncs that each remove one endpoint of
 * another service (what a pod deletion makes kube-proxy send). Timing these, and not a layout of
 * our own, fits the nft -f costs in the units the nftables mode model charges: its lines are the
 * proxier's (nftables-model.test.ts) and its objects are nftablesTableObjects.
 */
import { proxyStateFromObjects } from '../sim/proxy/from-api.ts';
import { testService, testSlice } from '../sim/proxy/testing/golden-fixtures.ts';
import { nftablesTableObjects } from '../sim/proxy/cost/nftables.ts';
import { NftablesProxier } from '../sim/proxy/nftables/proxier.ts';
import { renderCommands } from '../sim/nftables/render.ts';
import { CLUSTER_CIDR, endpointIP, serviceIP } from './rulesets.ts';

export interface NftTransaction {
  text: string;
  /** nft -f lines, as the nftables mode model counts them. */
  lines: number;
}

export interface KubeProxyNftTransactions {
  full: NftTransaction;
  partials: NftTransaction[];
  /** The table's objects after the full sync, as the nftables mode model counts them. */
  objects: number;
}

const OPTIONS = {
  nodeName: 'calibrate',
  nodeIP: '192.168.61.1',
  clusterCIDR: CLUSTER_CIDR,
  serviceCIDRs: ['10.96.0.0/12'],
  nodePortIPs: ['192.168.61.1'],
  masqueradeMark: '0x4000',
};

/** `partials` partial syncs after the full one; the i-th takes an endpoint from service i (so services >= partials). */
export function kubeProxyNftTransactions(services: number, endpointsPerService: number, partials: number): KubeProxyNftTransactions {
  if (partials > services) throw new Error(`kubeProxyNftTransactions: ${partials} partial syncs need as many services, found ${services}`);
  if (endpointsPerService < 2) throw new Error('kubeProxyNftTransactions: a partial sync removes an endpoint, so each service needs at least 2');
  const svc = Array.from({ length: services }, (_, s) => testService('calibrate', `svc-${s}`, { clusterIP: serviceIP(s), ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  // Services below `shrunk` have lost their last endpoint's pod.
  const state = (shrunk: number) => {
    const slices = svc.map((_, s) => {
      const n = s < shrunk ? endpointsPerService - 1 : endpointsPerService;
      return testSlice('calibrate', `svc-${s}`, Array.from({ length: n }, (_, i) => ({ ip: endpointIP(s, i) })), [{ name: 'http', port: 8080 }]);
    });
    return proxyStateFromObjects(svc, slices, OPTIONS.nodeName);
  };
  const proxier = new NftablesProxier(OPTIONS);
  const full = proxier.sync({ state: state(0), full: true, nowNs: 0 });
  const out: NftTransaction[] = [];
  for (let i = 0; i < partials; i++) {
    // Under a second apart, so no stale chain is old enough for the cleanup transaction.
    const r = proxier.sync({ state: state(i + 1), full: false, changedServices: new Set([`calibrate/svc-${i}`]), nowNs: (i + 1) * 1e6 });
    out.push({ text: renderCommands(r.commands, r.before), lines: r.lines });
  }
  return {
    full: { text: renderCommands(full.commands), lines: full.lines },
    partials: out,
    objects: nftablesTableObjects(services, services * endpointsPerService),
  };
}
