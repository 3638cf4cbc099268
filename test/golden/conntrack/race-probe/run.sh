#!/bin/sh
# The conntrack race probe (docs/calibration.md, "The conntrack race"). Needs root, gcc, iptables
# and conntrack. Three namespaces: a client, a node that DNATs 10.96.0.10:53/udp with
# `-m statistic --mode random` to two ports of a server, and the server (which drops the datagrams).
#   race: two threads pinned to CPU 0 and 1 send one datagram each on one socket, the second
#         OFFSET ns (uniform in 0..MAXOFF) after the first; prints "offset delta clashed" per pair.
#   mmsg: one thread sends two datagrams with one sendmmsg (glibc's A and AAAA); prints the pairs
#         that clashed.
# A pair clashed when the node's clashres + insert_failed (/proc/net/stat/nf_conntrack) moved.
# Usage: [MMSG=3000] run.sh PAIRS MAXOFF_NS > out.txt
set -eu
cd "$(dirname "$0")"
PAIRS=${1:-4000}; MAXOFF=${2:-30000}
gcc -O2 -pthread -o /tmp/race-probe race.c
gcc -O2 -o /tmp/mmsg-probe mmsg.c
cleanup() { kill "$SLEEPER" 2>/dev/null || true; for n in c r s; do ip netns del "ctrace-$n" 2>/dev/null || true; done; }
trap cleanup EXIT
for n in c r s; do ip netns add "ctrace-$n"; done
ip link add ct-c0 netns ctrace-c type veth peer name ct-r0 netns ctrace-r
ip link add ct-s0 netns ctrace-s type veth peer name ct-r1 netns ctrace-r
ip -n ctrace-c addr add 10.0.1.1/24 dev ct-c0; ip -n ctrace-c link set ct-c0 up; ip -n ctrace-c link set lo up
ip -n ctrace-r addr add 10.0.1.99/24 dev ct-r0; ip -n ctrace-r link set ct-r0 up
ip -n ctrace-r addr add 10.0.2.99/24 dev ct-r1; ip -n ctrace-r link set ct-r1 up
ip -n ctrace-s addr add 10.0.2.1/24 dev ct-s0; ip -n ctrace-s link set ct-s0 up
ip -n ctrace-c route add default via 10.0.1.99
ip -n ctrace-s route add default via 10.0.2.99
ip netns exec ctrace-r sysctl -q net.ipv4.ip_forward=1
ip netns exec ctrace-r iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p udp --dport 53 -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.2.1:9000
ip netns exec ctrace-r iptables -t nat -A PREROUTING -d 10.96.0.10/32 -p udp --dport 53 -j DNAT --to-destination 10.0.2.1:9001
ip netns exec ctrace-s iptables -A INPUT -p udp -j DROP
ip netns exec ctrace-r sleep 3600 & SLEEPER=$!
sleep 0.5
STAT=/proc/$SLEEPER/net/stat/nf_conntrack
ip netns exec ctrace-c /tmp/race-probe "$STAT" "$PAIRS" "$MAXOFF"
for cpu in 0 1; do ip netns exec ctrace-c taskset -c $cpu /tmp/mmsg-probe "$STAT" ${MMSG:-3000} >&2; done
ip netns exec ctrace-c /tmp/mmsg-probe "$STAT" ${MMSG:-3000} >&2
ip netns exec ctrace-r conntrack -S >&2
