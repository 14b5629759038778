#!/bin/sh
# mklab.sh [PATTERN...]: remakes the lab's captures and answer keys in
# tests/lab/captures (all of them, or those whose name matches a PATTERN),
# then the table of tests/lab/README.md from the keys. Needs root: the
# scenarios run real software in network namespaces (tests/lab/mklab.py).
set -eu
cd "$(dirname "$0")/../.."
rc=0
python3 tests/lab/mklab.py "$@" || rc=$?
python3 tests/lab/mklab.py --readme
exit $rc
