#!/usr/bin/env python3
"""mkhostile.py OUT.pcap [clients]: captures for the HTML report's tests.
Default: names, Host header, reason phrase and Server header carrying
markup, quotes and ampersands: one client asks a resolver for two hostile
names (both NXDOMAIN) and fetches a page over plain HTTP that answers 503
with a hostile reason phrase and Server header.
clients: a service failing for some clients only: AFFECTED's lookups of
open.spotify.com are answered SERVFAIL, OTHER's are answered. Standard
library only."""
import struct
import sys

CLIENT, RESOLVER, SERVER = "192.168.50.2", "203.0.113.53", "198.51.100.60"
MAC_C, MAC_G = b"\x02\x00\x00\x00\x00\x02", b"\x02\x00\x00\x00\x00\x01"

NAMES = ['<script>alert("n1")</script>.spotify.com',
         "<img src=x onerror=alert('n2')>.evil'&\"example.com"]
HOST = '<svg onload=alert("h")>.spotify.com'
REASON = '<script>alert("r")</script> & "quoted" \'single\''
SERVER_HDR = '"><script>alert("s")</script><b x=\''


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def a4(s):
    return bytes(int(x) for x in s.split("."))


def ip4(src, dst, proto, payload, ipid):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ipid, 0x4000, 64, proto, 0, a4(src), a4(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def l4sum(src, dst, proto, seg):
    return csum(a4(src) + a4(dst) + struct.pack("!BBH", 0, proto, len(seg)) + seg)


def udp(src, dst, sport, dport, data, ipid):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    seg = seg[:6] + struct.pack("!H", l4sum(src, dst, 17, seg)) + seg[8:]
    return ip4(src, dst, 17, seg, ipid)


def tcp(src, dst, sport, dport, seq, ack, flags, data, ipid):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + data
    seg = seg[:16] + struct.pack("!H", l4sum(src, dst, 6, seg)) + seg[18:]
    return ip4(src, dst, 6, seg, ipid)


def eth(pkt, to_gw):
    return (MAC_G + MAC_C if to_gw else MAC_C + MAC_G) + b"\x08\x00" + pkt


def qname(name):
    out = b""
    for label in name.split("."):
        b = label.encode()
        out += bytes([len(b)]) + b
    return out + b"\0"


def dns(txid, name, response):
    flags = 0x8183 if response else 0x0100  # NXDOMAIN, recursion
    q = qname(name) + struct.pack("!HH", 1, 1)
    return struct.pack("!HHHHHH", txid, flags, 1, 0, 0, 0) + q


AFFECTED, OTHER = "192.168.50.7", "192.168.50.8"


def dns_answer(txid, name, rcode):
    q = qname(name) + struct.pack("!HH", 1, 1)
    if rcode:
        return struct.pack("!HHHHHH", txid, 0x8180 | rcode, 1, 0, 0, 0) + q
    return (struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + q +
            struct.pack("!HHHIH4s", 0xc00c, 1, 1, 60, 4, a4("198.51.100.10")))


def clients(out):
    t, recs = 1764360000.0, []
    for i in range(6):
        for j, cli in enumerate((AFFECTED, OTHER)):
            txid = 0x2000 + 2 * i + j
            q = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + qname("open.spotify.com") + struct.pack("!HH", 1, 1)
            t += 0.2
            recs.append((t, eth(udp(cli, RESOLVER, 42000 + i, 53, q, 50 + i), True)))
            t += 0.003
            recs.append((t, eth(udp(RESOLVER, cli, 53, 42000 + i, dns_answer(txid, "open.spotify.com", 2 if cli == AFFECTED else 0), 60 + i), False)))
    write(out, recs)


def write(out, recs):
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for ts, fr in recs:
            f.write(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(fr), len(fr)) + fr)


def main(out):
    t = [1764360000.0]
    recs = []

    def add(frame, dt=0.01):
        t[0] += dt
        recs.append((t[0], frame))

    for i, name in enumerate(NAMES):
        add(eth(udp(CLIENT, RESOLVER, 40000 + i, 53, dns(0x1000 + i, name, False), 10 + i), True))
        add(eth(udp(RESOLVER, CLIENT, 53, 40000 + i, dns(0x1000 + i, name, True), 20 + i), False), 0.002)
    C, S = 1000, 5000
    req = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: test\r\n\r\n" % HOST).encode()
    resp = ("HTTP/1.1 503 %s\r\nServer: %s\r\nContent-Length: 0\r\n\r\n" % (REASON, SERVER_HDR)).encode()
    add(eth(tcp(CLIENT, SERVER, 41000, 80, C, 0, 0x02, b"", 30), True))
    add(eth(tcp(SERVER, CLIENT, 80, 41000, S, C + 1, 0x12, b"", 40), False), 0.001)
    add(eth(tcp(CLIENT, SERVER, 41000, 80, C + 1, S + 1, 0x10, b"", 31), True), 0.001)
    add(eth(tcp(CLIENT, SERVER, 41000, 80, C + 1, S + 1, 0x18, req, 32), True), 0.001)
    add(eth(tcp(SERVER, CLIENT, 80, 41000, S + 1, C + 1 + len(req), 0x18, resp, 41), False), 0.002)
    add(eth(tcp(CLIENT, SERVER, 41000, 80, C + 1 + len(req), S + 1 + len(resp), 0x11, b"", 33), True), 0.001)
    add(eth(tcp(SERVER, CLIENT, 80, 41000, S + 1 + len(resp), C + 2 + len(req), 0x11, b"", 42), False), 0.001)
    add(eth(tcp(CLIENT, SERVER, 41000, 80, C + 2 + len(req), S + 2 + len(resp), 0x10, b"", 34), True), 0.001)
    write(out, recs)


if __name__ == "__main__":
    clients(sys.argv[1]) if sys.argv[2:] == ["clients"] else main(sys.argv[1])
