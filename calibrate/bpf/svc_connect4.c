// SPDX-License-Identifier: GPL-2.0
/*
 * svcsim calibration: socket-level service load balancing, as Cilium's cgroup/connect4 program does
 * it (cilium/cilium bpf/bpf_sock.c __sock4_xlate_fwd with bpf/lib/lb.h): the service map is looked up
 * by ClusterIP and port with slot 0 (the service's master entry, which holds its backend count), then
 * by the chosen slot (1..count, which holds a backend id), then the backend map by that id; the
 * socket's destination is rewritten to the backend's address before the kernel routes the SYN.
 * Written for this project; the maps' layouts follow lb4_key, lb4_service and lb4_backend in size.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct svc_key {
	__u32 address; /* ClusterIP, network order */
	__u16 dport;   /* network order */
	__u16 slot;    /* 0: the master entry; 1..count: a backend slot */
};

struct svc_value {
	__u32 backend_id; /* slot entries */
	__u16 count;      /* master entry: backends */
	__u16 rev_nat;
};

struct backend_value {
	__u32 address;
	__u16 port;
	__u16 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct svc_key);
	__type(value, struct svc_value);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} svcsim_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct backend_value);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} svcsim_backends SEC(".maps");

SEC("cgroup/connect4")
int svcsim_connect4(struct bpf_sock_addr *ctx)
{
	struct svc_key key = { .address = ctx->user_ip4, .dport = (__u16)ctx->user_port, .slot = 0 };
	struct svc_value *svc, *slot;
	struct backend_value *backend;

	svc = bpf_map_lookup_elem(&svcsim_services, &key);
	if (!svc || svc->count == 0)
		return 1;
	key.slot = (bpf_get_prandom_u32() % svc->count) + 1;
	slot = bpf_map_lookup_elem(&svcsim_services, &key);
	if (!slot)
		return 1;
	backend = bpf_map_lookup_elem(&svcsim_backends, &slot->backend_id);
	if (!backend)
		return 1;
	ctx->user_ip4 = backend->address;
	ctx->user_port = backend->port;
	return 1;
}

char _license[] SEC("license") = "GPL";
