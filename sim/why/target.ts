import { InputError } from '../io/input-error.ts';
import { quoteInput } from '../io/excerpt.ts';
import { tryParseIPv4 } from '../net/ipv4.ts';
import { dnsNameProblem } from '../dns/pod-lookup.ts';
import type { Target } from './types.ts';

/** The default port of each scheme (http 80, https 443, RFC 9110 4.2); tcp and udp name theirs. */
const DEFAULT_PORT: Record<string, number | undefined> = { http: 80, https: 443 };
const EXPECTED = 'a URL such as http://web.shop, http://web:8080, tcp://10.96.0.20:80 or udp://dns.kube-system:53';

/** Reads --to: scheme://host[:port][/path], the host as the application writes it. */
export function parseTarget(url: string): Target {
  const bad = (why: string) => new InputError('--to', EXPECTED, quoteInput(url), why);
  const m = /^([a-z]+):\/\/([^/:?#]+)(?::([^/?#]*))?([/?#].*)?$/i.exec(url);
  if (!m) throw bad('not scheme://host[:port]');
  const scheme = m[1]!.toLowerCase();
  if (scheme !== 'http' && scheme !== 'https' && scheme !== 'tcp' && scheme !== 'udp') throw bad(`the scheme ${scheme} is not http, https, tcp or udp`);
  const host = m[2]!;
  let port = DEFAULT_PORT[scheme];
  if (m[3] !== undefined) {
    if (!/^\d+$/.test(m[3]) || Number(m[3]) < 1 || Number(m[3]) > 65535) throw bad(`the port ${JSON.stringify(m[3])} is not 1-65535`);
    port = Number(m[3]);
  }
  if (port === undefined) throw bad(`${scheme}:// needs a port`);
  const isAddress = tryParseIPv4(host) !== undefined;
  if (!isAddress) {
    if (/^[\d.]+$/.test(host)) throw bad(`${host} is not an IPv4 address`);
    const why = dnsNameProblem(host);
    if (why) throw bad(why);
  }
  return { url, scheme, host, isAddress, port, protocol: scheme === 'udp' ? 'UDP' : 'TCP' };
}
