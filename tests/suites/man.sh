#!/bin/sh
# man.sh PANNE [BUILD]: the manual pages hold what the binary does.
#   - every page lints clean (mandoc -T lint -W warning; groff -ww if found);
#   - every option that `PANNE --help` prints heads an entry of OPTIONS in
#     panne(8), with its default when --help gives one;
#   - every kind of finding (from `PANNE --explain`, checked against the
#     name table of src/findings.c) has an entry in panne-findings(7) and in
#     panne(8) FINDINGS, and `PANNE --explain KIND` prints it;
#   - man/panne-findings.7 and src/explain_text.c are what
#     tools/mkfindings.sh makes of man/findings.in;
#   - each example of panne(8) marked `.\" check: ARGS` shows lines that
#     `PANNE ARGS` prints (every shown line must appear in the output);
#   - the Wireshark filters of man/findings.in compile (if tshark is found);
#   - every service of the built-in catalog is in panne-services(5).
# Run from the repository root. Prints each failure and exits 1 if any.
set -u
PANNE=${1:?usage: man.sh PANNE [BUILD]}
rc=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT HUP INT TERM
fail() { echo "man: FAIL: $*"; rc=1; }

# Roff to plain text, as far as the pages use it in code and examples.
unroff() { sed -e 's/\\-/-/g' -e 's/\\&//g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' \
	-e 's/\\f[BIRP]//g' -e 's/\\e/\\/g'; }

# ---- 1. lint ----
if ! command -v mandoc >/dev/null 2>&1; then
	fail "mandoc is not installed (make deps installs it): pages not linted"
else
	for p in man/*.[0-9]; do
		out=$(mandoc -T lint -W warning "$p" 2>&1)
		[ -z "$out" ] || fail "$p does not lint clean with mandoc:
$out"
	done
fi
if command -v groff >/dev/null 2>&1; then
	for p in man/*.[0-9]; do
		out=$(groff -man -ww -z "$p" 2>&1)
		[ -z "$out" ] || fail "$p has groff warnings:
$out"
	done
else
	echo "man: note: groff not found, its warnings not checked"
fi

# ---- 2. options ----
"$PANNE" --help >"$tmp/help" 2>&1 || fail "$PANNE --help failed"
# The OPTIONS section of panne(8) as "HEAD<tab>BODY" records, one per .TP.
unroff <man/panne.8 | awk '
	/^\.SH/ { in_opts = ($2 == "OPTIONS"); if (head != "") print head "\t" body; head = ""; next }
	!in_opts { next }
	/^\.TP/ { if (head != "") print head "\t" body; head = ""; body = ""; want = 1; next }
	want { h = $0; sub(/^\.[A-Z]+ */, "", h); gsub(/"/, "", h); head = " " h " "; want = 0; next }
	/^\.PP/ { if (head != "") print head "\t" body; head = ""; next }
	head != "" { body = body " " $0 }
	END { if (head != "") print head "\t" body }' >"$tmp/opts"
[ -s "$tmp/opts" ] || fail "no OPTIONS entries found in man/panne.8"
# Each option column of --help: "  -h, --help   text" gives -h and --help.
awk '/^  -/ {
	col = substr($0, 3); i = index(col, "  "); if (i) col = substr(col, 1, i - 1)
	n = split(col, t, ", "); d = ""
	if (match($0, /\(default [^);]*/)) d = substr($0, RSTART + 9, RLENGTH - 9)
	for (k = 1; k <= n; k++) { split(t[k], w, " "); print w[1] "\t" d }
}' "$tmp/help" >"$tmp/helpopts"
[ -s "$tmp/helpopts" ] || fail "no option found in $PANNE --help"
while IFS='	' read -r opt def; do
	entry=$(awk -F'\t' -v o="$opt" '{ h = $1; gsub(/[,]/, " ", h); if (index(h, " " o " ")) { print; exit } }' "$tmp/opts")
	if [ -z "$entry" ]; then
		fail "option $opt of --help has no entry in man/panne.8 OPTIONS"
		continue
	fi
	if [ -n "$def" ]; then
		body=$(printf '%s' "$entry" | cut -f2)
		case $body in
		*default*"$def"* | *"$def"*default*) ;;
		*) fail "option $opt: --help says 'default $def', man/panne.8 OPTIONS does not" ;;
		esac
	fi
done <"$tmp/helpopts"

# ---- 3. kinds ----
"$PANNE" --explain no-such-kind >/dev/null 2>"$tmp/kinds"
st=$?
[ $st -eq 2 ] || fail "$PANNE --explain no-such-kind exited $st, not 2"
kinds=$(sed -n 's/^kinds: //p' "$tmp/kinds")
[ -n "$kinds" ] || fail "$PANNE --explain no-such-kind lists no kinds on stderr"
table=$(sed -n 's/^[[:space:]]*{ K_[A-Z0-9_]*, CAT_[A-Z]*, "\([a-z0-9_]*\)" },.*/\1/p' src/findings.c | sort -u)
listed=$(for k in $kinds; do echo "${k#*/}"; done | sort -u)
[ "$table" = "$listed" ] || fail "kinds of --explain and of src/findings.c differ:
  findings.c: $(printf '%s\n' "$table" | tr '\n' ' ')
  --explain:  $(printf '%s\n' "$listed" | tr '\n' ' ')"
unroff <man/panne-findings.7 | sed -n 's/^\.SS "\(.*\)"$/\1/p' >"$tmp/ss7"
unroff <man/panne.8 | awk '
	/^\.SH/ { in_f = ($2 == "FINDINGS") ; next }
	in_f && /^\.TP/ { want = 1; next }
	in_f && want { h = $0; sub(/^\.[A-Z]+ */, "", h); gsub(/"/, "", h); print h; want = 0 }' >"$tmp/ss8"
for k in $kinds; do
	name=${k#*/}
	case $k in */*) cat=${k%%/*} ;; *) cat="" ;; esac
	for pg in 7 8; do
		if ! awk -v n="$name" -v c="$cat" '
			{ sub(/ +$/, "") }
			index($0, n " (") == 1 && (c == "" || $0 ~ "[( ]" c "[ )]") { found = 1 }
			END { exit !found }' "$tmp/ss$pg"; then
			[ $pg = 7 ] && fail "kind $k has no entry (.SS \"$name (...)\") in man/panne-findings.7"
			[ $pg = 8 ] && fail "kind $k has no entry (.TP head \"$name (...)\") in man/panne.8 FINDINGS"
		fi
	done
	"$PANNE" --explain "$k" >"$tmp/explain" 2>&1 || fail "$PANNE --explain $k failed"
	head -n 1 "$tmp/explain" | grep -q "^$name (" || fail "$PANNE --explain $k does not print its entry"
done

# ---- 4. generated files are current ----
if sh tools/mkfindings.sh man/findings.in "$tmp/panne-findings.7" "$tmp/explain_text.c"; then
	for f in man/panne-findings.7 src/explain_text.c; do
		cmp -s "$f" "$tmp/$(basename "$f")" ||
			fail "$f is not what man/findings.in makes: run 'sh tools/mkfindings.sh' and commit it"
	done
else
	fail "tools/mkfindings.sh failed on man/findings.in"
fi

# ---- 5. the examples of panne(8) show what panne prints ----
awk -v dir="$tmp" '
	/^\.\\" check: / { args = $0; sub(/^\.\\" check: /, "", args); n++; f = dir "/ex." n
		print args > f; armed = 1; next }
	armed && /^\.EX/ { inex = 1; next }
	inex && /^\.EE/ { inex = 0; armed = 0; close(f); next }
	inex { print > f }' man/panne.8
nex=0
for f in "$tmp"/ex.*; do
	[ -f "$f" ] || continue
	nex=$((nex + 1))
	args=$(head -n 1 "$f")
	set -f
	# shellcheck disable=SC2086 # the arguments are split as a shell would
	"$PANNE" $args >"$tmp/out" 2>&1
	set +f
	tr -s ' \t\n' '   ' <"$tmp/out" >"$tmp/flat"
	# A shown line ending in a backslash continues on the next, as in sh.
	tail -n +2 "$f" | unroff | awk '
		{ l = $0 }
		held != "" { sub(/^[ \t]+/, "", l); l = held " " l; held = "" }
		l ~ /\\$/ { sub(/[ \t]*\\$/, "", l); held = l; next }
		{ print l }
		END { if (held != "") print held }' >"$tmp/shown"
	cmd=$(sed -n 's/^\$ //p' "$tmp/shown" | head -n 1)
	[ -z "$cmd" ] || [ "$cmd" = "panne $args" ] ||
		fail "panne(8) example shows '$cmd' but is checked with 'panne $args'"
	while IFS= read -r line; do
		l=$(printf '%s' "$line" | tr -s ' \t' '  ' | sed 's/^ //; s/ $//')
		case $l in '' | '...' | '$ '*) continue ;; esac
		grep -qF -- "$l" "$tmp/flat" ||
			fail "panne(8) example 'panne $args' shows a line panne does not print:
    $l"
	done <"$tmp/shown"
done
[ $nex -gt 0 ] || fail "no checked example (.\\\" check: ARGS) in man/panne.8"

# ---- 6. the Wireshark filters compile ----
if command -v tshark >/dev/null 2>&1; then
	awk 'function flush() { if (f != "") print f; f = "" }
	     /^@filter/ { flush(); on = 1; next }
	     /^@/ { flush(); on = 0; next }
	     on && /^[|] / { f = f == "" ? substr($0, 3) : f " " substr($0, 3); next }
	     on { flush() }
	     END { flush() }' man/findings.in |
		sed 's/ADDRESS/192.0.2.1/g; s/  */ /g' >"$tmp/filters"
	while IFS= read -r flt; do
		tshark -n -r captures/healthy.pcap -c 1 -Y "$flt" >/dev/null 2>"$tmp/tserr" ||
			fail "Wireshark filter of man/findings.in does not compile: $flt
$(grep -v '^Running as' "$tmp/tserr")"
	done <"$tmp/filters"
else
	echo "man: note: tshark not found, display filters not compiled"
fi

# ---- 7. the catalog in panne-services(5) ----
for key in $(sed -n 's/^\t{ "\([a-z0-9]*\)", ".*/\1/p' src/services.c); do
	grep -q "^$key	" man/panne-services.5 ||
		fail "service $key is not listed in man/panne-services.5"
done

[ $rc -eq 0 ] && echo "man: pages lint clean; every option, kind and service documented; $nex examples hold"
exit $rc
