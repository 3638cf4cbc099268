#!/bin/bash
# Captures what a real kernel does with kube-proxy's rules on the forwarding path (see README.md).
# Usage: capture-node-path.sh RULES_FILE OUT_DIR   (root; iptables, conntrack, tshark, python3)
# Writes OUT_DIR/packets.txt (both interfaces of the node, merged in time order) and OUT_DIR/conntrack.txt.
set -euo pipefail
RULES=$1; OUT=$2; rm -f $OUT/ready $OUT/ready2
P=ctv$$; N=$P-node; C=$P-cl; B=$P-be
cleanup() { for ns in $N $C $B; do ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del $ns 2>/dev/null || true; done; }
trap cleanup EXIT
for ns in $N $C $B; do ip netns add $ns; ip -n $ns link set lo up; done
ip link add cni0 netns $N type veth peer name eth0 netns $C
ip link add eth0 netns $N type veth peer name eth0 netns $B
ip -n $N addr add 10.0.1.1/24 dev cni0
ip -n $N addr add 192.168.0.2/24 dev eth0
ip -n $C addr add 10.0.1.5/24 dev eth0
ip -n $B addr add 192.168.0.3/24 dev eth0
ip -n $B addr add 192.168.0.9/24 dev eth0
ip -n $B addr add 10.180.0.1/32 dev lo
for ns in $N $C $B; do for i in $(ip -n $ns -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -v lo); do ip -n $ns link set $i up; done; done
ip -n $C route add default via 10.0.1.1
ip -n $N route add 10.180.0.0/24 via 192.168.0.3
ip -n $N route add default via 192.168.0.1
ip -n $B route add 10.0.1.0/24 via 192.168.0.2
ip -n $B route add 172.30.0.0/16 via 192.168.0.2
ip netns exec $N sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
ip netns exec $N iptables-restore < "$RULES"
ip netns exec $N tshark -q -i cni0 -f 'tcp or udp' -w $OUT/cni0.pcap >/dev/null 2>&1 &
ip netns exec $N tshark -q -i eth0 -f 'tcp or udp' -w $OUT/eth0.pcap >/dev/null 2>&1 &
sleep 3
ip netns exec $B python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.180.0.1", 8080)); s.listen(4)
open("'$OUT'/ready", "w").close()
for _ in range(2):
    c, _a = s.accept(); c.recv(1); c.sendall(b"y"); c.recv(1); c.close()
' &
for _ in $(seq 100); do [ -e $OUT/ready ] && break; sleep 0.1; done
# A UDP responder on the endpoint (DNS-like: one datagram in, one out).
ip netns exec $B python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.180.0.1", 5353))
d, a = s.recvfrom(512); s.sendto(d, a)
' &
# The pod itself listens on 8080: the hairpin Service sends the pod back to itself (masqueraded).
ip netns exec $C python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.0.1.5", 8080)); s.listen(1)
open("'$OUT'/ready2", "w").close()
c, _a = s.accept(); c.recv(1); c.sendall(b"y"); c.recv(1); c.close()
' &
for _ in $(seq 100); do [ -e $OUT/ready2 ] && break; sleep 0.1; done
sleep 0.5
client='
import socket, sys
s = socket.socket()
if len(sys.argv) > 1: s.bind((sys.argv[1], 0))
s.connect((sys.argv[2] if len(sys.argv) > 2 else "172.30.0.41", 80)); s.sendall(b"x"); s.recv(1); s.close()
'
ip netns exec $C python3 -c "$client"
sleep 0.3
ip netns exec $B python3 -c "$client" 192.168.0.9
sleep 0.3
ip netns exec $C python3 -c "$client" 10.0.1.5 172.30.0.42
sleep 0.3
ip netns exec $C python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
s.sendto(b"q", ("172.30.0.43", 53)); s.recvfrom(512)
'
sleep 1
ip netns exec $N conntrack -L 2>$OUT/conntrack.err | sort > $OUT/conntrack.txt
sleep 0.5
ip netns pids $N | xargs -r kill -INT
sleep 1
for i in cni0 eth0; do
  tshark -r $OUT/$i.pcap -T fields -E separator=/s -E occurrence=f -e frame.time_epoch -e ip.proto -e ip.src -e tcp.srcport -e udp.srcport -e ip.dst -e tcp.dstport -e udp.dstport -e tcp.flags > $OUT/$i.txt
done
python3 - "$OUT" <<'PY'
import sys
from decimal import Decimal
out = sys.argv[1]
rows = []
for iface in ['cni0', 'eth0']:
    for line in open(f'{out}/{iface}.txt'):
        t, proto, src, tsp, usp, dst, tdp, udp, fl = line.rstrip('\n').split(' ')
        name = {'6': 'tcp', '17': 'udp'}[proto]
        rows.append((Decimal(t), iface, name, src, tsp or usp, dst, tdp or udp, fl or '-'))
rows.sort(key=lambda r: r[0])
with open(f'{out}/packets.txt', 'w') as f:
    f.write('# ns since first packet, interface of the node namespace, protocol, packet as captured there (tshark), TCP flags\n')
    for t, iface, name, src, sp, dst, dp, fl in rows:
        f.write(f'{int((t - rows[0][0]) * 10**9)} {iface} {name} {src}:{sp} > {dst}:{dp} {fl}\n')
PY
