#!/usr/bin/env python3
"""mkinput.py OUT BYTES: an interim benchmark input, deterministic: the
scenario captures of captures/ (real DNS, TLS 1.2, HTTP, bulk data, resets,
floods) repeated with the client address and times shifted each round so
that every round is new flows, until OUT holds BYTES."""
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
names = ["rst-injection", "healthy", "http-5xx", "refused", "servfail", "tls-intercept",
         "multi-outage", "dns-injection", "gateway-reject"]
recs = []
for n in names:
    d = open(os.path.join(here, "..", "captures", n + ".pcap"), "rb").read()
    off = 24
    while off + 16 <= len(d):
        ts, us, cl, wl = struct.unpack("<IIII", d[off:off + 16])
        recs.append((ts * 1000000 + us, d[off + 16:off + 16 + cl], wl))
        off += 16 + cl
t0 = min(r[0] for r in recs)
recs.sort(key=lambda r: r[0])
client = bytes([192, 168, 50, 2])
out = open(sys.argv[1], "wb", buffering=1 << 22)
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
want, total, rnd = int(sys.argv[2]), 24, 0
while total < want:
    new = bytes([10, (rnd >> 8) & 255, rnd & 255, 2])
    for t, b, wl in recs:
        b = bytearray(b)
        if len(b) > 34 and b[12:14] == b"\x08\x00":
            if b[26:30] == client:
                b[26:30] = new
            if b[30:34] == client:
                b[30:34] = new
        tt = t - t0 + 1700000000000000 + rnd * 2000000
        out.write(struct.pack("<IIII", tt // 1000000, tt % 1000000, len(b), wl))
        out.write(b)
        total += 16 + len(b)
    rnd += 1
out.close()
