#!/bin/sh
# flood.sh PANNE: a million SYNs from random sources toward one server,
# written as a pcap by a test helper: panne's peak memory stays under the
# documented bound, the summary counts the evicted flows, and the flood is
# one syn_flood finding, not a million.
set -u
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$T/flood.pcap" <<'EOP'
import random, struct, sys
random.seed(1)
n = 1000000
out = open(sys.argv[1], "wb", buffering=1 << 22)
out.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
tcp_tail = b"\x50\x02\xfa\xf0\x00\x00\x00\x00"
t0 = 1700000000
rnd = random.getrandbits
for i in range(n):
    src = rnd(32) | 0x0a000000
    ip = struct.pack("!BBHHHBBHI4s", 0x45, 0, 40, i & 0xffff, 0, 64, 6, 0, src, b"\xc6\x33\x64\x0a")
    tcp = struct.pack("!HHII", 1024 + (i & 0x7fff), 443, rnd(32), 0) + tcp_tail
    us = i * 20  # 50 000 SYNs a second
    out.write(struct.pack("<IIII", t0 + us // 1000000, us % 1000000, 54, 54) + eth + ip + tcp)
out.close()
EOP
python3 - ./panne "$T/flood.pcap" <<'EOP'
import json, resource, subprocess, sys
p = subprocess.run([sys.argv[1], "-A", "-T", "json", "-r", sys.argv[2]], stdout=subprocess.PIPE)
rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
lines = [json.loads(l) for l in p.stdout.decode().splitlines()]
s = lines[-1]
floods = [o for o in lines if o["type"] == "finding" and o["kind"] == "syn_flood"]
others = [o for o in lines if o["type"] == "finding" and o["kind"] != "syn_flood"]
ok = True
def check(cond, msg):
    global ok
    print(("flood: ok: " if cond else "flood: FAILED: ") + msg)
    ok = ok and cond
LIMIT_MB = 200  # the bound documented in panne(8), SECURITY, with default caps
check(rss_mb < LIMIT_MB, "peak RSS %.0f MB under %d MB for 1,000,000 SYNs" % (rss_mb, LIMIT_MB))
check(s["packets"] == 1000000, "all %d packets read" % s["packets"])
check(s["flows_evicted"] > 900000, "summary reports %d flows evicted under the flow cap" % s["flows_evicted"])
check(len(floods) == 1 and floods[0]["detail"]["count"] == 1000000,
      "one syn_flood finding covering %s SYNs" % (floods[0]["detail"]["count"] if floods else "no"))
check(len(others) == 0, "no other finding (%d)" % len(others))
sys.exit(0 if ok else 1)
EOP
