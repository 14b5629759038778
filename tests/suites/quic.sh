#!/bin/sh
# quic.sh PANNE: real QUIC (ngtcp2's example HTTP/3 server and client) in
# network namespaces, beside nginx over TCP, watched by panne -i on the
# gateway and by tcpdump, then read offline. Three worlds:
#   healthy: HTTP/3 fetches that complete (one after a Retry; one by
#     Chromium, whose ClientHello with a post-quantum key share spans two
#     Initials in many CRYPTO frames), and one server that closes the
#     handshake with a TLS alert (no common group): healthy verdicts with the
#     SNI seen and the handshake counted, and a quic_close judged upstream;
#   blocked: the gateway drops UDP 443 while TCP 443 passes: quic_timeout
#     for every QUIC service, judged a local block, degraded, not failing;
#   edge: one service's server drops its UDP 443 while QUIC to another
#     works: that service's QUIC edge, upstream.
# The answers come from how each world is built. Root only.
set -u
PANNE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
. tests/netns/livenet.sh
netns_suite quic unbound nginx curl tcpdump gtlsserver gtlsclient iptables chromium
rc=0
fail() { echo "quic: $*"; rc=1; }

# h3 SERVER_ADDR [gtlsserver options]: an HTTP/3 server on ADDR, UDP 443.
h3() {
	a=$1; shift
	inI sh -c "cd $T && exec gtlsserver -q $* $a 443 $K/srv.key $K/srv.pem >/dev/null 2>&1 &"
}
# get NAME [gtlsclient options]: one HTTP/3 request; the name is resolved by
# the scenario's unbound and sent as the SNI.
get() {
	n=$1; shift
	inC timeout 4 gtlsclient -q --exit-on-all-streams-close "$@" "$n" 443 "https://$n/" >/dev/null 2>&1 || true
}

# chrome NAME: one page load by headless Chromium, QUIC forced toward NAME;
# the test server's key is trusted by its SPKI hash.
chrome() {
	spki=$(openssl x509 -in $K/srv.pem -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64)
	prof=$(mktemp -d)
	inC timeout 20 chromium --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$prof" --enable-quic --origin-to-force-quic-on="$1:443" \
		--ignore-certificate-errors-spki-list="$spki" --dump-dom "https://$1/" >/dev/null 2>&1 || true
	rm -rf "$prof"
}

# world NAME SECONDS: starts tcpdump and panne -i on the gateway's LAN side.
world_start() {
	ip netns exec $G tcpdump -Z root -i g0 -s 262144 -U -w "$OUT/$1.pcap" >/dev/null 2>&1 &
	TCPDUMP=$!
	ip netns exec $G "$PANNE" -i g0 -A -T json -t "$2" --syn-timeout 2 -Z nobody \
		--ca-file "$K/ca.pem" >"$OUT/$1.live.json" 2>"$OUT/$1.live.err" &
	PID=$!
	sleep 1.5
}
world_end() {
	wait $PID
	sleep 0.5
	kill -TERM $TCPDUMP 2>/dev/null
	wait $TCPDUMP 2>/dev/null
	"$PANNE" -r "$OUT/$1.pcap" -A -T json --syn-timeout 2 --ca-file "$K/ca.pem" >"$OUT/$1.off.json" 2>/dev/null
}

setup() {
	reset_world
	certs
	cat >$T/zones <<EOZ
  local-zone: "spotify.com." static
  local-data: "open.spotify.com. 300 A $SPOTIFY"
  local-zone: "netflix.com." static
  local-data: "www.netflix.com. 300 A $NETFLIX"
  local-zone: "discord.com." static
  local-data: "discord.com. 300 A $DISCORD"
EOZ
	unbound_start
	nginx_start
	inG iptables -t nat -A POSTROUTING -o g1 -j MASQUERADE
}

# ---- healthy, a Retry, and a server that closes ----
setup
h3 $SPOTIFY
h3 $DISCORD -V                                      # address validation: a Retry first
h3 $YOUTUBE --groups=-GROUP-ALL:+GROUP-SECP384R1    # no group in common with the client
h3 $NETFLIX
sleep 0.5
world_start healthy 22
get open.spotify.com
get discord.com
chrome www.netflix.com
get www.youtube.com --groups=-GROUP-ALL:+GROUP-X25519
fetch https://open.spotify.com/
fetch https://www.youtube.com/
world_end healthy

# ---- the gateway drops UDP 443; TCP 443 passes ----
setup
h3 $SPOTIFY
h3 $NETFLIX
inG iptables -A FORWARD -p udp --dport 443 -j DROP
sleep 0.5
world_start blocked 10
get open.spotify.com
get www.netflix.com
fetch https://open.spotify.com/     # what a browser does next: TCP and TLS
fetch https://www.netflix.com/
world_end blocked

# ---- one service's QUIC edge is silent ----
setup
h3 $SPOTIFY
h3 $NETFLIX
inI iptables -A INPUT -d $NETFLIX -p udp --dport 443 -j DROP
sleep 0.5
world_start edge 10
get open.spotify.com
get www.netflix.com
fetch https://www.netflix.com/
world_end edge

python3 - "$OUT" <<'EOP' || rc=1
import json, os, sys
out = sys.argv[1]
ok = True
def need(cond, what):
    global ok
    if not cond:
        print("quic: missing:", what)
        ok = False
def load(p):
    return [json.loads(l) for l in open(p)]
for world in ("healthy", "blocked", "edge"):
    live, off = load(os.path.join(out, world + ".live.json")), load(os.path.join(out, world + ".off.json"))
    def fset(lines):
        return sorted((o["service"] or "", o["kind"], o["client_port"] or 0) for o in lines if o["type"] == "finding")
    need(fset(live) == fset(off), "%s: the same findings live and offline: %s vs %s" % (world, fset(live), fset(off)))
    for name, lines in (("live", live), ("offline", off)):
        v = {o["service"]: o for o in lines if o["type"] == "verdict"}
        f = [o for o in lines if o["type"] == "finding"]
        q = lines[-1]["counters"]["quic"]
        w = "%s (%s)" % (world, name)
        def kinds(svc):
            return sorted(o["kind"] for o in f if o["service"] == svc)
        if world == "healthy":
            for svc, sni in (("spotify", "open.spotify.com"), ("discord", "discord.com"), ("netflix", "www.netflix.com")):
                need(v.get(svc, {}).get("status") == "healthy", "%s: %s healthy (%s)" % (w, svc, v.get(svc, {}).get("reasons")))
                need(v.get(svc, {}).get("counts", {}).get("quic") == {"seen": 1, "failed": 0}, "%s: %s's QUIC handshake counted" % (w, svc))
                need(sni in q["names"], "%s: SNI %s read from the QUIC Initial" % (w, sni))
            need(q["retries"] >= 1, "%s: discord's Retry counted" % w)
            need(q["server_hellos"] >= 3, "%s: ServerHellos read" % w)
            need(v.get("netflix", {}).get("counts", {}).get("tls", {}).get("seen") == 0, "%s: Chromium fetched netflix over QUIC only" % w)
            c = [o for o in f if o["kind"] == "quic_close"]
            need(len(c) == 1 and c[0]["service"] == "youtube" and c[0]["detail"].get("alert") == 40
                 and c[0]["origin"] == "server", "%s: youtube's quic_close with alert 40 from the server: %s" % (w, c))
            need(v.get("youtube", {}).get("attribution") == "upstream", "%s: youtube upstream" % w)
            need(kinds("spotify") == [] and kinds("discord") == [] and kinds("netflix") == [],
                 "%s: no finding for spotify, discord, netflix" % w)
        elif world == "blocked":
            for svc in ("spotify", "netflix"):
                x = v.get(svc, {})
                need(kinds(svc) == ["quic_timeout"], "%s: %s quic_timeout only: %s" % (w, svc, kinds(svc)))
                need(x.get("status") == "degraded" and x.get("attribution") == "local",
                     "%s: %s degraded, local: %s %s" % (w, svc, x.get("status"), x.get("attribution")))
                need(any("UDP 443 is blocked" in r for r in x.get("reasons", [])), "%s: %s's reason names the UDP 443 block" % (w, svc))
                need(x.get("counts", {}).get("tls", {}).get("failed") == 0, "%s: %s's TLS over TCP works" % (w, svc))
        else:
            x = v.get("netflix", {})
            need(kinds("netflix") == ["quic_timeout"], "%s: netflix quic_timeout: %s" % (w, kinds("netflix")))
            need(x.get("attribution") == "upstream" and x.get("status") == "degraded",
                 "%s: netflix degraded, upstream: %s %s %s" % (w, x.get("status"), x.get("attribution"), x.get("reasons")))
            need(any("QUIC edge" in r for r in x.get("reasons", [])), "%s: netflix's reason names its QUIC edge" % w)
            need(v.get("spotify", {}).get("status") == "healthy", "%s: spotify healthy" % w)
print("quic: healthy, blocked and edge worlds checked live and offline" if ok else "quic: FAILED")
sys.exit(0 if ok else 1)
EOP
exit $rc
