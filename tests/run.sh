#!/bin/sh
# run.sh [BUILD]: every test that `make check` runs, against the binaries in
# BUILD (default build/san, the ASan/UBSan build). Prints one line per suite
# and exits non-zero if any suite failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${1:-build/san}
PANNE=$BUILD/panne
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
mkdir -p tests/out
failed=""

suite() {
	name=$1; shift
	printf '== %s\n' "$name"
	if "$@"; then
		printf '== %s: ok\n' "$name"
	else
		printf '== %s: FAILED\n' "$name"
		failed="$failed $name"
	fi
}

units() {
	rc=0
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		"$t" || { echo "unit test failed: $t"; rc=1; }
	done
	return $rc
}

suite unit units
for s in tests/suites/*.sh; do
	[ -f "$s" ] || continue
	suite "$(basename "$s" .sh)" sh "$s" "$PANNE" "$BUILD"
done

if [ -n "$failed" ]; then
	echo "FAILED:$failed"
	exit 1
fi
echo "all test suites passed"
