#!/bin/sh
# run.sh: the benchmark. Makes the input if missing (BENCH_BYTES, default
# 1 GiB, in BENCH_DIR), then times in one run the bare libpcap loop and
# panne's full diagnosis (-A -T json), best of 3, with peak memory.
set -eu
cd "$(dirname "$0")"
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/panne-bench}
bytes=${BENCH_BYTES:-1073741824}
mkdir -p "$dir"
in=$dir/mix-$bytes.pcap
[ -f "$in" ] || { echo "bench: making $in ($bytes bytes)"; python3 mkinput.py "$in" "$bytes"; }
cat "$in" >/dev/null # into the page cache, as the design's figures assume

best() { # best wall time of 3 runs of a command, with its peak RSS (KiB)
	python3 - "$@" <<'EOP'
import resource, subprocess, sys, time
best = None
for _ in range(3):
    t = time.monotonic()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.monotonic() - t
    best = t if best is None else min(best, t)
print("%.3f %d" % (best, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
EOP
}
pk=$(./bareloop "$in" | cut -d' ' -f1)
set -- $(best ./bareloop "$in"); bt=$1 brss=$2
set -- $(best ../panne -A -T json -r "$in"); pt=$1 prss=$2
mb=$(( $(wc -c <"$in") / 1048576 ))
printf '%-28s %10s %12s %10s %10s %8s\n' reader seconds packets/s MB/s "RSS MiB" ratio
printf '%-28s %10s %12.0f %10.0f %10d %8s\n' "bare libpcap loop" "$bt" "$(awk "BEGIN{print $pk / $bt}")" "$(awk "BEGIN{print $mb / $bt}")" $((brss / 1024)) 1.00
printf '%-28s %10s %12.0f %10.0f %10d %8.2f\n' "panne -A -T json" "$pt" "$(awk "BEGIN{print $pk / $pt}")" "$(awk "BEGIN{print $mb / $pt}")" $((prss / 1024)) "$(awk "BEGIN{print $pt / $bt}")"
echo "input: $in, $pk packets, $mb MiB"
