#!/usr/bin/python3
"""Crafted packets (scapy) for the cases the kernel cannot produce by itself.

Every packet sent is logged as one JSON line in RUN/crafted.jsonl so that label.py knows, as ground
truth, which packets of the capture were forged. Destinations are only 198.18.0.0/15 or
2001:db8::/32 (checked), counts are fixed and small. Run inside a network namespace.
"""

import argparse
import ipaddress
import json
import os
import random
import sys
import time

from scapy.all import IP, TCP, IPv6, Raw, conf, rdpcap, send  # noqa: E402

conf.verb = 0
ALLOWED = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32")]


def log(*a):
    print("[craft]", *a, file=sys.stderr, flush=True)


def l3(src, dst):
    for a in (src, dst):
        if not any(ipaddress.ip_address(a) in n for n in ALLOWED):
            raise SystemExit(f"refusing address outside the test ranges: {a}")
    return IPv6(src=src, dst=dst) if ":" in dst else IP(src=src, dst=dst)


class Sender:
    def __init__(self, run):
        self.path = os.path.join(run, "crafted.jsonl")

    def send(self, kind, src, dst, sport, dport, flags, seq, ack=0, payload=b"", window=8192):
        seq &= 0xFFFFFFFF
        ack &= 0xFFFFFFFF
        pkt = l3(src, dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, window=window)
        if payload:
            pkt = pkt / Raw(payload)
        send(pkt)
        rec = dict(kind=kind, src=src, dst=dst, sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                   len=len(payload), t=time.time())
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        log(kind, flags, f"{src}:{sport} > {dst}:{dport} seq={seq} ack={ack}")


def flow_state(pcap, client, server, port):
    """Read the capture so far: the client's rcv_nxt/snd_nxt/window for its connection to server:port."""
    pkts = rdpcap(pcap)
    st = dict(cport=None, rcv_nxt=None, snd_nxt=None, wscale=0, win=None, last_srv=None)
    for p in pkts:
        ip = p.getlayer(IP) or p.getlayer(IPv6)
        if ip is None or not p.haslayer(TCP):
            continue
        t = p[TCP]
        plen = len(bytes(t.payload))
        # strip Ethernet padding on tiny IPv4 frames
        if p.haslayer(IP):
            plen = p[IP].len - p[IP].ihl * 4 - t.dataofs * 4
        flags = int(t.flags)
        syn, fin = flags & 0x02, flags & 0x01
        if ip.src == client and ip.dst == server and t.dport == port:
            if syn and not (flags & 0x10):
                st["cport"] = t.sport
                for k, v in t.options:
                    if k == "WScale":
                        st["wscale"] = v
            if t.sport == st["cport"]:
                st["snd_nxt"] = (t.seq + plen + (1 if syn else 0) + (1 if fin else 0)) & 0xFFFFFFFF
                if not syn:
                    st["win"] = t.window << st["wscale"]
        elif ip.src == server and ip.dst == client and t.sport == port and t.dport == st["cport"]:
            st["rcv_nxt"] = (t.seq + plen + (1 if syn else 0) + (1 if fin else 0)) & 0xFFFFFFFF
            if plen > 0:
                st["last_srv"] = dict(seq=t.seq, ack=t.ack, payload=bytes(t.payload)[:plen], window=t.window)
    return st


def cmd_malformed(a, s):
    sp = 41001
    cases = [
        (a.open_port, "SF"),
        (a.open_port, "SR"),
        (a.open_port, "SU"),
        (a.closed_port, "SF"),
        (a.closed_port, "SR"),
        (a.closed_port, "FSPU"),
    ]
    for dport, flags in cases:
        s.send("malformed_syn", a.src, a.dst, sp, dport, flags, random.getrandbits(32), 0, window=64240)
        sp += 1
        time.sleep(0.15)


def cmd_attack(a, s):
    st = flow_state(a.pcap, a.client, a.server, a.port)
    log("oracle:", st)
    if st["rcv_nxt"] is None or st["cport"] is None:
        raise SystemExit("no connection in the capture")
    rn, ack = st["rcv_nxt"], st["snd_nxt"]
    win = st["win"] or 65535
    kw = dict(src=a.server, dst=a.client, sport=a.port, dport=st["cport"])
    # 1) far outside the receive window: silently discarded by the client
    s.send("reset_attack/out_of_window", flags="R", seq=rn + 0x80000000, **kw)
    time.sleep(0.6)
    # 2) inside the window but not exact: RFC 5961 challenge ACK from the client
    s.send("reset_attack/in_window", flags="R", seq=rn + min(1000, win // 2), **kw)
    time.sleep(0.6)
    # 3) blind stepping burst (never exactly rcv_nxt): seq = rcv_nxt + 3000 + k * 20000
    for k in range(6):
        s.send("reset_attack/stepping", flags="RA", seq=rn + 3000 + k * 20000, ack=ack, **kw)
        time.sleep(0.01)


def cmd_backscatter(a, s):
    s.send("unsolicited/syn_ack", a.spoofed, a.client, 443, a.port, "SA", random.getrandbits(32),
           random.getrandbits(32), window=64240)


def cmd_old_duplicate(a, s):
    st = flow_state(a.pcap, a.client, a.server, a.port)
    d = st["last_srv"]
    if not d:
        raise SystemExit("no server data segment to duplicate")
    log("duplicating", d)
    s.send("time_wait_assassination/old_duplicate", a.server, a.client, a.port, st["cport"], "PA",
           d["seq"], d["ack"], payload=d["payload"], window=d["window"])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["malformed", "attack", "backscatter", "old_duplicate"])
    p.add_argument("--run", required=True)
    p.add_argument("--src")
    p.add_argument("--dst")
    p.add_argument("--open-port", type=int, default=8080)
    p.add_argument("--closed-port", type=int, default=9)
    p.add_argument("--pcap")
    p.add_argument("--client")
    p.add_argument("--server")
    p.add_argument("--spoofed")
    p.add_argument("--port", type=int, default=8080)
    a = p.parse_args()
    s = Sender(a.run)
    globals()["cmd_" + a.cmd](a, s)


if __name__ == "__main__":
    main()
