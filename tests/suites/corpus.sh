#!/bin/sh
# corpus.sh PANNE: compares panne with tshark's figures over the public corpus
# and the tunnel corpus (each skipped cleanly when its folder is absent).
set -u
rc=0
for dir in "${PANNE_CORPUS:-../shared/corpus/public}" "${PANNE_CORPUS_TUNNELS:-../shared/corpus/tunnels}"; do
	if [ ! -f "$dir/EXPECTED.tsv" ]; then
		echo "corpus: $dir absent, skipped"
		continue
	fi
	python3 tests/corpus/check.py "$1" "$dir" || rc=1
done
exit $rc
