#!/bin/sh
# damaged.sh PANNE: inputs that are missing, not captures, or cut short give
# one clear message naming the file (and frame), keep what was read, and exit
# with the status of panne(8).
set -u
PANNE=$1
T=tests/out/damaged
rm -rf "$T"; mkdir -p "$T"
rc=0
src=captures/healthy.pcap
[ -f "$src" ] || { echo "damaged: $src missing"; exit 1; }

expect() { # expect NAME WANT_RC PATTERN -- ARGS...
	name=$1 want=$2 pat=$3; shift 4
	"$PANNE" "$@" >"$T/$name.out" 2>"$T/$name.err"
	got=$?
	if [ "$got" != "$want" ]; then echo "damaged $name: exit $got, expected $want"; cat "$T/$name.err"; rc=1; fi
	if ! grep -q -- "$pat" "$T/$name.err"; then echo "damaged $name: stderr lacks '$pat':"; cat "$T/$name.err"; rc=1; fi
}

expect missing 2 "$T/nonexistent.pcap" -- -r "$T/nonexistent.pcap"
printf 'this is not a capture file, just text\n' >"$T/text.pcap"
expect not-a-capture 2 "$T/text.pcap" -- -r "$T/text.pcap"
: >"$T/empty.pcap"
expect empty-file 2 "$T/empty.pcap" -- -r "$T/empty.pcap"
size=$(wc -c <"$src")
head -c $((size - 37)) "$src" >"$T/truncated.pcap"
expect truncated 3 "truncated.pcap: frame" -- -r "$T/truncated.pcap" -T json
# The results so far are still reported, and the summary says where it broke.
tail -n 1 "$T/truncated.out" | grep -q '"damaged":true' || { echo "damaged truncated: summary lacks damaged:true"; rc=1; }
tail -n 1 "$T/truncated.out" | grep -q '"errors":\["' || { echo "damaged truncated: summary lacks the error"; rc=1; }
# A header cut inside the 24-byte file header is not a capture at all.
head -c 20 "$src" >"$T/header-cut.pcap"
expect header-cut 2 "header-cut.pcap" -- -r "$T/header-cut.pcap"
# A record whose length field is absurd: named by frame, results kept.
python3 - "$src" "$T/badlen.pcap" <<'EOP'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, n = 24, 0
while n < 20:  # the 21st record's header gets a length no capture has
    caplen = struct.unpack("<I", d[off + 8:off + 12])[0]
    off += 16 + caplen
    n += 1
d = d[:off + 8] + struct.pack("<II", 0x7fffffff, 0x7fffffff) + d[off + 16:]
open(sys.argv[2], "wb").write(d)
EOP
expect bad-record-length 3 "badlen.pcap: frame 21" -- -r "$T/badlen.pcap" -T json
grep -q '"packets":20,' "$T/bad-record-length.out" || { echo "damaged bad-record-length: the 20 good records should be reported"; rc=1; }
# Packets cut by a small snaplen are counted as truncated, never read past.
python3 - "$src" "$T/snap.pcap" <<'EOP'
import struct, sys
d = open(sys.argv[1], "rb").read()
out = bytearray(d[:16] + struct.pack("<I", 60) + d[20:24])
off = 24
while off + 16 <= len(d):
    ts, us, caplen, wire = struct.unpack("<IIII", d[off:off + 16])
    keep = min(caplen, 60)
    out += struct.pack("<IIII", ts, us, keep, wire) + d[off + 16:off + 16 + keep]
    off += 16 + caplen
open(sys.argv[2], "wb").write(out)
EOP
"$PANNE" -r "$T/snap.pcap" -T json >"$T/snap.out" 2>"$T/snap.err"; src_rc=$?
[ $src_rc -le 1 ] || { echo "damaged snaplen: exit $src_rc"; cat "$T/snap.err"; rc=1; }
tail -n 1 "$T/snap.out" | grep -q '"damaged":false' || { echo "damaged snaplen: a short snaplen is not damage"; rc=1; }
# Two pcapng files: one with a block type nobody knows (skipped, the rest
# read), one whose second interface has another snapshot length (read in
# full from a file; from standard input libpcap stops there, and panne says
# it is not damage and how to convert the file).
python3 - "$T/unknown-block.pcapng" "$T/two-snaplens.pcapng" <<'EOP'
import struct, sys
def block(t, body):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack("<II", t, n) + body + struct.pack("<I", n)
shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
def idb(snaplen):
    return block(1, struct.pack("<HHI", 1, 0, snaplen))
eth = b"\x00" * 12 + b"\x08\x00"
ip = bytes([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]) + b"\x13\x88\x00\x35\x00\x08\x00\x00"
pkt = eth + ip
epb = block(6, struct.pack("<IIIII", 0, 0, 1, len(pkt), len(pkt)) + pkt)
odd = block(0x0BADBEEF, b"nobody knows this block")
open(sys.argv[1], "wb").write(shb + idb(65535) + epb + odd + epb)
open(sys.argv[2], "wb").write(shb + idb(65535) + epb + idb(8192) + epb)
EOP
"$PANNE" -r "$T/unknown-block.pcapng" -A -T json >"$T/ub.out" 2>"$T/ub.err"
tail -n 1 "$T/ub.out" | grep -q '"packets":2,' || { echo "damaged pcapng: the unknown block should be skipped and both packets read"; cat "$T/ub.err"; rc=1; }
"$PANNE" -r "$T/two-snaplens.pcapng" -A -T json >"$T/tf.out" 2>"$T/tf.err"; tf_rc=$?
[ $tf_rc -le 1 ] || { echo "pcapng with two snaplens, a file: exit $tf_rc, expected 0 or 1"; cat "$T/tf.err"; rc=1; }
tail -n 1 "$T/tf.out" | grep -q '"packets":2,.*"damaged":false' || { echo "pcapng with two snaplens, a file: both frames should be read"; rc=1; }
"$PANNE" -r - -A -T json <"$T/two-snaplens.pcapng" >"$T/ts.out" 2>"$T/ts.err"; ts_rc=$?
[ $ts_rc = 3 ] || { echo "pcapng with two snaplens on stdin: exit $ts_rc, expected 3"; rc=1; }
grep -q "(stdin): frame 2: libpcap cannot read on .*not damage.*editcap -F pcap" "$T/ts.err" ||
	{ echo "pcapng with two snaplens on stdin: no word of libpcap's limit and the way round it:"; cat "$T/ts.err"; rc=1; }
tail -n 1 "$T/ts.out" | grep -q '"packets":1,' || { echo "pcapng with two snaplens on stdin: the frame before the second interface should be read"; rc=1; }
expect bad-filter 2 "filter" -- -r "$src" 'tcp port nonsense'
expect bad-option 2 "usage" -- --no-such-option
expect bad-format 2 "-T" -- -r "$src" -T xml
expect bad-service 2 "-s" -- -r "$src" -s nosuchservice
exit $rc
