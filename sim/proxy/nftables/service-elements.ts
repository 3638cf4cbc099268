/**
 * A service port's elements in kube-proxy's shared sets and maps, which every sync checks (through
 * nftElementStorage, so only differences are written): cluster-ips, the service-ips and
 * service-nodeports dispatch, firewall-ips for loadBalancerSourceRanges, and the no-endpoint maps.
 * The per-service loop of syncProxyRules in pkg/proxy/nftables/proxier.go, in its order.
 */
import { tryParseIPv4 } from '../../net/ipv4.ts';
import type { Command } from '../../nftables/transaction.ts';
import type { SetElement, Verdict } from '../../nftables/types.ts';
import { ensureChain } from './commands.ts';
import type { ServiceElementMaps } from './element-storage.ts';
import type { ActiveObjects, ServiceContext } from './service-context.ts';

const PROTO_NUMBER: Readonly<Record<string, number>> = { tcp: 6, udp: 17, sctp: 132 };

export function writeServiceElements(tx: Command[], maps: ServiceElementMaps, c: ServiceContext, active: ActiveObjects): void {
  const { sp, hasEndpoints, hasExternalEndpoints, externalTrafficChain } = c;
  const nameString = sp.nameString;
  const protocol = sp.protocol.toLowerCase();
  const protoNum = PROTO_NUMBER[protocol];
  const clusterIP = tryParseIPv4(sp.clusterIP)!;
  maps.clusterIPs.ensure(tx, sp.clusterIP, { key: [clusterIP] }, '');
  const svcKey = (ip: string): string => `${ip} . ${protocol} . ${sp.port}`;
  const svcElem = (ip: string, v: Verdict, comment?: string): SetElement => ({
    key: [tryParseIPv4(ip)!, protoNum, sp.port],
    value: v,
    ...(comment !== undefined ? { comment } : {}),
  });
  if (c.hasInternalEndpoints) {
    const v: Verdict = { code: 'goto', chain: c.internalTrafficChain };
    maps.serviceIPs.ensure(tx, svcKey(sp.clusterIP), svcElem(sp.clusterIP, v), `goto ${c.internalTrafficChain}`);
  } else {
    maps.noEndpointServices.ensure(tx, svcKey(sp.clusterIP), svcElem(sp.clusterIP, c.internalVerdict, nameString), c.internalText);
  }
  const toExternal: Verdict = { code: 'goto', chain: externalTrafficChain };
  for (const eip of sp.externalIPs) {
    if (hasEndpoints) maps.serviceIPs.ensure(tx, svcKey(eip), svcElem(eip, toExternal), `goto ${externalTrafficChain}`);
    if (!hasExternalEndpoints) maps.noEndpointServices.ensure(tx, svcKey(eip), svcElem(eip, c.externalVerdict, nameString), c.externalText);
  }
  const fwChain = c.fwChain;
  if (c.usesFWChain) ensureChain(tx, fwChain, active.chains, c.skip);
  for (const lbip of sp.loadBalancerVIPs) {
    if (hasEndpoints) maps.serviceIPs.ensure(tx, svcKey(lbip), svcElem(lbip, toExternal), `goto ${externalTrafficChain}`);
    if (c.usesFWChain) maps.firewallIPs.ensure(tx, svcKey(lbip), svcElem(lbip, { code: 'goto', chain: fwChain }), `goto ${fwChain}`);
  }
  if (!hasExternalEndpoints) {
    for (const lbip of sp.loadBalancerVIPs) maps.noEndpointServices.ensure(tx, svcKey(lbip), svcElem(lbip, c.externalVerdict, nameString), c.externalText);
  }
  if (sp.nodePort !== 0) {
    const npKey = `${protocol} . ${sp.nodePort}`;
    if (hasEndpoints) maps.serviceNodePorts.ensure(tx, npKey, { key: [protoNum, sp.nodePort], value: toExternal }, `goto ${externalTrafficChain}`);
    if (!hasExternalEndpoints)
      maps.noEndpointNodePorts.ensure(tx, npKey, { key: [protoNum, sp.nodePort], value: c.externalVerdict, comment: nameString }, c.externalText);
  }
}
