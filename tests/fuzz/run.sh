#!/bin/sh
# run.sh SECONDS NAME...: runs each libFuzzer target for SECONDS on its kept
# corpus (new inputs go to a scratch copy under build/fuzz), saves crashes
# under tests/fuzz/crashes/NAME/ (kept and replayed by make check), and
# prints executions and coverage per target.
set -u
secs=$1; shift
rc=0
for n in "$@"; do
	work=build/fuzz/corpus-$n
	mkdir -p "$work" "tests/fuzz/crashes/$n"
	seeds=tests/fuzz/corpus/$n
	extra=""
	[ "$n" = pcap ] && extra=captures
	[ "$n" = pcapng ] && [ -d "${PANNE_CORPUS:-../shared/corpus/public}" ] && extra=${PANNE_CORPUS:-../shared/corpus/public}
	./build/fuzz/fuzz_$n -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
		-artifact_prefix="tests/fuzz/crashes/$n/" -print_final_stats=1 \
		"$work" "$seeds" $extra >build/fuzz/$n.log 2>&1 || rc=1
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' build/fuzz/$n.log)
	cov=$(grep -o 'cov: [0-9]*' build/fuzz/$n.log | tail -1)
	echo "fuzz $n: ${execs:-?} executions, ${cov:-cov: ?} edges, $(ls "tests/fuzz/crashes/$n" | wc -l) crash files"
done
exit $rc
