/**
 * A Rule rendered the way iptables-save prints it.
 *
 * Rendering follows iptables-save's normal form (iptables/iptables.c print_rule4 and each
 * extension's save function in extensions/libxt_*.c): -s, -d, -i, -o, -p first (addresses always
 * with a prefix length), then each match as `-m NAME options` in rule order (an implicitly loaded
 * protocol match, `-p tcp --dport 80`, is printed as `-m tcp --dport 80`), then -j/-g and the target
 * options (MARK as --set-xmark VALUE/MASK, REJECT with its --reject-with, statistic probabilities
 * in the kernel's fixed point printed with 11 decimals). So rendering the restore text kube-proxy
 * writes gives what iptables-save would print after loading it.
 */
import { formatIPv4 } from '../net/ipv4.ts';
import { fixedToProbabilityText } from './rule-args.ts';
import { CT_STATE_NAMES, type Match, type PortRange, type Rule, type Target } from './rule.ts';
import { saveString } from './rule-tokens.ts';

function cidrText(c: { addr: number; prefix: number }): string {
  return `${formatIPv4(c.addr)}/${c.prefix}`;
}
function rangeText(r: PortRange): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}:${r.hi}`;
}
function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}
function tcpFlagsText(v: number): string {
  if (v === 0) return 'NONE';
  if (v === 63) return 'FIN,SYN,RST,PSH,ACK,URG';
  return ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG'].filter((_, i) => v & (1 << i)).join(',');
}
const NOT = (b: boolean) => (b ? '! ' : '');

export function renderMatch(m: Match): string {
  switch (m.kind) {
    case 'comment':
      return `-m comment --comment ${saveString(m.comment)}`;
    case 'port': {
      let s = `-m ${m.module}`;
      if (m.sport) s += ` ${NOT(m.sportNeg)}--sport ${rangeText(m.sport)}`;
      if (m.dport) s += ` ${NOT(m.dportNeg)}--dport ${rangeText(m.dport)}`;
      if (m.tcpFlags) s += ` ${NOT(m.tcpFlags.neg)}--tcp-flags ${tcpFlagsText(m.tcpFlags.mask)} ${tcpFlagsText(m.tcpFlags.comp)}`;
      return s;
    }
    case 'multiport':
      return `-m multiport ${NOT(m.neg)}--${m.dir} ${m.ports.map(rangeText).join(',')}`;
    case 'addrtype': {
      let s = '-m addrtype';
      if (m.srcType) s += ` ${NOT(m.srcNeg)}--src-type ${m.srcType}`;
      if (m.dstType) s += ` ${NOT(m.dstNeg)}--dst-type ${m.dstType}`;
      return s;
    }
    case 'mark':
      return `-m mark ${NOT(m.neg)}--mark ${hex(m.value)}${m.mask === 0xffffffff ? '' : '/' + hex(m.mask)}`;
    case 'ctstate': {
      const names = CT_STATE_NAMES.filter(([, b]) => m.states & b).map(([n]) => n).join(',');
      return m.module === 'state' ? `-m state ${NOT(m.neg)}--state ${names}` : `-m conntrack ${NOT(m.neg)}--ctstate ${names}`;
    }
    case 'statistic':
      return `-m statistic --mode random ${NOT(m.neg)}--probability ${fixedToProbabilityText(m.probability)}`;
    case 'nth':
      // libxt_statistic.c print_match with the "--" prefix: --packet is always printed.
      return `-m statistic --mode nth ${NOT(m.neg)}--every ${m.every} --packet ${m.packet}`;
    case 'recent': {
      let s = `-m recent ${NOT(m.neg)}--${m.command}`;
      if (m.seconds) s += ` --seconds ${m.seconds}`;
      if (m.reap) s += ' --reap';
      if (m.hitcount) s += ` --hitcount ${m.hitcount}`;
      if (m.rttl) s += ' --rttl';
      return s + ` --name ${m.name} --mask ${formatIPv4(m.mask)} --${m.side}`;
    }
    case 'set':
      return `-m set ${NOT(m.neg)}--match-set ${m.setName} ${m.flags.join(',')}`;
    case 'nfacct':
      return `-m nfacct --nfacct-name ${m.name}`;
    case 'unknown':
      return [`-m ${m.module}`, ...m.tokens.map(requote)].join(' ');
  }
}

/** Verbatim words are re-quoted only where the shell-like tokenizer would otherwise split them. */
function requote(w: string): string {
  return w === '' || /[\s"\\']/.test(w) ? saveString(w) : w;
}

function natRangeText(t: { mapIps: boolean; ip: number; ipHi: number; port: number; portHi: number }): string {
  let s = t.mapIps ? formatIPv4(t.ip) : '';
  if (t.mapIps && t.ipHi !== t.ip) s += '-' + formatIPv4(t.ipHi);
  if (t.port !== 0) s += ':' + t.port + (t.portHi !== t.port ? '-' + t.portHi : '');
  return s;
}

export function renderTarget(t: Target): string {
  switch (t.kind) {
    case 'none':
      return '';
    case 'accept':
      return '-j ACCEPT';
    case 'drop':
      return '-j DROP';
    case 'return':
      return '-j RETURN';
    case 'reject':
      return `-j REJECT --reject-with ${t.rejectWith ?? 'icmp-port-unreachable'}`;
    case 'jump':
      return `-j ${t.chain}`;
    case 'goto':
      return `-g ${t.chain}`;
    case 'dnat':
      return `-j DNAT --to-destination ${natRangeText(t)}${t.random ? ' --random' : ''}${t.persistent ? ' --persistent' : ''}`;
    case 'snat':
      return `-j SNAT --to-source ${natRangeText(t)}${t.random ? ' --random' : ''}${t.randomFully ? ' --random-fully' : ''}${t.persistent ? ' --persistent' : ''}`;
    case 'masquerade': {
      let s = '-j MASQUERADE';
      if (t.port !== 0) s += ` --to-ports ${t.port}${t.portHi !== t.port ? '-' + t.portHi : ''}`;
      if (t.random) s += ' --random';
      if (t.randomFully) s += ' --random-fully';
      return s;
    }
    case 'mark':
      return `-j MARK --set-xmark ${hex(t.value)}/${hex(t.mask)}`;
    case 'log':
      return [`-j ${t.name}`, ...t.tokens.map(requote)].join(' ');
    case 'unknown':
      return [`-j ${t.name}`, ...t.tokens.map(requote)].join(' ');
  }
}

/** The rule's arguments in iptables-save's normal form (everything after `-A CHAIN`). */
export function renderRuleSpec(r: Rule): string {
  const parts: string[] = [];
  if (r.src) parts.push(`${NOT(r.srcNeg)}-s ${cidrText(r.src)}`);
  if (r.dst) parts.push(`${NOT(r.dstNeg)}-d ${cidrText(r.dst)}`);
  if (r.inIface !== null) parts.push(`${NOT(r.inNeg)}-i ${r.inIface}`);
  if (r.outIface !== null) parts.push(`${NOT(r.outNeg)}-o ${r.outIface}`);
  if (r.protoName !== null) parts.push(`${NOT(r.protoNeg)}-p ${r.protoName}`);
  for (const m of r.matches) parts.push(renderMatch(m));
  const t = renderTarget(r.target);
  if (t) parts.push(t);
  return parts.join(' ');
}

export function renderRule(chain: string, r: Rule): string {
  const spec = renderRuleSpec(r);
  return spec ? `-A ${chain} ${spec}` : `-A ${chain}`;
}
