#!/bin/sh
# man.sh PANNE: the man pages lint clean, and document every option that
# --help prints, every kind of finding, and every service of the catalog.
set -u
PANNE=$1
rc=0
for p in man/*.[0-9]; do
	out=$(mandoc -T lint -W warning "$p" 2>&1)
	[ -z "$out" ] || { echo "man: $p does not lint clean:"; echo "$out"; rc=1; }
done
# Options: each "-x" or "--long" at the start of a --help line must head an
# entry (.TP) of the OPTIONS section.
heads=$(sed -n '/^\.SH OPTIONS/,/^\.SH OUTPUT/p' man/panne.8 | sed -n '/^\.TP/{n;p}')
for o in $("$PANNE" --help | sed -n 's/^  \(-[A-Za-z]\|--[a-z-]*\).*/\1/p'); do
	esc=$(printf '%s' "$o" | sed 's/-/\\\\-/g')
	printf '%s\n' "$heads" | grep -q "^\.B[IR]* *$esc\b\|^\.B[IR]* *$esc\( \|\"\|$\)\|^\.BR .*\" *$esc\b" ||
		{ echo "man: option $o of --help is not documented in man/panne.8"; rc=1; }
done
# Kinds: the closed vocabulary, read from the one name table in src/findings.c.
for k in $(sed -n 's/^\t{ K_[A-Z0-9_]*, CAT_[A-Z]*, "\([a-z0-9_]*\)" },$/\1/p' src/findings.c | sort -u); do
	esc=$(printf '%s' "$k" | sed 's/_/\\_/g')
	grep -q "^\.B $k\b\|^\.B $k \|^\.B .*\b$k\b" man/panne.8 ||
		{ echo "man: kind $k is not documented in man/panne.8 FINDINGS"; rc=1; }
done
# Catalog: every built-in key in panne-services(5).
for key in $(sed -n 's/^\t{ "\([a-z0-9]*\)", ".*/\1/p' src/services.c); do
	grep -q "^$key	" man/panne-services.5 ||
		{ echo "man: service $key is not listed in man/panne-services.5"; rc=1; }
done
[ $rc -eq 0 ] && echo "man: pages lint clean; every option, kind and service documented"
exit $rc
