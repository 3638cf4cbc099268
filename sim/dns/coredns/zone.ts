/**
 * Zone matching as CoreDNS does it (plugin.Zones.Matches): a name is in a zone when it equals the
 * zone or ends with "." + zone; "." (written here as "" or ".") holds every name. Names are fully
 * qualified without the trailing dot (sim/dns/types.ts), compared case-insensitively.
 */
export function inZone(name: string, zone: string): boolean {
  const z = zone.replace(/\.$/, '').toLowerCase();
  if (z === '') return true;
  const n = name.replace(/\.$/, '').toLowerCase();
  return n === z || n.endsWith(`.${z}`);
}

/** The longest of `zones` that holds `name` (CoreDNS picks the server block by longest zone match), or null. */
export function matchZone(name: string, zones: readonly string[]): string | null {
  let best: string | null = null;
  for (const z of zones) {
    if (!inZone(name, z)) continue;
    if (best === null || z.replace(/\.$/, '').length > best.replace(/\.$/, '').length) best = z;
  }
  return best;
}
