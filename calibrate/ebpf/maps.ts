/**
 * The map entries of the calibration's socket load balancer (calibrate/bpf/svc_connect4.c), as
 * `bpftool batch` lines. Service i (0-based) has ClusterIP 10.100.0.0 + i + 1 (so service 0 is the
 * probe target 10.100.0.1) and port 80; its master entry (slot 0) holds the backend count, its
 * slots 1..E a backend id each, and every backend is the probe's server. Byte layouts are those of
 * the C structs on a little-endian host (addresses and ports in network order, as the kernel hands
 * them to the program in struct bpf_sock_addr).
 */
export const SERVICE_PORT = 80;
const BACKEND_ADDRESS = [192, 168, 60, 2];
const BACKEND_PORT = 8080;

const hex = (bytes: number[]) => bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
const le16 = (v: number) => [v & 255, (v >> 8) & 255];
const le32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
const be16 = (v: number) => [(v >> 8) & 255, v & 255];

/** The ClusterIP of service i, as four octets. */
export function serviceAddress(i: number): number[] {
  const a = i + 1;
  if (a >= 65_536) throw new RangeError(`service ${i}: the calibration's ClusterIPs stop at 10.100.255.255`);
  return [10, 100, (a >> 8) & 255, a & 255];
}

/** struct svc_key: address, dport (network order), slot (host order). */
export function serviceKey(i: number, slot: number): string {
  return hex([...serviceAddress(i), ...be16(SERVICE_PORT), ...le16(slot)]);
}

/** Backend ids are 1-based: 0 means none in Cilium's maps (lb4_service.backend_id of a master entry). */
export function backendId(service: number, slot: number, endpoints: number): number {
  return service * endpoints + slot;
}

/**
 * Batch lines adding services [from, to) with `endpoints` backends each to the maps pinned at
 * `services` and `backends`: per service its master entry, its slots, its backends.
 */
export function serviceBatch(maps: { services: string; backends: string }, from: number, to: number, endpoints: number): string {
  const lines: string[] = [];
  const backendValue = hex([...BACKEND_ADDRESS, ...be16(BACKEND_PORT), 0, 0]);
  for (let i = from; i < to; i++) {
    // svc_value: backend_id (u32), count (u16), rev_nat (u16).
    lines.push(`map update pinned ${maps.services} key hex ${serviceKey(i, 0)} value hex ${hex([...le32(0), ...le16(endpoints), ...le16(i & 0xffff)])}`);
    for (let s = 1; s <= endpoints; s++) {
      const id = backendId(i, s, endpoints);
      lines.push(`map update pinned ${maps.services} key hex ${serviceKey(i, s)} value hex ${hex([...le32(id), 0, 0, ...le16(i & 0xffff)])}`);
      lines.push(`map update pinned ${maps.backends} key hex ${hex(le32(id))} value hex ${backendValue}`);
    }
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}
