/**
 * nftElementStorage (pkg/proxy/nftables/proxier.go): what kube-proxy believes a set or map holds,
 * so that a partial sync writes only the elements that differ and deletes those no sync wanted.
 */
import type { Command } from '../../nftables/transaction.ts';
import type { KeyType, SetElement } from '../../nftables/types.ts';
import {
  CLUSTER_IPS_SET,
  FIREWALL_IPS_MAP,
  KUBE_PROXY_TABLE,
  NO_ENDPOINT_NODEPORTS_MAP,
  NO_ENDPOINT_SERVICES_MAP,
  SERVICE_IPS_MAP,
  SERVICE_NODEPORTS_MAP,
} from './chain-names.ts';
import { elementCommand } from './commands.ts';

export class ElementStorage {
  readonly elements = new Map<string, { value: string; element: SetElement }>();
  leftover = new Set<string>();
  constructor(
    readonly kind: 'set' | 'map',
    readonly name: string,
    readonly keyType: readonly KeyType[],
  ) {}

  reset(tx: Command[]): void {
    this.elements.clear();
    tx.push({ verb: 'flush', object: this.kind, family: 'ip', table: KUBE_PROXY_TABLE, name: this.name });
    this.leftover = new Set();
  }

  ensure(tx: Command[], key: string, element: SetElement, value: string): void {
    const existing = this.elements.get(key);
    if (existing) {
      if (existing.value !== value) {
        tx.push(elementCommand('delete', this.name, element));
        tx.push(elementCommand('add', this.name, element));
        this.elements.set(key, { value, element });
      }
      this.leftover.delete(key);
    } else {
      tx.push(elementCommand('add', this.name, element));
      this.elements.set(key, { value, element });
    }
  }

  cleanup(tx: Command[]): void {
    for (const key of this.leftover) {
      tx.push(elementCommand('delete', this.name, this.elements.get(key)!.element));
      this.elements.delete(key);
    }
    this.leftover = new Set(this.elements.keys());
  }
}

export const SERVICE_KEY: readonly KeyType[] = ['ipv4_addr', 'inet_proto', 'inet_service'];
export const NODEPORT_KEY: readonly KeyType[] = ['inet_proto', 'inet_service'];

/** The sets and maps kube-proxy keeps an nftElementStorage for, in the order it resets and cleans them. */
export class ServiceElementMaps {
  readonly clusterIPs = new ElementStorage('set', CLUSTER_IPS_SET, ['ipv4_addr']);
  readonly serviceIPs = new ElementStorage('map', SERVICE_IPS_MAP, SERVICE_KEY);
  readonly firewallIPs = new ElementStorage('map', FIREWALL_IPS_MAP, SERVICE_KEY);
  readonly noEndpointServices = new ElementStorage('map', NO_ENDPOINT_SERVICES_MAP, SERVICE_KEY);
  readonly noEndpointNodePorts = new ElementStorage('map', NO_ENDPOINT_NODEPORTS_MAP, NODEPORT_KEY);
  readonly serviceNodePorts = new ElementStorage('map', SERVICE_NODEPORTS_MAP, NODEPORT_KEY);
  readonly all: readonly ElementStorage[] = [this.clusterIPs, this.serviceIPs, this.firewallIPs, this.noEndpointServices, this.noEndpointNodePorts, this.serviceNodePorts];
}
