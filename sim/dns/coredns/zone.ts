/**
 * Zone matching as CoreDNS does it (plugin.Zones.Matches): a name is in a zone when it equals the
 * zone or ends with "." + zone; "." (written here as "" or ".") holds every name. Names are fully
 * qualified without the trailing dot (sim/dns/types.ts), compared case-insensitively.
 */
export function inZone(name: string, zone: string): boolean {
  return inNormalZone(normalName(name), normalName(zone));
}

/** Lower case, without a trailing dot ("" for the root). */
export function normalName(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

/** inZone for names already normalised (normalName). */
export function inNormalZone(name: string, zone: string): boolean {
  if (zone === '') return true;
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46);
}

/** The index of the longest of `zones` (normalised) that holds `name`, or -1: CoreDNS picks the server block by longest zone match. */
export function matchZone(name: string, zones: readonly string[]): number {
  const n = normalName(name);
  let best = -1;
  for (let i = 0; i < zones.length; i++) {
    if (inNormalZone(n, zones[i]!) && (best < 0 || zones[i]!.length > zones[best]!.length)) best = i;
  }
  return best;
}
