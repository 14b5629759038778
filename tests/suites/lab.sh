#!/bin/sh
# lab.sh PANNE: scores panne over the scenario lab (tests/lab/captures, made
# by tests/lab/mklab.sh in network namespaces) against the answer keys
# written with each capture: fails when fewer than 95 % of the checks pass,
# when a healthy capture gets a false alarm, or when fewer than 95 % of the
# verdicts given with confidence >= 0.9 are right (tests/lab/README.md).
set -u
PANNE=$1
mkdir -p tests/out
python3 tests/lab/score.py "$PANNE" --check --verbose >tests/out/lab.out 2>&1
rc=$?
# The figures, and the full list in tests/out/lab.out.
grep '^lab:' tests/out/lab.out
awk '/^failing checks, by cause/ { on = 1 } /^(false alarms:|lab:)/ { on = 0 } on' tests/out/lab.out | head -40
[ $rc = 0 ] || echo "lab: every failing check is listed in tests/out/lab.out"
exit $rc
