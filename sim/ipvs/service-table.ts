/**
 * The kernel's IPVS service table: virtual servers keyed by (protocol, address, port), their real
 * servers and scheduler state. Every change is one generic-netlink request (IPVS_CMD_NEW_SERVICE,
 * SET_SERVICE, DEL_SERVICE, NEW_DEST, SET_DEST, DEL_DEST in include/uapi/linux/ip_vs.h); `ops`
 * counts them per command, which is what a kube-proxy sync pays for
 * (CostModel.ipvsNetlinkNsPerObject).
 *
 * Deleting a real server does not touch connections already bound to it: the kernel moves the
 * destination to a trash list while connections reference it (ip_vs_trash_put_dest) and marks it
 * unavailable; with net.ipv4.vs.expire_nodest_conn=1 (kube-proxy sets it) their next packet
 * expires them (see testing/connection-table.ts).
 */
import { InputError } from '../io/input-error.ts';
import { createScheduler, type Scheduler } from './schedulers.ts';
import {
  makeRealServer,
  makeVirtualServer,
  virtualServerKey,
  type IpvsProtocol,
  type RealServer,
  type VirtualServer,
  type VirtualServerSpec,
} from './types.ts';

export interface ServiceEntry {
  readonly vs: VirtualServer;
  scheduler: Scheduler;
}

/** Netlink requests by command. */
export interface IpvsNetlinkCounts {
  newService: number;
  setService: number;
  delService: number;
  newDest: number;
  setDest: number;
  delDest: number;
}

export function zeroNetlinkCounts(): IpvsNetlinkCounts {
  return { newService: 0, setService: 0, delService: 0, newDest: 0, setDest: 0, delDest: 0 };
}

export function totalNetlinkOps(c: IpvsNetlinkCounts): number {
  return c.newService + c.setService + c.delService + c.newDest + c.setDest + c.delDest;
}

export class IpvsServiceTable {
  private readonly services = new Map<string, ServiceEntry>();
  readonly ops: IpvsNetlinkCounts = zeroNetlinkCounts();

  /** `schedulerSeed` keys the mh scheduler's hash (the kernel's is random per boot). */
  constructor(private readonly schedulerSeed = 0) {}

  get size(): number {
    return this.services.size;
  }

  get netlinkOps(): number {
    return totalNetlinkOps(this.ops);
  }

  entries(): IterableIterator<ServiceEntry> {
    return this.services.values();
  }

  get(protocol: IpvsProtocol, addr: number, port: number): ServiceEntry | undefined {
    return this.services.get(virtualServerKey(protocol, addr, port));
  }

  /** ipvsadm -A: IPVS_CMD_NEW_SERVICE. The kernel refuses an existing one (EEXIST). */
  addService(spec: VirtualServerSpec): ServiceEntry {
    const key = virtualServerKey(spec.protocol, spec.addr, spec.port);
    if (this.services.has(key)) throw new InputError('ipvs service', 'a service that does not exist yet', key);
    const vs = makeVirtualServer(spec);
    const entry = { vs, scheduler: createScheduler(spec.scheduler, vs, this.schedulerSeed) };
    this.services.set(key, entry);
    this.ops.newService++;
    return entry;
  }

  /** ipvsadm -E: IPVS_CMD_SET_SERVICE (scheduler, flags, timeout). A new scheduler starts fresh. */
  updateService(e: ServiceEntry, spec: VirtualServerSpec): void {
    const vs = e.vs;
    vs.flags = spec.flags;
    vs.timeoutSeconds = spec.timeoutSeconds;
    if (vs.scheduler !== spec.scheduler) {
      vs.scheduler = spec.scheduler;
      e.scheduler = createScheduler(spec.scheduler, vs, this.schedulerSeed);
    }
    this.ops.setService++;
  }

  /** ipvsadm -D: IPVS_CMD_DEL_SERVICE. Its destinations go to the trash (unavailable). */
  deleteService(e: ServiceEntry): boolean {
    const key = virtualServerKey(e.vs.protocol, e.vs.addr, e.vs.port);
    if (this.services.get(key) !== e) return false;
    this.services.delete(key);
    for (const d of e.vs.dests) d.available = false;
    this.ops.delService++;
    return true;
  }

  findDest(e: ServiceEntry, addr: number, port: number): RealServer | undefined {
    addr >>>= 0;
    return e.vs.dests.find((x) => x.addr === addr && x.port === port);
  }

  /** ipvsadm -a: IPVS_CMD_NEW_DEST. The kernel refuses an existing one (EEXIST). */
  addDest(e: ServiceEntry, addr: number, port: number, weight = 1): RealServer {
    if (!Number.isInteger(weight) || weight < 0) throw new InputError('ipvs weight', 'a non-negative integer', String(weight));
    if (this.findDest(e, addr, port)) throw new InputError('ipvs destination', 'a destination that does not exist yet', `${addr >>> 0}:${port}`);
    const d = makeRealServer(addr >>> 0, port, weight);
    e.vs.dests.push(d);
    e.scheduler.destsChanged(e.vs);
    this.ops.newDest++;
    return d;
  }

  /** ipvsadm -e: IPVS_CMD_SET_DEST (kube-proxy changes only the weight). */
  updateDest(e: ServiceEntry, d: RealServer, weight: number): void {
    d.weight = weight;
    e.scheduler.destsChanged(e.vs);
    this.ops.setDest++;
  }

  /** ipvsadm -d: IPVS_CMD_DEL_DEST. Existing connections keep their (now unavailable) reference. */
  deleteDest(e: ServiceEntry, d: RealServer): boolean {
    const i = e.vs.dests.indexOf(d);
    if (i < 0) return false;
    e.vs.dests.splice(i, 1);
    d.available = false;
    e.scheduler.destsChanged(e.vs, i);
    this.ops.delDest++;
    return true;
  }
}
