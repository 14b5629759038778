#!/bin/sh
# run.sh: the benchmark (make bench). Makes the inputs if missing: a mixed
# gateway capture of BENCH_BYTES (default 1 GiB) and one a tenth of its size,
# same generator and seed, in BENCH_DIR. Then, in one run: the bare libpcap
# loop (the floor), panne's full diagnosis (-A -T json), and where installed
# tshark's field extraction and ndpiReader, side by side; panne's peak RSS on
# both sizes; and whether panne reported every finding the generator planted.
set -eu
cd "$(dirname "$0")"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/panne-bench}
bytes=${BENCH_BYTES:-1073741824}
rounds=${BENCH_ROUNDS:-5}
seed=${BENCH_SEED:-1}
ca=../tests/netns/conf/test-ca
mkdir -p "$dir"
big=$dir/mix-$seed-$bytes.pcap
small=$dir/mix-$seed-$((bytes / 10)).pcap
for f in "$big" "$small"; do
	[ -f "$f" ] && [ -f "$f.planted" ] && continue
	sz=${f##*-}; sz=${sz%.pcap}
	./gen -s "$seed" -k $ca.key -c $ca.pem "$f" "$sz"
done
cat "$big" "$small" >/dev/null # into the page cache, as PERFORMANCE.md's figures assume

pk=$(./bareloop "$big" | cut -d' ' -f1)
mb=$(( $(wc -c <"$big") / 1048576 ))
panne="../panne -A -T json --ca-file $ca.pem -r"
set -- "bare libpcap loop=./bareloop $big" "panne -A -T json=$panne $big"
# The same input as pcapng (editcap, from tshark's package): panne reads
# both in place, and the pcapng copy should cost the same.
if command -v editcap >/dev/null 2>&1; then
	[ -f "$big.pcapng" ] || editcap -F pcapng "$big" "$big.pcapng"
	set -- "$@" "panne, pcapng copy=$panne $big.pcapng"
else
	echo "bench: editcap is not installed: no pcapng copy"
fi
if command -v tshark >/dev/null 2>&1; then
	set -- "$@" "1tshark -T fields (once)=tshark -r $big -T fields -e dns.flags.rcode -e tcp.flags.reset \
-e tls.handshake.extensions_server_name -e tls.alert_message.desc -e http.response.code"
else
	echo "bench: tshark is not installed: no comparison with it"
fi
if command -v ndpiReader >/dev/null 2>&1; then
	set -- "$@" "ndpiReader -q=ndpiReader -i $big -q"
else
	echo "bench: ndpiReader is not installed: no comparison with it"
fi
echo "input: $big: $pk packets, $mb MiB; $rounds alternating rounds, medians"
python3 measure.py "$rounds" "$pk" "$mb" "$@"

# Memory: flat in the file's length.
spk=$(./bareloop "$small" | cut -d' ' -f1)
smb=$(( $(wc -c <"$small") / 1048576 ))
echo "peak RSS against file length ($((bytes / 10)) and $bytes bytes):"
python3 measure.py 1 "$spk" "$smb" "panne, $smb MiB file=$panne $small" | tail -1
python3 measure.py 1 "$pk" "$mb" "panne, $mb MiB file=$panne $big" | tail -1

# Recall: every planted failure is a finding.
out=$dir/out-$seed-$bytes.json
$panne "$big" >"$out" || [ $? -eq 1 ]
python3 check.py "$big.planted" "$out"
