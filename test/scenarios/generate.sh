#!/usr/bin/env bash
# Kernel-driven RST scenario generator for rstwatch.
#
#   bash test/scenarios/generate.sh                 # every scenario
#   bash test/scenarios/generate.sh closed_port_v4 reset_attack_v4
#   bash test/scenarios/generate.sh --list
#
# Each scenario builds its own throw-away topology of network namespaces (names rw-sc-<pid>-<rand>-X),
# runs real applications (test/scenarios/app.py) and, only where the kernel cannot produce the case,
# scapy-crafted packets (test/scenarios/craft.py), captures with tcpdump (snaplen 128), then labels
# every RST of the capture (test/scenarios/label.py) into test/fixtures/scenarios/<name>.pcap +
# <name>.expected.json. Each scenario runs under `timeout 30`; namespaces and processes are removed
# on exit, also on failure. Needs root, iproute2, iptables (nft), tcpdump, tshark, nmap, python3-scapy.
#
# Topology (IPv4 198.18.0.0/15, IPv6 2001:db8::/32 only):
#
#   client (C)  c0 198.18.1.2 / 2001:db8:1::2
#      |  veth
#   router (R)  r1 198.18.1.1 / 2001:db8:1::1   r2 198.18.2.1 / 2001:db8:2::1   r3 198.18.3.1 / 2001:db8:3::1
#      |  veth (r2)                                  |  veth (r3)
#   server (S)  s0 198.18.2.2 / 2001:db8:2::2      attacker (A)  a0 198.18.3.2 / 2001:db8:3::2
#
# The router forwards (TTL/hop limit - 1), has rp_filter off (the attacker spoofs the server) and
# blackholes 198.18.9.0/24 and 2001:db8:9::/48 (the spoofed "victims" of backscatter).
# Default capture point: router interface r1 (the client-side link), i.e. a tap that sees both
# directions: client packets arrive with TTL 64, server packets with 63, router-made packets 64.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${RSTWATCH_SCENARIO_OUT:-$REPO/test/fixtures/scenarios}
PY=/usr/bin/python3
SCENARIO_TIMEOUT=${SCENARIO_TIMEOUT:-30}

ALL=(
  closed_port_v4 closed_port_v6
  firewall_reject_v4 firewall_reject_v6
  firewall_reject_nobaseline_v4 firewall_reject_nobaseline_v6
  backlog_overflow_v4 backlog_overflow_v6
  malformed_syn_v4 malformed_syn_v6
  time_wait_reuse_v4 time_wait_reuse_v6
  syn_scan_v4 syn_scan_v6
  connect_scan_v4 connect_scan_v6
  app_abort_client_v4 app_abort_client_v6
  app_abort_server_v4 app_abort_server_v6
  idle_timeout_v4 idle_timeout_v6
  stale_connection_v4 stale_connection_v6
  teardown_reset_v4 teardown_reset_v6
  retransmission_timeout_v4 retransmission_timeout_v6
  injected_reset_v4 injected_reset_v6
  reset_attack_v4 reset_attack_v6
  unsolicited_v4 unsolicited_v6
  time_wait_assassination_v4 time_wait_assassination_v6
)

log() { printf '[gen %s] %s\n' "$(date +%T)" "$*" >&2; }

# ------------------------------------------------------------------------------------------ one run
run_one() {
  local name=$1
  local fn="sc_${name%_v[46]}"
  [[ $name == *_v[46] ]] && declare -F "$fn" >/dev/null || { log "unknown scenario $name"; return 2; }
  TAG=${RW_SC_TAG:-rw-sc-$$-$RANDOM}
  C=$TAG-c R=$TAG-r S=$TAG-s A=$TAG-a
  RUN=$(mktemp -d "/tmp/rw-sc-run.XXXXXX")
  PIDS=()
  CAP_PID=
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  case $name in
    *_v6) FAM=6 CIP=2001:db8:1::2 SIP=2001:db8:2::2 RIP=2001:db8:1::1 AIP=2001:db8:3::2 BH=2001:db8:9::9 IPT=ip6tables ;;
    *) FAM=4 CIP=198.18.1.2 SIP=198.18.2.2 RIP=198.18.1.1 AIP=198.18.3.2 BH=198.18.9.9 IPT=iptables ;;
  esac
  topology
  CAP_NS=$R CAP_IF=r1 CAP_POINT="router r1 (client-side link; sees both directions)"
  CONFIG='{}'
  "$fn"
  cap_stop
  mkdir -p "$OUT"
  $PY "$HERE/label.py" "$name" "$RUN/cap.pcap" --run "$RUN" --out "$OUT" \
    --capture-point "$CAP_POINT" --config "$CONFIG" \
    --addr "client=$CIP" --addr "server=$SIP" --addr "router=$RIP" --addr "attacker=$AIP" --addr "spoofed=$BH"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  [[ -n ${CAP_PID:-} ]] && kill -TERM "$CAP_PID" 2>/dev/null
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for ns in "$C" "$R" "$S" "$A"; do
    # processes still inside our own namespaces were all started by this run
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null
  done
  [[ -n ${KEEP_RUN:-} ]] && log "run dir kept: $RUN" || rm -rf "$RUN"
  exit $rc
}

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
bg() { "$@" & PIDS+=($!); }
app() { local ns=$1; shift; nsx "$ns" $PY "$HERE/app.py" "$@" --run "$RUN"; }
craft() { local ns=$1; shift; nsx "$ns" $PY "$HERE/craft.py" "$@" --run "$RUN"; }

wait_file() { # name [seconds]
  local i n=$(( ${2:-10} * 20 ))
  for ((i = 0; i < n; i++)); do [[ -e $RUN/$1 ]] && return 0; sleep 0.05; done
  log "timeout waiting for $1"; return 1
}

wait_pids() { # wait for the given PIDs (bounded by the scenario timeout)
  local p; for p in "$@"; do wait "$p" || true; done
}

topology() {
  local n
  for n in "$C" "$R" "$S" "$A"; do
    ip netns add "$n"
    nsx "$n" ip link set lo up
    nsx "$n" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 \
      net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
      net.ipv6.conf.default.router_solicitations=0
  done
  ip link add c0 netns "$C" type veth peer name r1 netns "$R"
  ip link add s0 netns "$S" type veth peer name r2 netns "$R"
  ip link add a0 netns "$A" type veth peer name r3 netns "$R"
  nsx "$R" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
    net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  addr() { # ns if v4 v6
    nsx "$1" ip addr add "$3/24" dev "$2"
    nsx "$1" ip -6 addr add "$4/64" dev "$2" nodad
    nsx "$1" sysctl -qw "net.ipv4.conf.$2.rp_filter=0"
    nsx "$1" ip link set "$2" up
  }
  addr "$C" c0 198.18.1.2 2001:db8:1::2
  addr "$R" r1 198.18.1.1 2001:db8:1::1
  addr "$R" r2 198.18.2.1 2001:db8:2::1
  addr "$R" r3 198.18.3.1 2001:db8:3::1
  addr "$S" s0 198.18.2.2 2001:db8:2::2
  addr "$A" a0 198.18.3.2 2001:db8:3::2
  nsx "$C" ip route add default via 198.18.1.1
  nsx "$C" ip -6 route add default via 2001:db8:1::1
  nsx "$S" ip route add default via 198.18.2.1
  nsx "$S" ip -6 route add default via 2001:db8:2::1
  nsx "$A" ip route add default via 198.18.3.1
  nsx "$A" ip -6 route add default via 2001:db8:3::1
  nsx "$R" ip route add blackhole 198.18.9.0/24
  nsx "$R" ip -6 route add blackhole 2001:db8:9::/48
  # warm up neighbour caches so the capture holds no ARP/ND-delayed first packets (bounded pings)
  nsx "$C" ping -c1 -W1 -q 198.18.2.2 >/dev/null 2>&1 || true
  nsx "$C" ping -6 -c1 -W1 -q 2001:db8:2::2 >/dev/null 2>&1 || true
  nsx "$A" ping -c1 -W1 -q 198.18.1.2 >/dev/null 2>&1 || true
  nsx "$A" ping -6 -c1 -W1 -q 2001:db8:1::2 >/dev/null 2>&1 || true
}

cap_start() { # [ns iface point]
  [[ $# -ge 2 ]] && { CAP_NS=$1 CAP_IF=$2 CAP_POINT=$3; }
  nsx "$CAP_NS" tcpdump -i "$CAP_IF" -n -s 128 -U -w "$RUN/cap.pcap" tcp 2>"$RUN/tcpdump.err" &
  CAP_PID=$!
  local i
  for ((i = 0; i < 300; i++)); do grep -q 'listening on' "$RUN/tcpdump.err" 2>/dev/null && break; sleep 0.05; done
  grep -q 'listening on' "$RUN/tcpdump.err" || { log "tcpdump did not start"; cat "$RUN/tcpdump.err" >&2; return 1; }
  sleep 0.2
}

cap_stop() {
  [[ -z $CAP_PID ]] && return 0
  sleep 0.3
  kill -TERM "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
  CAP_PID=
  grep -E 'captured|dropped' "$RUN/tcpdump.err" >&2 || true
}

# baseline: one complete, graceful exchange with the server so that its TTL / hop distance is known
baseline() {
  bg app "$S" srv_echo --host "$SIP" --port 7000 --count 1
  wait_file ready-7000
  app "$C" cli_hello --host "$SIP" --port 7000
}

# ------------------------------------------------------------------------------------- scenarios

sc_closed_port() {
  cap_start
  baseline
  app "$C" cli_refused --host "$SIP" --port 9
}

sc_firewall_reject() {
  # the server listens on 8081, the router refuses it with a forged RST in the server's name
  nsx "$R" "$IPT" -A FORWARD -p tcp --dport 8081 -j REJECT --reject-with tcp-reset
  bg app "$S" srv_echo --host "$SIP" --port 8081 --count 1
  wait_file ready-8081
  cap_start
  baseline
  app "$C" cli_refused --host "$SIP" --port 8081
}

sc_firewall_reject_nobaseline() {
  # as firewall_reject, but no baseline exchange: the router's RST (TTL 64 at r1, one hop closer than
  # the server's 63) is the first packet in the server's name, so no TTL of the server's to compare with
  nsx "$R" "$IPT" -A FORWARD -p tcp --dport 8082 -j REJECT --reject-with tcp-reset
  bg app "$S" srv_echo --host "$SIP" --port 8082 --count 1
  wait_file ready-8082
  cap_start
  app "$C" cli_refused --host "$SIP" --port 8082
}

sc_backlog_overflow() {
  # Server: listener with backlog 3 that never accepts, tcp_abort_on_overflow=1, tcp_syncookies=0.
  # The kernel resists: a SYN is dropped when the accept queue is full, and the SYN queue is capped
  # by the backlog too, so a plain burst only fills the queues (no RST; with backlog 0 an overflow
  # is impossible). Without netem (not in this kernel) what works is staging:
  #   1. 3 connections complete: the accept queue holds 3 (full at 4);
  #   2. the router drops the client's pure ACKs; 4 more connects: the server holds them in
  #      SYN_RECV (the client thinks they are established);
  #   3. the rule goes; the server retransmits its SYN-ACKs (1 s), the client ACKs them, the first
  #      ACK takes the last accept-queue slot, each later one draws a RST (seq = its ack, no ACK).
  # Captured on the server's link (s0), so the ACKs dropped at the router are not in the capture.
  nsx "$S" sysctl -qw net.ipv4.tcp_abort_on_overflow=1 net.ipv4.tcp_syncookies=0
  local rule=(FORWARD -i r1 -p tcp --dport 8080 --tcp-flags SYN,ACK,FIN,RST,PSH ACK -j DROP)
  bg app "$S" srv_hold --host "$SIP" --port 8080 --backlog 3 --hold 10
  wait_file ready-8080
  CAP_POINT="server s0 (server-side link)"
  cap_start "$S" s0 "$CAP_POINT"
  bg app "$C" cli_burst --host "$SIP" --port 8080 --pre 3 --count 4 --hold 2.5
  local cli=$!
  wait_file pre-done
  nsx "$R" "$IPT" -A "${rule[@]}"
  touch "$RUN/go"
  wait_file connected
  nsx "$R" "$IPT" -D "${rule[@]}"
  wait_file done 10
  wait_pids "$cli"
}

sc_malformed_syn() {
  # Linux listeners silently drop SYN+FIN and SYN+RST; SYN+URG is accepted as a plain SYN.
  # A port without listener answers every non-RST segment, so SYN+FIN(+PSH+URG) to a closed
  # port draws a RST. The client kernel's own RSTs for the SYN-ACK it never asked for are dropped
  # in the client namespace (they would be a crafting artefact, not part of the case).
  bg app "$S" srv_echo --host "$SIP" --port 8080 --count 1
  wait_file ready-8080
  nsx "$C" "$IPT" -A OUTPUT -p tcp --sport 41000:41999 --tcp-flags RST RST -j DROP
  cap_start
  craft "$C" malformed --src "$CIP" --dst "$SIP" --open-port 8080 --closed-port 9
  sleep 0.5
}

sc_time_wait_reuse() {
  # The server closes first (TIME_WAIT on the server). The client, without TCP timestamps, sent
  # more bytes than its clock-driven ISN advances, reconnects from the same port at once: its new
  # ISN is below the TIME_WAIT's rcv_nxt, the TIME_WAIT socket answers with an ACK, the client
  # (SYN_SENT, wrong ack) answers that with a RST, which kills the TIME_WAIT; the SYN retransmitted
  # 1 s later opens the new connection.
  nsx "$C" sysctl -qw net.ipv4.tcp_timestamps=0
  bg app "$S" srv_read_all --host "$SIP" --port 8080 --size 4000000
  wait_file ready-8080
  cap_start
  app "$C" cli_tw_reuse --host "$SIP" --port 8080 --cport 40400 --size 4000000
}

sc_scan_common() {
  bg app "$S" srv_echo --host "$SIP" --port 8080 --count 4
  bg app "$S" srv_echo --host "$SIP" --port 8443 --count 4
  wait_file ready-8080
  wait_file ready-8443
  cap_start
}
sc_syn_scan() {
  # nmap's raw SYNs carry random TTLs (e.g. 37..64): a scanner trait, not a forwarding effect.
  sc_scan_common
  nsx "$C" timeout 20 nmap "-$FAM" -n -Pn -sS --max-retries 0 -p 8080,8443,9,25 "$SIP" >"$RUN/nmap.txt" 2>&1 || true
  cat "$RUN/nmap.txt" >&2
}
sc_connect_scan() {
  sc_scan_common
  nsx "$C" timeout 20 nmap "-$FAM" -n -Pn -sT --max-retries 0 -p 8080,8443,9,25 "$SIP" >"$RUN/nmap.txt" 2>&1 || true
  cat "$RUN/nmap.txt" >&2
}

sc_app_abort_client() {
  bg app "$S" srv_sink --host "$SIP" --port 8080 --hold 3
  wait_file ready-8080
  cap_start
  app "$C" cli_abort --host "$SIP" --port 8080
}

sc_app_abort_server() {
  bg app "$S" srv_abort --host "$SIP" --port 8080
  wait_file ready-8080
  cap_start
  app "$C" cli_talk_then_wait_reset --host "$SIP" --port 8080
}

sc_idle_timeout() {
  CONFIG='{"idleTimeoutS": 2}'
  bg app "$S" srv_idle --host "$SIP" --port 8080 --idle 3
  wait_file ready-8080
  cap_start
  app "$C" cli_idle --host "$SIP" --port 8080 --idle 3
}

sc_stale_connection() {
  # The server loses its TCB: `ss -K` destroys the established socket (CONFIG_INET_DIAG_DESTROY);
  # the RST that tcp_abort() sends is dropped in the server namespace so the client never learns.
  # The client's next data segment then meets no socket: RST, seq = that segment's ack, no ACK flag.
  bg app "$S" srv_sink --host "$SIP" --port 8080 --hold 6
  wait_file ready-8080
  cap_start
  bg app "$C" cli_stale --host "$SIP" --port 8080
  local cli=$!
  wait_file established
  sleep 0.2
  nsx "$S" "$IPT" -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
  local dst=$CIP
  [[ $FAM == 6 ]] && dst="[$CIP]"
  nsx "$S" ss -K -n dst "$dst" sport = :8080 >&2 || true
  nsx "$S" "$IPT" -D OUTPUT -p tcp --tcp-flags RST RST -j DROP
  sleep 0.3
  touch "$RUN/go"
  wait_pids "$cli"
}

sc_teardown_reset() {
  # the server closes gracefully (FIN), the half-closed client keeps sending: data after close -> RST
  bg app "$S" srv_fin_first --host "$SIP" --port 8080 --hold 2
  wait_file ready-8080
  cap_start
  app "$C" cli_after_fin --host "$SIP" --port 8080
}

sc_retransmission_timeout() {
  # Mid-stream the router blackholes client->server. Linux gives up silently when tcp_retries2 /
  # TCP_USER_TIMEOUT expire (no RST), so the application aborts (SO_LINGER 0) after it saw >= 3
  # retransmissions; its RST is captured at r1 before the router drops it too.
  bg app "$S" srv_sink --host "$SIP" --port 8080 --hold 6
  wait_file ready-8080
  cap_start
  bg app "$C" cli_rto_abort --host "$SIP" --port 8080 --retrans 3
  local cli=$!
  wait_file established
  sleep 0.2
  nsx "$R" "$IPT" -A FORWARD -i r1 -p tcp --dport 8080 -j DROP
  touch "$RUN/go"
  wait_pids "$cli"
}

sc_injected_reset() {
  # An IPS-like rule on the router rejects the segment carrying BLOCKME with a RST to the sender,
  # in the server's name. The server never learns and keeps sending; the client's kernel (TCB gone)
  # answers that data with RSTs of its own.
  nsx "$R" "$IPT" -A FORWARD -p tcp -m string --string BLOCKME --algo bm -j REJECT --reject-with tcp-reset
  bg app "$S" srv_stream --host "$SIP" --port 8080 --chunks 3
  wait_file ready-8080
  cap_start
  app "$C" cli_blockme --host "$SIP" --port 8080
}

sc_reset_attack() {
  # Off-path attacker (namespace A, behind r3) forges RSTs "from" the server to the client:
  # out of window, in window but not exact (challenge ACK, RFC 5961), and a stepping burst. It never
  # hits rcv_nxt exactly, so the connection survives and continues. The attacker is given the
  # 4-tuple and the client's rcv_nxt (read from the capture so far: an oracle, not on-path sniffing).
  bg app "$S" srv_echo --host "$SIP" --port 8080 --count 1
  wait_file ready-8080
  cap_start
  bg app "$C" cli_pingpong --host "$SIP" --port 8080
  local cli=$!
  wait_file paused
  sleep 0.2
  craft "$A" attack --pcap "$RUN/cap.pcap" --client "$CIP" --server "$SIP" --port 8080
  sleep 0.3
  touch "$RUN/resume"
  wait_pids "$cli"
}

sc_unsolicited() {
  # 1) backscatter: a SYN-ACK "from" 198.18.9.9 (spoofed by the attacker) reaches the client,
  #    whose kernel answers it with a RST (towards the blackholed address).
  # 2) a flow that started before the capture: the capture starts after the handshake and the
  #    data, and the only packet of that flow it sees is the server's abort RST.
  bg app "$S" srv_abort --host "$SIP" --port 8080 --wait abort
  wait_file ready-8080
  bg app "$C" cli_talk_then_wait_reset --host "$SIP" --port 8080
  local cli=$!
  wait_file established
  sleep 0.3
  cap_start
  craft "$A" backscatter --client "$CIP" --spoofed "$BH" --port 40123
  sleep 0.3
  touch "$RUN/abort"
  wait_pids "$cli"
}

sc_time_wait_assassination() {
  # RFC 1337: client closes first (TIME_WAIT on the client). An old duplicate of the server's data
  # segment (crafted, sent by the attacker with the server's address) hits the TIME_WAIT socket,
  # which ACKs it; the server has no connection any more and answers that ACK with a RST, which
  # kills the TIME_WAIT (net.ipv4.tcp_rfc1337=0, the default).
  bg app "$S" srv_echo --host "$SIP" --port 8080 --count 1
  wait_file ready-8080
  cap_start
  app "$C" cli_active_close --host "$SIP" --port 8080
  sleep 0.3
  craft "$A" old_duplicate --pcap "$RUN/cap.pcap" --client "$CIP" --server "$SIP" --port 8080
  sleep 0.3
  nsx "$C" ss -tan state time-wait >&2 || true
}

# ------------------------------------------------------------------------------------------- main
if [[ ${1:-} == __run ]]; then
  run_one "$2"
  exit $?
fi
if [[ ${1:-} == --list ]]; then printf '%s\n' "${ALL[@]}"; exit 0; fi

[[ $(id -u) == 0 ]] || { log "needs root (network namespaces)"; exit 1; }
for t in ip tcpdump tshark nmap iptables ip6tables tc ss; do
  command -v "$t" >/dev/null || { log "missing $t (apt-get install -y iproute2 tcpdump tshark nmap iptables)"; exit 1; }
done
$PY -c 'import scapy' 2>/dev/null || { log "missing python3-scapy (apt-get install -y python3-scapy)"; exit 1; }

todo=("$@")
[[ ${#todo[@]} -eq 0 ]] && todo=("${ALL[@]}")
failed=()
for s in "${todo[@]}"; do
  log "=== $s"
  tag="rw-sc-$$-$RANDOM"
  start=$SECONDS
  ok=
  # kernel timing under load (other engineers share the machine) can spoil a run: up to 3 attempts
  for attempt in 1 2 3; do
    if RW_SC_TAG=$tag-$attempt timeout -k 5 "$SCENARIO_TIMEOUT" bash "${BASH_SOURCE[0]}" __run "$s"; then
      ok=1
      break
    fi
    log "!!! $s attempt $attempt failed"
  done
  [[ -n $ok ]] || failed+=("$s")
  log "    $s took $((SECONDS - start)) s"
  # belt and braces: if the run was killed before its trap ran, remove what is left of its namespaces
  for ns in $(ip netns list | awk '{print $1}' | grep "^$tag-[0-9]-" || true); do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
done
$PY "$HERE/readme.py" "$OUT"
if [[ ${#failed[@]} -gt 0 ]]; then
  log "failed: ${failed[*]}"
  exit 1
fi
log "all done: ${todo[*]}"
