#!/bin/sh
# \summary: generates panne-findings(7) and the texts of `panne --explain`
# from one source, man/findings.in (its format is described at its top).
#
# usage: sh tools/mkfindings.sh [SRC [MAN7 [CFILE]]]
#   defaults: man/findings.in man/panne-findings.7 src/explain_text.c,
#   relative to the repository. Both outputs are committed, so building
#   panne needs no generator; tests/suites/man.sh checks they are current.
# Exits 1, naming the source line, when an entry lacks a field or a
# literal line is too long; the outputs are then left untouched.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$root/man/findings.in}
man=${2:-$root/man/panne-findings.7}
cfile=${3:-$root/src/explain_text.c}
tmpm=$man.tmp.$$
tmpc=$cfile.tmp.$$
trap 'rm -f "$tmpm" "$tmpc"' EXIT HUP INT TERM

LC_ALL=C awk -v SRC="$(basename "$src")" -v MAN="$tmpm" -v CF="$tmpc" '
function die(msg) { printf "%s:%d: %s\n", SRC, NR, msg > "/dev/stderr"; err = 1; exit 1 }
function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

# ---- roff ----
# Escapes one line of prose: backslashes, then `code` spans in bold with
# real minus signs, then a leading control character.
function roff_inline(s,    out, i, j, code) {
	gsub(/\\/, "\\e", s)
	out = ""
	while ((i = index(s, "`")) > 0) {
		j = index(substr(s, i + 1), "`")
		if (j == 0)
			break
		code = substr(s, i + 1, j - 1)
		gsub(/-/, "\\-", code)
		out = out substr(s, 1, i - 1) "\\fB" code "\\fR"
		s = substr(s, i + j + 1)
	}
	out = out s
	if (out ~ /^[.'\'']/)
		out = "\\&" out
	return out
}
function roff_literal(s) {
	gsub(/\\/, "\\e", s)
	gsub(/-/, "\\-", s)
	if (s ~ /^[.'\'']/)
		s = "\\&" s
	return s
}
# A block in roff. The first paragraph runs in after the heading (lead).
function roff_block(t, lead,    n, L, i, l, mode, out, first) {
	n = split(t, L, "\n")
	mode = "none"; first = 1; out = ""
	if (lead != "")
		out = ".PP\n.B \"" lead "\"\n"
	for (i = 1; i <= n; i++) {
		l = L[i]
		if (l ~ /^[ \t]*$/) {
			if (mode == "lit")
				out = out ".EE\n.RE\n"
			if (mode != "none")
				mode = "gap"
			continue
		}
		if (l ~ /^[|]( |$)/) {
			if (mode != "lit") {
				if (!first)
					out = out ".PP\n"
				out = out ".RS 4\n.EX\n"
				mode = "lit"
			}
			out = out roff_literal(substr(l, 3)) "\n"
			first = 0
			continue
		}
		if (mode == "lit") {
			out = out ".EE\n.RE\n"
			if (l !~ /^- /)
				out = out ".PP\n"
			mode = "para"
		}
		if (l ~ /^- /) {
			out = out ".IP \\(bu 2\n" roff_inline(trim(substr(l, 3))) "\n"
			mode = "bullet"
		} else if (mode == "none" || mode == "gap") {
			if (!first)
				out = out ".PP\n"
			out = out roff_inline(trim(l)) "\n"
			mode = "para"
		} else {
			out = out roff_inline(trim(l)) "\n"
		}
		first = 0
	}
	if (mode == "lit")
		out = out ".EE\n.RE\n"
	return out
}

# ---- plain text ----
function plain_inline(s) { gsub(/`/, "", s); return s }
# Word-wraps s at width W: first line after p1, the others after p2.
function wrap(s, p1, p2,    n, w, i, line, out) {
	n = split(s, w, /[ \t]+/)
	line = p1; out = ""
	for (i = 1; i <= n; i++) {
		if (w[i] == "")
			continue
		if (line != p1 && line != p2 && length(line) + 1 + length(w[i]) > W) {
			out = out line "\n"
			line = p2
		}
		line = (line == p1 || line == p2) ? line w[i] : line " " w[i]
	}
	if (line != p1 && line != p2)
		out = out line "\n"
	return out
}
function plain_block(t,    n, L, i, l, out, para, kind) {
	n = split(t, L, "\n")
	out = ""; para = ""; kind = ""
	for (i = 1; i <= n; i++) {
		l = L[i]
		if (l ~ /^[ \t]*$/ || l ~ /^[|]( |$)/ || l ~ /^- /) {
			if (para != "")
				out = out (kind == "b" ? wrap(para, "  - ", "    ") : wrap(para, "  ", "  "))
			para = ""; kind = ""
			if (l ~ /^[ \t]*$/) {
				if (out != "" && out !~ /\n\n$/)
					out = out "\n"
			} else if (l ~ /^[|]/) {
				out = out "    " substr(l, 3) "\n"
			} else {
				para = plain_inline(trim(substr(l, 3))); kind = "b"
			}
			continue
		}
		para = para == "" ? plain_inline(trim(l)) : para " " plain_inline(trim(l))
		if (kind == "")
			kind = "p"
	}
	if (para != "")
		out = out (kind == "b" ? wrap(para, "  - ", "    ") : wrap(para, "  ", "  "))
	sub(/\n+$/, "\n", out)
	return out
}
function cesc(s) {
	gsub(/\\/, "\\\\\\\\", s)
	gsub(/"/, "\\\"", s)
	gsub(/\?\?/, "?\\?", s)
	return s
}
function cstr(s) { return "\"" cesc(s) "\"" }

BEGIN {
	W = 76
	nk = 0; np = 0; field = ""
	split("brief detail wire causes tells next filter", REQ, " ")
	head["wire"] = "On the wire."
	head["causes"] = "Common causes."
	head["tells"] = "How panne tells them apart."
	head["next"] = "What to check next."
	head["filter"] = "Wireshark display filter."
	for (h in head) { ph[h] = head[h]; sub(/\.$/, "", ph[h]) }
	catname["dns"] = "DNS"; catname["tcp"] = "TCP"; catname["tls"] = "TLS"; catname["http"] = "HTTP"; catname["quic"] = "QUIC"
}
/^#/ { next }
/^@/ {
	key = substr($1, 2)
	val = trim(substr($0, length($1) + 1))
	if (key == "date" || key == "version" || key == "name" || key == "seealso") {
		PAGE[key] = val; field = ""; next
	}
	if (key == "page") {
		gsub(/"/, "", val)
		np++; PT[np] = val; PB[np] = ""; PPOS[np] = nk
		field = "page"; next
	}
	if (key == "kind") {
		if (NF < 3) die("@kind needs a name and a category")
		nk++; K[nk] = $2; C[nk] = $3; CATS[nk] = $3
		for (i = 4; i <= NF; i++) CATS[nk] = CATS[nk] " " $i
		for (i = 3; i <= NF; i++)
			if (!($i in catname)) die("unknown category " $i)
		if ((K[nk] SUBSEP C[nk]) in seen) die("duplicate entry " C[nk] "/" K[nk])
		seen[K[nk], C[nk]] = 1
		KLINE[nk] = NR
		field = ""; next
	}
	if (!nk) die("@" key " before the first @kind")
	if (key == "brief" || key == "detail") {
		if (val == "") die("@" key " is empty")
		E[nk, key] = val; field = ""; next
	}
	if (key in head) { field = key; E[nk, key] = ""; next }
	die("unknown field @" key)
}
{
	if ($0 ~ /^[|]/ && length($0) - 2 > 72) die("literal line longer than 72 characters")
	if ($0 ~ /\t/) die("tab in text: use spaces")
	if ($0 ~ /[\200-\377]/) die("non-ASCII character: the texts are plain ASCII")
	if (field == "page") { PB[np] = PB[np] $0 "\n"; next }
	if (field == "") { if ($0 !~ /^[ \t]*$/) die("text outside a field"); next }
	E[nk, field] = E[nk, field] $0 "\n"
}
END {
	if (err) exit 1
	if (!nk) { print SRC ": no @kind entry" > "/dev/stderr"; exit 1 }
	for (e = 1; e <= nk; e++) {
		for (r = 1; r <= 7; r++)
			if (!((e SUBSEP REQ[r]) in E) || E[e, REQ[r]] ~ /^[ \t\n]*$/) {
				printf "%s:%d: entry %s/%s lacks @%s\n", SRC, KLINE[e], C[e], K[e], REQ[r] > "/dev/stderr"
				exit 1
			}
		# The filter: every literal line of the filter block, joined.
		n = split(E[e, "filter"], L, "\n"); F[e] = ""
		for (i = 1; i <= n; i++)
			if (L[i] ~ /^[|] /)
				F[e] = F[e] == "" ? trim(substr(L[i], 3)) : F[e] " " trim(substr(L[i], 3))
		if (F[e] == "") {
			printf "%s:%d: entry %s/%s: @filter holds no literal line\n", SRC, KLINE[e], C[e], K[e] > "/dev/stderr"
			exit 1
		}
		nm[K[e]]++
	}

	# ---- the man page ----
	print ".\\\" panne-findings(7): GENERATED from man/findings.in by tools/mkfindings.sh." > MAN
	print ".\\\" Edit the source and regenerate; do not edit this file." > MAN
	printf ".TH PANNE-FINDINGS 7 %s \"panne %s\" \"Miscellaneous Information Manual\"\n", PAGE["date"], PAGE["version"] > MAN
	print ".SH NAME" > MAN
	print "panne\\-findings \\- " PAGE["name"] > MAN
	for (p = 1; p <= np; p++)
		if (PPOS[p] == 0) {
			printf ".SH %s\n", (PT[p] ~ / / ? "\"" PT[p] "\"" : PT[p]) > MAN
			printf "%s", roff_block(PB[p], "") > MAN
		}
	last = ""
	for (e = 1; e <= nk; e++) {
		if (C[e] != last) {
			printf ".SH \"%s FINDINGS\"\n", catname[C[e]] > MAN
			last = C[e]
		}
		cl = CATS[e]; gsub(/ /, " or ", cl)
		printf ".SS \"%s (%s)\"\n", K[e], cl > MAN
		print roff_inline(E[e, "brief"]) > MAN
		printf "%s", roff_block(E[e, "wire"], head["wire"]) > MAN
		printf "%s", roff_block(E[e, "causes"], head["causes"]) > MAN
		printf "%s", roff_block(E[e, "tells"], head["tells"]) > MAN
		printf "%s", roff_block(E[e, "next"], head["next"]) > MAN
		printf "%s", roff_block(E[e, "filter"], head["filter"]) > MAN
		print ".PP\n.B \"Detail:\"\n" roff_inline(E[e, "detail"]) > MAN
	}
	for (p = 1; p <= np; p++)
		if (PPOS[p] > 0) {
			printf ".SH %s\n", (PT[p] ~ / / ? "\"" PT[p] "\"" : PT[p]) > MAN
			printf "%s", roff_block(PB[p], "") > MAN
		}
	if (PAGE["seealso"] != "") {
		print ".SH \"SEE ALSO\"" > MAN
		n = split(PAGE["seealso"], S, /, */)
		for (i = 1; i <= n; i++) {
			ref = S[i]; sec = ref; sub(/\(.*/, "", ref); sub(/^[^(]*/, "", sec)
			gsub(/-/, "\\-", ref)
			printf ".BR %s %s%s\n", ref, sec, (i < n ? " ," : "") > MAN
		}
	}

	# ---- the C texts ----
	print "/* \\summary: texts of `panne --explain KIND`, GENERATED from man/findings.in" > CF
	print " * by tools/mkfindings.sh: edit the source and regenerate, do not edit this. */" > CF
	print "#include \"panne/explain.h\"" > CF
	print "" > CF
	print "const struct explain_entry explain_table[] = {" > CF
	for (e = 1; e <= nk; e++) {
		cl = CATS[e]; gsub(/ /, " or ", cl)
		txt = wrap(K[e] " (" cl "): " plain_inline(E[e, "brief"]), "", "  ")
		txt = txt "\n" ph["wire"] "\n" plain_block(E[e, "wire"])
		txt = txt "\n" ph["causes"] "\n" plain_block(E[e, "causes"])
		txt = txt "\n" ph["tells"] "\n" plain_block(E[e, "tells"])
		txt = txt "\n" ph["next"] "\n" plain_block(E[e, "next"])
		txt = txt "\n" ph["filter"] "\n" plain_block(E[e, "filter"])
		txt = txt "\n" wrap("Detail: " plain_inline(E[e, "detail"]), "", "  ")
		txt = txt "See panne-findings(7); the verdict rules are in panne(8), ATTRIBUTION.\n"
		printf "\t{ %s, %s, %s,\n", cstr(K[e]), cstr(C[e]), cstr(CATS[e]) > CF
		printf "\t  %s,\n", cstr(plain_inline(E[e, "brief"])) > CF
		printf "\t  %s,\n", cstr(F[e]) > CF
		n = split(txt, L, "\n")
		for (i = 1; i < n; i++)
			printf "\t  \"%s\\n\"%s\n", cesc(L[i]), (i == n - 1 ? " }," : "") > CF
	}
	print "};" > CF
	print "const size_t explain_table_n = sizeof explain_table / sizeof explain_table[0];" > CF
}
' "$src"

mv "$tmpm" "$man"
mv "$tmpc" "$cfile"
