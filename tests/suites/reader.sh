#!/bin/sh
# reader.sh PANNE: classic pcap files named with -r are read in place
# (src/pcapfile.c), standard input through libpcap. Both must give the same
# report, damage messages included, on every capture at hand: the bundled
# scenarios, the public corpus when present, and files damaged on purpose.
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
exit $rc
