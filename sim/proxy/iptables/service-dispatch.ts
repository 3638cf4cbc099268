/**
 * A service port's rules in kube-proxy's shared chains, which every sync rewrites whole: its jumps
 * from nat KUBE-SERVICES and KUBE-NODEPORTS into its own chains, and its filter rules (REJECT or
 * DROP when it has no usable endpoint, the KUBE-PROXY-FIREWALL drop behind loadBalancerSourceRanges,
 * the health check node port's ACCEPT). The per-service loop of syncProxyRules in
 * pkg/proxy/iptables/proxier.go, in its order.
 */
import { KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL, KUBE_SERVICES } from './chain-names.ts';
import type { LineBuffer } from './line-buffer.ts';
import type { ResolvedIptablesOptions } from './options.ts';
import type { ServiceContext } from './service-context.ts';

/** nfacct counter of localhost NodePort packets accepted (pkg/proxy/metrics). */
export const NFACCT_LOCALHOST_NODEPORT_ACCEPTED = 'localhost_nps_accepted_pkts';

/** The service port's rules in KUBE-SERVICES, KUBE-EXTERNAL-SERVICES, KUBE-NODEPORTS and KUBE-PROXY-FIREWALL. */
export function writeServiceDispatch(o: ResolvedIptablesOptions, c: ServiceContext, filterRules: LineBuffer, natRules: LineBuffer): void {
  writeClusterIPDispatch(c, filterRules, natRules);
  writeExternalIPDispatch(c, filterRules, natRules);
  writeLoadBalancerDispatch(c, filterRules, natRules);
  writeNodePortDispatch(o, c, filterRules, natRules);
  if (c.sp.healthCheckNodePort !== 0) {
    // Accepted whether or not this node has local endpoints: the health check answers either way.
    natRules.text
      ? filterRules.write(
          `-A ${KUBE_NODEPORTS} -m comment --comment "${c.name} health check node port" -m tcp -p tcp --dport ${c.sp.healthCheckNodePort} -j ACCEPT`,
        )
      : filterRules.count();
  }
}

function writeClusterIPDispatch(c: ServiceContext, filterRules: LineBuffer, natRules: LineBuffer): void {
  const { sp, name, proto } = c;
  const pm = `-m ${proto} -p ${proto}`;
  if (c.hasInternalEndpoints) {
    natRules.text
      ? natRules.write(
          `-A ${KUBE_SERVICES} -m comment --comment "${name} cluster IP" ${pm} -d ${sp.clusterIP} --dport ${sp.port} -j ${c.internalTrafficChain}`,
        )
      : natRules.count();
  } else {
    natRules.text
      ? filterRules.write(
          `-A ${KUBE_SERVICES} -m comment --comment ${c.internalFilterComment} ${pm} -d ${sp.clusterIP} --dport ${sp.port} -j ${c.internalFilterTarget}`,
        )
      : filterRules.count();
  }
}

function writeExternalIPDispatch(c: ServiceContext, filterRules: LineBuffer, natRules: LineBuffer): void {
  const { sp, name, proto } = c;
  if (sp.externalIPs.length === 0) return;
  const text = natRules.text;
  const pm = `-m ${proto} -p ${proto}`;
  for (const ip of sp.externalIPs) {
    if (c.hasEndpoints) {
      text
        ? natRules.write(`-A ${KUBE_SERVICES} -m comment --comment "${name} external IP" ${pm} -d ${ip} --dport ${sp.port} -j ${c.chains.ext}`)
        : natRules.count();
    }
    if (!c.hasExternalEndpoints) {
      text
        ? filterRules.write(
            `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${c.externalFilterComment} ${pm} -d ${ip} --dport ${sp.port} -j ${c.externalFilterTarget}`,
          )
        : filterRules.count();
    }
  }
}

function writeLoadBalancerDispatch(c: ServiceContext, filterRules: LineBuffer, natRules: LineBuffer): void {
  const { sp, name, proto } = c;
  if (sp.loadBalancerVIPs.length === 0) return;
  const text = natRules.text;
  const dport = `--dport ${sp.port}`;
  const pm = `-m ${proto} -p ${proto}`;
  for (const ip of sp.loadBalancerVIPs) {
    if (c.hasEndpoints) {
      text
        ? natRules.write(
            `-A ${KUBE_SERVICES} -m comment --comment "${name} loadbalancer IP" ${pm} -d ${ip} ${dport} -j ${c.loadBalancerTrafficChain}`,
          )
        : natRules.count();
    }
    if (c.usesFWChain) {
      text
        ? filterRules.write(
            `-A ${KUBE_PROXY_FIREWALL} -m comment --comment "${name} traffic not accepted by ${c.chains.fw}" ${pm} -d ${ip} ${dport} -j DROP`,
          )
        : filterRules.count();
    }
  }
  if (!c.hasExternalEndpoints) {
    for (const ip of sp.loadBalancerVIPs) {
      text
        ? filterRules.write(
            `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${c.externalFilterComment} ${pm} -d ${ip} ${dport} -j ${c.externalFilterTarget}`,
          )
        : filterRules.count();
    }
  }
}

function writeNodePortDispatch(o: ResolvedIptablesOptions, c: ServiceContext, filterRules: LineBuffer, natRules: LineBuffer): void {
  const { sp, name, proto } = c;
  if (sp.nodePort === 0) return;
  const text = natRules.text;
  const pm = `-m ${proto} -p ${proto}`;
  const nport = `--dport ${sp.nodePort}`;
  if (c.hasEndpoints) {
    // NodePorts ignore loadBalancerSourceRanges, as in kube-proxy.
    if (o.localhostNodePorts && o.nfacct) {
      text
        ? natRules.write(
            `-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${pm} -d 127.0.0.0/8 ${nport} -m nfacct --nfacct-name ${NFACCT_LOCALHOST_NODEPORT_ACCEPTED} -j ${c.chains.ext}`,
          )
        : natRules.count();
    }
    text ? natRules.write(`-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${pm} ${nport} -j ${c.chains.ext}`) : natRules.count();
  }
  if (!c.hasExternalEndpoints) {
    text
      ? filterRules.write(
          `-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${c.externalFilterComment} -m addrtype --dst-type LOCAL ${pm} ${nport} -j ${c.externalFilterTarget}`,
        )
      : filterRules.count();
  }
}
