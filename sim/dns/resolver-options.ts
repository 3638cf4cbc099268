import type { ResolvConf } from './resolv-conf.ts';

/**
 * resolv.conf as each resolver library reads it: the same file gives different settings, because
 * each library knows different options and clamps values its own way.
 */
export type ResolverLibrary = 'glibc' | 'musl' | 'go';
export const RESOLVER_LIBRARIES: readonly ResolverLibrary[] = ['glibc', 'musl', 'go'];

export interface ResolverConfig {
  library: ResolverLibrary;
  /** At most 3 (MAXNS); the library's loopback default when the file has none. */
  nameservers: string[];
  /** The search domains the library will use (musl ignores a too-long line). */
  searches: string[];
  ndots: number;
  timeoutS: number;
  attempts: number;
  singleRequest: boolean;
  singleRequestReopen: boolean;
  useVc: boolean;
  rotate: boolean;
  edns0: boolean;
  trustAd: boolean;
  noTldQuery: boolean;
  /** glibc 2.36+ `no-aaaa`: getaddrinfo asks for A only. */
  noAaaa: boolean;
}

/** C `strtol`/`strtoul`, Go `dtoi`: leading digits (with an optional sign for strtol), else 0. */
function leadingInt(s: string, signed: boolean): number {
  const m = (signed ? /^\s*([+-]?\d+)/ : /^\s*(\d+)/).exec(s);
  return m ? Number(m[1]) : 0;
}

/** musl finds an option with strstr on the whole `options` line: the first occurrence counts. */
function firstOptionValue(options: readonly string[], prefix: string): string | undefined {
  const o = options.find((x) => x.startsWith(prefix));
  return o === undefined ? undefined : o.slice(prefix.length);
}

const base = (library: ResolverLibrary, conf: ResolvConf): ResolverConfig => ({
  library,
  nameservers: conf.nameservers.slice(0, 3),
  searches: [...conf.searches],
  ndots: 1,
  timeoutS: 5,
  attempts: 2,
  singleRequest: false,
  singleRequestReopen: false,
  useVc: false,
  rotate: false,
  edns0: false,
  trustAd: false,
  noTldQuery: false,
  noAaaa: false,
});

/**
 * glibc resolv/res_init.c `res_setoptions`: ndots, timeout and attempts through strtol, capped at
 * RES_MAXNDOTS 15, RES_MAXRETRANS 30 and RES_MAXRETRY 5 (resolv.h). Negative values pass the cap:
 * ndots lands in the 4-bit `ndots` field of struct __res_state (-1 reads as 15); a timeout of 0 or
 * less becomes 1 s in send_dg (`seconds <= 0`); attempts of 0 or less make __res_context_send's
 * loop send nothing (kept as 0: the lookup fails at once). Flags by prefix, in the order of its table
 * (so `single-request-reopen` is matched before `single-request`). No nameserver: the loopback
 * (res_init.c, INADDR_LOOPBACK).
 */
function glibcConfig(conf: ResolvConf): ResolverConfig {
  const c = base('glibc', conf);
  for (const o of conf.options) {
    if (o.startsWith('ndots:')) c.ndots = Math.min(15, leadingInt(o.slice(6), true)) & 15;
    else if (o.startsWith('timeout:')) c.timeoutS = Math.max(1, Math.min(30, leadingInt(o.slice(8), true)));
    else if (o.startsWith('attempts:')) c.attempts = Math.max(0, Math.min(5, leadingInt(o.slice(9), true)));
    else setGlibcFlag(c, o);
  }
  if (c.nameservers.length === 0) c.nameservers = ['127.0.0.1'];
  return c;
}

function setGlibcFlag(c: ResolverConfig, option: string): void {
  const negate = option.startsWith('-');
  const o = negate ? option.slice(1) : option;
  const table: [string, keyof ResolverConfig][] = [
    ['rotate', 'rotate'],
    ['edns0', 'edns0'],
    ['single-request-reopen', 'singleRequestReopen'],
    ['single-request', 'singleRequest'],
    ['no_tld_query', 'noTldQuery'],
    ['no-tld-query', 'noTldQuery'],
    ['use-vc', 'useVc'],
    ['trust-ad', 'trustAd'],
    ['no-aaaa', 'noAaaa'],
  ];
  const hit = table.find(([name]) => o.startsWith(name));
  if (hit) (c as unknown as Record<string, boolean>)[hit[1]] = !negate;
}

/**
 * musl src/network/resolvconf.c `__get_resolv_conf`: only ndots, attempts and timeout, found
 * anywhere in the options line (strstr) when a digit follows, capped at 15, 10 and 60; every other
 * option is ignored. Lines are read into a 256-byte buffer and a line that does not fit is skipped
 * whole, so a `search` line of 255 characters or more leaves musl with no search list. No
 * nameserver: 127.0.0.1.
 */
function muslConfig(conf: ResolvConf): ResolverConfig {
  const c = base('musl', conf);
  const num = (prefix: string, cap: number): number | undefined => {
    const v = firstOptionValue(conf.options, prefix);
    if (v === undefined || !/^\d/.test(v)) return undefined;
    return Math.min(cap, leadingInt(v, false));
  };
  c.ndots = num('ndots:', 15) ?? c.ndots;
  // attempts:0 makes res_msend.c divide by zero (timeout / attempts: SIGFPE); taken as 1 here.
  c.attempts = Math.max(1, num('attempts:', 10) ?? c.attempts);
  c.timeoutS = num('timeout:', 60) ?? c.timeoutS;
  const searchLine = `search ${conf.searches.join(' ')}\n`;
  if (searchLine.length > 255) c.searches = [];
  if (c.nameservers.length === 0) c.nameservers = ['127.0.0.1'];
  return c;
}

/**
 * Go src/net/dnsconfig_unix.go `dnsReadConfig`: ndots clamped to 0..15, timeout and attempts floored
 * at 1 (no cap); `single-request` and `single-request-reopen` both set singleRequest; `use-vc`,
 * `usevc` and `tcp` set useTCP; rotate, trust-ad; edns0 is the default. No nameserver: defaultNS
 * (127.0.0.1 and ::1).
 */
function goConfig(conf: ResolvConf): ResolverConfig {
  const c = base('go', conf);
  for (const o of conf.options) {
    if (o.startsWith('ndots:')) c.ndots = Math.max(0, Math.min(15, leadingInt(o.slice(6), true)));
    else if (o.startsWith('timeout:')) c.timeoutS = Math.max(1, leadingInt(o.slice(8), true));
    else if (o.startsWith('attempts:')) c.attempts = Math.max(1, leadingInt(o.slice(9), true));
    else if (o === 'rotate') c.rotate = true;
    else if (o === 'single-request' || o === 'single-request-reopen') c.singleRequest = true;
    else if (o === 'use-vc' || o === 'usevc' || o === 'tcp') c.useVc = true;
    else if (o === 'trust-ad') c.trustAd = true;
  }
  c.edns0 = true;
  if (c.nameservers.length === 0) c.nameservers = ['127.0.0.1', '::1'];
  return c;
}

export function resolverConfig(library: ResolverLibrary, conf: ResolvConf): ResolverConfig {
  switch (library) {
    case 'glibc':
      return glibcConfig(conf);
    case 'musl':
      return muslConfig(conf);
    case 'go':
      return goConfig(conf);
  }
}
