#!/bin/sh
# run.sh: the benchmark (make bench), a block per input profile of gen: "mix"
# (a gateway capture, a couple of hundred distinct certificate chains) and
# "chains" (a leaf of its own per TLS 1.2 connection: thousands of chains).
# Makes the inputs if missing, in BENCH_DIR: BENCH_BYTES (default 1 GiB) of
# each profile, one a tenth of that, and BENCH_BIG3 (default three times)
# for memory, same generator and seed. Per profile: the bare libpcap loop
# (the floor), panne's full diagnosis (-A -T json), and where installed
# tshark's field extraction and ndpiReader, in alternating rounds; panne's
# peak RSS on the three sizes (BENCH_RSS3=0 skips the largest); and whether
# panne reported every finding the generator planted.
set -eu
cd "$(dirname "$0")"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/panne-bench}
bytes=${BENCH_BYTES:-1073741824}
big3=${BENCH_BIG3:-$((3 * bytes))}
rss3=${BENCH_RSS3:-1}
rounds=${BENCH_ROUNDS:-5}
seed=${BENCH_SEED:-1}
ca=../tests/netns/conf/test-ca
panne="../panne -A -T json --ca-file $ca.pem -r"
mkdir -p "$dir"
fail=0

# input PROFILE BYTES: the input's path; made if missing, gen's summary
# kept beside it (FILE.gen).
input() {
	f=$dir/$1-$seed-$2.pcap
	if ! [ -f "$f" ] || ! [ -f "$f.planted" ]; then
		echo "bench: making $f" >&2
		./gen -s "$seed" -p "$1" -k $ca.key -c $ca.pem "$f" "$2" 2>"$f.gen" || { cat "$f.gen" >&2; exit 1; }
	fi
	echo "$f"
}

# col TABLE READER N: field N from the end of READER's line of measure.py's
# table (1 ratio, 2 RSS MiB, 5 seconds).
col() {
	awk -v r="$2" -v n="$3" 'index($0, r) == 1 { print $(NF - n + 1); exit }' "$1"
}

# rss FILE: panne's peak RSS (MiB) on FILE.
rss() {
	t=$dir/rss.txt
	python3 measure.py 1 "$(./bareloop "$1" | cut -d' ' -f1)" $(($(wc -c <"$1") / 1048576)) \
		"panne=$panne $1" >"$t"
	col "$t" panne 2
}

profile() {
	p=$1
	big=$(input "$p" "$bytes")
	small=$(input "$p" $((bytes / 10)))
	echo
	echo "== profile $p =="
	cat "$big" "$small" >/dev/null # into the page cache, as the figures assume
	pk=$(./bareloop "$big" | cut -d' ' -f1)
	mb=$(($(wc -c <"$big") / 1048576))
	[ -f "$big.gen" ] && sed 's/^gen: [^:]*: /generated: /' "$big.gen"
	set -- "bare libpcap loop=./bareloop $big" "panne -A -T json=$panne $big"
	# The same input as pcapng (editcap, from tshark's package): panne reads
	# both in place, and the pcapng copy should cost the same.
	if [ "$p" = mix ] && command -v editcap >/dev/null 2>&1; then
		[ -f "$big.pcapng" ] || editcap -F pcapng "$big" "$big.pcapng"
		set -- "$@" "panne, pcapng copy=$panne $big.pcapng"
	fi
	if command -v tshark >/dev/null 2>&1; then
		set -- "$@" "1tshark -T fields (once)=tshark -r $big -T fields -e dns.flags.rcode \
-e tcp.flags.reset -e tls.handshake.extensions_server_name -e tls.alert_message.desc -e http.response.code"
	else
		echo "bench: tshark is not installed: no comparison with it"
	fi
	if command -v ndpiReader >/dev/null 2>&1; then
		set -- "$@" "ndpiReader -q=ndpiReader -i $big -q"
	else
		echo "bench: ndpiReader is not installed: no comparison with it"
	fi
	echo "input: $big: $pk packets, $mb MiB; $rounds alternating rounds, medians"
	tab=$dir/table-$p.txt
	python3 measure.py "$rounds" "$pk" "$mb" "$@" | tee "$tab"

	# Memory: flat in the file's length.
	r1=$(rss "$small")
	r2=$(rss "$big")
	line="panne's peak RSS: $r1 MiB on $(($(wc -c <"$small") / 1048576)) MiB, $r2 MiB on $mb MiB"
	r3=
	if [ "$rss3" != 0 ]; then
		f3=$dir/$p-$seed-$big3.pcap
		[ -f "$f3" ] || [ "$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')" -gt $((big3 / 512)) ] ||
			{ echo "bench: less than twice $big3 bytes free in $dir: set BENCH_RSS3=0" >&2; exit 1; }
		f3=$(input "$p" "$big3")
		r3=$(rss "$f3")
		mb3=$(($(wc -c <"$f3") / 1048576))
		line="$line, $r3 MiB on $mb3 MiB"
	fi
	echo "$line"

	# Recall: every planted failure is a finding.
	out=$dir/out-$p-$seed-$bytes.json
	$panne "$big" >"$out" || [ $? -eq 1 ]
	python3 check.py "$big.planted" "$out" || fail=1

	# The ratios the targets are about.
	tp=$(col "$tab" "panne -A" 5)
	s="summary ($p): panne $(col "$tab" "panne -A" 1)x the floor"
	tn=$(col "$tab" ndpiReader 5)
	[ -n "$tn" ] && s="$s; ndpiReader $(echo "$tn $tp" | awk '{ printf "%.2f", $1 / $2 }')x panne"
	tt=$(col "$tab" tshark 5)
	[ -n "$tt" ] && s="$s; tshark $(echo "$tt $tp" | awk '{ printf "%.1f", $1 / $2 }')x panne"
	[ -n "$r3" ] && s="$s; RSS $r2 MiB at $mb MiB, $r3 MiB at $mb3 MiB ($(echo "$r2 $r3" |
		awk '{ printf "%+.1f", ($2 - $1) * 100 / $1 }') %)"
	echo "$s"
}

profile mix
profile chains
exit $fail
