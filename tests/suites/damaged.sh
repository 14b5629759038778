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
expect bad-filter 2 "filter" -- -r "$src" 'tcp port nonsense'
expect bad-option 2 "usage" -- --no-such-option
expect bad-format 2 "-T" -- -r "$src" -T xml
expect bad-service 2 "-s" -- -r "$src" -s nosuchservice
exit $rc
