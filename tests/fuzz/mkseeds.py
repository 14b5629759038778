#!/usr/bin/env python3
"""mkseeds.py: writes the hand-made seed inputs of tests/fuzz/corpus/ (run
once; the files are kept). Conversation targets take chunks
[len:1][flags:1][bytes], flags bit 0 = from the server."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as fh:
        fh.write(data)


def chunk(data, server=False, flags=0):
    out = b""
    while True:
        part, data = data[:255], data[255:]
        out += bytes([len(part), flags | (1 if server else 0)]) + part
        if not data:
            return out


def qname(n):
    return b"".join(bytes([len(l)]) + l.encode() for l in n.split(".")) + b"\0"


def dns(qid, resp, rcode, name, answers=()):
    m = struct.pack("!HHHHHH", qid, (0x8180 | rcode) if resp else 0x0100, 1, len(answers), 0, 0)
    m += qname(name) + struct.pack("!HH", 1, 1)
    for a in answers:
        m += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + bytes(a)
    return m


q = dns(1, 0, 0, "open.spotify.com")
put("dns", "nxdomain", chunk(q) + chunk(dns(1, 1, 3, "open.spotify.com"), True))
put("dns", "injection", chunk(q) + chunk(dns(1, 1, 0, "open.spotify.com", [(10, 0, 0, 1)]), True)
    + chunk(dns(1, 1, 0, "open.spotify.com", [(198, 51, 100, 10)]), True))
put("dns", "timeout", chunk(q) + chunk(b"", False, 0x40) + chunk(dns(2, 0, 0, "x.org")))
put("dns", "loop", chunk(q) + chunk(b"\x00\x01\x81\x83\x00\x01\x00\x01\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01", True))
tq = struct.pack("!H", len(q)) + q
tr = dns(1, 1, 2, "open.spotify.com")
put("dnstcp", "split", chunk(b"") + chunk(b"", True) + chunk(tq[:5]) + chunk(tq[5:])
    + chunk(struct.pack("!H", len(tr)) + tr, True))


def hs(t, body):
    m = bytes([t]) + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack("!H", len(m)) + m


sni = b"open.spotify.com"
ext = struct.pack("!HHHBH", 0, len(sni) + 5, len(sni) + 3, 0, len(sni)) + sni
ch = hs(1, b"\x03\x03" + b"\x07" * 32 + b"\x00" + b"\x00\x02\xc0\x2f\x01\x00" + struct.pack("!H", len(ext)) + ext)
sh = hs(2, b"\x03\x03" + b"\x09" * 32 + b"\x00\xc0\x2f\x00\x00\x00")
put("tls", "alert", chunk(b"") + chunk(b"", True) + chunk(ch) + chunk(b"\x15\x03\x03\x00\x02\x02\x46", True))
put("tls", "hello-cert", chunk(b"") + chunk(b"", True) + chunk(ch) + chunk(sh + hs(11, b"\x00\x00\x06\x00\x00\x03\x30\x01\x00"), True))
put("http", "503", chunk(b"") + chunk(b"", True) + chunk(b"GET / HTTP/1.1\r\nHost: www.netflix.com\r\n\r\n")
    + chunk(b"HTTP/1.1 503 Service Unavailable\r\nServer: x\r\nContent-Length: 3\r\n\r\nabc", True))
put("http", "chunked", chunk(b"") + chunk(b"", True) + chunk(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    + chunk(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nHTTP/1.1 502 Bad\r\n\r\n", True))
eth = b"\x00" * 12 + b"\x08\x00"
ip = bytes([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
put("decode", "udp", b"\x01" + eth + ip + b"\x13\x88\x00\x35\x00\x08\x00\x00")
put("decode", "vlan", b"\x01" + b"\x00" * 12 + b"\x81\x00\x00\x64\x08\x00" + ip + b"\x13\x88\x00\x35\x00\x08\x00\x00")
put("decode", "icmp", b"\x01" + eth + bytes([0x45, 0, 0, 56, 0, 0, 0, 0, 64, 1, 0, 0, 10, 0, 0, 2, 10, 0, 0, 1])
    + b"\x03\x03\x00\x00\x00\x00\x00\x00" + ip + b"\x13\x88\x00\x35\x00\x08\x00\x00")
put("decode", "ipv6-frag", b"\x01" + b"\x00" * 12 + b"\x86\xdd" + bytes([0x60, 0, 0, 0, 0, 16, 44, 64]) + b"\x20\x01" + b"\x00" * 14
    + b"\x20\x01" + b"\x00" * 13 + b"\x02" + bytes([17, 0, 0, 1, 0, 0, 0, 1]) + b"\x13\x88\x00\x35\x00\x08\x00\x00")
# A SYN with every option kind panne notes, and one whose last option's
# length runs past the header.
opts = b"\x02\x04\x05\xb4\x01\x03\x03\x07\x04\x02\x08\x0a" + b"\x00" * 8 + b"\x01\x01\x1e\x09"
tcp = struct.pack("!HHIIBBHHH", 5000, 443, 1, 0, (20 + len(opts)) // 4 << 4, 0x02, 65535, 0, 0) + opts
ipt = bytes([0x45, 0, 0, 20 + len(tcp), 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2])
put("decode", "tcp-syn-options", b"\x01" + eth + ipt + tcp)
# A tiny pcap: header and one record cut short.
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
rec = eth + ip + b"\x13\x88\x00\x35\x00\x08\x00\x00"
put("pcap", "one", hdr + struct.pack("<IIII", 1, 0, len(rec), len(rec)) + rec)
put("pcap", "cut", hdr + struct.pack("<IIII", 1, 0, 500000, 500000) + rec)


# Encapsulations for the decode target (first byte: index into fuzz_decode.c's
# link types: 1 Ethernet, 12 PPP, 13 PPP in HDLC framing, 14 PPPoE, 15 PPP
# with direction), built from the inside out.
def ip4(proto, payload, src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x02"):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, src, dst) + payload


def ip6(nh, payload):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + b"\x20\x01" + b"\x00" * 14 \
        + b"\x20\x01" + b"\x00" * 13 + b"\x02" + payload


def udp(sp, dp, payload):
    return struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload


def ether(et, payload, tags=()):
    return b"\x02" * 12 + b"".join(struct.pack("!HH", t, v) for t, v in tags) + struct.pack("!H", et) + payload


def pppoe(proto, payload, sid=0x11):
    body = struct.pack("!H", proto) + payload
    return struct.pack("!BBHH", 0x11, 0, sid, len(body)) + body


dnsq = udp(40000, 53, q)
in4 = ip4(17, dnsq)
in6 = ip6(17, dnsq)
put("decode", "pppoe-qinq", b"\x01" + ether(0x8864, pppoe(0x21, in4), [(0x88a8, 100), (0x8100, 200)]))
put("decode", "pppoe-ipv6", b"\x01" + ether(0x8864, pppoe(0x57, in6)))
put("decode", "pppoe-lcp", b"\x01" + ether(0x8864, pppoe(0xc021, b"\x01\x01\x00\x04")))
put("decode", "pppoe-discovery", b"\x01" + ether(0x8863, b"\x11\x09\x00\x00\x00\x04\x01\x01\x00\x00"))
put("decode", "ppp", bytes([12]) + b"\x00\x21" + in4)
put("decode", "ppp-hdlc", bytes([13]) + b"\xff\x03\x00\x57" + in6)
put("decode", "cisco-hdlc", bytes([13]) + b"\x0f\x00\x08\x00" + in4)
put("decode", "ppp-ether", bytes([14]) + pppoe(0x21, in4))
put("decode", "ppp-dir", bytes([15]) + b"\x01\xff\x03\x21" + in4)
put("decode", "mpls2", b"\x01" + ether(0x8847, struct.pack("!II", 254 << 12 | 64, 99 << 12 | 0x100 | 64) + in4,
                                       [(0x8100, 3399)]))
put("decode", "4in4", b"\x01" + ether(0x0800, ip4(4, in4)))
put("decode", "6in4", b"\x01" + ether(0x0800, ip4(41, in6)))
put("decode", "4in6", b"\x01" + ether(0x86dd, ip6(4, in4)))
put("decode", "6in6", b"\x01" + ether(0x86dd, ip6(41, in6)))
put("decode", "gre-key-seq", b"\x01" + ether(0x0800, ip4(47, struct.pack("!HHIII", 0xb000, 0x0800, 0, 7, 9) + in4)))
put("decode", "gre-teb", b"\x01" + ether(0x0800, ip4(47, struct.pack("!HH", 0, 0x6558) + ether(0x0800, in4, [(0x8100, 5)]))))
put("decode", "gre-in-gre", b"\x01" + ether(0x0800, ip4(47, struct.pack("!HH", 0, 0x0800) + ip4(47, struct.pack("!HH", 0, 0x0800) + in4))))
put("decode", "gre-routing", b"\x01" + ether(0x0800, ip4(47, struct.pack("!HHHH", 0x4000, 0x0800, 0, 0)
                                                             + b"\x00\x01\x00\x04abcd\x00\x00\x00\x00" + in4)))
put("decode", "gre-pptp", b"\x01" + ether(0x86dd, ip6(4, ip4(47, struct.pack("!HHHHI", 0x3081, 0x880b, 24, 7, 1) + b"\x00\x00\x00\x02"
                                                                 + b"\xff\x03\x00\x21" + in4)), [(0x8100, 100)]))
put("decode", "gre-erspan", b"\x01" + ether(0x0800, ip4(47, struct.pack("!HHI", 0x1000, 0x88be, 1) + b"\x10\x00\x00\x01\x00\x00\x00\x00")))
put("decode", "gre-udp", b"\x01" + ether(0x0800, ip4(17, udp(33333, 4754, struct.pack("!HH", 0, 0x0800) + in4))))
put("decode", "gre-mpls", b"\x01" + ether(0x0800, ip4(47, struct.pack("!HH", 0, 0x8847) + struct.pack("!I", 0x100 | 64) + in4)))
vx = lambda inner, vni=1: udp(50000, 4789, struct.pack("!II", 0x08000000, vni << 8) + ether(0x0800, inner))
put("decode", "vxlan", b"\x01" + ether(0x0800, ip4(17, vx(in4))))
put("decode", "vxlan-triple", b"\x01" + ether(0x0800, ip4(17, vx(ip4(17, vx(ip4(17, vx(in4))))))))
put("decode", "vxlan-arp", b"\x01" + ether(0x0800, ip4(17, udp(1, 4789, struct.pack("!II", 0x08000000, 0x100)
                                                          + ether(0x0806, b"\x00\x01\x08\x00\x06\x04\x00\x01")))))
put("decode", "geneve-options", b"\x01" + ether(0x0800, ip4(17, udp(47101, 6081, struct.pack("!BBHI", 2, 0, 0x6558, 4242 << 8)
                                                               + b"\x01\x02\x80\x01\xaa\xbb\xcc\xdd" + ether(0x0800, in4)))))
put("decode", "geneve-vxlan", b"\x01" + ether(0x0800, ip4(17, udp(2, 6081, struct.pack("!BBHI", 0, 0, 0x0800, 4242 << 8)
                                                             + ip4(17, vx(in4))))))
put("decode", "teredo-origin", b"\x01" + ether(0x0800, ip4(17, udp(3544, 50000, b"\x00\x00\xf4\x5b\x9c\x55\xf3\xa0" + in6))))
put("decode", "teredo-auth", b"\x01" + ether(0x0800, ip4(17, udp(50000, 3544, b"\x00\x01\x02\x03abxyz" + b"\x00" * 9 + in6))))
put("decode", "too-deep", b"\x01" + ether(0x0800, ip4(4, ip4(4, ip4(4, ip4(4, ip4(4, in4)))))))
put("decode", "lldp", b"\x01" + ether(0x88cc, b"\x02\x07\x04" + b"\x00" * 6))
put("decode", "gtpu-ext", b"\x01" + ether(0x0800, ip4(17, udp(5906, 2152, struct.pack("!BBHIHBB", 0x36, 0xff, len(in4) + 8, 0x760d3bb0, 1, 0, 0x85)
                                                          + b"\x01\x10\x00\x00" + in4))))
put("decode", "gtpu", b"\x01" + ether(0x0800, ip4(17, udp(2152, 2152, struct.pack("!BBHI", 0x30, 0xff, len(in6), 7) + in6))))
# QUIC: chunks [len:2][flags:1][bytes]; flags bit 0 from the server, bit 1
# frames the target seals into an Initial itself, bit 2 version 2, bit 6
# seven seconds later.
def qchunk(data, server=False, flags=0):
    return struct.pack("!HB", len(data), flags | (1 if server else 0)) + data


def crypto(off, data):
    return b"\x06" + qv(off) + qv(len(data)) + data


def qhs(t, body):
    return bytes([t]) + struct.pack("!I", len(body))[1:] + body


def qext(t, body):
    return struct.pack("!HH", t, len(body)) + body


def qv(v):
    return struct.pack("!H", 0x4000 | v) if v >= 64 else bytes([v])


qexts = (qext(0, struct.pack("!HBH", 14, 0, 11) + b"example.com") + qext(16, b"\x00\x03\x02h3")
         + qext(43, b"\x02\x03\x04"))
qch = qhs(1, b"\x03\x03" + b"\x07" * 32 + b"\x00\x00\x02\x13\x01\x01\x00" + struct.pack("!H", len(qexts)) + qexts)
qsh = qhs(2, b"\x03\x03" + b"\x09" * 32 + b"\x00\x13\x01\x00" + struct.pack("!H", 6) + qext(43, b"\x03\x04"))
for v, tag in ((0, "v1"), (4, "v2")):
    put("quic", "handshake-" + tag, qchunk(crypto(0, qch), False, 2 | v)
        + qchunk(b"\x02\x00\x00\x00\x00" + crypto(0, qsh), True, 2 | v))
    put("quic", "split-" + tag, qchunk(crypto(40, qch[40:]), False, 2 | v) + qchunk(crypto(0, qch[:40]), False, 2 | v))
    put("quic", "alert-" + tag, qchunk(crypto(0, qch), False, 2 | v)
        + qchunk(b"\x1c\x41\x78\x06\x05no h3", True, 2 | v))
    put("quic", "timeout-" + tag, qchunk(crypto(0, qch), False, 2 | v) + qchunk(crypto(0, qch), False, 0x42 | v)
        + qchunk(b"\x1c\x00\x00\x04idle", False, 0x42 | v))
dcid = bytes.fromhex("8394c8f03e515708")
vn = b"\xc5\x00\x00\x00\x00\x00\x08" + dcid + b"\xff\x00\x00\x1d\x1a\x2a\x3a\x4a"
put("quic", "vn", qchunk(crypto(0, qch), False, 2) + qchunk(vn, True))
retry = bytes.fromhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f0f2496ba")
put("quic", "retry", qchunk(crypto(0, qch), False, 2) + qchunk(retry, True) + qchunk(crypto(0, qch), False, 2))
