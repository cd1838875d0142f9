#!/usr/bin/env python3
"""Writes the link-layer and UDP-tunnel fixtures of test/fixtures/packet/ (link-*.pcap, tunnel-*.pcap):
one small capture per link type and tunnel rstwatch reads beyond the kernel-made ones, each a short TCP
exchange (SYN, SYN/ACK, data, RST with a reason) built with scapy and framed by hand, so that tshark, the
oracle of test/packet/oracle.test.ts, can check every field. Deterministic: rerunning rewrites the same
bytes.   python3 test/packet/make-link-captures.py   (needs python3-scapy: infra/test-prereqs.sh)"""
import os
import struct
import sys

from scapy.all import IP, TCP, UDP, IPv6, Raw, raw

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "packet")
T0 = 1_700_000_000


def exchange(v6=False, src=None, dst=None):
    """Four TCP packets as raw IP bytes."""
    L3 = IPv6 if v6 else IP
    a = src or ("2001:db8::1" if v6 else "198.18.1.1")
    b = dst or ("2001:db8::2" if v6 else "198.18.1.2")
    opts = [("MSS", 1400), ("SAckOK", b""), ("Timestamp", (100, 0)), ("WScale", 7)]
    pk = [
        L3(src=a, dst=b) / TCP(sport=40001, dport=80, flags="S", seq=1000, options=opts),
        L3(src=b, dst=a) / TCP(sport=80, dport=40001, flags="SA", seq=5000, ack=1001, options=opts),
        L3(src=a, dst=b) / TCP(sport=40001, dport=80, flags="PA", seq=1001, ack=5001) / Raw(b"GET / HTTP/1.0\r\n\r\n"),
        L3(src=b, dst=a) / TCP(sport=80, dport=40001, flags="RA", seq=5001, ack=1019) / Raw(b"connection refused by policy"),
    ]
    return [raw(p) for p in pk]


def write(name, linktype, frames):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", T0 + i, 1000 * i, len(fr), len(fr)))
            f.write(fr)


def eth(etype, payload):
    return bytes.fromhex("020000000002020000000001") + struct.pack("!H", etype) + payload


def ipv4_udp(sport, dport, payload):
    return eth(0x0800, raw(IP(src="198.18.9.1", dst="198.18.9.2") / UDP(sport=sport, dport=dport) / Raw(payload)))


SNAP = lambda etype: bytes([0xAA, 0xAA, 0x03, 0, 0, 0]) + struct.pack("!H", etype)


def main():
    v4, v6 = exchange(), exchange(v6=True)
    # FDDI: frame control, two MACs, 802.2 LLC/SNAP.
    write("link-fddi.pcap", 10, [b"\x50" + b"\x00\x11\x22\x33\x44\x55" * 2 + SNAP(0x0800) + p for p in v4])
    # 802.11 data frames (one QoS data with a 4-address header), LLC/SNAP.
    hdr = bytes([0x08, 0x01, 0, 0]) + b"\x02\x00\x00\x00\x00\x01" * 3 + b"\x00\x00"
    qos4 = bytes([0x88, 0x03, 0, 0]) + b"\x02\x00\x00\x00\x00\x01" * 3 + b"\x00\x00" + b"\x02\x00\x00\x00\x00\x02" + b"\x00\x00"
    w = [hdr + SNAP(0x0800) + p for p in v4[:2]] + [qos4 + SNAP(0x0800) + p for p in v4[2:]]
    write("link-ieee802-11.pcap", 105, w)
    # Radiotap: 8-byte header with no fields, then the same 802.11 frames.
    write("link-radiotap.pcap", 127, [bytes([0, 0, 8, 0, 0, 0, 0, 0]) + f for f in w])
    # NFLOG: AF_INET6, version 0, resource id; a prefix TLV (padded), then the payload TLV.
    def nflog(fam, p):
        prefix = struct.pack("<HH", 4 + 5, 10) + b"drop\x00" + b"\x00" * 3
        return bytes([fam, 0, 0, 1]) + prefix + struct.pack("<HH", 4 + len(p), 9) + p + b"\x00" * (-len(p) % 4)
    write("link-nflog.pcap", 239, [nflog(10, p) for p in v6])
    write("link-null.pcap", 0, [struct.pack("<I", 2) + p for p in v4])
    write("link-loop.pcap", 108, [struct.pack("!I", 24) + p for p in v6])
    # PPP with HDLC address/control for IPv4, without them for IPv6.
    write("link-ppp.pcap", 9, [b"\xff\x03\x00\x21" + p for p in v4] + [b"\x00\x57" + p for p in v6])
    write("link-ppp-hdlc.pcap", 50, [b"\xff\x03\x00\x21" + p for p in v4])
    write("link-raw.pcap", 101, v4 + v6)
    write("link-ipv4.pcap", 228, v4)
    write("link-ipv6.pcap", 229, v6)
    # GTP-U G-PDUs: on 2152, and uplink from another port to 2152, and one on two unregistered ports.
    gtp = lambda p, teid=7: bytes([0x30, 0xFF]) + struct.pack("!HI", len(p), teid) + p
    write("tunnel-gtpu.pcap", 1, [ipv4_udp(2152, 2152, gtp(v4[0])), ipv4_udp(2152, 5906, gtp(v4[1])),
                                   ipv4_udp(5906, 2152, gtp(v4[2])), ipv4_udp(40000, 40001, gtp(v4[3]))])
    # Teredo: IPv6 between Teredo addresses (2001:0::/32), one with an origin indication, one on 3544.
    t6 = exchange(v6=True, src="2001:0:4136:e378:8000:63bf:3fff:fdd2", dst="2001:db8::2")
    origin = b"\x00\x00" + b"\xff\xfe" + b"\x3f\xff\xff\xfe"
    write("tunnel-teredo.pcap", 1, [ipv4_udp(3544, 40000, t6[0]), ipv4_udp(40000, 3797, t6[1]),
                                     ipv4_udp(3797, 40000, origin + t6[2]), ipv4_udp(40000, 3797, t6[3])])
    # AYIYA: identity 2^1 = 2 bytes... (id len nibble 4 -> 16 bytes), SHA-1 signature (5 words), opcode 1.
    ay = lambda nh, p: bytes([0x41, 0x52, 0x11, nh]) + b"\x00" * 4 + b"\x11" * 16 + b"\x22" * 20 + p
    write("tunnel-ayiya.pcap", 1, [ipv4_udp(5072, 40000, ay(41, v6[0])), ipv4_udp(40000, 5072, ay(41, v6[1])),
                                    ipv4_udp(41000, 40000, ay(4, v4[2])), ipv4_udp(40000, 41000, ay(4, v4[3]))])
    print("make-link-captures: written to", os.path.normpath(OUT), file=sys.stderr)


if __name__ == "__main__":
    main()
