#!/usr/bin/env bash
# Which packets `-m statistic --mode nth --every N --packet P` matches in a real kernel, for
# sim/netfilter/evaluate.test.ts: run as root (ip netns, iptables-legacy, python3). Sends seven UDP
# packets per rule and prints the rule's packet counter after each. Unique namespace, removed on exit.
set -euo pipefail
NS=svcsim-f3-nth-$$
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add $NS
ip -n $NS link set lo up
for spec in "3 1" "3 0" "2 1"; do
  set -- $spec
  ip netns exec $NS iptables-legacy -F OUTPUT
  ip netns exec $NS iptables-legacy -A OUTPUT -p udp -d 127.0.0.9 -m statistic --mode nth --every $1 --packet $2 -j ACCEPT
  out=""
  for n in 1 2 3 4 5 6 7; do
    ip netns exec $NS python3 -c "import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x', ('127.0.0.9', 9))"
    c=$(ip netns exec $NS iptables-legacy -L OUTPUT -v -x -n | awk 'NR==3{print $1}')
    out="$out $c"
  done
  echo "every=$1 packet=$2 matches after each packet:$out"
done
