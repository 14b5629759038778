#!/bin/sh
# bench-recall.sh PANNE: the benchmark's generator (bench/gen.c) writes a
# 30 MB mixed gateway capture (VLANs, IPv6, DNS over UDP and TCP, TLS 1.2 and
# 1.3, bulk streams, plain HTTP) with failures planted in it; panne must
# report every planted failure on its flow, and nothing else.
set -u
PANNE=$1
make -s -C bench gen >/dev/null || { echo "bench-recall: cannot build bench/gen"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
CA=tests/netns/conf/test-ca
bench/gen -s 7 -k $CA.key -c $CA.pem "$T/mix.pcap" 30000000 2>"$T/gen.err" ||
	{ echo "bench-recall: the generator failed:"; cat "$T/gen.err"; exit 1; }
cat "$T/gen.err"
"$PANNE" -A -T json --ca-file $CA.pem -r "$T/mix.pcap" >"$T/out.json" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] || { echo "bench-recall: panne exited with $rc, expected 1 (findings):"; cat "$T/err"; exit 1; }
planted=$(grep -vc '^#' "$T/mix.pcap.planted")
[ "$planted" -ge 20 ] || { echo "bench-recall: only $planted failures planted"; exit 1; }
python3 bench/check.py --exact "$T/mix.pcap.planted" "$T/out.json"
