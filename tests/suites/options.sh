#!/bin/sh
# options.sh PANNE: standard input, capture filters that keep Wireshark's
# frame numbers, scope options, and a catalog file.
set -u
PANNE=$1
T=tests/out/options
rm -rf "$T"; mkdir -p "$T"
rc=0
fail() { echo "options: $*"; rc=1; }
cap=captures/http-5xx.pcap
"$PANNE" -T json -r "$cap" >"$T/file.json"
"$PANNE" -T json -r - <"$cap" >"$T/stdin.json"
# The same findings from a pipe, but for the file's name.
sed 's/"file":"[^"]*"/"file":"X"/; s/"files":\[[^]]*\]/"files":["X"]/' "$T/file.json" >"$T/a"
sed 's/"file":"[^"]*"/"file":"X"/; s/"files":\[[^]]*\]/"files":["X"]/' "$T/stdin.json" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "reading standard input gives other results than the file"
# A filter drops packets but frames keep their numbers in the file.
"$PANNE" -T json -r "$cap" tcp port 80 >"$T/bpf.json"
a=$(grep '"kind":"http_5xx"' "$T/file.json" | sed 's/.*"frame":\([0-9]*\).*/\1/' | tr '\n' ' ')
b=$(grep '"kind":"http_5xx"' "$T/bpf.json" | sed 's/.*"frame":\([0-9]*\).*/\1/' | tr '\n' ' ')
[ -n "$a" ] && [ "$a" = "$b" ] || fail "frame numbers change under a filter: '$a' vs '$b'"
p=$(sed -n 's/.*"packets":\([0-9]*\).*/\1/p' "$T/bpf.json")
[ "$p" -gt 0 ] && [ "$p" -lt 150 ] || fail "the summary should count the $p packets that passed the filter, fewer than 150"
# -s narrows the scope; a named service absent from the capture is unseen.
"$PANNE" -T json -r "$cap" -s netflix,tidal >"$T/scope.json"
[ "$(grep -c '"type":"verdict"' "$T/scope.json")" = 2 ] || fail "-s netflix,tidal: expected two verdicts"
grep -q '"service":"tidal","status":"unseen"' "$T/scope.json" || fail "-s tidal: expected an unseen verdict"
# A catalog file replaces the built-in one; its errors name file and line.
printf '# test\nservice video "Video" netflix.com\n' >"$T/cat"
"$PANNE" -T json -r "$cap" -S "$T/cat" >"$T/cat.json"
grep -q '"service":"video","status":"failing"' "$T/cat.json" || fail "-S: netflix.com traffic should be the 'video' service"
printf 'service Bad "x" a.com\n' >"$T/bad"
"$PANNE" -r "$cap" -S "$T/bad" 2>"$T/bad.err"; [ $? = 2 ] || fail "-S with a bad key: expected exit 2"
grep -q "bad:1:" "$T/bad.err" || fail "-S error does not name file and line: $(cat "$T/bad.err")"
# -w holds exactly the cited frames.
"$PANNE" -T json -r "$cap" -w "$T/ev.pcap" >"$T/w.json"
n=$(python3 -c "
import json,sys
s=[json.loads(l) for l in open('$T/w.json')][-1]
cited=sorted({e for l in open('$T/w.json') for o in [json.loads(l)] if o['type']=='finding' for e in o['evidence']})
got=[m['frame'] for m in s['evidence_map']]
print('ok' if cited==got else 'bad %s %s' % (cited, got))")
[ "$n" = ok ] || fail "-w map is not the cited frames: $n"
[ "$(python3 -c "import struct;d=open('$T/ev.pcap','rb').read();print(d[:4].hex())")" = d4c3b2a1 ] || fail "-w did not write a pcap"
# panne probe: usage errors stop before any packet is sent.
"$PANNE" probe --parallel 0 example.org 2>"$T/p.err"; [ $? = 2 ] || fail "probe --parallel 0: expected exit 2"
"$PANNE" probe --resolver not-an-address example.org 2>"$T/p.err"; [ $? = 2 ] || fail "probe --resolver not-an-address: expected exit 2"
grep -q "not an IPv4 or IPv6 address" "$T/p.err" || fail "probe --resolver error does not say why: $(cat "$T/p.err")"
"$PANNE" probe -T xml example.org 2>/dev/null; [ $? = 2 ] || fail "probe -T xml: expected exit 2"
"$PANNE" probe --help | grep -q "PROBE MODE" || fail "probe --help does not point to PROBE MODE"
exit $rc
