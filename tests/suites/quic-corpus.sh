#!/bin/sh
# quic-corpus.sh PANNE: compares panne's QUIC counters with tshark's figures
# over the QUIC corpus (skips cleanly when ../shared/corpus/quic is absent).
set -u
dir=${PANNE_QUIC_CORPUS:-../shared/corpus/quic}
if [ ! -f "$dir/EXPECTED.tsv" ]; then
	echo "quic corpus: $dir absent, skipped"
	exit 0
fi
exec python3 tests/corpus/quic.py "$1" "$dir"
