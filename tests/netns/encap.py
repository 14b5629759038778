#!/usr/bin/env python3
"""encap.py KIND IN.pcap OUT.pcap: rewrites each IP frame of an Ethernet
capture as a gateway or an ISP would carry it: KIND is pppoe (PPPoE session
0x2a, over QinQ), gre (with key 7), ipip, 4in6, geneve (VNI 99, one option
word), 6in4 or teredo (the IPv6 frames only). Frames that are not IP (ARP)
and, for 6in4 and teredo, IPv4 frames are copied as they are. The outer
endpoints are fixed: 192.0.2.101 and 192.0.2.102 (2001:db8:ffff::101 and
::102 for 4in6), each direction of the inner traffic getting its own
direction outside, as on a real tunnel."""
import struct
import sys

OUT4 = (bytes([192, 0, 2, 101]), bytes([192, 0, 2, 102]))
OUT6 = (bytes.fromhex("20010db8ffff00000000000000000101"), bytes.fromhex("20010db8ffff00000000000000000102"))


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def ip4(proto, payload, src, dst):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ip6(nh, payload, src, dst):
    return struct.pack("!IHBB", 0x60000000, len(payload), nh, 64) + src + dst + payload


def udp(sp, dp, payload):
    return struct.pack("!HHHH", sp, dp, 8 + len(payload), 0) + payload


def wrap(kind, eth):
    macs, et, inner = eth[:12], struct.unpack("!H", eth[12:14])[0], eth[14:]
    if et not in (0x0800, 0x86dd):
        return eth
    v6 = et == 0x86dd
    # Ethernet padding is no part of the IP packet a tunnel carries.
    inner = inner[:40 + struct.unpack("!H", inner[4:6])[0]] if v6 else inner[:struct.unpack("!H", inner[2:4])[0]]
    # The direction outside follows the inner source: the client side is the
    # lower inner address.
    if v6:
        fwd = inner[8:24] <= inner[24:40]
    else:
        fwd = inner[12:16] <= inner[16:20]
    s4, d4 = OUT4 if fwd else OUT4[::-1]
    s6, d6 = OUT6 if fwd else OUT6[::-1]
    if kind == "pppoe":
        ppp = struct.pack("!H", 0x0057 if v6 else 0x0021) + inner
        return (macs + struct.pack("!HHHHH", 0x88a8, 100, 0x8100, 200, 0x8864)
                + struct.pack("!BBHH", 0x11, 0, 0x2a, len(ppp)) + ppp)
    if kind == "gre":
        return macs + b"\x08\x00" + ip4(47, struct.pack("!HHI", 0x2000, et, 7) + inner, s4, d4)
    if kind == "ipip":
        if v6:
            return eth
        return macs + b"\x08\x00" + ip4(4, inner, s4, d4)
    if kind == "4in6":
        if v6:
            return eth
        return macs + b"\x86\xdd" + ip6(4, inner, s6, d6)
    if kind == "geneve":
        gen = struct.pack("!BBHI", 1, 0, 0x6558, 99 << 8) + b"\x01\x02\x03\x00" + eth
        return macs + b"\x08\x00" + ip4(17, udp(40000 if fwd else 40001, 6081, gen), s4, d4)
    if kind == "6in4":
        if not v6:
            return eth
        return macs + b"\x08\x00" + ip4(41, inner, s4, d4)
    if kind == "teredo":
        if not v6:
            return eth
        # The server side of the relay sends an origin indication.
        ind = b"" if fwd else b"\x00\x00\xf4\x5b\x9c\x55\xf3\xa0"
        return macs + b"\x08\x00" + ip4(17, udp(50000 if fwd else 3544, 3544 if fwd else 50000, ind + inner), s4, d4)
    raise SystemExit("encap.py: unknown kind %s" % kind)


def main():
    kind, src, dst = sys.argv[1:4]
    data = open(src, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic not in (0xa1b2c3d4, 0xa1b23c4d):
        raise SystemExit("encap.py: %s is not a little-endian classic pcap" % src)
    if struct.unpack("<I", data[20:24])[0] != 1:
        raise SystemExit("encap.py: %s is not Ethernet" % src)
    out = [data[:16] + struct.pack("<II", 262144, 1)]
    o = 24
    while o + 16 <= len(data):
        ts, tf, cl, wl = struct.unpack("<IIII", data[o:o + 16])
        frame = data[o + 16:o + 16 + cl]
        o += 16 + cl
        new = wrap(kind, frame)
        out.append(struct.pack("<IIII", ts, tf, len(new), len(new) + (wl - cl)) + new)
    open(dst, "wb").write(b"".join(out))


if __name__ == "__main__":
    main()
