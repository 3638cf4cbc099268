/**
 * What conntrack tells the rest of the packet path: the entry status bits and the ctinfo of a tracked
 * packet (include/uapi/linux/netfilter/nf_conntrack_common.h), the record nf_conntrack_in fills for
 * one packet, and the reasons conntrack gives when it drops one.
 */

// ct->status bits (enum ip_conntrack_status).
export const IPS_EXPECTED = 1 << 0;
export const IPS_SEEN_REPLY = 1 << 1;
export const IPS_ASSURED = 1 << 2;
export const IPS_CONFIRMED = 1 << 3;
export const IPS_SRC_NAT = 1 << 4;
export const IPS_DST_NAT = 1 << 5;
export const IPS_SRC_NAT_DONE = 1 << 7;
export const IPS_DST_NAT_DONE = 1 << 8;
export const IPS_DYING = 1 << 9;
export const IPS_FIXED_TIMEOUT = 1 << 10;
/** A clash entry (nf_ct_resolve_clash_harder); the kernel gives it the bit of IPS_UNTRACKED (12). */
export const IPS_NAT_CLASH = 1 << 12;

export const IP_CT_DIR_ORIGINAL = 0;
export const IP_CT_DIR_REPLY = 1;

// enum ip_conntrack_info, plus CT_INVALID for "no conntrack attached" (what --ctstate INVALID matches).
export const IP_CT_ESTABLISHED = 0;
export const IP_CT_RELATED = 1;
export const IP_CT_NEW = 2;
export const IP_CT_ESTABLISHED_REPLY = 3;
export const IP_CT_UNTRACKED = 7;
export const CT_INVALID = -1;

export const DROP_TABLE_FULL = 'conntrack table full';
export const DROP_INSERT_FAILED = 'conntrack insert failed';
export const DROP_NAT_NO_PORT = 'nat: no free source port';

/** What nf_conntrack_in decided for one packet; a caller-owned record reused across packets. */
export class CtLookup {
  /** Entry number, or -1 when the packet has no conntrack (invalid, untracked, or dropped). */
  entry = -1;
  /** IP_CT_DIR_ORIGINAL or IP_CT_DIR_REPLY. */
  dir = 0;
  /** IP_CT_NEW, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, or CT_INVALID. */
  ctinfo = CT_INVALID;
  /** Set when conntrack itself drops the packet (table full). */
  dropReason: string | null = null;
}

/** ctinfo of a tracked packet as the conntrack match's --ctstate names it. */
export function ctstateName(lookup: CtLookup): 'INVALID' | 'NEW' | 'ESTABLISHED' | 'RELATED' | 'UNTRACKED' {
  switch (lookup.ctinfo) {
    case IP_CT_NEW: return 'NEW';
    case IP_CT_ESTABLISHED:
    case IP_CT_ESTABLISHED_REPLY: return 'ESTABLISHED';
    case IP_CT_RELATED: return 'RELATED';
    case IP_CT_UNTRACKED: return 'UNTRACKED';
    default: return 'INVALID';
  }
}
