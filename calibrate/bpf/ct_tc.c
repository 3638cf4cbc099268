// SPDX-License-Identifier: GPL-2.0
/*
 * svcsim calibration: per-packet connection tracking in a BPF hash map, as Cilium's tc programs do
 * for every packet of a pod (cilium/cilium bpf/bpf_lxc.c: cil_from_container ->
 * handle_ipv4_from_lxc calls ct_lookup4 of bpf/lib/conntrack.h, and ct_create4 when the lookup
 * misses). A hit refreshes the entry's lifetime and counts the packet (conntrack.h
 * __ct_update_timeout and the entry's packets/bytes); a miss inserts a new entry. Cilium's CT map
 * is an LRU hash. Written for this project; the entry follows struct ipv4_ct_tuple and ct_entry
 * in size.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct ct_tuple {
	__u32 daddr;
	__u32 saddr;
	__u16 dport;
	__u16 sport;
	__u8 nexthdr;
	__u8 flags;
	__u16 pad;
};

struct ct_entry {
	__u64 reserved0;
	__u64 backend_id;
	__u64 packets;
	__u64 bytes;
	__u32 lifetime;
	__u16 rx_closing_flags;
	__u16 tx_closing_flags;
	__u32 last_tx_report;
	__u32 last_rx_report;
	__u16 rev_nat_index;
	__u16 ifindex;
	__u32 src_sec_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct ct_tuple);
	__type(value, struct ct_entry);
	__uint(max_entries, 262144);
} svcsim_ct_map SEC(".maps");

/* Cilium's CT_CONNECTION_LIFETIME_NONTCP default (bpf/lib/conntrack.h callers), seconds. */
#define LIFETIME_NONTCP 60

SEC("tc")
int svcsim_ct(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct ct_tuple t = {};
	struct ct_entry *e;
	__u16 *ports;
	__u32 now;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	ports = (void *)ip + ip->ihl * 4;
	if ((void *)(ports + 2) > end)
		return TC_ACT_OK;
	t.daddr = ip->daddr;
	t.saddr = ip->saddr;
	t.sport = ports[0];
	t.dport = ports[1];
	t.nexthdr = ip->protocol;
	now = (__u32)(bpf_ktime_get_ns() / 1000000000ULL);
	e = bpf_map_lookup_elem(&svcsim_ct_map, &t);
	if (e) {
		e->lifetime = now + LIFETIME_NONTCP;
		__sync_fetch_and_add(&e->packets, 1);
		__sync_fetch_and_add(&e->bytes, skb->len);
		return TC_ACT_OK;
	}
	struct ct_entry fresh = { .packets = 1, .bytes = skb->len, .lifetime = now + LIFETIME_NONTCP };
	bpf_map_update_elem(&svcsim_ct_map, &t, &fresh, BPF_NOEXIST);
	return TC_ACT_OK;
}

char _license[] SEC("license") = "GPL";
