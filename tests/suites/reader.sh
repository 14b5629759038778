#!/bin/sh
# reader.sh PANNE: classic pcap files named with -r are read in place
# (src/pcapfile.c), standard input through libpcap. Both must give the same
# report, damage messages included, on every capture at hand: the bundled
# scenarios, the public corpus when present, and files damaged on purpose.
# pcapng files are read in place too, every interface: panne's reading
# (--dump-frames) must be tshark's, frame by frame (interface, time to the
# microsecond, captured length), on the corpus's pcapng files and on files
# made by tests/pcapng_gen.py (link types, snaplens, time resolutions and
# offsets, sections in both byte orders, simple, obsolete and statistics
# blocks, a cut or a broken length at each place a block can break); a
# gateway's two interfaces in one file give the findings of --merge; the
# pcapng evidence file (-w) holds the cited frames with their findings.
set -u
PANNE=$1
T=tests/out/reader
rm -rf "$T"; mkdir -p "$T"
rc=0
n=0

# Same JSON from a path and from stdin, once the path is written the same.
# ARGS follow the file: more inputs (--merge), a filter.
same() { # same FILE [ARGS...]
	f=$1; shift
	"$PANNE" -T json -A -r "$f" "$@" >"$T/path.out" 2>"$T/path.err"; a=$?
	"$PANNE" -T json -A -r - "$@" <"$f" >"$T/stdin.out" 2>"$T/stdin.err"; b=$?
	sed -e "s|\"-\"|\"$f\"|g" -e "s|(stdin)|$f|g" "$T/stdin.out" >"$T/stdin.norm"
	sed -e "s|(stdin)|$f|g" "$T/stdin.err" >"$T/stdin.errnorm"
	if [ "$a" != "$b" ] || ! cmp -s "$T/path.out" "$T/stdin.norm" || ! cmp -s "$T/path.err" "$T/stdin.errnorm"; then
		echo "reader: $f $*: reading in place differs from libpcap (exit $a vs $b):"
		diff "$T/path.out" "$T/stdin.norm" | head -5
		diff "$T/path.err" "$T/stdin.errnorm" | head -5
		rc=1
	fi
	n=$((n + 1))
}

for f in captures/*.pcap; do same "$f"; done
corpus=${PANNE_CORPUS:-../shared/corpus/public}
if [ -d "$corpus" ]; then
	for f in "$corpus"/*.pcap; do [ -f "$f" ] && same "$f"; done
else
	echo "reader: $corpus absent, the public corpus is skipped"
fi

# Damage at every place a record can break: each cut of the last records of
# a capture, and absurd lengths, give the same message and the same results.
python3 - captures/healthy.pcap "$T" <<'EOP'
import struct, sys
src, out = sys.argv[1], sys.argv[2]
d = open(src, "rb").read()
offs, off = [], 24
while off + 16 <= len(d):
    offs.append(off)
    off += 16 + struct.unpack("<I", d[off + 8:off + 12])[0]
last = offs[-1]
for k, cut in enumerate([last + 3, last + 16, last + 20, len(d) - 1, offs[-3] + 9]):
    open("%s/cut%d.pcap" % (out, k), "wb").write(d[:cut])
for k, caplen in enumerate([0x7fffffff, 262145, 65536]):
    o = offs[5]
    open("%s/len%d.pcap" % (out, k), "wb").write(d[:o + 8] + struct.pack("<I", caplen) + d[o + 12:])
# A small snaplen in the header: longer records are cut to it.
open("%s/snap.pcap" % out, "wb").write(d[:16] + struct.pack("<I", 64) + d[20:])
# Nanosecond time stamps.
ns = bytearray(struct.pack("<I", 0xa1b23c4d) + d[4:24])
for o in offs:
    ts, us, cl, wl = struct.unpack("<IIII", d[o:o + 16])
    ns += struct.pack("<IIII", ts, us * 1000 + 999, cl, wl) + d[o + 16:o + 16 + cl]
open("%s/ns.pcap" % out, "wb").write(ns)
EOP
for f in "$T"/cut*.pcap "$T"/len*.pcap "$T"/snap.pcap "$T"/ns.pcap; do same "$f"; done
# A BPF filter runs on the records read in place as on libpcap's.
same captures/healthy.pcap "tcp port 443 or udp"
# Several files side by side (--merge), the first read in place.
same captures/gateway-reject.pcap --merge -r captures/uplink-drop.pcap
# The damage is reported, not only matched.
"$PANNE" -T json -r "$T/cut0.pcap" >/dev/null 2>"$T/cut0.err"
grep -q "cut0.pcap: frame [0-9]*: damaged capture (truncated dump file; tried to read 16 header bytes, only got 3)" "$T/cut0.err" ||
	{ echo "reader: cut0.pcap: unexpected message:"; cat "$T/cut0.err"; rc=1; }

echo "reader: $n captures read both ways"

# ---- pcapng ----
G=$T/ng
python3 tests/pcapng_gen.py "$G" || { echo "reader: pcapng_gen.py failed"; exit 1; }
if command -v tshark >/dev/null 2>&1; then
	m=0
	set --
	[ -d "$corpus" ] && for f in "$corpus"/*.pcapng; do [ -f "$f" ] && set -- "$@" "$f"; done
	for f in "$@" "$G"/*.pcapng; do
		tshark -r "$f" -T fields -e frame.number -e frame.interface_id -e frame.time_epoch \
			-e frame.cap_len >"$T/ts.out" 2>"$T/ts.err"
		"$PANNE" --dump-frames -r "$f" >"$T/pn.out" 2>"$T/pn.err"
		python3 tests/reader_cmp.py "$T/ts.out" "$T/ts.err" "$T/pn.out" "$f" || rc=1
		m=$((m + 1))
	done
	echo "reader: $m pcapng files read as tshark reads them"
else
	echo "reader: tshark absent: pcapng readings not compared with tshark's"
fi
if [ -f "$corpus/zeek-ldap-modify-request-vlan-ipv6.pcapng" ]; then
	n17=$("$PANNE" --dump-frames -r "$corpus/zeek-ldap-modify-request-vlan-ipv6.pcapng" | wc -l)
	[ "$n17" = 17 ] || { echo "reader: zeek-ldap-modify-request-vlan-ipv6.pcapng: $n17 frames, tshark reads 17"; rc=1; }
fi

# Damage: a clear message naming the file and the frame, the results up to
# it (as many packets as were read before), exit 3.
for f in "$G"/cut-*.pcapng; do
	"$PANNE" -A -T json -r "$f" >"$T/cut.json" 2>"$T/cut.err"; e=$?
	before=$("$PANNE" --dump-frames -r "$f" 2>/dev/null | wc -l)
	python3 - "$f" "$e" "$before" "$T/cut.json" "$T/cut.err" <<'EOP' || rc=1
import json, re, sys
f, e, before, out, err = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], open(sys.argv[5]).read()
s = json.loads(open(out).read().splitlines()[-1])
m = re.search(re.escape(f) + r": frame (\d+): damaged capture \((.+)\); results up to frame (\d+) are reported", err)
bad = []
if e != 3: bad.append("exit %d, not 3" % e)
if not m: bad.append("no message naming the file and the frame: %r" % err[:300])
elif int(m.group(3)) != before or int(m.group(1)) != before + 1: bad.append("frames %s/%s, %d read" % (m.group(1), m.group(3), before))
if not s.get("damaged") or s.get("packets") != before: bad.append("summary %s" % {k: s.get(k) for k in ("damaged", "packets")})
if bad: print("reader: %s: %s" % (f, "; ".join(bad))); sys.exit(1)
EOP
done
echo "reader: $(ls "$G"/cut-*.pcapng | wc -l) damaged pcapng files: message, results so far, exit 3"

# What the capturing tool lost (isb_ifdrop 5 + isb_osdrop 2) is in the summary.
"$PANNE" -A -T json -r "$G/blocks.pcapng" 2>"$T/isb.err" | tail -n 1 | grep -q '"dropped":7,' ||
	{ echo "reader: blocks.pcapng: the statistics block's 7 lost packets are not the summary's dropped"; rc=1; }
# A filter compiled for each interface's link type (Ethernet and raw IPv4): 8 UDP packets, no TCP.
for fx in "udp port 9:8" "tcp:0"; do
	np=$("$PANNE" -A -T json -r "$G/two-links.pcapng" "${fx%:*}" | tail -n 1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["packets"])')
	[ "$np" = "${fx#*:}" ] || { echo "reader: two-links.pcapng '${fx%:*}': $np packets, expected ${fx#*:}"; rc=1; }
done

# A gateway's two interfaces in one file (WAN first): the LAN side found by
# the default rule, the dropped SYNs told apart from the forwarded ones as
# with --merge of each side's file, and the findings on the LAN interface.
gw=$G/gateway.pcapng
"$PANNE" -A -T json -r "$gw" -w "$T/ev.pcapng" >"$T/gw.json" 2>/dev/null
"$PANNE" -A -T json --inside wan0 -r "$gw" >"$T/gw-wan.json" 2>/dev/null
if command -v tshark >/dev/null 2>&1; then
	tshark -r "$gw" -Y 'frame.interface_id == 1' -F pcap -w "$T/lan.pcap" 2>/dev/null
	tshark -r "$gw" -Y 'frame.interface_id == 0' -F pcap -w "$T/wan.pcap" 2>/dev/null
	"$PANNE" -A -T json --merge -r "$T/lan.pcap" -r "$T/wan.pcap" >"$T/gw-merge.json" 2>/dev/null
fi
python3 - "$T/gw.json" "$T/gw-wan.json" "$T/gw-merge.json" <<'EOP' || rc=1
import json, os, sys
def load(p):
    return [json.loads(l) for l in open(p)] if os.path.exists(p) and os.path.getsize(p) else None
a, w, m = (load(p) for p in sys.argv[1:4])
bad = []
finds = [o for o in a if o["type"] == "finding"]
st = [(o["kind"], o["server"], o.get("interface"), o["detail"].get("gateway", "")) for o in finds]
want = ("syn_timeout", "203.0.113.50", "lan0", "dropped at the gateway: seen entering, never leaving")
if st != [want]: bad.append("findings %s, expected %s" % (st, [want]))
roles = {i["name"]: i["role"] for i in a[-1].get("interfaces", [])}
if roles != {"lan0": "inside", "wan0": "outside"}: bad.append("interfaces %s" % roles)
roles = {i["name"]: i["role"] for i in w[-1].get("interfaces", [])}
if roles != {"lan0": "outside", "wan0": "inside"}: bad.append("--inside wan0: interfaces %s" % roles)
if m is not None:
    key = lambda l: sorted((o["kind"], o["service"], o["server"], o["detail"].get("gateway", "")) for o in l if o["type"] == "finding")
    ver = lambda l: sorted((o["service"], o["status"], o["attribution"]) for o in l if o["type"] == "verdict")
    if key(a) != key(m) or ver(a) != ver(m): bad.append("one file %s %s, --merge %s %s" % (key(a), ver(a), key(m), ver(m)))
if bad: print("reader: gateway.pcapng:", "; ".join(bad)); sys.exit(1)
print("reader: gateway.pcapng: LAN side found, dropped SYNs told apart%s" % (", as --merge" if m else ""))
EOP
# The evidence file opens in tshark with each cited frame commented.
if command -v tshark >/dev/null 2>&1; then
	python3 tests/evidence_check.py "$T/gw.json" "$T/ev.pcapng" || rc=1
	"$PANNE" -A -T json -r captures/gateway-reject.pcap -r captures/dns-injection.pcap -w "$T/ev2.pcapng" >"$T/ev2.json" 2>/dev/null
	python3 tests/evidence_check.py "$T/ev2.json" "$T/ev2.pcapng" || rc=1
fi
exit $rc
