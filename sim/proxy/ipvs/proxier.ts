/**
 * ipvs-mode kube-proxy on one node: from a ProxyState to the kernel objects kube-proxy programs —
 * virtual servers and real servers (netlink), the VIPs bound to the kube-ipvs0 dummy interface, the
 * ipsets, and the small fixed iptables rule set (iptables-restore).
 *
 * Follows kubernetes/kubernetes pkg/proxy/ipvs/proxier.go syncProxyRules, syncService,
 * syncEndpoint and cleanLegacyService:
 * - per service port: a virtual server on the ClusterIP (bound to kube-ipvs0), on each externalIP and
 *   load-balancer VIP (bound unless the address is already the node's), and on every node IP for a
 *   NodePort (never bound); scheduler from --ipvs-scheduler (rr by default), FlagPersistent with the
 *   ClientIP affinity timeout, FlagSourceHash (mh-port) for mh;
 * - real servers at weight 1: the Cluster-policy endpoints, or the Local ones for ClusterIP with
 *   internalTrafficPolicy Local and for external addresses with externalTrafficPolicy Local
 *   (falling back to the Cluster ones when there is no local endpoint, kubernetes PR 97081);
 * - real servers that went away are deleted through graceful termination (graceful-termination.ts);
 * - ipset entries for every address and the iptables rules that match the non-empty sets;
 * - afterwards: addresses no longer used are unbound, virtual servers no longer used deleted.
 * There is no partial sync in ipvs mode: every sync walks every service port, and the kernel objects
 * are compared and only the differences sent (`objectsChanged` counts them: the sync cost).
 *
 * Deliberate differences: kube-proxy walks service ports in Go map order; here in sorted order of
 * their ids (only the order of netlink calls differs). IPv4 only.
 */
import { goSharpHex08 } from '../go-hex.ts';
import { InputError } from '../../io/input-error.ts';
import { cidrContains, formatCidr, parseIPv4, tryParseCidr, tryParseIPv4 } from '../../net/ipv4.ts';
import { IpvsServiceTable, totalNetlinkOps, type IpvsNetlinkCounts, type ServiceEntry } from '../../ipvs/service-table.ts';
import { IP_VS_SVC_F_PERSISTENT, IP_VS_SVC_F_SCHED2, isSchedulerName, SCHEDULERS, type SchedulerName, type VirtualServerSpec } from '../../ipvs/types.ts';
import type { Endpoint } from '../endpoint.ts';
import type { ProxyState } from '../proxy-state.ts';
import type { ServicePort } from '../service-port.ts';
import { categorizeEndpoints, type CategorizedEndpoints } from '../topology.ts';
import { GracefulTerminationManager, uniqueRSName } from './graceful-termination.ts';
import {
  ipPortEntry,
  IPSET_INFO,
  KUBE_CLUSTER_IP,
  KUBE_EXTERNAL_IP,
  KUBE_EXTERNAL_IP_LOCAL,
  KUBE_HEALTH_CHECK_NODE_PORT,
  KUBE_IPVS_IPS,
  KUBE_LOAD_BALANCER,
  KUBE_LOAD_BALANCER_FW,
  KUBE_LOAD_BALANCER_LOCAL,
  KUBE_LOAD_BALANCER_SOURCE_CIDR,
  KUBE_LOAD_BALANCER_SOURCE_IP,
  KUBE_LOOP_BACK,
  KUBE_NODE_PORT_LOCAL_SCTP,
  KUBE_NODE_PORT_LOCAL_TCP,
  KUBE_NODE_PORT_LOCAL_UDP,
  KUBE_NODE_PORT_SCTP,
  KUBE_NODE_PORT_TCP,
  KUBE_NODE_PORT_UDP,
  syncIpsets,
  type IpsetContents,
} from './ipsets.ts';
import { ipvsRestoreText, type LbNoNodeAccess } from './iptables-rules.ts';

/**
 * Per-object memos: ProxyStates share their ServicePort and Endpoint objects between versions, so
 * strings and parsed addresses derived from them are built once, not on every sync: every sync walks
 * every service port, so rebuilding them would make even a sync that changes nothing allocate.
 */
const ipCache = new Map<string, number>();
function ip4(s: string): number {
  let v = ipCache.get(s);
  if (v === undefined) {
    v = parseIPv4(s);
    ipCache.set(s, v);
  }
  return v;
}
const loopbackEntries = new WeakMap<Endpoint, string>();
function loopbackEntry(ep: Endpoint, proto: string): string {
  let v = loopbackEntries.get(ep);
  if (v === undefined) {
    v = `${ep.ip},${proto}:${ep.port},${ep.ip}`;
    loopbackEntries.set(ep, v);
  }
  return v;
}
const clusterEntries = new WeakMap<ServicePort, string>();
function clusterEntry(sp: ServicePort): string {
  let v = clusterEntries.get(sp);
  if (v === undefined) {
    v = ipPortEntry(sp.clusterIP, sp.protocol, sp.port);
    clusterEntries.set(sp, v);
  }
  return v;
}

/** kube-ipvs0: the dummy device every ClusterIP and VIP is bound to (defaultDummyDevice). */
export const DUMMY_DEVICE = 'kube-ipvs0';

export interface IpvsProxierOptions {
  /** This node's name: endpoints with this nodeName are local. */
  nodeName: string;
  /** The node's primary IPv4 address (a loadBalancerSourceRange containing it lets the node reach the VIP). */
  nodeIP?: string;
  /**
   * The node's addresses other than loopback and kube-ipvs0 (GetAllLocalAddressesExcept): a NodePort
   * gets a virtual server on each. Default: [nodeIP] when nodeIP is given, else none — kube-proxy then
   * skips NodePort virtual servers (no node IPs).
   */
  nodeIPs?: string[];
  zone?: string;
  /** --cluster-cidr (ClusterCIDR local-traffic detector). */
  clusterCIDR?: string;
  /** --masquerade-all. */
  masqueradeAll?: boolean;
  /** --iptables-masquerade-bit, default 14. */
  masqueradeBit?: number;
  /** --ipvs-scheduler, default rr. */
  scheduler?: string;
  /** MASQUERADE --random-fully available (default true). */
  randomFully?: boolean;
  /** Key of the mh scheduler's hash (the kernel's is random per boot). */
  schedulerSeed?: number;
}

export interface IpvsSyncResult {
  /** The iptables-restore input (--noflush --counters), one line per element. */
  restoreLines: string[];
  /** Netlink requests for virtual and real servers made by this sync (graceful deletions included). */
  netlink: IpvsNetlinkCounts;
  /** Addresses added to / removed from kube-ipvs0 (one netlink request each). */
  addressesBound: number;
  addressesUnbound: number;
  /** `ipset add` / `ipset del` calls. */
  ipsetAdded: number;
  ipsetDeleted: number;
  /** Virtual servers looked up and their real servers listed (GetVirtualServer + GetRealServers each). */
  virtualServersListed: number;
  /** Every object created, updated or deleted: netlink requests + addresses + ipset entries. */
  objectsChanged: number;
  /** Real servers waiting in graceful termination after this sync. */
  gracefulPending: number;
}

interface Resolved {
  nodeName: string;
  zone: string;
  nodeIP: number | undefined;
  nodeIPs: string[];
  clusterCIDR: string | undefined;
  masqueradeAll: boolean;
  masqueradeMark: string;
  scheduler: SchedulerName;
  randomFully: boolean;
}

function resolve(o: IpvsProxierOptions): Resolved {
  let clusterCIDR: string | undefined;
  if (o.clusterCIDR !== undefined) {
    const c = tryParseCidr(o.clusterCIDR);
    if (!c || !o.clusterCIDR.includes('/')) throw new InputError('--cluster-cidr', 'an IPv4 CIDR like 10.244.0.0/16', JSON.stringify(o.clusterCIDR));
    clusterCIDR = formatCidr(c);
  }
  let nodeIP: number | undefined;
  if (o.nodeIP !== undefined) {
    nodeIP = tryParseIPv4(o.nodeIP);
    if (nodeIP === undefined) throw new InputError('--node-ip', 'an IPv4 address like 192.168.0.2', JSON.stringify(o.nodeIP));
  }
  const nodeIPs = o.nodeIPs ?? (o.nodeIP !== undefined ? [o.nodeIP] : []);
  for (const ip of nodeIPs) {
    if (tryParseIPv4(ip) === undefined) throw new InputError('node IPs', 'IPv4 addresses', JSON.stringify(ip));
  }
  const scheduler = o.scheduler ?? 'rr';
  if (!isSchedulerName(scheduler)) throw new InputError('--ipvs-scheduler', `one of ${SCHEDULERS.join(', ')}`, JSON.stringify(scheduler));
  const bit = o.masqueradeBit ?? 14;
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new InputError('--iptables-masquerade-bit', 'an integer 0-31', String(bit));
  return {
    nodeName: o.nodeName,
    zone: o.zone ?? '',
    nodeIP,
    // ipvs lists node addresses as a set; keep a stable order.
    nodeIPs: [...new Set(nodeIPs)].sort((a, b) => parseIPv4(a) - parseIPv4(b)),
    clusterCIDR,
    masqueradeAll: o.masqueradeAll ?? false,
    // fmt.Sprintf("%#08x", 1<<bit): Go counts the 0x in the width.
    masqueradeMark: goSharpHex08(2 ** bit),
    scheduler,
    randomFully: o.randomFully ?? true,
  };
}

/** What one sync collects as it walks the service ports. */
interface SyncPass {
  /** The ipsets' wanted entries, by set name. */
  ipsets: Map<string, Set<string>>;
  /** Virtual servers this sync produced. */
  services: Set<ServiceEntry>;
  /** Addresses that must stay bound to kube-ipvs0. */
  bind: Set<string>;
  lbNoNodeAccess: LbNoNodeAccess[];
  addressesBound: number;
  listed: number;
}

function add(pass: SyncPass, set: string, entry: string): void {
  pass.ipsets.get(set)!.add(entry);
}

function diffCounts(after: IpvsNetlinkCounts, before: IpvsNetlinkCounts): IpvsNetlinkCounts {
  return {
    newService: after.newService - before.newService,
    setService: after.setService - before.setService,
    delService: after.delService - before.delService,
    newDest: after.newDest - before.newDest,
    setDest: after.setDest - before.setDest,
    delDest: after.delDest - before.delDest,
  };
}

export class IpvsProxier {
  readonly table: IpvsServiceTable;
  readonly graceful: GracefulTerminationManager;
  private readonly o: Resolved;
  /** The node's own addresses (never bound to kube-ipvs0). */
  private readonly nodeAddrs: ReadonlySet<string>;
  /** The node as topology sees it, for categorizeEndpoints. */
  private readonly node: { nodeName: string; zone: string };
  /** Addresses on kube-ipvs0. */
  private bound = new Set<string>();
  private sets: IpsetContents = new Map();
  private initialSync = true;

  constructor(options: IpvsProxierOptions) {
    this.o = resolve(options);
    this.nodeAddrs = new Set(this.o.nodeIPs);
    this.node = { nodeName: this.o.nodeName, zone: this.o.zone };
    this.table = new IpvsServiceTable(options.schedulerSeed ?? 0);
    this.graceful = new GracefulTerminationManager(this.table);
  }

  /** Addresses bound to kube-ipvs0, sorted. */
  get dummyAddresses(): string[] {
    return [...this.bound].sort((a, b) => parseIPv4(a) - parseIPv4(b));
  }

  /** The kernel's ipsets after the last sync. */
  get ipsets(): IpsetContents {
    return this.sets;
  }

  /**
   * syncProxyRules: every service port's virtual servers, real servers, addresses and ipset entries
   * (syncServicePort); then the ipsets and the iptables rules restored; then the addresses and
   * virtual servers this sync did not produce removed (cleanLegacyService).
   */
  sync(state: ProxyState): IpvsSyncResult {
    const o = this.o;
    const before = { ...this.table.ops };
    const pass: SyncPass = {
      ipsets: new Map<string, Set<string>>(IPSET_INFO.map((i) => [i.name, new Set<string>()])),
      services: new Set<ServiceEntry>(),
      bind: new Set<string>(),
      lbNoNodeAccess: [],
      addressesBound: 0,
      listed: 0,
    };
    const ids = [...state.services.keys()].sort();
    for (const id of ids) this.syncServicePort(pass, state.services.get(id)!, state.endpoints.get(id) ?? []);
    for (const a of pass.bind) add(pass, KUBE_IPVS_IPS, a);

    const { contents, counts } = syncIpsets(this.sets, pass.ipsets);
    this.sets = contents;
    const restoreLines = ipvsRestoreText(contents, pass.lbNoNodeAccess, {
      masqueradeMark: o.masqueradeMark,
      masqueradeAll: o.masqueradeAll,
      clusterCIDR: o.clusterCIDR,
      randomFully: o.randomFully,
    });

    let addressesUnbound = 0;
    for (const a of [...this.bound]) {
      if (!pass.bind.has(a)) {
        this.bound.delete(a);
        addressesUnbound++;
      }
    }
    // cleanLegacyService: virtual servers this sync did not produce go.
    for (const e of [...this.table.entries()]) if (!pass.services.has(e)) this.table.deleteService(e);
    this.initialSync = false;

    const netlink = diffCounts(this.table.ops, before);
    const addressesBound = pass.addressesBound;
    return {
      restoreLines,
      netlink,
      addressesBound,
      addressesUnbound,
      ipsetAdded: counts.added,
      ipsetDeleted: counts.deleted,
      virtualServersListed: pass.listed,
      objectsChanged: totalNetlinkOps(netlink) + addressesBound + addressesUnbound + counts.added + counts.deleted,
      gracefulPending: this.graceful.size,
    };
  }

  /** One service port: a virtual server per address it answers on, with its real servers and ipset entries. */
  private syncServicePort(pass: SyncPass, sp: ServicePort, endpoints: readonly Endpoint[]): void {
    const o = this.o;
    const proto = sp.protocol.toLowerCase();
    const cat = categorizeEndpoints(endpoints, sp, this.node);

    // Hairpin: a local endpoint reaching itself through the service is masqueraded.
    for (const ep of endpoints) if (ep.isLocal) add(pass, KUBE_LOOP_BACK, loopbackEntry(ep, proto));

    add(pass, KUBE_CLUSTER_IP, clusterEntry(sp));
    this.syncAddress(pass, sp, cat, sp.clusterIP, sp.port, sp.clusterIP, sp.internalPolicyLocal);
    pass.bind.add(sp.clusterIP);

    for (const ext of sp.externalIPs) {
      add(pass, sp.externalPolicyLocal ? KUBE_EXTERNAL_IP_LOCAL : KUBE_EXTERNAL_IP, ipPortEntry(ext, sp.protocol, sp.port));
      const bind = !this.nodeAddrs.has(ext);
      this.syncAddress(pass, sp, cat, ext, sp.port, bind ? ext : undefined, sp.externalPolicyLocal);
      if (bind) pass.bind.add(ext);
    }

    for (const vip of sp.loadBalancerVIPs) this.syncLoadBalancerIngress(pass, sp, cat, vip, proto);

    if (sp.nodePort !== 0 && o.nodeIPs.length > 0) {
      const entries = sp.protocol === 'SCTP' ? o.nodeIPs.map((ip) => ipPortEntry(ip, 'SCTP', sp.nodePort)) : [String(sp.nodePort)];
      const set = sp.protocol === 'TCP' ? KUBE_NODE_PORT_TCP : sp.protocol === 'UDP' ? KUBE_NODE_PORT_UDP : KUBE_NODE_PORT_SCTP;
      const localSet = sp.protocol === 'TCP' ? KUBE_NODE_PORT_LOCAL_TCP : sp.protocol === 'UDP' ? KUBE_NODE_PORT_LOCAL_UDP : KUBE_NODE_PORT_LOCAL_SCTP;
      for (const en of entries) {
        add(pass, set, en);
        if (sp.externalPolicyLocal) add(pass, localSet, en);
      }
      for (const ip of o.nodeIPs) this.syncAddress(pass, sp, cat, ip, sp.nodePort, undefined, sp.externalPolicyLocal);
    }

    if (sp.healthCheckNodePort !== 0) add(pass, KUBE_HEALTH_CHECK_NODE_PORT, String(sp.healthCheckNodePort));
  }

  /** A load-balancer VIP: its ipset entries (loadBalancerSourceRanges among them) and its virtual server. */
  private syncLoadBalancerIngress(pass: SyncPass, sp: ServicePort, cat: CategorizedEndpoints, vip: string, proto: string): void {
    const o = this.o;
    const entry = ipPortEntry(vip, sp.protocol, sp.port);
    add(pass, KUBE_LOAD_BALANCER, entry);
    if (sp.externalPolicyLocal) add(pass, KUBE_LOAD_BALANCER_LOCAL, entry);
    if (sp.loadBalancerSourceRanges.length > 0) {
      add(pass, KUBE_LOAD_BALANCER_FW, entry);
      let allowFromNode = false;
      for (const range of sp.loadBalancerSourceRanges) {
        const c = tryParseCidr(range);
        if (!c) continue;
        add(pass, KUBE_LOAD_BALANCER_SOURCE_CIDR, `${entry},${formatCidr(c)}`);
        if (o.nodeIP !== undefined && cidrContains(c, o.nodeIP)) allowFromNode = true;
      }
      // The node reaches its own VIP with the VIP as source (routed locally).
      if (allowFromNode) add(pass, KUBE_LOAD_BALANCER_SOURCE_IP, `${entry},${vip}`);
      else pass.lbNoNodeAccess.push({ ip: vip, protocol: proto, port: sp.port });
    }
    const bind = !this.nodeAddrs.has(vip);
    this.syncAddress(pass, sp, cat, vip, sp.port, bind ? vip : undefined, sp.externalPolicyLocal);
    if (bind) pass.bind.add(vip);
  }

  /**
   * The virtual server on addr:port and its real servers: the Local endpoints when `onlyLocal` and
   * there are some, else the Cluster ones.
   */
  private syncAddress(
    pass: SyncPass,
    sp: ServicePort,
    cat: CategorizedEndpoints,
    addr: string,
    port: number,
    bindAddr: string | undefined,
    onlyLocal: boolean,
  ): void {
    const e = this.syncService(pass, this.virtualServerSpec(sp, addr, port), bindAddr);
    this.syncEndpoint(e, onlyLocal && cat.localEndpoints.length > 0 ? cat.localEndpoints : cat.clusterEndpoints);
  }

  /** syncService: the virtual server added or updated, its address bound to kube-ipvs0 when asked. */
  private syncService(pass: SyncPass, spec: VirtualServerSpec, bindAddr: string | undefined): ServiceEntry {
    pass.listed++;
    let e = this.table.get(spec.protocol, spec.addr, spec.port);
    if (!e) e = this.table.addService(spec);
    else if (e.vs.scheduler !== spec.scheduler || e.vs.flags !== spec.flags || e.vs.timeoutSeconds !== spec.timeoutSeconds) {
      this.table.updateService(e, spec);
    }
    if (bindAddr !== undefined && !this.bound.has(bindAddr)) {
      this.bound.add(bindAddr);
      pass.addressesBound++;
    }
    pass.services.add(e);
    return e;
  }

  private virtualServerSpec(sp: ServicePort, addr: string, port: number): VirtualServerSpec {
    const o = this.o;
    let flags = 0;
    let timeoutSeconds = 0;
    if (sp.sessionAffinity === 'ClientIP') {
      flags |= IP_VS_SVC_F_PERSISTENT;
      timeoutSeconds = sp.stickyMaxAgeSeconds;
    }
    // FlagSourceHash (0x10 = IP_VS_SVC_F_SCHED2, "mh-port") for the mh scheduler.
    if (o.scheduler === 'mh') flags |= IP_VS_SVC_F_SCHED2;
    return { protocol: sp.protocol, addr: ip4(addr), port, scheduler: o.scheduler, flags, timeoutSeconds };
  }

  /** The graceful-termination loop's check (every minute in kube-proxy); returns its netlink requests. */
  gracefulCheck(): IpvsNetlinkCounts {
    const before = { ...this.table.ops };
    this.graceful.tryDeleteRs();
    return diffCounts(this.table.ops, before);
  }

  /** syncEndpoint: real servers at weight 1 for `endpoints`; the others through graceful deletion. */
  private syncEndpoint(e: ServiceEntry, endpoints: readonly { ip: string; port: number }[]): void {
    // Keyed by address * 65536 + port: no strings on the path every sync takes for every endpoint.
    const want = new Map<number, { addr: number; port: number }>();
    for (const ep of endpoints) {
      const addr = ip4(ep.ip);
      want.set(addr * 65536 + ep.port, { addr, port: ep.port });
    }
    const draining = this.graceful.size > 0;
    for (const w of want.values()) {
      const cur = this.table.findDest(e, w.addr, w.port);
      if (cur) {
        // On the first sync after a restart, weights left by a previous kube-proxy are reset.
        if (this.initialSync && cur.weight !== 1) this.table.updateDest(e, cur, 1);
        const name = draining ? uniqueRSName(e.vs, w) : '';
        if (!draining || !this.graceful.inTerminationList(name)) continue;
        // The endpoint is back while its real server drains: delete the quiescent one, add afresh.
        this.graceful.moveRSOutOfGracefulDeleteList(name);
      }
      this.table.addDest(e, w.addr, w.port, 1);
    }
    if (e.vs.dests.length === want.size) return; // every real server is wanted
    for (const d of [...e.vs.dests]) {
      if (want.has(d.addr * 65536 + d.port)) continue;
      if (this.graceful.inTerminationList(uniqueRSName(e.vs, d))) continue;
      this.graceful.gracefulDeleteRS(e, d);
    }
  }
}
