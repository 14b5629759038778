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
# A tiny pcap: header and one record cut short.
hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
rec = eth + ip + b"\x13\x88\x00\x35\x00\x08\x00\x00"
put("pcap", "one", hdr + struct.pack("<IIII", 1, 0, len(rec), len(rec)) + rec)
put("pcap", "cut", hdr + struct.pack("<IIII", 1, 0, 500000, 500000) + rec)

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
