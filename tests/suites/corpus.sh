#!/bin/sh
# corpus.sh PANNE: compares panne with tshark's figures over the public corpus
# (skips cleanly when ../shared/corpus/public is absent).
set -u
dir=${PANNE_CORPUS:-../shared/corpus/public}
if [ ! -f "$dir/EXPECTED.tsv" ]; then
	echo "corpus: $dir absent, skipped"
	exit 0
fi
exec python3 tests/corpus/check.py "$1" "$dir"
