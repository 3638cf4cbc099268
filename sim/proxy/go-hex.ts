/**
 * Go's fmt.Sprintf("%#08x", v), as kube-proxy prints its masquerade mark (pkg/proxy/iptables,
 * pkg/proxy/nftables and pkg/proxy/ipvs proxier.go: masqueradeMark := fmt.Sprintf("%#08x", 1<<bit)).
 * Go's fmtInteger (src/fmt/format.go) turns a zero-padded width into a minimum digit count (prec =
 * wid) and puts the "0x" in front afterwards, unlike C's printf, where "0x" counts in the width:
 * 1 << 14 prints "0x00004000" (C would print "0x004000").
 */
export function goSharpHex08(v: number): string {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`goSharpHex08: non-negative integer expected, got ${v}`);
  return '0x' + v.toString(16).padStart(8, '0');
}
