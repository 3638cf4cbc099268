/**
 * The slice-level pieces of topology-mode Auto (kubernetes/kubernetes
 * staging/src/k8s.io/endpointslice/topologycache/utils.go and sliceinfo.go): which hints the slices a
 * sync leaves unchanged already hold (getAllocatedHintsByZone, getHintsByZone), how many endpoints each
 * zone gives or receives (getGivingAndReceivingZones), which endpoints move (redistributeHints), hint
 * removal (RemoveHintsFromSlices), and the overload check a node change runs (serviceOverloaded).
 *
 * Where Go ranges over a map (random order), zones are taken in name order, so a tie goes to the zone
 * whose name sorts first; endpoints are taken in slice order, as upstream does.
 *
 * Endpoints are immutable versions shared between slice versions: a hint is written by replacing the
 * endpoint in its slice with a copy. Slices to create and update belong to the sync (their endpoints
 * arrays are their own); an unchanged slice is copied before it changes, as upstream's DeepCopy.
 */
import type { AddressType, Endpoint, EndpointHints as ApiEndpointHints, EndpointSlice } from './objects.ts';

/** topologycache.go allocation: endpoints a zone should get. */
export interface ZoneAllocation {
  minimum: number;
  maximum: number;
  desired: number;
}

/** EndpointZoneInfo: hinted endpoints per zone. */
export type EndpointZoneInfo = Map<string, number>;

/** SliceInfo: one Service's slices of one address type as a sync leaves them. */
export interface SliceInfo {
  serviceKey: string;
  addressType: AddressType;
  toCreate: EndpointSlice[];
  toUpdate: EndpointSlice[];
  unchanged: EndpointSlice[];
}

export function endpointReady(ep: Endpoint): boolean {
  return ep.conditions?.ready === true;
}

/** The endpoint's zone; "" when the field is unset (podToEndpoint leaves it unset for an unlabelled node). */
export function endpointZone(ep: Endpoint): string {
  return ep.zone ?? '';
}

/** The endpoint with these hints (undefined: none), the same object when they are already those. */
export function withHints(ep: Endpoint, hints: ApiEndpointHints | undefined): Endpoint {
  if (sameHints(ep.hints, hints)) return ep;
  const { hints: _old, ...rest } = ep;
  return hints === undefined ? rest : { ...rest, hints };
}

function sameHints(a: ApiEndpointHints | undefined, b: ApiEndpointHints | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  return sameNames(a.forZones, b.forZones) && sameNames(a.forNodes, b.forNodes);
}

function sameNames(a: readonly { name: string }[] | undefined, b: readonly { name: string }[] | undefined): boolean {
  if ((a?.length ?? 0) !== (b?.length ?? 0)) return false;
  if (a === undefined || b === undefined) return a === b; // both empty: present-but-empty differs from absent
  for (let i = 0; i < a.length; i++) if (a[i]!.name !== b[i]!.name) return false;
  return true;
}

export function zoneHint(zone: string): ApiEndpointHints {
  return { forZones: [{ name: zone }] };
}

/** A copy whose endpoints array may be changed (DeepCopy: the endpoints themselves stay shared). */
export function copySliceForUpdate(s: EndpointSlice): EndpointSlice {
  return { ...s, metadata: { ...s.metadata }, endpoints: s.endpoints.slice() };
}

export function numReadyEndpoints(endpoints: readonly Endpoint[]): number {
  let n = 0;
  for (const ep of endpoints) if (endpointReady(ep)) n++;
  return n;
}

export function totalReadyEndpoints(si: SliceInfo): number {
  let n = 0;
  for (const l of [si.toCreate, si.toUpdate, si.unchanged]) for (const s of l) n += numReadyEndpoints(s.endpoints);
  return n;
}

/**
 * RemoveHintsFromSlices: clears hints on the slices being written, and moves unchanged slices that
 * carry any hint to the updates (cleared).
 */
export function removeHintsFromSlices(si: SliceInfo): void {
  for (const s of [...si.toCreate, ...si.toUpdate]) clearHints(s);
  const still: EndpointSlice[] = [];
  for (const s of si.unchanged) {
    if (s.endpoints.some((ep) => ep.hints !== undefined)) {
      const c = copySliceForUpdate(s);
      clearHints(c);
      si.toUpdate.push(c);
    } else still.push(s);
  }
  si.unchanged = still;
}

function clearHints(s: EndpointSlice): void {
  const eps = s.endpoints;
  for (let i = 0; i < eps.length; i++) if (eps[i]!.hints !== undefined) eps[i] = withHints(eps[i]!, undefined);
}

/**
 * getAllocatedHintsByZone: the hints unchanged slices hold, per zone; an unchanged slice whose hints
 * are no longer valid (getHintsByZone) moves to the updates as a copy.
 */
export function allocatedHintsByZone(si: SliceInfo, allocations: ReadonlyMap<string, ZoneAllocation>): EndpointZoneInfo {
  const allocated: EndpointZoneInfo = new Map();
  const still: EndpointSlice[] = [];
  for (const s of si.unchanged) {
    const byZone = hintsByZone(s, allocated, allocations);
    if (byZone === null) si.toUpdate.push(copySliceForUpdate(s));
    else {
      still.push(s);
      for (const [z, n] of byZone) allocated.set(z, (allocated.get(z) ?? 0) + n);
    }
  }
  si.unchanged = still;
  return allocated;
}

/**
 * getHintsByZone: hinted ready endpoints per zone in one slice, or null when the slice must be
 * rewritten: a ready endpoint without zone hints, a hint for a zone that gets no allocation, or hints
 * that would push a zone past its maximum.
 */
export function hintsByZone(slice: EndpointSlice, allocated: ReadonlyMap<string, number>, allocations: ReadonlyMap<string, ZoneAllocation>): Map<string, number> | null {
  const out = new Map<string, number>();
  for (const ep of slice.endpoints) {
    if (!endpointReady(ep)) continue;
    const zones = ep.hints?.forZones;
    if (!zones || zones.length === 0) return null;
    for (const z of zones) {
      if (!allocations.has(z.name)) return null;
      out.set(z.name, (out.get(z.name) ?? 0) + 1);
    }
  }
  for (const [z, n] of out) {
    const a = allocations.get(z);
    if (!a || n + (allocated.get(z) ?? 0) > a.maximum) return null;
  }
  return out;
}

/**
 * getGivingAndReceivingZones: from the desired share and the hints each zone holds, whole endpoints
 * to give (zones over their share) and to receive (zones under it). One at a time, from the zone with
 * the largest surplus to the one with the largest deficit, while either has at least one endpoint to
 * spare or lack and both at least half of one.
 */
export function givingAndReceivingZones(allocations: ReadonlyMap<string, ZoneAllocation>, allocated: ReadonlyMap<string, number>): { giving: Map<string, number>; receiving: Map<string, number> } {
  const givingDesired = new Map<string, number>();
  const receivingDesired = new Map<string, number>();
  for (const zone of sortedKeys(allocations)) {
    const have = allocated.get(zone) ?? 0;
    const target = allocations.get(zone)!.desired;
    if (have > target) givingDesired.set(zone, have - target);
    else if (have < target) receivingDesired.set(zone, target - have);
  }
  const giving = new Map<string, number>();
  const receiving = new Map<string, number>();
  for (;;) {
    const [gz, give] = most(givingDesired);
    const [rz, take] = most(receivingDesired);
    if (gz === '' || rz === '' || (give < 1 && take < 1) || give < 0.5 || take < 0.5) break;
    giving.set(gz, (giving.get(gz) ?? 0) + 1);
    givingDesired.set(gz, give - 1);
    receiving.set(rz, (receiving.get(rz) ?? 0) + 1);
    receivingDesired.set(rz, take - 1);
  }
  return { giving, receiving };
}

/** getMost: the zone with the largest positive value (ties: the first in name order), or "" and 0. */
function most(m: ReadonlyMap<string, number>): [string, number] {
  let zone = '';
  let num = 0;
  for (const z of sortedKeys(m)) {
    const n = m.get(z)!;
    if (n > num) {
      zone = z;
      num = n;
    }
  }
  return [zone, num];
}

export function sortedKeys<V>(m: ReadonlyMap<string, V>): string[] {
  return [...m.keys()].sort();
}

/**
 * redistributeHints: walks the slices' ready endpoints in order and re-hints endpoints of giving zones
 * to receiving zones (in name order) until one side is exhausted. Returns the change in hints per zone.
 * Consumes `giving` and `receiving`.
 */
export function redistributeHints(slices: readonly EndpointSlice[], giving: Map<string, number>, receiving: Map<string, number>): Map<string, number> {
  const moved = new Map<string, number>();
  for (const s of slices) {
    const eps = s.endpoints;
    for (let i = 0; i < eps.length; i++) {
      const ep = eps[i]!;
      // Upstream sets Hints to nil on its range copy of a not-ready endpoint, which changes nothing:
      // a not-ready endpoint keeps what it has (a fresh one from podToEndpoint has none).
      if (!endpointReady(ep)) continue;
      if (giving.size === 0 || receiving.size === 0) return moved;
      const from = endpointZone(ep);
      if (from === '') continue; // caught earlier by addHints
      const give = giving.get(from);
      if (give === undefined || give <= 0) continue;
      const to = sortedKeys(receiving).find((z) => receiving.get(z)! > 0);
      if (to === undefined) continue;
      eps[i] = withHints(ep, zoneHint(to));
      decrement(giving, from);
      decrement(receiving, to);
      moved.set(to, (moved.get(to) ?? 0) + 1);
      moved.set(from, (moved.get(from) ?? 0) - 1);
    }
  }
  return moved;
}

function decrement(m: Map<string, number>, k: string): void {
  const n = m.get(k)!;
  if (n === 1) m.delete(k);
  else m.set(k, n - 1);
}

/**
 * serviceOverloaded: some zone with CPU holds fewer hinted endpoints than its share of the Service's
 * hinted endpoints allows under the overload threshold (or none at all).
 */
export function serviceOverloaded(ezi: ReadonlyMap<string, number>, ratios: ReadonlyMap<string, number> | null, overloadThreshold: number): boolean {
  if (ezi.size === 0) return false;
  if (!ratios || ratios.size === 0) return true;
  let total = 0;
  for (const n of ezi.values()) total += n;
  for (const [zone, ratio] of ratios) {
    const have = ezi.get(zone);
    if (have === undefined) return true;
    if (have < Math.ceil(total * ratio * (1 / (1 + overloadThreshold)))) return true;
  }
  return false;
}
