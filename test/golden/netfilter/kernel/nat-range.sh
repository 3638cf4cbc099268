#!/usr/bin/env bash
# Captures which address of a NAT range the real kernel picks, for sim/netfilter/nat-range.test.ts:
# run as root (ip netns, iptables-legacy, conntrack, python3). Twenty connections from 10.0.0.1-20 to
# 10.96.0.10:80 through `DNAT --to-destination 10.244.1.1-10.244.1.8:8080` (nat OUTPUT) and
# `SNAT --to-source 192.168.7.1-192.168.7.13` (nat POSTROUTING); prints conntrack -L.
# The namespace has a unique name and is removed on exit, also on failure.
set -euo pipefail
NS=svcsim-f3-natrange-$$
cleanup() { ip netns del "$NS" 2>/dev/null || true; }
trap cleanup EXIT
ip netns add $NS
ip -n $NS link set lo up
ip -n $NS link add d0 type veth peer name d1; ip -n $NS link set d1 up
ip -n $NS link set d0 up
for i in $(seq 1 20); do ip -n $NS addr add 10.0.0.$i/32 dev d0; done
ip -n $NS route add default dev d0
ip netns exec $NS iptables-legacy -t nat -A OUTPUT -d 10.96.0.10/32 -p tcp -j DNAT --to-destination 10.244.1.1-10.244.1.8:8080
ip netns exec $NS iptables-legacy -t nat -A POSTROUTING -p tcp -j SNAT --to-source 192.168.7.1-192.168.7.13
ip netns exec $NS python3 - <<'PY'
import socket
for i in range(1, 21):
    s = socket.socket(); s.setblocking(False)
    s.bind((f'10.0.0.{i}', 40000 + i))
    try: s.connect(('10.96.0.10', 80))
    except BlockingIOError: pass
PY
sleep 0.3
ip netns exec $NS conntrack -L -p tcp 2>/dev/null | sort
