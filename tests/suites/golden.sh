#!/bin/sh
# golden.sh PANNE: runs panne over each capture of tests/golden/*.args and
# compares its output with the kept, hand-checked tests/golden/NAME.out.
# Regenerate one after checking it by hand: sh tests/golden/update.sh NAME
set -u
PANNE=$1
rc=0 n=0
for a in tests/golden/*.args; do
	[ -f "$a" ] || continue
	name=$(basename "$a" .args)
	exp=tests/golden/$name.out
	out=tests/out/golden-$name.out
	want_rc=$(sed -n 's/^# exit //p' "$a")
	args=$(grep -v '^#' "$a")
	# shellcheck disable=SC2086
	"$PANNE" $args >"$out" 2>tests/out/golden-$name.err
	got_rc=$?
	n=$((n + 1))
	if [ -n "$want_rc" ] && [ "$got_rc" != "$want_rc" ]; then
		echo "golden $name: exit status $got_rc, expected $want_rc"; cat tests/out/golden-$name.err; rc=1
	fi
	# Every frame cited as evidence must be the packet it is said to be.
	case "$args" in
	*"-T json"*)
		pcap=$(echo "$args" | sed -n 's/.*-r \([^ ]*\).*/\1/p')
		python3 tests/golden/check_frames.py "$out" "$pcap" >tests/out/golden-$name.frames ||
			{ echo "golden $name: a cited frame is not what it is said to be:"; cat tests/out/golden-$name.frames; rc=1; }
		;;
	esac
	if ! diff -u "$exp" "$out" >tests/out/golden-$name.diff; then
		echo "golden $name: output differs from $exp:"; head -40 tests/out/golden-$name.diff; rc=1
	fi
done
echo "golden: $n captures compared"
exit $rc
