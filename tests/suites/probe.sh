#!/bin/sh
# probe.sh PANNE: `panne probe` in network namespaces (client -> middlebox
# -> "internet"): a clean unbound resolver and nginx servers, and on the
# middlebox a tampering unbound (forges open.spotify.com to a private
# address, forwards the rest to the clean one) and an intercepting TLS
# server (openssl s_server, self-signed) that discord.com's port 443 is
# redirected to; it also says www.wikipedia.org does not exist.
# An injector there races a second answer for example.org.
# www.netflix.com answers 503, www.youtube.com is clean.
# Checks the JSON findings and verdicts as root (with packet evidence and
# -w) and as an unprivileged user (no capture, said so). Root only.
set -u
PANNE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
. tests/netns/livenet.sh
netns_suite probe unbound nginx openssl iptables python3 tcpdump setpriv
TAMPER=192.168.50.53
FORGED=10.66.0.10

reset_world
certs
zones_plain
unbound_start
NETFLIX_HTTP=503 nginx_start

# The tampering resolver, on the middlebox.
inG ip addr add $TAMPER/24 dev g0
{ unbound_head tamper $TAMPER; cat <<EOC; } >$T/tamper.conf
  local-zone: "open.spotify.com." static
  local-data: "open.spotify.com. 300 A $FORGED"
  local-zone: "www.wikipedia.org." always_nxdomain
forward-zone:
  name: "."
  forward-addr: $RES
EOC
inG unbound -c $T/tamper.conf

# The interceptor: its own self-signed certificate for discord.com.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=discord.com" \
	-addext "subjectAltName=DNS:discord.com" -keyout $K/mitm.key -out $K/mitm.pem >/dev/null 2>&1
inG openssl s_server -quiet -accept 8443 -cert $K/mitm.pem -key $K/mitm.key -www >/dev/null 2>&1 &
inG iptables -t nat -A PREROUTING -i g0 -d $DISCORD -p tcp --dport 443 -j REDIRECT --to-ports 8443
# A local stub on the client's loopback, forwarding to the clean resolver:
# its exchanges are captured on lo, apart from c0's.
{ unbound_head stub 127.0.0.1; cat <<EOC; } >$T/stub.conf
forward-zone:
  name: "."
  forward-addr: $RES
EOC
inC unbound -c $T/stub.conf
# An on-path injector on the middlebox: a second, forged answer to the
# client's A queries for example.org to the clean resolver (the race).
READY=$T/inject.ready inG python3 tests/netns/tools.py inject-dns g0 $RES 198.51.100.99 example.org >/dev/null 2>&1 &
for _ in 1 2 3 4 5 6 7 8 9 10; do [ -f $T/inject.ready ] && break; sleep 0.2; done
sleep 0.7

NAMES="open.spotify.com www.netflix.com discord www.youtube.com www.wikipedia.org example.org"
start=$(date +%s)
# shellcheck disable=SC2086
inC "$PANNE" probe --resolver $RES --resolver $TAMPER --resolver 127.0.0.1 --ca-file $K/ca.pem \
	-T json -Z nobody --probe-timeout 3 -w "$OUT/probe.pcap" $NAMES >"$OUT/root.json" 2>"$OUT/root.err"
rc_root=$?
# Unprivileged: no capture, the same facts without frames.
chmod 755 $K; chmod 644 $K/ca.pem
# shellcheck disable=SC2086
inC setpriv --reuid=nobody --regid=nogroup --clear-groups "$PANNE" probe --resolver $RES \
	--resolver $TAMPER --ca-file $K/ca.pem -T json --probe-timeout 3 $NAMES >"$OUT/user.json" 2>"$OUT/user.err"
rc_user=$?
# The text report, as root.
# shellcheck disable=SC2086
inC "$PANNE" probe --resolver $RES --resolver $TAMPER --ca-file $K/ca.pem -Z nobody \
	--probe-timeout 3 $NAMES >"$OUT/root.txt" 2>&1
took=$(($(date +%s) - start))

rc=0
fail() { echo "probe: $*"; rc=1; }
[ "$rc_root" = 1 ] || { fail "exit status $rc_root as root, expected 1"; cat "$OUT/root.err"; }
[ "$rc_user" = 1 ] || { fail "exit status $rc_user unprivileged, expected 1"; cat "$OUT/user.err"; }
grep -q "lack packet evidence" "$OUT/user.err" || fail "unprivileged run does not say its findings lack packet evidence"
for want in "captured on c0" "netflix: failing, upstream" "discord: failing, attack" "youtube: healthy" "http_5xx"; do
	grep -q "$want" "$OUT/root.txt" || fail "text report lacks '$want'"
done
[ -n "${PROBE_SHOW:-}" ] && cat "$OUT/root.txt" && grep -v "\"summary\"" "$OUT/root.json" && tail -n 1 "$OUT/root.json" | cut -c1-300 && python3 -c "import json,sys; s=json.loads(open(sys.argv[1]).readlines()[-1]); print(s[\"probe\"][\"interfaces\"], s[\"counters\"], s[\"packets\"])" "$OUT/root.json"
n=$(tcpdump -nr "$OUT/probe.pcap" 2>/dev/null | wc -l)
python3 - "$OUT/root.json" "$OUT/user.json" "$n" "$FORGED" "$OUT/probe.pcap" <<'EOP' || rc=1
import json, sys
ok = True
def need(cond, what):
    global ok
    if not cond:
        print("probe: missing:", what); ok = False
def load(p):
    try:
        return [json.loads(l) for l in open(p)]
    except ValueError as e:
        print("probe: %s is not JSON lines: %s" % (p, e)); return []
for path, root in ((sys.argv[1], True), (sys.argv[2], False)):
    who = "root" if root else "unprivileged"
    lines = load(path)
    finds = [o for o in lines if o["type"] == "finding"]
    verdicts = {o["service"]: o for o in lines if o["type"] == "verdict"}
    summ = lines[-1] if lines else {}
    def first(svc, kind):
        return next((o for o in finds if o["service"] == svc and o["kind"] == kind), None)
    need(finds and all(o.get("source") == "probe" for o in finds), who + ': "source": "probe" on every finding')
    need(summ.get("type") == "summary" and summ.get("source") == "probe", who + ": a probe summary last")
    h = first("netflix", "http_5xx")
    need(h and h["detail"].get("status") == 503 and h["origin"] == "server", who + ": netflix http_5xx 503 from the server")
    need(verdicts.get("netflix", {}).get("attribution") == "upstream", who + ": netflix attributed upstream")
    d = first("spotify", "dns_bogus_answer") or first("spotify", "dns_injection")
    need(d and sys.argv[4] in json.dumps(d["detail"]), who + ": spotify's forged answer as dns_bogus_answer or dns_injection")
    need(verdicts.get("spotify", {}).get("attribution") == "attack", who + ": spotify attributed attack")
    c = first("discord", "cert_untrusted")
    need(c and c["origin"] == "on-path", who + ": discord cert_untrusted with origin on-path")
    need(verdicts.get("discord", {}).get("attribution") == "attack", who + ": discord attributed attack")
    need(verdicts.get("youtube", {}).get("status") == "healthy", who + ": youtube healthy: %s" % verdicts.get("youtube"))
    need(not any(o["service"] == "youtube" for o in finds), who + ": no finding for the clean youtube")
    need(verdicts.get("youtube", {}).get("counts", {}).get("http", {}).get("seen", 0) >= 1, who + ": youtube's HEAD counted")
    nx = first("wikipedia.org", "nxdomain")
    need(nx and nx["server"] == "192.168.50.53" and "only this resolver" in json.dumps(nx["detail"]),
         who + ": NXDOMAIN from the tampering resolver only, said so: %s" % nx)
    p = summ.get("probe", {})
    need(p.get("packet_evidence") is root, who + ": packet_evidence %s" % root)
    byname = {n["name"]: n for n in p.get("names", [])}
    need(byname.get("open.spotify.com", {}).get("answers_agree") is False, who + ": spotify's resolvers disagree")
    need(byname.get("www.youtube.com", {}).get("answers_agree") is True, who + ": youtube's resolvers agree")
    dc = byname.get("discord.com", {}).get("connections", [{}])
    need(dc and dc[0].get("chain", [{}])[0].get("issuer") == "CN=discord.com" and dc[0].get("verified") is False,
         who + ": discord's chain recorded, self-issued, not verified: %s" % dc)
    if root:
        inj = first("example.org", "dns_injection")
        need(inj and inj["origin"] == "on-path" and len(inj["evidence"]) >= 2 and "198.51.100.99" in json.dumps(inj["detail"]),
             "root: the injected second answer for example.org as dns_injection on-path, both answers cited: %s" % inj)
        need(d and d["evidence"], "root: the forged answer cites its frames")
        need(c and c["evidence"], "root: the intercepted handshake cites its frames")
        need(p.get("interfaces") == ["c0", "lo"], "root: captured on the route's interface c0 and on lo (a local resolver), not %r" % p.get("interfaces"))
        need(any(f == "lo" for f in [o["file"] for o in finds] + [m["file"] for m in summ.get("evidence_map", [])]) or
             summ.get("counters", {}).get("dns", {}).get("queries", 0) >= 4 * 4 * 3, "root: the local resolver's queries captured on lo")
        need(int(sys.argv[3]) > 0 and int(sys.argv[3]) == summ.get("packets"),
             "-w holds every packet of the probe: %s in the file, %s in the summary" % (sys.argv[3], summ.get("packets")))
        need(all(o["file"] == sys.argv[5] for o in finds), "root: findings name the -w file")
        # Each cited frame of the -w file is the packet the finding says.
        sys.path.insert(0, "tests/golden")
        import check_frames as cf
        lt, frames = cf.read_pcap(sys.argv[5])
        for o in finds:
            d = cf.dissect(frames[o["frame"]], lt) if 0 < o["frame"] < len(frames) else None
            if o["detail"].get("inside_tls"):  # the status is inside a TLS record from the server
                why = None if d and d[0] == "tcp" and d[1]["sport"] == 443 and d[2][:3] in (b"\x17\x03\x03", b"\x17\x03\x01") else "not TLS application data from the server"
            else:
                why = cf.check(o["kind"], o["detail"], d, o["frame"])
            need(why is None, "root: %s cites frame %s of the -w file: %s" % (o["kind"], o["frame"], why))
    else:
        need("lack packet evidence" in p.get("note", ""), "unprivileged: the summary says findings lack packet evidence")
        need(all(not o["evidence"] for o in finds), "unprivileged: no frames cited")
sys.exit(0 if ok else 1)
EOP
[ $rc = 0 ] && echo "probe: http_5xx upstream, forged answer, injected answer, NXDOMAIN from one resolver only, interception on-path, clean service healthy; as root with frames and unprivileged without (${took}s)"
[ $rc = 0 ] || { echo "--- root.err"; cat "$OUT/root.err"; echo "--- root.json"; cat "$OUT/root.json"; }
exit $rc
