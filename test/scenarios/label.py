#!/usr/bin/python3
"""Label every RST of a scenario capture with its ground-truth cause and origin.

    label.py NAME PCAP --run RUNDIR --out FIXTURE_DIR --capture-point TEXT --config JSON --addr role=ip ...
    label.py --dump PCAP           # print the TCP packets as label.py sees them

The packet facts come from tshark. The labels come from what the generator did (the scenario name,
the roles of the addresses, and RUN/crafted.jsonl, the log of every forged packet). Each rule
checks that the RST really has the shape the scenario is supposed to produce and fails loudly
otherwise: a mislabelled fixture is worse than none. Writes NAME.pcap and NAME.expected.json.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys

FIELDS = [
    "frame.number", "frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport",
    "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.len", "ip.ttl", "ipv6.hlim", "ip.id",
]
# tcpdump's letters, in tcpdump's order (print-tcp.c tcp_flag_values)
FLAG_LETTERS = [(0x01, "F"), (0x02, "S"), (0x04, "R"), (0x08, "P"), (0x10, "."), (0x20, "U"), (0x40, "E"),
                (0x80, "W")]


class Pkt:
    def __init__(self, row):
        f = dict(zip(FIELDS, row))
        self.frame = int(f["frame.number"])
        self.t = float(f["frame.time_epoch"])
        self.src = f["ip.src"] or f["ipv6.src"]
        self.dst = f["ip.dst"] or f["ipv6.dst"]
        self.sport = int(f["tcp.srcport"])
        self.dport = int(f["tcp.dstport"])
        self.seq = int(f["tcp.seq_raw"])
        self.ack = int(f["tcp.ack_raw"])
        self.fl = int(f["tcp.flags"], 16)
        self.len = int(f["tcp.len"] or 0)
        self.ttl = int(f["ip.ttl"] or f["ipv6.hlim"])
        self.ipid = int(f["ip.id"], 16) if f["ip.id"] else None

    @property
    def flags(self):
        return "".join(ch for bit, ch in FLAG_LETTERS if self.fl & bit)

    @property
    def syn(self):
        return bool(self.fl & 0x02)

    @property
    def fin(self):
        return bool(self.fl & 0x01)

    @property
    def rst(self):
        return bool(self.fl & 0x04)

    @property
    def ackf(self):
        return bool(self.fl & 0x10)

    def ep(self, which):
        ip, port = (self.src, self.sport) if which == "src" else (self.dst, self.dport)
        return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"

    def key(self):
        return (self.src, self.sport, self.dst, self.dport)

    def rkey(self):
        return (self.dst, self.dport, self.src, self.sport)

    def __repr__(self):
        return (f"#{self.frame} {self.ep('src')} > {self.ep('dst')} [{self.flags}] seq={self.seq} ack={self.ack} "
                f"len={self.len} ttl={self.ttl} id={self.ipid}")


def read(pcap):
    out = subprocess.run(
        ["tshark", "-r", pcap, "-n", "-o", "tcp.analyze_sequence_numbers:FALSE", "-T", "fields",
         "-E", "separator=\t", "-E", "occurrence=f", "-Y", "tcp"] + sum((["-e", f] for f in FIELDS), []),
        check=True, capture_output=True, text=True).stdout
    return [Pkt(line.split("\t")) for line in out.splitlines() if line.strip()]


class Ctx:
    def __init__(self, pkts, addr, crafted):
        self.pkts = pkts
        self.addr = addr
        self.crafted = crafted

    def role(self, ip):
        for k, v in self.addr.items():
            if v == ip:
                return k
        return "?"

    def before(self, p):
        return [q for q in self.pkts if q.frame < p.frame]

    def after(self, p):
        return [q for q in self.pkts if q.frame > p.frame]

    def prev_from_peer(self, p):
        """The last packet of the same 4-tuple sent by the RST's receiver before the RST."""
        c = [q for q in self.before(p) if q.key() == p.rkey()]
        return c[-1] if c else None

    def flow(self, p):
        return [q for q in self.pkts if q.key() in (p.key(), p.rkey())]

    def crafted_match(self, p):
        for c in self.crafted:
            if (c["src"], c["sport"], c["dst"], c["dport"], c["seq"]) == (p.src, p.sport, p.dst, p.dport, p.seq):
                return c
        return None


class Mismatch(Exception):
    pass


def need(cond, msg, p):
    if not cond:
        raise Mismatch(f"{msg}: {p!r}")


# ----------------------------------------------------------------------------- per-scenario rules
# Each rule gets (ctx, rst) and returns (cause, origin, why, generated_by).


def r_closed_port(c, p):
    q = c.prev_from_peer(p)
    need(c.role(p.src) == "server" and q is not None and q.flags == "S" and p.flags == "R." and p.seq == 0
         and p.ack == (q.seq + 1) % 2**32, "expected the server's RST+ACK to a plain SYN", p)
    return ("closed_port", "endpoint",
            f"kernel of the server answers a SYN to port {p.sport} (no listener): R. seq 0 ack ISN+1, "
            f"TTL {p.ttl} like the server's other packets", "kernel")


def r_firewall_reject(c, p):
    q = c.prev_from_peer(p)
    base = [x.ttl for x in c.pkts if x.src == p.src and not x.rst]
    need(c.role(p.src) == "server" and q is not None and q.flags == "S" and p.ttl not in base,
         "expected a RST in the server's name answering a SYN with a TTL unlike the server's", p)
    return ("firewall_reject", "middlebox",
            f"router iptables REJECT --reject-with tcp-reset forges the answer to the SYN for port {p.sport} "
            f"(the server listens there): TTL {p.ttl} vs the server's {sorted(set(base))}", "kernel")


def r_firewall_reject_nobaseline(c, p):
    q = c.prev_from_peer(p)
    earlier = [x for x in c.before(p) if x.src == p.src]
    need(c.role(p.src) == "server" and q is not None and q.flags == "S" and not earlier,
         "expected a RST in the server's name answering a SYN, with no earlier packet from the server", p)
    return ("firewall_reject", "middlebox",
            f"router iptables REJECT --reject-with tcp-reset forges the answer to the SYN for port {p.sport}; "
            f"nothing from the server came before, so there is no TTL of its own to compare TTL {p.ttl} with",
            "kernel")


def r_backlog_overflow(c, p):
    q = c.prev_from_peer(p)
    data = [x for x in c.flow(p) if x.len > 0]
    need(c.role(p.src) == "server" and q is not None and q.flags == "." and not data and p.flags == "R"
         and p.seq == q.ack, "expected the server's RST (seq = ack) to the handshake-completing ACK", p)
    return ("backlog_overflow", "endpoint",
            "accept queue full (backlog 0, never accepted, tcp_abort_on_overflow=1): the server kernel resets "
            "the handshake-completing ACK, no data exchanged", "kernel")


def r_malformed_syn(c, p):
    m = c.crafted_match(p)
    if m is not None and p.syn:
        return ("malformed_syn", "endpoint",
                f"the crafted SYN itself carries RST [{p.flags}] (a RST packet on the wire); Linux drops it silently, "
                "listener or not", "scapy")
    q = c.prev_from_peer(p)
    need(c.role(p.src) == "server" and q is not None and q.syn and (q.fl & ~0x02) and c.crafted_match(q),
         "expected a RST answering a crafted SYN with extra flags", p)
    return ("malformed_syn", "endpoint",
            f"crafted SYN with illegal flags [{q.flags}] to port {p.sport} (no listener) answered by the server "
            f"kernel (ack = seq + SYN + FIN + len); Linux listeners drop SYN+FIN/SYN+RST silently", "kernel")


def r_time_wait_reuse(c, p):
    q = c.prev_from_peer(p)
    fl = c.flow(p)
    syns = [x for x in fl if x.flags == "S" and x.src == c.addr["client"]]
    need(c.role(p.src) == "client" and q is not None and q.flags == "." and p.flags == "R" and p.seq == q.ack
         and len(syns) >= 2 and syns[0].frame < q.frame, "expected client RST to the TIME_WAIT socket's ACK", p)
    return ("time_wait_reuse", "endpoint",
            "new SYN on the 4-tuple the server still holds in TIME_WAIT (ISN below its rcv_nxt): the TIME_WAIT "
            "socket answers with an ACK, the connecting client resets it (seq = that ack)", "kernel")


def r_scan(kind):
    def rule(c, p):
        if c.role(p.src) == "server":
            return r_closed_port(c, p)
        q = c.prev_from_peer(p)
        need(c.role(p.src) == "client" and q is not None and q.flags == "S.", "expected scanner RST", p)
        fl = c.flow(p)
        if kind == "syn_scan":
            need(p.flags == "R" and not any(x.flags == "." and x.src == p.src for x in fl if x.frame < p.frame),
                 "syn scan: RST without ACK, no handshake-completing ACK", p)
            return ("syn_scan", "endpoint",
                    "nmap -sS half-open probe: the scanner (nmap's raw RST or the client kernel's RST for a SYN-ACK "
                    "it has no socket for) resets instead of completing the handshake", "kernel")
        return ("connect_scan", "endpoint",
                "nmap -sT: the handshake completed and the scanner reset at once with no data", "kernel")
    return rule


def r_scan_connect(c, p):
    if c.role(p.src) == "server":
        return r_closed_port(c, p)
    fl = c.flow(p)
    need(c.role(p.src) == "client" and any(x.flags == "." and x.src == p.src for x in fl if x.frame < p.frame)
         and not any(x.len for x in fl), "connect scan: handshake completed, no data, then RST", p)
    return ("connect_scan", "endpoint",
            "nmap -sT full-connect probe: handshake completed, the scanner resets at once with no data", "kernel")


def r_app_abort(side):
    def rule(c, p):
        q = c.prev_from_peer(p)
        need(c.role(p.src) == side and p.flags == "R." and any(x.len for x in c.flow(p))
             and q is not None and p.seq == q.ack, f"expected {side} RST+ACK mid-stream at its snd_nxt", p)
        return ("app_abort", "endpoint",
                f"{side} application closes with SO_LINGER {{1,0}} mid-stream: RST+ACK at its next sequence "
                "number, nothing in flight", "kernel")
    return rule


def r_idle_timeout(c, p):
    prev = [x for x in c.flow(p) if x.frame < p.frame]
    gap = p.t - prev[-1].t
    need(c.role(p.src) == "server" and p.flags == "R." and gap >= 2.5, "expected RST after >= 2.5 s idle", p)
    return ("idle_timeout", "endpoint",
            f"server application aborts (SO_LINGER 0) after {gap:.1f} s without traffic; idle threshold for this "
            "fixture is 2 s", "kernel")


def r_stale_connection(c, p):
    q = c.prev_from_peer(p)
    need(c.role(p.src) == "server" and p.flags == "R" and q is not None and q.len > 0 and p.seq == q.ack,
         "expected server RST (no ACK, seq = ack of the client's data)", p)
    return ("stale_connection", "endpoint",
            "the server's socket was destroyed (ss -K, its RST dropped locally): the client's next data meets no "
            "TCB and the server kernel answers RST seq = segment's ack, no ACK flag", "kernel")


def r_teardown_reset(c, p):
    fl = c.flow(p)
    q = c.prev_from_peer(p)
    need(c.role(p.src) == "server" and any(x.fin and x.src == p.src for x in fl if x.frame < p.frame)
         and q is not None and q.len > 0, "expected server RST to data sent after the server's FIN", p)
    return ("teardown_reset", "endpoint",
            "the server closed (FIN) and the half-closed client kept sending: data arriving after close is "
            "answered by a RST from the server's kernel", "kernel")


def r_retransmission_timeout(c, p):
    fl = [x for x in c.flow(p) if x.frame < p.frame and x.src == p.src and x.len > 0]
    seqs = [x.seq for x in fl]
    rep = max((seqs.count(s) for s in set(seqs)), default=0)
    need(c.role(p.src) == "client" and rep >= 3, "expected client RST after >= 3 transmissions of one segment", p)
    return ("retransmission_timeout", "endpoint",
            f"path blackholed mid-stream; the client sent the same segment {rep} times unacknowledged, then its "
            "application aborted (SO_LINGER 0). Linux itself gives up on tcp_retries2 without a RST", "kernel")


def r_injected_reset(c, p):
    if c.role(p.src) == "server":
        q = c.prev_from_peer(p)
        base = [x.ttl for x in c.pkts if x.src == p.src and not x.rst]
        need(q is not None and q.len > 0 and p.flags == "R" and p.ttl not in base,
             "expected the router's RST in the server's name after the BLOCKME segment", p)
        return ("injected_reset", "middlebox",
                f"router rule -m string BLOCKME -j REJECT --reject-with tcp-reset answers the client's request in the "
                f"server's name: no ACK flag, TTL {p.ttl} vs the server's {sorted(set(base))}; the server keeps "
                "sending afterwards", "kernel")
    q = c.prev_from_peer(p)
    need(c.role(p.src) == "client" and p.flags == "R" and q is not None and q.len > 0 and p.seq == q.ack,
         "expected the client's RST to server data arriving after the injected RST", p)
    return ("stale_connection", "endpoint",
            "the client's TCB was torn down by the injected RST; the server, which never saw it, keeps sending and "
            "the client kernel answers that data with RST seq = its ack, no ACK flag", "kernel")


def r_reset_attack(c, p):
    m = c.crafted_match(p)
    need(m is not None and m["kind"].startswith("reset_attack"), "expected a crafted attack RST", p)
    return ("reset_attack", "spoofed",
            f"forged by the off-path attacker in the server's name ({m['kind'].split('/')[1]}, seq never exactly "
            "rcv_nxt); the connection continues afterwards", "scapy")


def r_unsolicited(c, p):
    q = c.prev_from_peer(p)
    if c.role(p.src) == "client":
        need(q is not None and q.flags == "S." and c.crafted_match(q) and p.flags == "R" and p.seq == q.ack,
             "expected the client's RST to the crafted SYN-ACK", p)
        return ("unsolicited", "endpoint",
                "backscatter: the client kernel answers a SYN-ACK it never asked for (forged from the blackholed "
                f"{p.dst}) with RST seq = its ack", "kernel")
    need(c.role(p.src) == "server" and len(c.flow(p)) == 1, "expected a lone RST of a pre-capture flow", p)
    return ("unsolicited", "unknown",
            "the flow started before the capture: its only packet seen is this server RST (a SO_LINGER 0 abort "
            "in reality), no context to judge the sender", "kernel")


def r_time_wait_assassination(c, p):
    fl = c.flow(p)
    q = c.prev_from_peer(p)
    fins = [x for x in fl if x.fin and x.frame < p.frame]
    need(c.role(p.src) == "server" and len({x.src for x in fins}) == 2 and q is not None and q.flags == "."
         and p.flags == "R" and p.seq == q.ack, "expected server RST to the TIME_WAIT's ACK of the old duplicate", p)
    return ("time_wait_assassination", "endpoint",
            "both FINs and the last ACK seen; a (crafted) old duplicate of the server's data hits the client's "
            "TIME_WAIT socket, which ACKs it; the server, connection gone, resets that ACK and the RST kills the "
            "TIME_WAIT (RFC 1337, tcp_rfc1337=0)", "kernel")


RULES = {
    "closed_port": r_closed_port,
    "firewall_reject": r_firewall_reject,
    "firewall_reject_nobaseline": r_firewall_reject_nobaseline,
    "backlog_overflow": r_backlog_overflow,
    "malformed_syn": r_malformed_syn,
    "time_wait_reuse": r_time_wait_reuse,
    "syn_scan": r_scan("syn_scan"),
    "connect_scan": r_scan_connect,
    "app_abort_client": r_app_abort("client"),
    "app_abort_server": r_app_abort("server"),
    "idle_timeout": r_idle_timeout,
    "stale_connection": r_stale_connection,
    "teardown_reset": r_teardown_reset,
    "retransmission_timeout": r_retransmission_timeout,
    "injected_reset": r_injected_reset,
    "reset_attack": r_reset_attack,
    "unsolicited": r_unsolicited,
    "time_wait_assassination": r_time_wait_assassination,
}

def acceptable(c, p, cause, origin):
    """Other verdicts that are also right for RST `p`: with no earlier packet from its sender in the
    capture there is nothing to tell the host's own answer from one made in its name (a router's REJECT
    is byte for byte a closed port's), so origin `unknown` is as right as the label's."""
    fits = origin == "endpoint" or (cause, origin) == ("firewall_reject", "middlebox")
    if fits and not [x for x in c.before(p) if x.src == p.src and not x.rst]:
        alts = [f"{cause}/unknown"]
        if cause == "firewall_reject":
            alts.append("closed_port/unknown")
        return alts
    return []


def relabel(d):
    """Adds `acceptable` to the committed labels of every fixture in `d` (packet facts unchanged)."""
    for f in sorted(os.listdir(d)):
        if not f.endswith(".expected.json"):
            continue
        path = os.path.join(d, f)
        doc = json.load(open(path))
        pkts = read(os.path.join(d, doc["scenario"] + ".pcap"))
        c = Ctx(pkts, {}, [])
        by_frame = {p.frame: p for p in pkts}
        for lab in doc["rsts"]:
            alts = acceptable(c, by_frame[lab["frame"]], lab["cause"], lab["origin"])
            lab.pop("acceptable", None)
            if alts:
                lab["acceptable"] = alts
        with open(path, "w") as out:
            json.dump(doc, out, indent=2)
            out.write("\n")


DESCRIPTIONS = {}
NOTES = {}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name", nargs="?")
    ap.add_argument("pcap", nargs="?")
    ap.add_argument("--acceptable", metavar="FIXTURE_DIR", help="add `acceptable` to committed labels")
    ap.add_argument("--dump", action="store_true")
    ap.add_argument("--run")
    ap.add_argument("--out")
    ap.add_argument("--capture-point", default="")
    ap.add_argument("--config", default="{}")
    ap.add_argument("--addr", action="append", default=[])
    ap.add_argument("--description", default="")
    a = ap.parse_args()
    if a.acceptable:
        relabel(a.acceptable)
        return
    pkts = read(a.pcap)
    if a.dump:
        for p in pkts:
            print(p)
        return
    addr = dict(x.split("=", 1) for x in a.addr)
    crafted = []
    cpath = os.path.join(a.run, "crafted.jsonl")
    if os.path.exists(cpath):
        crafted = [json.loads(line) for line in open(cpath) if line.strip()]
    for p in pkts:
        print("   ", ("RST " if p.rst else "    ") + repr(p), file=sys.stderr)
    c = Ctx(pkts, addr, crafted)
    base = a.name.rsplit("_v", 1)[0]
    rule = RULES[base]
    rsts = [p for p in pkts if p.rst]
    if not rsts:
        raise SystemExit(f"{a.name}: no RST in the capture")
    labels = []
    for i, p in enumerate(rsts):
        try:
            cause, origin, why, gen = rule(c, p)
        except Mismatch as e:
            raise SystemExit(f"{a.name}: RST #{i} does not fit the scenario: {e}")
        labels.append(dict(index=i, frame=p.frame, src=p.ep("src"), dst=p.ep("dst"), seq=p.seq, ack=p.ack,
                           flags=p.flags, ttl=p.ttl, cause=cause, origin=origin, generated_by=gen, why=why))
        alts = acceptable(c, p, cause, origin)
        if alts:
            labels[-1]["acceptable"] = alts
    size = os.path.getsize(a.pcap)
    if size > 50_000:
        raise SystemExit(f"{a.name}: capture too big ({size} bytes)")
    crafted_any = bool(crafted)
    meta = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenarios.json")))[base]
    doc = dict(
        scenario=a.name,
        description=meta["description"],
        capture_point=a.capture_point,
        ip_version=6 if a.name.endswith("_v6") else 4,
        crafted=crafted_any,
        crafted_packets=[f"{x['kind']}: {x['flags']} {x['src']}:{x['sport']} > {x['dst']}:{x['dport']} seq={x['seq']}"
                         for x in crafted],
        kernel_notes=meta.get("notes", ""),
        config=json.loads(a.config),
        packets=len(pkts),
        rsts=labels,
    )
    shutil.copyfile(a.pcap, os.path.join(a.out, a.name + ".pcap"))
    with open(os.path.join(a.out, a.name + ".expected.json"), "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    for lab in labels:
        print(f"  RST #{lab['index']} {lab['src']} > {lab['dst']} [{lab['flags']}] seq={lab['seq']} "
              f"ack={lab['ack']} ttl={lab['ttl']} -> {lab['cause']}/{lab['origin']}", file=sys.stderr)


if __name__ == "__main__":
    main()
