/**
 * The hints step of one sync of one address type (kubernetes/kubernetes
 * staging/src/k8s.io/endpointslice/reconciler.go, reconcileByAddressType, after the slices are
 * decided and before finalize writes them):
 *
 * - topology-mode Auto (the annotation service.kubernetes.io/topology-mode, or the deprecated
 *   service.kubernetes.io/topology-aware-hints, which wins when both are set; value "Auto" or "auto"):
 *   the TopologyCache writes the hints or removes them with a Warning event (topology-cache.ts);
 * - otherwise the cache forgets the Service (a "Topology Aware Hints has been disabled" event when it
 *   had hints), and hints are removed unless a valid spec.trafficDistribution will write its own;
 * - a valid trafficDistribution without Auto: its hints (traffic-distribution-hints.ts).
 */
import type { AddressType, EndpointSlice, Service } from './objects.ts';
import { TOPOLOGY_HINTS_MESSAGES, type HintsEvent, type TopologyCache } from './topology-cache.ts';
import { removeHintsFromSlices, type SliceInfo } from './topology-slice-hints.ts';
import { reconcileTrafficDistributionHints, type TrafficDistribution } from './traffic-distribution-hints.ts';

/** core/v1 AnnotationTopologyMode and DeprecatedAnnotationTopologyAwareHints. */
export const ANNOTATION_TOPOLOGY_MODE = 'service.kubernetes.io/topology-mode';
export const ANNOTATION_TOPOLOGY_AWARE_HINTS = 'service.kubernetes.io/topology-aware-hints';

export interface HintsContext {
  cache: TopologyCache;
  /** Feature gate PreferSameTrafficDistribution (beta, on by default since v1.34): PreferSameZone and PreferSameNode are valid. Default true. */
  preferSameTrafficDistribution?: boolean;
}

/** hintsEnabled: the deprecated annotation when present, else topology-mode; "Auto" or "auto". */
export function hintsEnabled(annotations: Readonly<Record<string, string>> | undefined): boolean {
  const a = annotations ?? {};
  const v = ANNOTATION_TOPOLOGY_AWARE_HINTS in a ? a[ANNOTATION_TOPOLOGY_AWARE_HINTS] : a[ANNOTATION_TOPOLOGY_MODE];
  return v === 'Auto' || v === 'auto';
}

/** A Service asks for topology hints: Auto by annotation, or a spec.trafficDistribution (valid or not). */
export function asksForHints(s: Service): boolean {
  return hintsEnabled(s.metadata.annotations) || s.spec.trafficDistribution !== undefined;
}

/** validTrafficDistribution: PreferClose always; PreferSameZone and PreferSameNode with the gate. */
export function validTrafficDistribution(td: string | undefined, preferSame = true): td is TrafficDistribution {
  if (td === 'PreferClose') return true;
  return preferSame && (td === 'PreferSameZone' || td === 'PreferSameNode');
}

export interface HintsStep {
  toCreate: EndpointSlice[];
  toUpdate: EndpointSlice[];
  events: HintsEvent[];
  /** The Service asks for Auto. */
  auto: boolean;
  /** Its trafficDistribution hints were written. */
  trafficDistribution: boolean;
}

/** unchangedSlices: existing slices neither updated nor deleted, by name. */
function unchangedSlices(existing: readonly EndpointSlice[], toUpdate: readonly EndpointSlice[], toDelete: readonly EndpointSlice[]): EndpointSlice[] {
  const changed = new Set<string>();
  for (const s of toUpdate) changed.add(s.metadata.name);
  for (const s of toDelete) changed.add(s.metadata.name);
  return existing.filter((s) => !changed.has(s.metadata.name));
}

export function reconcileHints(
  ctx: HintsContext,
  service: Service,
  addressType: AddressType,
  existing: readonly EndpointSlice[],
  toCreate: EndpointSlice[],
  toUpdate: EndpointSlice[],
  toDelete: readonly EndpointSlice[],
): HintsStep {
  const key = `${service.metadata.namespace ?? ''}/${service.metadata.name}`;
  const auto = hintsEnabled(service.metadata.annotations);
  const td = service.spec.trafficDistribution;
  const useTd = !auto && validTrafficDistribution(td, ctx.preferSameTrafficDistribution ?? true);
  const si: SliceInfo = { serviceKey: key, addressType, toCreate, toUpdate, unchanged: unchangedSlices(existing, toUpdate, toDelete) };
  const events: HintsEvent[] = [];
  if (auto) events.push(...ctx.cache.addHints(si));
  else {
    if (ctx.cache.hasPopulatedHints(key)) {
      const detail = TOPOLOGY_HINTS_MESSAGES.disabled;
      events.push({ type: 'Warning', reason: 'TopologyAwareHintsDisabled', detail, message: `${detail}, addressType: ${addressType}` });
    }
    ctx.cache.removeHints(key, addressType);
    if (!useTd) removeHintsFromSlices(si);
  }
  if (!useTd) return { toCreate: si.toCreate, toUpdate: si.toUpdate, events, auto, trafficDistribution: false };
  const r = reconcileTrafficDistributionHints(td as TrafficDistribution, si.toCreate, si.toUpdate, unchangedSlices(existing, si.toUpdate, toDelete));
  return { toCreate: r.toCreate, toUpdate: r.toUpdate, events, auto, trafficDistribution: true };
}
