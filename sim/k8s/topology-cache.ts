/**
 * Topology-mode Auto as the EndpointSlice controller computes it (kubernetes/kubernetes
 * staging/src/k8s.io/endpointslice/topologycache/topologycache.go, event.go):
 *
 * - SetNodes: each zone's share of the allocatable CPU of the Ready nodes, control-plane nodes
 *   excluded. Any Ready node without a zone label or without allocatable CPU, no CPU at all, or fewer
 *   than two zones: no ratios ("insufficient node info"), and every Auto Service loses its hints.
 * - getAllocations: per zone, desired = share × ready endpoints, minimum = ceil(desired / (1 + 0.2))
 *   (OverloadThreshold 0.2), maximum = minimum + the endpoints left over after every zone's minimum.
 *   No hints when ready endpoints are fewer than zones, or when the minimums need more endpoints than
 *   there are.
 * - AddHints: every ready endpoint first hinted for its own zone (no hints at all if one has no zone),
 *   then endpoints moved from zones over their share to zones under it (topology-slice-hints.ts).
 *   Slices the sync leaves unchanged keep their hints while those stay valid.
 * - the "hints populated" state per Service, the Enabled event on the first success, and
 *   GetOverloadedServices, which a node change uses to resync Services whose hints no longer fit.
 *
 * `autoHints` is the same computation for a static cluster: the Service's endpoints in one slice
 * being created, in a canonical order (zone, node, readiness) so the result does not depend on the
 * order they are given in. Zones are taken in name order where Go ranges over a map.
 */
import type { AddressType, EndpointSlice, Node } from './objects.ts';
import { cpuMilli } from './cpu-quantity.ts';
import { LABEL_TOPOLOGY_ZONE } from './pod-endpoint.ts';
import {
  allocatedHintsByZone,
  endpointReady,
  endpointZone,
  givingAndReceivingZones,
  redistributeHints,
  removeHintsFromSlices,
  serviceOverloaded,
  sortedKeys,
  totalReadyEndpoints,
  withHints,
  zoneHint,
  type EndpointZoneInfo,
  type SliceInfo,
  type ZoneAllocation,
} from './topology-slice-hints.ts';

export type { SliceInfo, ZoneAllocation };

/** topologycache.go overloadThreshold: the most any endpoint should be overloaded. */
export const OVERLOAD_THRESHOLD = 0.2;

/** event.go: the TopologyAwareHints event messages. */
export const TOPOLOGY_HINTS_MESSAGES = {
  noZoneSpecified: 'One or more endpoints do not have a zone specified',
  noAllocatedHintsForZones: 'No hints allocated for zones',
  enabled: 'Topology Aware Hints has been enabled',
  disabled: 'Topology Aware Hints has been disabled',
  insufficientNodeInfo: 'Insufficient Node information: allocatable CPU or zone not specified on one or more nodes',
  nodesReadyInOneZoneOnly: 'Nodes only ready in one zone',
  insufficientNumberOfEndpoints: 'Insufficient number of endpoints',
  minAllocationExceedsOverloadThreshold: 'Unable to allocate minimum required endpoints to each zone without exceeding overload threshold',
} as const;

/** An event the controller records on the Service (EventBuilder). */
export interface HintsEvent {
  type: 'Normal' | 'Warning';
  reason: 'TopologyAwareHintsEnabled' | 'TopologyAwareHintsDisabled';
  /** The message as recorded: `<detail>, addressType: <type>` (FormatWithAddressType). */
  message: string;
  /** The message without the address type. */
  detail: string;
}

export interface TopologyNode {
  name: string;
  /** topology.kubernetes.io/zone; "" when the label is absent or empty. */
  zone: string;
  /** status.allocatable.cpu in millicores; 0 when absent. */
  allocatableCpuMilli: number;
  /** The Ready condition is True. */
  ready: boolean;
  /** Labelled node-role.kubernetes.io/control-plane or node-role.kubernetes.io/master: left out of the ratios. */
  controlPlane?: boolean;
}

/** One endpoint of one Service, across its slices. */
export interface HintTarget {
  /** "" when the endpoint has no nodeName. */
  nodeName: string;
  /** "" when the endpoint has no zone. */
  zone: string;
  ready: boolean;
}

export interface EndpointHints {
  forZones: readonly string[];
  forNodes: readonly string[];
}

/** Zone name to its share of the cluster's allocatable CPU, in zone name order. */
export type ZoneRatios = ReadonlyMap<string, number>;

/** hasExcludedLabels: nodes with either role label are not counted. */
const EXCLUDED_NODE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

/** What SetNodes reads from a Node object. */
export function topologyNodeOf(node: Node): TopologyNode {
  const labels = node.metadata.labels ?? {};
  const cpu = node.status?.allocatable?.cpu;
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const n: TopologyNode = { name: node.metadata.name, zone: labels[LABEL_TOPOLOGY_ZONE] ?? '', allocatableCpuMilli: cpu === undefined ? 0 : cpuMilli(cpu) ?? 0, ready };
  if (EXCLUDED_NODE_LABELS.some((l) => l in labels)) n.controlPlane = true;
  return n;
}

/** SetNodes: the zones' CPU shares, or null when node information is insufficient. */
export function zoneCpuRatios(nodes: readonly TopologyNode[]): ZoneRatios | null {
  const cpuByZone = new Map<string, number>();
  let total = 0;
  for (const n of nodes) {
    if (n.controlPlane || !n.ready) continue;
    // Upstream bails out at the first counted node without a zone or CPU.
    if (n.zone === '' || n.allocatableCpuMilli <= 0) return null;
    total += n.allocatableCpuMilli;
    cpuByZone.set(n.zone, (cpuByZone.get(n.zone) ?? 0) + n.allocatableCpuMilli);
  }
  if (total === 0 || cpuByZone.size < 2) return null;
  const ratios = new Map<string, number>();
  for (const z of sortedKeys(cpuByZone)) ratios.set(z, cpuByZone.get(z)! / total);
  return ratios;
}

/** getAllocations: per-zone allocations for `numEndpoints` ready endpoints, or the reason there are none. */
export function zoneAllocations(ratios: ZoneRatios | null, numEndpoints: number): { allocations: Map<string, ZoneAllocation> } | { detail: string } {
  const M = TOPOLOGY_HINTS_MESSAGES;
  if (ratios === null) return { detail: M.insufficientNodeInfo };
  if (ratios.size < 2) return { detail: M.nodesReadyInOneZoneOnly };
  if (ratios.size > numEndpoints) return { detail: `${M.insufficientNumberOfEndpoints} (${numEndpoints} endpoints, ${ratios.size} zones)` };
  let remaining = numEndpoints;
  let minTotal = 0;
  const allocations = new Map<string, ZoneAllocation>();
  for (const [zone, ratio] of ratios) {
    const desired = ratio * numEndpoints;
    const minimum = Math.ceil(desired * (1 / (1 + OVERLOAD_THRESHOLD)));
    allocations.set(zone, { minimum, maximum: 0, desired: Math.max(desired, minimum) });
    minTotal += minimum;
    remaining -= minimum;
    if (remaining < 0) return { detail: `${M.minAllocationExceedsOverloadThreshold} (${numEndpoints} endpoints, ${ratios.size} zones)` };
  }
  for (const a of allocations.values()) a.maximum = a.minimum + numEndpoints - minTotal;
  return { allocations };
}

function event(type: HintsEvent['type'], reason: HintsEvent['reason'], detail: string, addressType: AddressType): HintsEvent {
  return { type, reason, detail, message: `${detail}, addressType: ${addressType}` };
}

/** The TopologyCache of one EndpointSlice controller. */
export class TopologyCache {
  private ratios: ZoneRatios | null = null;
  private readonly endpointsByService = new Map<string, Map<AddressType, EndpointZoneInfo>>();
  private readonly hintsPopulated = new Set<string>();

  setNodes(nodes: readonly TopologyNode[]): void {
    this.ratios = zoneCpuRatios(nodes);
  }

  get cpuRatiosByZone(): ZoneRatios | null {
    return this.ratios;
  }

  hasPopulatedHints(serviceKey: string): boolean {
    return this.hintsPopulated.has(serviceKey);
  }

  /** Services with hints populated. */
  get servicesWithHints(): number {
    return this.hintsPopulated.size;
  }

  removeHints(serviceKey: string, addressType: AddressType): void {
    const m = this.endpointsByService.get(serviceKey);
    if (m) {
      m.delete(addressType);
      if (m.size === 0) this.endpointsByService.delete(serviceKey);
    }
    this.hintsPopulated.delete(serviceKey);
  }

  private setHints(serviceKey: string, addressType: AddressType, allocated: EndpointZoneInfo): void {
    let m = this.endpointsByService.get(serviceKey);
    if (!m) this.endpointsByService.set(serviceKey, (m = new Map()));
    m.set(addressType, allocated);
    this.hintsPopulated.add(serviceKey);
  }

  /** GetOverloadedServices: Services whose hints some zone can no longer carry under the current ratios. */
  overloadedServices(): string[] {
    const out: string[] = [];
    for (const [key, byType] of this.endpointsByService) {
      for (const ezi of byType.values()) {
        if (serviceOverloaded(ezi, this.ratios, OVERLOAD_THRESHOLD)) {
          out.push(key);
          break;
        }
      }
    }
    return out;
  }

  /** AddHints: writes Auto hints into `si` (its lists change in place) and returns the events. */
  addHints(si: SliceInfo): HintsEvent[] {
    const alloc = zoneAllocations(this.ratios, totalReadyEndpoints(si));
    if ('detail' in alloc) return this.fallBack(si, alloc.detail);
    const allocated = allocatedHintsByZone(si, alloc.allocations);
    const allocatable = [...si.toCreate, ...si.toUpdate];
    // Step 1: every ready endpoint hinted for its own zone.
    for (const s of allocatable) {
      const eps = s.endpoints;
      for (let i = 0; i < eps.length; i++) {
        const ep = eps[i]!;
        if (!endpointReady(ep)) continue; // left as it is (see redistributeHints)
        const zone = endpointZone(ep);
        if (zone === '') return this.fallBack(si, TOPOLOGY_HINTS_MESSAGES.noZoneSpecified);
        allocated.set(zone, (allocated.get(zone) ?? 0) + 1);
        eps[i] = withHints(ep, zoneHint(zone));
      }
    }
    // Steps 2 and 3: move endpoints from zones over their share to zones under it.
    const { giving, receiving } = givingAndReceivingZones(alloc.allocations, allocated);
    for (const [zone, diff] of redistributeHints(allocatable, giving, receiving)) allocated.set(zone, (allocated.get(zone) ?? 0) + diff);
    if (allocated.size === 0) return this.fallBack(si, TOPOLOGY_HINTS_MESSAGES.noAllocatedHintsForZones);
    const wasEnabled = this.hintsPopulated.has(si.serviceKey);
    this.setHints(si.serviceKey, si.addressType, allocated);
    return wasEnabled ? [] : [event('Normal', 'TopologyAwareHintsEnabled', TOPOLOGY_HINTS_MESSAGES.enabled, si.addressType)];
  }

  private fallBack(si: SliceInfo, detail: string): HintsEvent[] {
    this.removeHints(si.serviceKey, si.addressType);
    removeHintsFromSlices(si);
    return [event('Warning', 'TopologyAwareHintsDisabled', detail, si.addressType)];
  }
}

/**
 * Topology-mode Auto hints for one Service of a static cluster: `hints[i]` is endpoint i's, or null
 * when the controller writes none; `reason` is then the Warning event's message (without the address
 * type) and `event` the event itself.
 */
export function autoHints(endpoints: readonly HintTarget[], nodes: readonly TopologyNode[]): { hints: EndpointHints[] | null; reason: string | null; event: HintsEvent | null } {
  const cache = new TopologyCache();
  cache.setNodes(nodes);
  const order = endpoints.map((_, i) => i).sort((a, b) => compareTargets(endpoints[a]!, endpoints[b]!) || a - b);
  const slice: EndpointSlice = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: '' },
    addressType: 'IPv4',
    endpoints: order.map((i) => {
      const t = endpoints[i]!;
      return { addresses: [], conditions: { ready: t.ready }, ...(t.nodeName ? { nodeName: t.nodeName } : {}), ...(t.zone ? { zone: t.zone } : {}) };
    }),
  };
  const si: SliceInfo = { serviceKey: '', addressType: 'IPv4', toCreate: [slice], toUpdate: [], unchanged: [] };
  const events = cache.addHints(si);
  const disabled = events.find((e) => e.reason === 'TopologyAwareHintsDisabled');
  if (disabled) return { hints: null, reason: disabled.detail, event: disabled };
  const hints: EndpointHints[] = new Array(endpoints.length);
  order.forEach((orig, pos) => {
    const h = slice.endpoints[pos]!.hints;
    hints[orig] = { forZones: h?.forZones?.map((z) => z.name) ?? [], forNodes: h?.forNodes?.map((n) => n.name) ?? [] };
  });
  return { hints, reason: null, event: null };
}

function compareTargets(a: HintTarget, b: HintTarget): number {
  if (a.zone !== b.zone) return a.zone < b.zone ? -1 : 1;
  if (a.nodeName !== b.nodeName) return a.nodeName < b.nodeName ? -1 : 1;
  return Number(b.ready) - Number(a.ready);
}
