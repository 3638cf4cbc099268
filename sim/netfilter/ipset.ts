/**
 * IP sets (ipset(8)) as the `set` match sees them: kube-proxy's ipvs mode keeps its ClusterIPs,
 * NodePorts and loopback pairs in sets and matches them with a few iptables rules, so rule count
 * stays flat while set size grows.
 *
 * Types modelled (ipset(8) "SET TYPES"): hash:ip, hash:ip,port, hash:ip,port,ip, hash:ip,port,net
 * (kube-proxy's KUBE-LOAD-BALANCER-SOURCE-CIDR), hash:net, bitmap:port. Elements are stored in integer-keyed maps so a lookup allocates nothing. The text
 * format is `ipset save` / `ipset restore`: `create NAME TYPE [options]` and `add NAME ELEMENT
 * [options]`; options are kept verbatim so save(restore(x)) keeps them.
 */
import { InputError } from '../io/input-error.ts';
import { formatIPv4, tryParseCidr, tryParseIPv4 } from '../net/ipv4.ts';
import { PROTOCOL_NUMBER, protocolFromNumber, type Protocol } from '../net/protocol.ts';
import type { Packet } from '../net/packet.ts';

export const IPSET_TYPES = ['hash:ip', 'hash:ip,port', 'hash:ip,port,ip', 'hash:ip,port,net', 'hash:net', 'bitmap:port'] as const;
export type IpsetType = (typeof IPSET_TYPES)[number];

/** Dimensions of each type: how many of the --match-set flags (src/dst) it consumes. */
const DIMENSIONS: Record<IpsetType, number> = {
  'hash:ip': 1,
  'hash:ip,port': 2,
  'hash:ip,port,ip': 3,
  'hash:ip,port,net': 3,
  'hash:net': 1,
  'bitmap:port': 1,
};

export class Ipset {
  /** hash:ip: address set. hash:ip,port: ip -> protoPort set. hash:ip,port,ip: ip -> protoPort -> ip set. */
  private readonly ips = new Set<number>();
  private readonly ipPorts = new Map<number, Set<number>>();
  private readonly ipPortIps = new Map<number, Map<number, Set<number>>>();
  /** hash:ip,port,net: ip -> protoPort -> the networks, as [address, prefix] (few per entry). */
  private readonly ipPortNets = new Map<number, Map<number, [number, number][]>>();
  /** hash:net: prefix length -> network addresses; prefixes tried from longest, as the kernel does. */
  private readonly nets = new Map<number, Set<number>>();
  private netPrefixes: number[] = [];
  private readonly ports = new Set<number>();
  /** Elements in insertion order with their verbatim options, for `ipset save`. */
  private readonly saved = new Map<string, string>();

  constructor(
    readonly name: string,
    readonly type: IpsetType,
    /** The create options as written (e.g. "family inet hashsize 1024 maxelem 65536"). */
    readonly options: string,
  ) {}

  get size(): number {
    return this.saved.size;
  }

  get dimensions(): number {
    return DIMENSIONS[this.type];
  }

  /** Adds an element in ipset's text form (e.g. "10.96.0.1,tcp:443"); `where` names it for errors. */
  add(element: string, options = '', where = `ipset ${this.name}`): void {
    const key = this.parseAndInsert(element, where);
    this.saved.set(key, options);
  }

  delete(element: string, where = `ipset ${this.name}`): void {
    // Rebuild is simplest and deletions are rare (control-plane speed, not packet speed).
    const key = this.canonical(element, where);
    if (!this.saved.delete(key)) return;
    const rest = [...this.saved];
    this.clear();
    for (const [k, o] of rest) this.add(k, o, where);
  }

  clear(): void {
    this.ips.clear();
    this.ipPorts.clear();
    this.ipPortIps.clear();
    this.ipPortNets.clear();
    this.nets.clear();
    this.netPrefixes = [];
    this.ports.clear();
    this.saved.clear();
  }

  private canonical(element: string, where: string): string {
    const probe = new Ipset(this.name, this.type, '');
    return probe.parseAndInsert(element, where);
  }

  private parseAndInsert(element: string, where: string): string {
    const parts = element.split(',');
    const bad = (expected: string) => new InputError(where, expected, JSON.stringify(element));
    switch (this.type) {
      case 'hash:ip': {
        const ip = parts.length === 1 ? tryParseIPv4(parts[0]!) : undefined;
        if (ip === undefined) throw bad('an address (hash:ip element)');
        this.ips.add(ip);
        return formatIPv4(ip);
      }
      case 'hash:net': {
        const c = parts.length === 1 ? tryParseCidr(parts[0]!) : undefined;
        if (c === undefined) throw bad('a network like 10.0.0.0/8 (hash:net element)');
        let s = this.nets.get(c.prefix);
        if (!s) {
          s = new Set();
          this.nets.set(c.prefix, s);
          this.netPrefixes = [...this.nets.keys()].sort((a, b) => b - a);
        }
        s.add(c.addr);
        return c.prefix === 32 ? formatIPv4(c.addr) : `${formatIPv4(c.addr)}/${c.prefix}`;
      }
      case 'bitmap:port': {
        const p = parts.length === 1 ? parsePort(parts[0]!) : undefined;
        if (p === undefined) throw bad('a port 0-65535 (bitmap:port element)');
        this.ports.add(p);
        return String(p);
      }
      case 'hash:ip,port,net': {
        const ip = parts.length === 3 ? tryParseIPv4(parts[0]!) : undefined;
        const pp = parts.length === 3 ? parseProtoPort(parts[1]!) : undefined;
        const net = parts.length === 3 ? tryParseCidr(parts[2]!) : undefined;
        if (ip === undefined || pp === undefined || net === undefined) throw bad('ip,proto:port,net like 1.2.3.4,tcp:80,203.0.113.0/24');
        let m = this.ipPortNets.get(ip);
        if (!m) this.ipPortNets.set(ip, (m = new Map()));
        let l = m.get(pp);
        if (!l) m.set(pp, (l = []));
        if (!l.some(([a, n]) => a === net.addr && n === net.prefix)) l.push([net.addr, net.prefix]);
        const netText = net.prefix === 32 ? formatIPv4(net.addr) : `${formatIPv4(net.addr)}/${net.prefix}`;
        return `${formatIPv4(ip)},${protocolFromNumber(pp >>> 16)}:${pp & 0xffff},${netText}`;
      }
      case 'hash:ip,port':
      case 'hash:ip,port,ip': {
        const want = this.type === 'hash:ip,port' ? 2 : 3;
        const ip = parts.length === want ? tryParseIPv4(parts[0]!) : undefined;
        const pp = parts.length === want ? parseProtoPort(parts[1]!) : undefined;
        const ip2 = want === 3 && parts.length === 3 ? tryParseIPv4(parts[2]!) : 0;
        if (ip === undefined || pp === undefined || ip2 === undefined) {
          throw bad(want === 2 ? 'ip,proto:port like 10.96.0.1,tcp:443' : 'ip,proto:port,ip like 10.244.1.5,tcp:80,10.244.1.5');
        }
        const ppText = `${protocolFromNumber(pp >>> 16)}:${pp & 0xffff}`;
        if (want === 2) {
          let s = this.ipPorts.get(ip);
          if (!s) this.ipPorts.set(ip, (s = new Set()));
          s.add(pp);
          return `${formatIPv4(ip)},${ppText}`;
        }
        let m = this.ipPortIps.get(ip);
        if (!m) this.ipPortIps.set(ip, (m = new Map()));
        let s = m.get(pp);
        if (!s) m.set(pp, (s = new Set()));
        s.add(ip2);
        return `${formatIPv4(ip)},${ppText},${formatIPv4(ip2)}`;
      }
    }
  }

  /**
   * The set match's test (ipset's kadt functions): `flags` are the --match-set directions, one per
   * dimension, taken from the packet's source or destination.
   */
  test(p: Packet, flags: readonly ('src' | 'dst')[]): boolean {
    const f0 = flags[0] === 'src';
    switch (this.type) {
      case 'hash:ip':
        return this.ips.has(f0 ? p.src : p.dst);
      case 'hash:net': {
        const a = f0 ? p.src : p.dst;
        for (const prefix of this.netPrefixes) {
          const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
          if (this.nets.get(prefix)!.has((a & mask) >>> 0)) return true;
        }
        return false;
      }
      case 'bitmap:port':
        if (p.proto === 'icmp') return false;
        return this.ports.has(f0 ? p.sport : p.dport);
      case 'hash:ip,port': {
        if (p.proto === 'icmp') return false;
        const s = this.ipPorts.get(f0 ? p.src : p.dst);
        if (!s) return false;
        const port = (flags[1] ?? flags[0]) === 'src' ? p.sport : p.dport;
        return s.has(PROTOCOL_NUMBER[p.proto] * 65536 + port);
      }
      case 'hash:ip,port,ip': {
        if (p.proto === 'icmp') return false;
        const m = this.ipPortIps.get(f0 ? p.src : p.dst);
        if (!m) return false;
        const port = (flags[1] ?? flags[0]) === 'src' ? p.sport : p.dport;
        const s = m.get(PROTOCOL_NUMBER[p.proto] * 65536 + port);
        if (!s) return false;
        return s.has((flags[2] ?? flags[0]) === 'src' ? p.src : p.dst);
      }
      case 'hash:ip,port,net': {
        if (p.proto === 'icmp') return false;
        const m = this.ipPortNets.get(f0 ? p.src : p.dst);
        if (!m) return false;
        const port = (flags[1] ?? flags[0]) === 'src' ? p.sport : p.dport;
        const l = m.get(PROTOCOL_NUMBER[p.proto] * 65536 + port);
        if (!l) return false;
        const a = (flags[2] ?? flags[0]) === 'src' ? p.src : p.dst;
        return l.some(([net, prefix]) => ((a & (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0)) >>> 0) === net);
      }
    }
  }

  /** `ipset save` lines for this set. */
  save(): string[] {
    const out = [`create ${this.name} ${this.type}${this.options ? ' ' + this.options : ''}`];
    for (const [k, o] of this.saved) out.push(`add ${this.name} ${k}${o ? ' ' + o : ''}`);
    return out;
  }
}

function parsePort(t: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(t)) return undefined;
  const n = Number(t);
  return n <= 65535 ? n : undefined;
}

/** "tcp:443", "udp:53", "sctp:9", or a bare port (ipset defaults the protocol to tcp). */
function parseProtoPort(t: string): number | undefined {
  const colon = t.indexOf(':');
  const protoText = colon < 0 ? 'tcp' : t.slice(0, colon).toLowerCase();
  const port = parsePort(colon < 0 ? t : t.slice(colon + 1));
  if (port === undefined || !(protoText in PROTOCOL_NUMBER) || protoText === 'icmp') return undefined;
  return PROTOCOL_NUMBER[protoText as Protocol] * 65536 + port;
}

/** The ipsets of one network namespace. */
export class IpsetRegistry {
  readonly sets = new Map<string, Ipset>();

  get(name: string): Ipset | undefined {
    return this.sets.get(name);
  }

  /**
   * Applies `ipset restore` text (create/add/del/flush/destroy lines, '#' comments). Everything is
   * checked before anything changes: on an error the registry is left as it was.
   */
  restore(text: string, file = 'ipset'): void {
    const staged = new Map<string, Ipset>();
    for (const [k, v] of this.sets) staged.set(k, v);
    const fresh = new Set<Ipset>();
    const copyOnWrite = (name: string): Ipset | undefined => {
      const s = staged.get(name);
      if (!s || fresh.has(s)) return s;
      const c = new Ipset(s.name, s.type, s.options);
      for (const line of s.save().slice(1)) {
        const rest = line.slice(`add ${s.name} `.length);
        const sp = rest.indexOf(' ');
        c.add(sp < 0 ? rest : rest.slice(0, sp), sp < 0 ? '' : rest.slice(sp + 1));
      }
      fresh.add(c);
      staged.set(name, c);
      return c;
    };
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#') || line === 'COMMIT') continue;
      const where = `${file}:${i + 1}`;
      const words = line.split(/\s+/);
      const cmd = words[0]!.replace(/^-/, '');
      const name = words[1];
      if (name === undefined) throw new InputError(where, 'a set name after ' + words[0], 'end of line');
      if (cmd === 'create' || cmd === 'n' || cmd === 'N') {
        const type = words[2];
        if (!type || !(IPSET_TYPES as readonly string[]).includes(type)) {
          throw new InputError(`${where}:${line.indexOf(type ?? '') + 1}`, `a set type (${IPSET_TYPES.join(', ')})`, JSON.stringify(type ?? ''));
        }
        const s = new Ipset(name, type as IpsetType, words.slice(3).join(' '));
        fresh.add(s);
        staged.set(name, s);
      } else if (cmd === 'add' || cmd === 'A' || cmd === 'del' || cmd === 'D') {
        const s = copyOnWrite(name);
        if (!s) throw new InputError(where, `a set created before use`, JSON.stringify(name));
        const elem = words[2];
        if (elem === undefined) throw new InputError(where, 'an element', 'end of line');
        if (cmd === 'add' || cmd === 'A') s.add(elem, restAfterWords(line, 3), where);
        else s.delete(elem, where);
      } else if (cmd === 'flush' || cmd === 'F') {
        copyOnWrite(name)?.clear();
      } else if (cmd === 'destroy' || cmd === 'X') {
        staged.delete(name);
      } else {
        throw new InputError(`${where}:1`, 'create, add, del, flush or destroy', JSON.stringify(words[0]));
      }
    }
    this.sets.clear();
    for (const [k, v] of staged) this.sets.set(k, v);
  }

  /** `ipset save` text of every set, in creation order. */
  save(): string {
    return [...this.sets.values()].flatMap((s) => s.save()).join('\n') + (this.sets.size ? '\n' : '');
  }
}

/** The text after the first n whitespace-separated words (element options such as `comment "x"`). */
function restAfterWords(line: string, n: number): string {
  const re = /\S+/g;
  let m: RegExpExecArray | null = null;
  for (let i = 0; i < n; i++) m = re.exec(line);
  return m ? line.slice(m.index + m[0].length).trim() : '';
}
