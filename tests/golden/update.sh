#!/bin/sh
# update.sh NAME...: rewrites tests/golden/NAME.out from the current ./panne.
# Check the new output by hand (git diff) before committing it.
set -u
cd "$(dirname "$0")/../.."
for name in "$@"; do
	a=tests/golden/$name.args
	args=$(grep -v '^#' "$a")
	# shellcheck disable=SC2086
	./panne $args >tests/golden/$name.out
	echo "$name: exit $?"
done
