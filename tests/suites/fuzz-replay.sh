#!/bin/sh
# fuzz-replay.sh PANNE BUILD: replays every kept fuzz input and every crash
# ever found through the sanitized entry points.
set -u
BUILD=$2
rc=0
for r in "$BUILD"/tests/replay_*; do
	[ -x "$r" ] || continue
	n=${r##*/replay_}
	set -- tests/fuzz/corpus/$n/* tests/fuzz/crashes/$n/*
	[ "$n" = pcap ] && set -- "$@" captures/*.pcap
	files=""
	for f in "$@"; do [ -f "$f" ] && files="$files $f"; done
	[ -n "$files" ] || continue
	# shellcheck disable=SC2086
	"$r" $files >/dev/null || { echo "fuzz-replay: $n failed"; rc=1; }
	echo "fuzz-replay: $n: $(echo $files | wc -w) inputs"
done
exit $rc
