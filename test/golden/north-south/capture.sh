#!/usr/bin/env bash
# Captures what the real kernel does with node-a's and node-b's rules (rendered by svcsim from
# cluster.yaml) for north-south packets: to NodeIP:nodePort, to the load-balancer IP, to an
# externalIP, from an outside client, from a pod on the node and from the node itself.
# See README.md. Usage (root; ip netns, iptables-legacy, iptables-nft, nft, xtables-monitor,
# conntrack, nfacct, python3):
#
#   capture.sh NODE BACKEND      NODE: a | b     BACKEND: legacy | nft | nftables
#
#   client ns (198.18.0.9, 203.0.113.5) --eth0-- node ns (NodeIP on eth0, the rules) --pods0-- pods ns
#                                                                          (the node's pod 10.244.x.7
#                                                                           and every endpoint IP)
# legacy loads node-NODE.iptables-save with iptables-legacy-restore and reads the raw table's TRACE
# lines from the kernel log (nf_log_all_netns is switched on for the capture and restored after);
# nft loads the same dump with iptables-nft-restore and reads `xtables-monitor --trace`; nftables
# loads node-NODE.nft with `nft -f` and reads `nft monitor trace`. Each packet has its own source
# port (41001-41016), which selects its trace lines. Writes kernel/NODE-BACKEND.{trace,conntrack,client}.txt.
# Everything is created under the nsT-<pid>- prefix and removed on exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
node=$1 backend=$2
case $node in a) nip=192.168.0.10 gw=10.244.0.1 pod=10.244.0.7 ;; b) nip=192.168.0.11 gw=10.244.1.1 pod=10.244.1.7 ;; *) echo "NODE: a or b" >&2; exit 2 ;; esac
case $backend in legacy|nft|nftables) ;; *) echo "BACKEND: legacy, nft or nftables" >&2; exit 2 ;; esac
out=$here/kernel/$node-$backend
mkdir -p "$here/kernel"
N=nsT-$$-node C=nsT-$$-client P=nsT-$$-pods
old_log=$(cat /proc/sys/net/netfilter/nf_log_all_netns)
# The kernel log's clock when the capture starts: its lines after that are this capture's.
log_since=$(dmesg | tail -1 | sed -E 's/^\[ *([0-9.]+)\].*/\1/')
mon=
cleanup() {
  [ -n "$mon" ] && kill "$mon" 2>/dev/null || true
  echo "$old_log" > /proc/sys/net/netfilter/nf_log_all_netns
  for ns in $N $C $P; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT
for ns in $N $C $P; do ip netns add "$ns"; done
ip -n $N link add eth0 type veth peer name eth0 netns $C
ip -n $N link add pods0 type veth peer name eth0 netns $P
for ns in $N $C $P; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
ip -n $N link set pods0 up
ip -n $N addr add $nip/32 dev eth0
ip -n $N addr add $gw/32 dev pods0
ip -n $C addr add 198.18.0.9/32 dev eth0
ip -n $C addr add 203.0.113.5/32 dev eth0
ip -n $C route add default dev eth0
for a in $pod 10.244.0.22 10.244.0.23 10.244.0.25 10.244.1.21 10.244.1.24; do
  ip -n $P addr add $a/32 dev eth0 2>/dev/null || true
  ip -n $N route add $a/32 dev pods0 2>/dev/null || true
done
ip -n $P route add default dev eth0
ip -n $N route add 198.18.0.9/32 dev eth0
ip -n $N route add 203.0.113.5/32 dev eth0
# The load-balancer IP and the externalIP are not the node's: they are routed like any other
# address until PREROUTING DNATs them (the default route to the pods veth stands for the network).
ip -n $N route add default dev pods0
ip netns exec $N sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
for ns in $N $C $P; do ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0; done
for ns in $C $P; do ip netns exec "$ns" sysctl -qw net.ipv4.conf.eth0.proxy_arp=1 net.ipv4.neigh.eth0.proxy_delay=0; done
ip netns exec $N sysctl -qw net.ipv4.conf.eth0.proxy_arp=1 net.ipv4.conf.pods0.proxy_arp=1 \
  net.ipv4.neigh.eth0.proxy_delay=0 net.ipv4.neigh.pods0.proxy_delay=0
# No listeners: the pods namespace swallows the endpoints' RSTs so the conntrack entries stay listed.
ip netns exec $P iptables-legacy -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
# kube-proxy creates the nfacct counters its rules name before it loads them.
for a in ct_state_invalid_dropped_pkts localhost_nps_accepted_pkts; do ip netns exec $N nfacct add $a; done
case $backend in
  legacy)
    # kube-proxy's iptables mode sets route_localnet for its localhost NodePorts (pkg/proxy/iptables/proxier.go).
    ip netns exec $N sysctl -qw net.ipv4.conf.all.route_localnet=1
    ip netns exec $N iptables-legacy-restore < "$here/node-$node.iptables-save"
    for h in PREROUTING OUTPUT; do ip netns exec $N iptables-legacy -t raw -A $h -p tcp -m tcp --sport 41001:41099 -j TRACE; done
    echo 1 > /proc/sys/net/netfilter/nf_log_all_netns
    ip netns exec $N sysctl -qw net.netfilter.nf_log.2=nf_log_ipv4 ;;
  nft)
    ip netns exec $N sysctl -qw net.ipv4.conf.all.route_localnet=1
    ip netns exec $N iptables-nft-restore < "$here/node-$node.iptables-save"
    for h in PREROUTING OUTPUT; do ip netns exec $N iptables-nft -t raw -A $h -p tcp -m tcp --sport 41001:41099 -j TRACE; done
    ip netns exec $N xtables-monitor --trace > "$out.monitor" 2>&1 & mon=$! ;;
  nftables)
    # nft 1.0.6 accepts the named priorities dstnat/srcnat only at the hooks nat chains had before
    # (dstnat: prerouting): the priorities are written out as numbers for it (dstnat -100, srcnat 100).
    sed -E 's/priority dstnat - 10;/priority -110;/; s/priority dstnat;/priority -100;/; s/priority srcnat;/priority 100;/' \
      "$here/node-$node.nft" | ip netns exec $N nft -f -
    ip netns exec $N nft -f - <<'NFT'
table ip svcsim-trace {
  chain pre { type filter hook prerouting priority raw; tcp sport 41001-41099 meta nftrace set 1; }
  chain out { type filter hook output priority raw; tcp sport 41001-41099 meta nftrace set 1; }
}
NFT
    ip netns exec $N nft monitor trace > "$out.monitor" 2>&1 & mon=$! ;;
esac
sleep 0.5
uname -r > "$here/kernel/uname.txt"
{ iptables-legacy --version; iptables-nft --version; nft --version; conntrack --version; } > "$here/kernel/versions.txt" 2>&1

# One connection attempt: the errno of a non-blocking connect after 0.2 s (0 connected, 111 refused, 11 no answer).
connect='
import socket, sys
src, sport, dst, dport = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.socket(); s.bind((src, sport)); s.settimeout(0.2)
try: r = s.connect_ex((dst, dport))
except OSError as e: r = e.errno
print(f"tcp {src}:{sport} > {dst}:{dport} {r}")
'
try() { ip netns exec "$1" python3 -c "$connect" "$2" "$3" "$4" "$5"; }
{
  try $C 198.18.0.9 41001 $nip 30100      # np-cluster (eTP Cluster) NodePort
  try $C 198.18.0.9 41002 $nip 30200      # np-local (eTP Local) NodePort
  try $C 203.0.113.5 41003 198.51.100.7 80 # lb: from inside loadBalancerSourceRanges
  try $C 198.18.0.9 41004 198.51.100.7 80  # lb: from outside the ranges
  try $C 198.18.0.9 41005 $nip 30300      # lb's NodePort: the ranges do not apply
  try $C 198.18.0.9 41006 192.0.2.50 80   # ext's externalIP
  try $P $pod 41007 $nip 30200            # a pod on the node to np-local's NodePort
  try $P $pod 41008 $nip 30100            # a pod on the node to np-cluster's NodePort
  try $N $nip 41009 $nip 30100            # the node itself to np-cluster's NodePort
  try $N $nip 41010 $nip 30200            # the node itself to np-local's NodePort
  try $N $nip 41011 198.51.100.7 80       # the node itself to the load-balancer IP
  try $C 198.18.0.9 41012 $nip 32000      # lb-local's healthCheckNodePort (nothing listens)
  try $C 198.18.0.9 41013 $nip 30400      # np-none: no endpoints at all
  try $N 127.0.0.1 41014 127.0.0.1 30100  # the node itself to localhost:nodePort
  try $N $nip 41015 $nip 32000            # the node itself to its healthCheckNodePort (through lo)
  try $C 198.18.0.9 41016 198.51.100.8 80 # lb-local (eTP Local; endpoint on node-a only)
} > "$out.client.txt"
sleep 0.5
ip netns exec $N conntrack -L 2>/dev/null | grep -E 'sport=410[0-9][0-9] ' | sed -E 's/^(\S+ +\S+ +)[0-9]+ /\1/' | sort > "$out.conntrack.txt" || true
case $backend in
  legacy) dmesg | awk -v t="$log_since" '{ s = $0; sub(/^\[ */, "", s); sub(/\].*/, "", s); if (s + 0 > t + 0) print }' | grep 'TRACE: ' | grep -E 'SPT=410[0-9][0-9] ' | sed -E 's/^\[[ 0-9.]+\] //; s/ MAC=\S+//; s/ ID=[0-9]+//' > "$out.trace.txt" || true ;;
  *) sleep 0.5; kill "$mon"; mon=; wait 2>/dev/null || true; mv "$out.monitor" "$out.trace.txt" ;;
esac
