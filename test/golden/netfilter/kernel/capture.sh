#!/usr/bin/env bash
# Captures what the real kernel does with kube-proxy-legacy.iptables-save, for the kernel tests in
# sim/cli/trace.test.ts: run as root (needs ip netns, iptables-legacy, conntrack, python3).
#
#   client ns (10.244.2.8, 192.168.9.9) --eth0-- node ns (172.18.0.3, the rules) --pods0-- pods ns
#                                                                                (every endpoint IP)
# The node namespace loads the dump with iptables-legacy-restore, traces packets from the client
# with the raw table's TRACE target (logged to the kernel log; nf_log_all_netns is switched on for
# the capture and restored after), and lists conntrack after the client opened connections.
# Everything is created under the svcsim-nftrace- prefix and removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dump="$here/../kube-proxy-legacy.iptables-save"
# Names carry the pid, so two captures (or another worktree's) never share a namespace.
N=svcsim-nftrace-node-$$ C=svcsim-nftrace-client-$$ P=svcsim-nftrace-pods-$$
old_log=$(cat /proc/sys/net/netfilter/nf_log_all_netns)
log_lines=$(dmesg | wc -l)
cleanup() {
  echo "$old_log" > /proc/sys/net/netfilter/nf_log_all_netns
  for ns in $N $C $P; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
for ns in $N $C $P; do ip netns add "$ns"; done
ip -n $N link add eth0 type veth peer name eth0 netns $C
ip -n $N link add pods0 type veth peer name eth0 netns $P
for ns in $N $C $P; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
ip -n $N link set pods0 up
ip -n $N addr add 172.18.0.3/32 dev eth0
ip -n $N addr add 10.244.0.1/32 dev pods0
ip -n $C addr add 10.244.2.8/32 dev eth0
ip -n $C addr add 192.168.9.9/32 dev eth0
ip -n $C route add default dev eth0
for a in 10.244.1.5 10.244.2.9 10.244.3.14 10.244.1.7 10.244.2.4 172.18.0.2; do
  ip -n $P addr add $a/32 dev eth0
  ip -n $N route add $a/32 dev pods0
done
ip -n $P route add default dev eth0
ip -n $N route add 10.244.2.8/32 dev eth0
ip -n $N route add 192.168.9.9/32 dev eth0
# ClusterIPs are routed like any other address until PREROUTING DNATs them (and proxy ARP needs a route).
ip -n $N route add default dev pods0
ip netns exec $N sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
for ns in $N $C $P; do ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0; done
# The ARP of a /32 on a point-to-point veth: answer for anything, at once (proxy_delay 0).
for ns in $C $P; do ip netns exec "$ns" sysctl -qw net.ipv4.conf.eth0.proxy_arp=1 net.ipv4.neigh.eth0.proxy_delay=0; done
ip netns exec $N sysctl -qw net.ipv4.conf.eth0.proxy_arp=1 net.ipv4.conf.pods0.proxy_arp=1 \
  net.ipv4.neigh.eth0.proxy_delay=0 net.ipv4.neigh.pods0.proxy_delay=0
# No listeners: the endpoints' RSTs would make conntrack drop the SYN_SENT entries at once, so the
# pods namespace swallows them and the entries stay listed (SYN_SENT, UNREPLIED).
ip netns exec $P iptables-legacy -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
ip netns exec $N iptables-legacy-restore < "$dump"
ip netns exec $N iptables-legacy -t raw -A PREROUTING -s 10.244.2.8/32 -p udp -m udp --sport 40053 -j TRACE
echo 1 > /proc/sys/net/netfilter/nf_log_all_netns
ip netns exec $N sysctl -qw net.netfilter.nf_log.2=nf_log_ipv4
ip netns exec $N uname -r > "$here/uname.txt"

ip netns exec $C python3 - > "$here/client.txt" <<'PY'
import socket
def tcp(src, sport, dst, dport):
    s = socket.socket(); s.bind((src, sport)); s.settimeout(0.05)
    try: r = s.connect_ex((dst, dport))
    except OSError as e: r = e.errno
    s.close(); return r
# A DNS query (one endpoint): traced by the TRACE rule.
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('10.244.2.8', 40053)); u.sendto(b'q', ('10.96.0.10', 53)); u.close()
print('kubernetes', tcp('10.244.2.8', 40443, '10.96.0.1', 443))
print('no-endpoints', tcp('10.244.2.8', 40080, '10.96.45.17', 80))
print('external', tcp('192.168.9.9', 50080, '10.96.112.40', 80))
for i in range(300): tcp('10.244.2.8', 41000 + i, '10.96.112.40', 80)
for i in range(5): tcp('10.244.2.8', 42000 + i, '10.96.201.3', 9000)
PY
sleep 0.5
ip netns exec $N conntrack -L 2>/dev/null | sort > "$here/conntrack.txt"
dmesg | tail -n +$((log_lines + 1)) | grep 'TRACE: ' | grep 'SPT=40053' | sed -E 's/^\[[ 0-9.]+\] //' > "$here/trace-dns.log" || true
