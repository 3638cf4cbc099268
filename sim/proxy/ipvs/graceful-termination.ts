/**
 * kube-proxy's graceful termination of IPVS real servers (kubernetes/kubernetes
 * pkg/proxy/ipvs/graceful_termination.go): a real server whose endpoint went away is not deleted
 * while it still has connections. GracefulDeleteRS first tries to delete it; if it cannot, it sets
 * its weight to 0 (quiescent: no new connections, existing ones continue) and puts it on a list
 * that a loop re-checks every minute (rsCheckDeleteInterval), deleting each one whose
 * ActiveConn + InactiveConn has reached 0. UDP and SCTP real servers are deleted at once
 * (IsRsGracefulTerminationNeeded): their connections are expired on the next packet because
 * kube-proxy sets net.ipv4.vs.expire_nodest_conn=1.
 *
 * The list is keyed like kube-proxy's: "VIP:port/PROTO/ip:port" (GetUniqueRSName).
 */
import { MINUTE } from '../../engine/time.ts';
import { formatIPv4 } from '../../net/ipv4.ts';
import type { IpvsServiceTable, ServiceEntry } from '../../ipvs/service-table.ts';
import type { RealServer, VirtualServer } from '../../ipvs/types.ts';

/** rsCheckDeleteInterval. */
export const RS_CHECK_DELETE_INTERVAL_NS = 1 * MINUTE;

/** utilipvs VirtualServer.String(): "10.96.0.1:443/TCP". */
export function virtualServerString(vs: VirtualServer): string {
  return `${formatIPv4(vs.addr)}:${vs.port}/${vs.protocol}`;
}

/** GetUniqueRSName. */
export function uniqueRSName(vs: VirtualServer, rs: { addr: number; port: number }): string {
  return `${virtualServerString(vs)}/${formatIPv4(rs.addr)}:${rs.port}`;
}

interface ListItem {
  readonly entry: ServiceEntry;
  readonly dest: RealServer;
}

export class GracefulTerminationManager {
  private readonly list = new Map<string, ListItem>();

  constructor(private readonly table: IpvsServiceTable) {}

  get size(): number {
    return this.list.size;
  }

  inTerminationList(uniqueRS: string): boolean {
    return this.list.has(uniqueRS);
  }

  /** Names on the list, sorted (for tests and reports). */
  names(): string[] {
    return [...this.list.keys()].sort();
  }

  /** GracefulDeleteRS: delete now if possible, else weight 0 and onto the list. */
  gracefulDeleteRS(entry: ServiceEntry, dest: RealServer): void {
    const item = { entry, dest };
    if (this.deleteRs(item)) return;
    if (dest.weight !== 0) this.table.updateDest(entry, dest, 0);
    this.list.set(uniqueRSName(entry.vs, dest), item);
  }

  /** MoveRSOutofGracefulDeleteList: the endpoint came back; delete the quiescent one now (it is re-added). */
  moveRSOutOfGracefulDeleteList(uniqueRS: string): boolean {
    const item = this.list.get(uniqueRS);
    if (!item) return false;
    this.table.deleteDest(item.entry, item.dest);
    this.list.delete(uniqueRS);
    return true;
  }

  /** tryDeleteRs, run every RS_CHECK_DELETE_INTERVAL_NS: returns how many real servers it deleted. */
  tryDeleteRs(): number {
    let deleted = 0;
    for (const [name, item] of [...this.list].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      if (this.deleteRs(item)) {
        this.list.delete(name);
        deleted++;
      }
    }
    return deleted;
  }

  /** deleteRsFunc: true when the real server is gone (deleted now, or already gone with its service). */
  private deleteRs(item: ListItem): boolean {
    const { entry, dest } = item;
    const vs = entry.vs;
    // Its virtual server was deleted (cleanLegacyService): nothing left to delete.
    if (this.table.get(vs.protocol, vs.addr, vs.port) !== entry || !vs.dests.includes(dest)) return true;
    const graceful = vs.protocol !== 'UDP' && vs.protocol !== 'SCTP';
    if (graceful && dest.activeConns + dest.inactiveConns !== 0) return false;
    this.table.deleteDest(entry, dest);
    return true;
  }
}
