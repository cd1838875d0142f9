#!/usr/bin/env bash
# Makes the packet-parser oracle fixtures in test/fixtures/packet/ from real Linux kernel TCP traffic in
# network namespaces (198.18.0.0/15 and 2001:db8::/32 only), plus one synthetic encapsulation capture
# built with scapy (tunnel types this kernel may lack). Idempotent: rewrites the files; every namespace it
# creates is named rw-pkt-* and deleted on exit, every wait is bounded, only PIDs it started are signalled.
#
#   sudo test/packet/make-captures.sh            # needs root, tcpdump, dumpcap, python3 (+ scapy)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(cd "$here/../fixtures/packet" && pwd)"
work="$(mktemp -d /tmp/rw-pkt-XXXXXX)"
NA=rw-pkt-a
NB=rw-pkt-b
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for ns in "$NA" "$NB"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

for cmd in ip tcpdump dumpcap python3; do
  command -v "$cmd" >/dev/null || { echo "make-captures: $cmd is required" >&2; exit 1; }
done
for ns in "$NA" "$NB"; do ip netns del "$ns" 2>/dev/null || true; done

ip netns add "$NA"
ip netns add "$NB"
ip -n "$NA" link set lo up
ip -n "$NB" link set lo up

# Plain veth pair: A 198.18.0.1 / 2001:db8:0:1::1, B 198.18.0.2 / 2001:db8:0:1::2.
ip link add rw-pkt-va netns "$NA" type veth peer name rw-pkt-vb netns "$NB"
ip -n "$NA" addr add 198.18.0.1/24 dev rw-pkt-va
ip -n "$NB" addr add 198.18.0.2/24 dev rw-pkt-vb
ip -n "$NA" addr add 2001:db8:0:1::1/64 dev rw-pkt-va nodad
ip -n "$NB" addr add 2001:db8:0:1::2/64 dev rw-pkt-vb nodad
ip -n "$NA" link set rw-pkt-va up
ip -n "$NB" link set rw-pkt-vb up

# Offloads off, so captures show MTU-sized segments as on a real wire.
ip netns exec "$NA" ethtool -K rw-pkt-va tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$NB" ethtool -K rw-pkt-vb tso off gso off gro off >/dev/null 2>&1 || true

# VLAN-tagged copy: this kernel has neither 8021q nor VLAN-filtering bridges nor tc vlan actions, so a
# mirror (like a switch SPAN port that tags) copies every frame of rw-pkt-va onto the veth pair
# rw-pkt-ta -> rw-pkt-tb with tags inserted: IPv4 frames get 802.1Q VLAN 100, IPv6 frames 802.1ad
# VLAN 200 + 802.1Q VLAN 100. The kernel receive path moves the outer tag to metadata and libpcap puts
# it back, so tcpdump on rw-pkt-tb records tagged frames.
ip link add rw-pkt-ta netns "$NA" type veth peer name rw-pkt-tb netns "$NA"
ip -n "$NA" link set rw-pkt-ta mtu 9000 up
ip -n "$NA" link set rw-pkt-tb mtu 9000 up
cat >"$work/mirror.py" <<'PY'
import socket, struct, sys, time
src, dst, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
rx.bind((src, 0))
rx.settimeout(0.2)
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
tx.bind((dst, 0))
print("mirroring", flush=True)
deadline = time.time() + seconds
while time.time() < deadline:
    try:
        frame = rx.recv(65536)
    except socket.timeout:
        continue
    etype = frame[12:14]
    if etype == b"\x08\x00":
        tags = struct.pack("!HH", 0x8100, 100)
    elif etype == b"\x86\xdd":
        tags = struct.pack("!HHHH", 0x88A8, 200, 0x8100, 100)
    else:
        continue
    try:
        tx.send(frame[:12] + tags + frame[12:])
    except OSError as e:
        print("mirror:", e, file=sys.stderr, flush=True)
PY

# VXLAN (VNI 42, UDP 4789) over the plain pair: inner 198.18.10.0/24 and 2001:db8:10::/64.
vx=0
if ip -n "$NA" link add rw-pkt-vx type vxlan id 42 local 198.18.0.1 remote 198.18.0.2 dstport 4789 2>/dev/null &&
  ip -n "$NB" link add rw-pkt-vx type vxlan id 42 local 198.18.0.2 remote 198.18.0.1 dstport 4789; then
  vx=1
  ip -n "$NA" addr add 198.18.10.1/24 dev rw-pkt-vx
  ip -n "$NB" addr add 198.18.10.2/24 dev rw-pkt-vx
  ip -n "$NA" addr add 2001:db8:10::1/64 dev rw-pkt-vx nodad
  ip -n "$NB" addr add 2001:db8:10::2/64 dev rw-pkt-vx nodad
  ip -n "$NA" link set rw-pkt-vx mtu 1450
  ip -n "$NB" link set rw-pkt-vx mtu 1450
  ip -n "$NA" link set rw-pkt-vx up
  ip -n "$NB" link set rw-pkt-vx up
else
  echo "make-captures: no vxlan support in this kernel, skipping kernel-vxlan.pcap" >&2
fi

# The server: dual-stack listener on port 8080 in namespace B. Per connection, the request decides the
# ending: CLOSE = reply then FIN, ABORT = reply then SO_LINGER 0 close (server RST), WAIT = reply and
# wait for the client (which aborts). Exits after a bounded time.
cat >"$work/server.py" <<'PY'
import socket, struct, sys, threading
srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
srv.bind(("::", 8080))
srv.listen(64)
srv.settimeout(30)
print("ready", flush=True)
def handle(c):
    c.settimeout(5)
    try:
        req = c.recv(4096)
        c.sendall(b"R" * 3000)
        if req.startswith(b"ABORT"):
            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif req.startswith(b"WAIT"):
            while c.recv(4096):
                pass
    except OSError:
        pass
    finally:
        c.close()
for _ in range(200):
    try:
        c, _ = srv.accept()
    except socket.timeout:
        break
    threading.Thread(target=handle, args=(c,), daemon=True).start()
PY

# The client: for each server address, a clean session, a SYN to a closed port (RST+ACK), a client abort
# (SO_LINGER 0: RST) and a server abort.
cat >"$work/client.py" <<'PY'
import socket, struct, sys, time
def conn(host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect((host, port))
    return s
def drain(s):
    n = 0
    while True:
        b = s.recv(65536)
        if not b:
            return n
        n += len(b)
for host in sys.argv[1:]:
    s = conn(host, 8080); s.sendall(b"CLOSE " + b"q" * 1200); drain(s); s.close()
    try:
        conn(host, 8081)
    except ConnectionRefusedError:
        pass
    s = conn(host, 8080); s.sendall(b"WAIT hello"); s.recv(100); time.sleep(0.05)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close()
    s = conn(host, 8080); s.sendall(b"ABORT hello")
    try:
        drain(s)
    except ConnectionResetError:
        pass
    s.close()
    time.sleep(0.1)
PY

wait_for() { # file pattern: wait (at most 10 s) until the file contains the pattern
  for _ in $(seq 1 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "make-captures: timed out waiting for '$2' in $1" >&2
  cat "$1" >&2 || true
  return 1
}

start_server() {
  ip netns exec "$NB" timeout 60 python3 "$work/server.py" >"$work/server.log" 2>&1 &
  pids+=($!)
  wait_for "$work/server.log" ready
}

# capture NAME -- CAPTURE-COMMAND... ; then run the client with the given server addresses.
capture() {
  local name="$1" ready="$2"
  shift 2
  local log="$work/$name.log"
  "$@" 2>"$log" &
  local pid=$!
  pids+=("$pid")
  wait_for "$log" "$ready"
  sleep 0.3
  ip netns exec "$NA" timeout 60 python3 "$work/client.py" "${CLIENT_HOSTS[@]}"
  if [ -n "${EXTRA:-}" ]; then ip netns exec "$NA" timeout 20 python3 -c "$EXTRA"; fi
  sleep 1.5
  kill -INT "$pid"
  wait "$pid" || true
  echo "make-captures: $name: $(grep -E 'captured|dropped|received' "$log" | tr '\n' ' ' || echo done)" >&2
}

start_server

CLIENT_HOSTS=(198.18.0.2)
capture kernel-v4 'listening on' ip netns exec "$NA" timeout 120 tcpdump --immediate-mode -B 32768 -Z root -n -i rw-pkt-va -s 0 -U -w "$out/kernel-v4.pcap" tcp

CLIENT_HOSTS=(2001:db8:0:1::2)
capture kernel-v6 'listening on' ip netns exec "$NA" timeout 120 tcpdump --immediate-mode -B 32768 -Z root -n -i rw-pkt-va -s 0 -U \
  --time-stamp-precision=nano -w "$out/kernel-v6-nano.pcap" tcp

ip netns exec "$NA" timeout 60 python3 "$work/mirror.py" rw-pkt-va rw-pkt-ta 30 >"$work/mirror.log" 2>&1 &
mirror=$!
pids+=("$mirror")
wait_for "$work/mirror.log" mirroring
CLIENT_HOSTS=(198.18.0.2 2001:db8:0:1::2)
capture kernel-vlan 'listening on' ip netns exec "$NA" timeout 120 tcpdump --immediate-mode -B 32768 -Z root -n -i rw-pkt-tb -s 0 -U \
  -w "$out/kernel-vlan.pcap"
kill "$mirror"
wait "$mirror" 2>/dev/null || true

# -i any with the SLL2 header; the extra connection to our own address travels over lo.
CLIENT_HOSTS=(198.18.0.2 2001:db8:0:1::2)
EXTRA='import socket
s = socket.socket(); s.settimeout(2)
try: s.connect(("198.18.0.1", 8082))
except OSError: pass'
capture kernel-any-sll2 'listening on' ip netns exec "$NA" timeout 120 tcpdump --immediate-mode -B 32768 -Z root -n -i any -y LINUX_SLL2 -s 0 -U \
  -w "$out/kernel-any-sll2.pcap" tcp

# pcapng with two interfaces (the veth and lo) from dumpcap.
capture kernel-dumpcap 'Capturing on' ip netns exec "$NA" timeout 120 dumpcap -i rw-pkt-va -i lo -f tcp -w "$out/kernel-dumpcap.pcapng"
unset EXTRA

if [ "$vx" = 1 ]; then
  CLIENT_HOSTS=(198.18.10.2 2001:db8:10::2)
  capture kernel-vxlan 'listening on' ip netns exec "$NA" timeout 120 tcpdump --immediate-mode -B 32768 -Z root -n -i rw-pkt-va -s 0 -U \
    -w "$out/kernel-vxlan.pcap" udp port 4789
fi

# Synthetic encapsulations (tunnel types this kernel lacks): built with scapy, checked against tshark.
scapy_py=""
for py in python3 /usr/bin/python3; do
  if "$py" -c 'import scapy' 2>/dev/null; then scapy_py="$py"; break; fi
done
if [ -n "$scapy_py" ]; then
  "$scapy_py" - "$out/synthetic-encaps.pcap" <<'PY'
import sys
from scapy.all import Ether, Dot1Q, Dot1AD, IP, IPv6, TCP, UDP, GRE, Raw, wrpcap
from scapy.layers.inet6 import IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrRouting
from scapy.layers.vxlan import VXLAN
from scapy.contrib.mpls import MPLS
from scapy.contrib.geneve import GENEVE
from scapy.contrib.erspan import ERSPAN_II, ERSPAN_III
A4, B4 = "198.18.20.1", "198.18.20.2"
A6, B6 = "2001:db8:20::1", "2001:db8:20::2"
O4a, O4b = "198.18.30.1", "198.18.30.2"
def seg(i, flags="PA", payload=b"x" * 10, **kw):
    return TCP(sport=40000 + i, dport=443, seq=1000 * i + 7, ack=0xFFFFFF00 + i, flags=flags, window=1000 + i, **kw) / Raw(payload)
def in4(i, **kw):
    return IP(src=A4, dst=B4, ttl=50 + i, id=0x100 + i, **kw) / seg(i)
eth = lambda: Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
pkts = [
    eth() / Dot1AD(vlan=300) / Dot1Q(vlan=42) / in4(1),
    eth() / MPLS(label=100, s=0) / MPLS(label=200, s=1) / in4(2),
    eth() / IP(src=O4a, dst=O4b) / GRE(key_present=1, key=7, seqnum_present=1, seqence_number=9, chksum_present=1) / in4(3),
    eth() / IP(src=O4a, dst=O4b) / GRE(proto=0x6558) / eth() / in4(4),
    eth() / IP(src=O4a, dst=O4b) / GRE(seqnum_present=1, seqence_number=1) / ERSPAN_II(ver=1, session_id=5) / eth() / in4(5),
    eth() / IP(src=O4a, dst=O4b) / GRE(seqnum_present=1, seqence_number=2) / ERSPAN_III(session_id=6) / eth() / in4(6),
    eth() / IP(src=O4a, dst=O4b) / UDP(sport=50000, dport=6081) / GENEVE(vni=9, proto=0x6558) / eth() / in4(7),
    eth() / IP(src=O4a, dst=O4b) / UDP(sport=50001, dport=4789) / VXLAN(vni=10) / eth() / Dot1Q(vlan=7) / in4(8),
    eth() / IPv6(src=A6, dst=B6, hlim=33) / IPv6ExtHdrHopByHop() / IPv6ExtHdrRouting() / IPv6ExtHdrDestOpt() / IPv6ExtHdrFragment(offset=0, m=1, id=5) / seg(9),
    eth() / IP(src=A4, dst=B4, ttl=9, options=b"\x94\x04\x00\x00") / seg(10, options=[("MSS", 1400), ("SAckOK", b""), ("Timestamp", (123, 456)), ("NOP", None), ("WScale", 9)]),
    eth() / IP(src=A4, dst=B4) / seg(11, flags="R", payload=b"blocked by policy: " + b"z" * 60),
    eth() / IP(src=A4, dst=B4) / seg(12, options=[("SAck", (1, 2, 3, 4))]),
    eth() / IP(src=A4, dst=B4, flags="MF", frag=0) / seg(13, payload=b"f" * 40),
    eth() / IP(src=A4, dst=B4, frag=6, proto=6) / Raw(b"g" * 40),
    eth() / IPv6(src=A6, dst=B6) / IPv6ExtHdrFragment(offset=7, nh=6) / Raw(b"h" * 40),
    eth() / IP(src=A4, dst=B4) / UDP(sport=5, dport=53) / Raw(b"dns"),
]
for k, p in enumerate(pkts):
    p.time = 1700000000 + k + 0.25
wrpcap(sys.argv[1], pkts)
PY
  echo "make-captures: synthetic-encaps.pcap written" >&2
else
  echo "make-captures: python3-scapy missing, synthetic-encaps.pcap not rewritten" >&2
fi
chmod 644 "$out"/*.pcap "$out"/*.pcapng
ls -l "$out" >&2
