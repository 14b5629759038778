#!/usr/bin/env python3
"""pcapng_gen.py OUTDIR: writes the pcapng files the reader suite, the
fuzz seeds and the gateway test read, each built block by block (standard
library only) so that what each holds is known from how it was made.

Files (OUTDIR/NAME.pcapng), and what each covers:
  two-links     two interfaces of different link types and snaplens
                (Ethernet 65535 "lan0", raw IPv4 96 "tun0"), in bursts
  tsresol       interfaces with if_tsresol 10^-6, 10^-9, 2^-20, 10^-3,
                and one with if_tsoffset
  sections      two sections of opposite byte order, each with its own
                interfaces and packets
  blocks        Simple Packet Blocks, an obsolete Packet Block, a Name
                Resolution Block, a Decryption Secrets Block, a custom
                block, an unknown block, an Interface Statistics Block
                (isb_ifdrop 5, isb_osdrop 2) and comments on packets
  gateway       a NAT gateway's two sides (WAN first, LAN second): DNS and
                one connection forwarded, the SYNs to 203.0.113.50:443
                dropped on the LAN side (see GATEWAY below)
  cut-*         gateway cut or broken at each place a block can break
"""
import os
import struct
import sys

LE, BE = "<", ">"


def pad4(b):
    return b + b"\0" * (-len(b) % 4)


def opt(e, code, val):
    return struct.pack(e + "HH", code, len(val)) + pad4(val)


def opts(e, items):
    if not items:
        return b""
    return b"".join(opt(e, c, v) for c, v in items) + struct.pack(e + "HH", 0, 0)


def block(e, btype, body):
    body = pad4(body)
    n = 12 + len(body)
    return struct.pack(e + "II", btype, n) + body + struct.pack(e + "I", n)


def shb(e, options=()):
    return block(e, 0x0A0D0D0A, struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + opts(e, options))


def idb(e, linktype, snaplen, name=None, tsresol=None, tsoffset=None, descr=None):
    o = []
    if name is not None:
        o.append((2, name.encode()))
    if descr is not None:
        o.append((3, descr.encode()))
    if tsresol is not None:
        o.append((9, bytes([tsresol])))
    if tsoffset is not None:
        o.append((14, struct.pack(e + "q", tsoffset)))
    return block(e, 1, struct.pack(e + "HHI", linktype, 0, snaplen) + opts(e, o))


def epb(e, iface, ts, data, wire=None, comment=None):
    wire = len(data) if wire is None else wire
    o = opts(e, [(1, comment.encode())]) if comment else b""
    return block(e, 6, struct.pack(e + "IIIII", iface, ts >> 32, ts & 0xffffffff, len(data), wire) +
                 pad4(data) + o)


def spb(e, data, wire=None):
    return block(e, 3, struct.pack(e + "I", len(data) if wire is None else wire) + data)


def old_pb(e, iface, ts, data):
    return block(e, 2, struct.pack(e + "HHIIII", iface, 0, ts >> 32, ts & 0xffffffff, len(data), len(data)) + data)


def isb(e, iface, ts, ifdrop, osdrop):
    return block(e, 5, struct.pack(e + "III", iface, ts >> 32, ts & 0xffffffff) +
                 opts(e, [(5, struct.pack(e + "Q", ifdrop)), (7, struct.pack(e + "Q", osdrop))]))


def csum(b):
    b = pad4(b) if len(b) % 2 else b
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ipv4(src, dst, proto, l4, ttl=64, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, 0x4000, ttl, proto, 0, ip4(src), ip4(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + l4


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def eth(ip):
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip


def dns_query(qid, name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + b"\0\x01\0\x01"


def dns_answer(qid, name, addr):
    q = dns_query(qid, name)
    return (struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q[12:] +
            b"\xc0\x0c\0\x01\0\x01\0\0\x01\x2c\0\x04" + ip4(addr))


SYN, ACK, SA = 0x02, 0x10, 0x12
T0 = 1700000000  # seconds


def us(t):
    return int(round(t * 1e6))


def two_links():
    e = LE
    out = shb(e) + idb(e, 1, 65535, "lan0") + idb(e, 101, 96, "tun0")
    big = ipv4("10.0.0.2", "198.51.100.7", 17, udp(4000, 9, b"x" * 400))
    # dumpcap's bursts: lan0's packets, then tun0's, then lan0's again.
    for k in range(3):
        out += epb(e, 0, us(T0 + k * 0.1), eth(big))
    for k in range(3):
        out += epb(e, 1, us(T0 + 0.05 + k * 0.1), big[:96], wire=len(big))
    for k in range(3, 5):
        out += epb(e, 0, us(T0 + k * 0.1), eth(big))
    return out


def tsresol():
    e = LE
    pkt = eth(ipv4("10.0.0.2", "198.51.100.7", 17, udp(4000, 9, b"t")))
    out = shb(e)
    out += idb(e, 1, 0, "us", tsresol=6)
    out += idb(e, 1, 0, "ns", tsresol=9)
    out += idb(e, 1, 0, "pow2", tsresol=0x80 | 20)
    out += idb(e, 1, 0, "ms", tsresol=3)
    out += idb(e, 1, 0, "offset", tsresol=6, tsoffset=1000)
    t = T0 + 0.123456789
    out += epb(e, 0, int(t * 10**6), pkt)
    out += epb(e, 1, T0 * 10**9 + 123456789, pkt)
    out += epb(e, 2, int(t * 2**20), pkt)
    out += epb(e, 3, int(t * 10**3), pkt)
    out += epb(e, 4, (T0 - 1000) * 10**6 + 654321, pkt)
    out += epb(e, 1, (T0 + 1) * 10**9 + 999, pkt)
    return out


def sections():
    pkt = eth(ipv4("10.0.0.2", "198.51.100.7", 17, udp(4000, 9, b"s")))
    out = shb(LE) + idb(LE, 1, 65535, "le0")
    out += epb(LE, 0, us(T0), pkt) + epb(LE, 0, us(T0 + 1), pkt)
    out += shb(BE) + idb(BE, 1, 65535, "be0") + idb(BE, 101, 0, "be1")
    out += epb(BE, 0, us(T0 + 2), pkt) + epb(BE, 1, us(T0 + 3), pkt[14:])
    out += epb(BE, 0, us(T0 + 4), pkt)
    return out


def blocks():
    e = LE
    pkt = eth(ipv4("10.0.0.2", "198.51.100.7", 17, udp(4000, 9, b"b" * 50)))
    out = shb(e, [(1, b"made by pcapng_gen.py"), (4, b"pcapng_gen")])
    out += idb(e, 1, 64, "snap64")
    rec = ip4("198.51.100.7") + b"x.example\0"
    out += block(e, 4, struct.pack(e + "HH", 1, len(rec)) + pad4(rec) + struct.pack(e + "HH", 0, 0))
    out += epb(e, 0, us(T0), pkt, comment="a comment")
    out += spb(e, pkt[:64], wire=len(pkt))        # cut to the snaplen
    out += spb(e, pkt[:42], wire=42)              # padded to 44 in the block
    out += old_pb(e, 0, us(T0 + 0.5), pkt[:60])
    out += block(e, 0x0000000A, struct.pack(e + "II", 0x544c534b, 4) + b"KEY!")  # DSB
    out += block(e, 0x00000BAD, struct.pack(e + "I", 32473) + b"custom")
    out += block(e, 0x12345678, b"unknown block")
    out += epb(e, 0, us(T0 + 1), pkt[:64], wire=len(pkt))
    out += isb(e, 0, us(T0 + 2), 5, 2)
    return out


# GATEWAY: the client 192.168.1.10 behind NAT (WAN address 198.51.100.2).
CLI, NAT, RES = "192.168.1.10", "198.51.100.2", "9.9.9.9"
OK_SRV, DROP_SRV = "203.0.113.10", "203.0.113.50"


def gateway():
    """WAN is interface 0 and LAN interface 1, so that the default rule (the
    side whose private sources open connections) has to pick the second.
    Records are written per interface in bursts, as dumpcap does."""
    e = LE
    lan, wan = [], []
    t = T0 + 10.0
    # DNS forwarded both ways (NAT keeps id and question).
    for qid, name, addr in ((0x1111, "ok.example.com", OK_SRV), (0x2222, "drop.example.com", DROP_SRV)):
        q, a = dns_query(qid, name), dns_answer(qid, name, addr)
        lan.append((t, ipv4(CLI, RES, 17, udp(5353 + qid % 7, 53, q))))
        wan.append((t + 0.0005, ipv4(NAT, RES, 17, udp(61000 + qid % 7, 53, q), ttl=63)))
        wan.append((t + 0.02, ipv4(RES, NAT, 17, udp(53, 61000 + qid % 7, a), ttl=57)))
        lan.append((t + 0.0205, ipv4(RES, CLI, 17, udp(53, 5353 + qid % 7, a), ttl=56)))
        t += 0.1
    # A connection forwarded and answered.
    lan.append((t, ipv4(CLI, OK_SRV, 6, tcp(40001, 443, 1000, 0, SYN))))
    wan.append((t + 0.0005, ipv4(NAT, OK_SRV, 6, tcp(50001, 443, 1000, 0, SYN), ttl=63)))
    wan.append((t + 0.03, ipv4(OK_SRV, NAT, 6, tcp(443, 50001, 7000, 1001, SA), ttl=50)))
    lan.append((t + 0.0305, ipv4(OK_SRV, CLI, 6, tcp(443, 40001, 7000, 1001, SA), ttl=49)))
    lan.append((t + 0.031, ipv4(CLI, OK_SRV, 6, tcp(40001, 443, 1001, 7001, ACK))))
    wan.append((t + 0.0315, ipv4(NAT, OK_SRV, 6, tcp(50001, 443, 1001, 7001, ACK), ttl=63)))
    t += 0.2
    # SYNs the gateway drops: on the LAN only, retransmitted, never answered.
    for k, dt in enumerate((0, 1, 3)):
        lan.append((t + dt, ipv4(CLI, DROP_SRV, 6, tcp(40002, 443, 5000, 0, SYN), ident=100 + k)))
    # Later traffic so that the wait runs out inside the capture.
    for k in range(3):
        tt = t + 15 + k
        lan.append((tt, ipv4(CLI, RES, 17, udp(5400 + k, 53, dns_query(0x3000 + k, "ok.example.com")))))
        wan.append((tt + 0.0005, ipv4(NAT, RES, 17, udp(62000 + k, 53, dns_query(0x3000 + k, "ok.example.com")), ttl=63)))
        wan.append((tt + 0.02, ipv4(RES, NAT, 17, udp(53, 62000 + k, dns_answer(0x3000 + k, "ok.example.com", OK_SRV)), ttl=57)))
        lan.append((tt + 0.0205, ipv4(RES, CLI, 17, udp(53, 5400 + k, dns_answer(0x3000 + k, "ok.example.com", OK_SRV)), ttl=56)))
    out = shb(e) + idb(e, 1, 262144, "wan0") + idb(e, 1, 262144, "lan0")
    # Bursts: half of each side, then the rest.
    lan.sort(), wan.sort()
    h1, h2 = len(lan) // 2, len(wan) // 2
    for part in ((wan[:h2], 0), (lan[:h1], 1), (wan[h2:], 0), (lan[h1:], 1)):
        for ts, ip in part[0]:
            out += epb(e, part[1], us(ts), eth(ip))
    return out


def block_offsets(d):
    offs, off = [], 0
    while off + 12 <= len(d):
        n = struct.unpack("<I", d[off + 4:off + 8])[0]
        offs.append((off, n))
        off += n
    return offs


def cuts(d):
    """Each place a block can break, as (name, bytes)."""
    offs = block_offsets(d)
    shb_, idb0 = offs[0], offs[1]
    epbs = [o for o in offs if struct.unpack("<I", d[o[0]:o[0] + 4])[0] == 6]
    o, n = epbs[len(epbs) // 2]
    out = [
        ("in-idb", d[:idb0[0] + 10]),
        ("block-header", d[:o + 3]),
        ("after-length", d[:o + 8]),
        ("in-epb-header", d[:o + 20]),
        ("in-data", d[:o + 40]),
        ("before-trailer", d[:o + n - 2]),
        ("bad-length", d[:o + 4] + struct.pack("<I", n + 2) + d[o + 8:]),
        ("short-length", d[:o + 4] + struct.pack("<I", 8) + d[o + 8:]),
        ("trailer-mismatch", d[:o + n - 4] + struct.pack("<I", n + 4) + d[o + n:]),
        ("caplen-too-big", d[:o + 20] + struct.pack("<I", 5000) + d[o + 24:]),
        ("no-such-interface", d[:o + 8] + struct.pack("<I", 7) + d[o + 12:]),
        ("huge-length", d[:o + 4] + struct.pack("<I", 0x7ffffff0) + d[o + 8:]),
    ]
    assert shb_[0] == 0
    return out


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    files = {"two-links": two_links(), "tsresol": tsresol(), "sections": sections(),
             "blocks": blocks(), "gateway": gateway()}
    for name, d in cuts(files["gateway"]):
        files["cut-" + name] = d
    for name, d in files.items():
        with open(os.path.join(outdir, name + ".pcapng"), "wb") as f:
            f.write(d)


if __name__ == "__main__":
    main()
