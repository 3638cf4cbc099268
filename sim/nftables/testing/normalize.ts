/**
 * The normalisation kube-proxy's own nftables tests apply before comparing a dump with the
 * expected text (kubernetes/kubernetes pkg/proxy/nftables/helpers_test.go sortNFTablesTransaction):
 * drop blank lines and `#` comments, then a stable sort by object type (table, chain, rule, set,
 * map, element), then by object name (the 5th word), keeping rules of one chain in their order and
 * sorting other lines of the same object by their whole text.
 */
const OBJECT_ORDER: Readonly<Record<string, number>> = { table: 10, chain: 9, rule: 8, set: 7, map: 6, element: 5 };

export function sortNftTransaction(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '' && l[0] !== '#');
  const words = new Map(lines.map((l) => [l, l.split(' ')]));
  const keyed = lines.map((l, i) => ({ l, w: words.get(l)!, i }));
  keyed.sort((a, b) => {
    const wa = a.w;
    const wb = b.w;
    if (wa.length >= 5 && wb.length >= 5) {
      if (wa[1] !== wb[1]) return (OBJECT_ORDER[wb[1]] ?? 0) - (OBJECT_ORDER[wa[1]] ?? 0);
      if (wa[4] !== wb[4]) return wa[4] < wb[4] ? -1 : 1;
      if (wa[1] !== 'rule' && a.l !== b.l) return a.l < b.l ? -1 : 1;
    }
    return a.i - b.i;
  });
  return keyed.map((k) => k.l).join('\n');
}
