#!/bin/sh
# threads.sh PANNE: look-ahead threads (-j, src/ahead.c) only fill the
# certificate cache, so the report must be byte for byte the one of -j 0:
# on every bundled capture, lab capture and corpus file, and over five runs
# on generated mixes with many certificate chains. Then the same runs under
# ThreadSanitizer (a build of its own, build/tsan), which must report nothing.
set -u
PANNE=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
CA=tests/netns/conf/test-ca
rc=0
n=0

same() { # same PANNE FILE JOBS...: every -j gives -j 0's report and exit status
	p=$1 f=$2; shift 2
	"$p" -j 0 -A -T json --ca-file $CA.pem -r "$f" >"$T/j0.out" 2>"$T/j0.err"; a=$?
	for j in "$@"; do
		"$p" -j "$j" -A -T json --ca-file $CA.pem -r "$f" >"$T/jn.out" 2>"$T/jn.err"; b=$?
		if [ "$a" != "$b" ] || ! cmp -s "$T/j0.out" "$T/jn.out" || ! cmp -s "$T/j0.err" "$T/jn.err"; then
			echo "threads: $f: -j $j differs from -j 0 (exit $b vs $a):"
			diff "$T/j0.out" "$T/jn.out" | head -4
			diff "$T/j0.err" "$T/jn.err" | head -4
			rc=1
		fi
		if grep -q "ThreadSanitizer" "$T/jn.err"; then
			echo "threads: $f: -j $j: ThreadSanitizer:"; sed -n 1,30p "$T/jn.err"; rc=1
		fi
	done
	n=$((n + 1))
}

make -s -C bench gen >/dev/null || { echo "threads: cannot build bench/gen"; exit 1; }
for s in 11 12; do
	bench/gen -s $s -k $CA.key -c $CA.pem "$T/mix$s.pcap" 20000000 2>/dev/null ||
		{ echo "threads: the generator failed"; exit 1; }
done
# longer than a sparse stretch (src/ahead.c SPARSE_BYTES): the thread sleeps, then resumes
bench/gen -s 14 -k $CA.key -c $CA.pem "$T/long.pcap" 80000000 2>/dev/null ||
	{ echo "threads: the generator failed"; exit 1; }
if bench/gen -h 2>&1 | grep -q -- "-p mix|chains"; then
	bench/gen -p chains -s 13 -k $CA.key -c $CA.pem "$T/chains.pcap" 30000000 2>/dev/null ||
		{ echo "threads: the generator failed (chains)"; exit 1; }
fi
# The threads start on a stretch of chains (PANNE_AHEAD_CHAINS, default
# 96): their start, mid-file, on the chains profile, classic and pcapng.
if [ -f "$T/chains.pcap" ]; then
	same "$PANNE" "$T/chains.pcap" 1 2
	"$PANNE" -v -j 1 -A -T json --ca-file $CA.pem -r "$T/chains.pcap" 2>&1 >/dev/null |
		grep -q "look-ahead: 1 thread started [0-9.]* MiB into" ||
		{ echo "threads: the look-ahead did not start on chains.pcap"; rc=1; }
	if command -v editcap >/dev/null 2>&1; then
		editcap -F pcapng "$T/chains.pcap" "$T/chains.pcapng" && same "$PANNE" "$T/chains.pcapng" 1 2
	fi
fi
# ...and not on a capture with few chains, whose report is the same.
"$PANNE" -v -j 1 -A -T json --ca-file $CA.pem -r captures/demo.pcap 2>&1 >/dev/null |
	grep -q "look-ahead: not started" ||
	{ echo "threads: the look-ahead started on demo.pcap"; rc=1; }
# From here on the threads start with the first packet, so that every
# input below goes through them.
export PANNE_AHEAD_CHAINS=0
# the mixes: five runs each of several threads
for f in "$T"/*.pcap; do same "$PANNE" "$f" 1 2 3 2 2; done
if command -v editcap >/dev/null 2>&1; then
	editcap -F pcapng "$T/mix11.pcap" "$T/mix11.pcapng" && same "$PANNE" "$T/mix11.pcapng" 2
	# a sleep and a resumption in a pcapng file (its cursor reads on to the packet thread)
	editcap -F pcapng "$T/long.pcap" "$T/long.pcapng" && same "$PANNE" "$T/long.pcapng" 2
fi
for f in captures/*.pcap tests/lab/captures/*.pcap*; do [ -f "$f" ] && same "$PANNE" "$f" 2; done
corpus=${PANNE_CORPUS:-../shared/corpus/public}
if [ -d "$corpus" ]; then
	for f in "$corpus"/*.pcap "$corpus"/*.pcapng; do [ -f "$f" ] && same "$PANNE" "$f" 2; done
else
	echo "threads: $corpus absent, the public corpus is skipped"
fi
echo "threads: $n inputs, every -j gave the report of -j 0"

# The look-ahead did judge chains ahead on the mixes (else the test above proves little).
"$PANNE" -v -j 1 -A -T json --ca-file $CA.pem -r "$T/mix11.pcap" 2>&1 >/dev/null |
	grep -q "look-ahead: 1 thread started at once, judged [1-9][0-9]* of" ||
	{ echo "threads: the look-ahead thread judged no chain of mix11.pcap"; rc=1; }

# ThreadSanitizer.
if make -s SANITIZE=thread build/tsan/panne >"$T/tsan-build.log" 2>&1; then
	export TSAN_OPTIONS="halt_on_error=1 exitcode=66 report_signal_unsafe=0"
	m=$n
	for f in "$T"/*.pcap "$T"/*.pcapng captures/tls-*.pcap captures/healthy.pcap; do
		[ -f "$f" ] && same build/tsan/panne "$f" 1 3
	done
	# a start on the way (the packet thread creates the thread mid-file)
	[ -f "$T/chains.pcap" ] && PANNE_AHEAD_CHAINS= same build/tsan/panne "$T/chains.pcap" 1
	echo "threads: ThreadSanitizer: $((n - m)) inputs, -j 1 and -j 3, no report"
else
	echo "threads: cannot build with -fsanitize=thread:"; tail -5 "$T/tsan-build.log"; rc=1
fi
exit $rc
