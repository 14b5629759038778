#!/bin/sh
# html.sh PANNE: the --html page of scenario captures (healthy, upstream,
# local, attack, several services failing at once), of a hostile capture
# built here (markup, quotes and & in names, Host, reason phrase, Server
# header) and of one where a service fails for one client of two:
# well-formed and valid (tidy), a Content-Security-Policy and nothing to
# fetch; rendered by a real browser (chromium headless, run with no network
# at all) whose DOM must hold one lane per verdict (and one for the affected
# client where only some are), as many failed-exchange marks as the JSON
# verdicts count, the onset, and every finding's frames and filter, with
# nothing injected; the browser must log no CSP violation and make no
# request. Screenshots (phone and desktop width) are left in tests/out/html
# for a person to look at. Control pages with an external image show that
# each check can fail.
set -u
PANNE=$1
OUT=tests/out/html
rm -rf "$OUT"
mkdir -p "$OUT"
rc=0
fail() { echo "html: $*"; rc=1; }
CHECK="python3 tests/html/check.py"

# The browser gets no network: an empty network namespace.
if [ "$(id -u)" = 0 ]; then NONET="unshare -n"; else NONET="unshare -rn"; fi
browser=1
command -v chromium >/dev/null 2>&1 || { echo "html: no chromium (tools/deps.sh check installs it): browser checks skipped"; browser=0; }
[ $browser = 1 ] && ! $NONET true 2>/dev/null && { echo "html: cannot make a network namespace: browser checks skipped"; browser=0; }
command -v tidy >/dev/null 2>&1 || fail "no tidy (tools/deps.sh check installs it)"

# chromium MODE PAGE OUTFILE [WIDTH]: one headless run with a fresh profile.
chromium_run() {
	prof=$(mktemp -d)
	case $1 in
	dom) set -- --dump-dom "$2" "$3" ;;
	shot) set -- "--screenshot=$3" "$2" "$3" "--window-size=$4,2400" ;;
	esac
	# shellcheck disable=SC2086
	$NONET timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --enable-logging=stderr --v=0 --log-net-log="$3.netlog" \
		${4:-} "$1" "file://$(pwd)/$2" >"$3.stdout" 2>"$3.err"
	r=$?
	rm -rf "$prof"
	return $r
}

python3 tests/html/mkhostile.py "$OUT/hostile.pcap" || fail "cannot build the hostile capture"
python3 tests/html/mkhostile.py "$OUT/clients.pcap" clients || fail "cannot build the two-client capture"
n=0
for name in healthy http-5xx gateway-reject uplink-drop rst-injection dns-injection multi-outage hostile clients; do
	pcap=captures/$name.pcap scope="" more=""
	[ $name = hostile ] && pcap=$OUT/hostile.pcap scope=-A more=--hostile
	# One client's lookups fail, the other's do not (mkhostile.py): one client lane.
	[ $name = clients ] && pcap=$OUT/clients.pcap more="--client 192.168.50.7=6"
	page=$OUT/$name.html
	# shellcheck disable=SC2086
	"$PANNE" $scope -T json --ca-file captures/test-ca.pem -r "$pcap" --html "$page" >"$OUT/$name.json" 2>"$OUT/$name.err"
	prc=$?
	[ $prc -le 1 ] || { fail "$name: exit status $prc"; cat "$OUT/$name.err"; continue; }
	n=$((n + 1))
	tidy -q -e "$page" >"$OUT/$name.tidy" 2>&1 || { fail "$name: tidy reports:"; head -20 "$OUT/$name.tidy"; }
	$CHECK static "$page" || fail "$name: the page's source"
	[ $browser = 1 ] || continue
	chromium_run dom "$page" "$OUT/$name.dom" || fail "$name: chromium --dump-dom failed: $(tail -3 "$OUT/$name.dom.err")"
	mv "$OUT/$name.dom.stdout" "$OUT/$name.dom"
	# shellcheck disable=SC2086
	$CHECK dom "$OUT/$name.dom" "$OUT/$name.json" $more || fail "$name: the rendered page"
	$CHECK console "$OUT/$name.dom.err" || fail "$name: the browser's console"
	$CHECK netlog "$OUT/$name.dom.netlog" || fail "$name: the browser's requests"
	for w in 390 1280; do
		chromium_run shot "$page" "$OUT/$name-$w.png" $w
		[ -s "$OUT/$name-$w.png" ] || fail "$name: no screenshot at width $w"
	done
done

# Controls: a page that fetches an image must fail the source check, the
# request check and (under the same CSP) the console check.
printf '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src %s"><title>c</title></head><body><p><img src="http://192.0.2.1/x.png" alt="x"></p></body></html>\n' "'none'" >"$OUT/control-csp.html"
sed 's/<meta http-equiv[^>]*>//' "$OUT/control-csp.html" >"$OUT/control-open.html"
$CHECK static "$OUT/control-csp.html" >/dev/null && fail "control: an image to fetch passed the source check"
if [ $browser = 1 ]; then
	chromium_run dom "$OUT/control-csp.html" "$OUT/control-csp.dom"
	$CHECK console "$OUT/control-csp.dom.err" >/dev/null && fail "control: the CSP violation was not seen in the console"
	chromium_run dom "$OUT/control-open.html" "$OUT/control-open.dom"
	$CHECK netlog "$OUT/control-open.dom.netlog" >/dev/null && fail "control: the image request was not seen in the net log"
fi
echo "html: $n pages checked$([ $browser = 1 ] && echo ", rendered by $(chromium --version 2>/dev/null | head -1)")"
exit $rc
