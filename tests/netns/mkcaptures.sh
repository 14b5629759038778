#!/bin/sh
# mkcaptures.sh [SCENARIO...]: makes the scenario captures of captures/ from
# real traffic: a client, a gateway (where the capture is taken, on its LAN
# side) and an "internet" namespace holding a real unbound resolver and real
# nginx servers, all in network namespaces of this script. Needs root.
# Every scenario is described in captures/README.md.
set -eu
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/captures}
TOOLS="python3 $ROOT/tests/netns/tools.py"
[ "$(id -u)" -eq 0 ] || { echo "mkcaptures: needs root (network namespaces)" >&2; exit 2; }
T=$(mktemp -d)
K=$(mktemp -d) # certificates, made once for every scenario
C=pnc$$ G=png$$ I=pni$$

# Addresses: LAN 192.168.50.0/24, gateway uplink 203.0.113.0/24, resolver
# 203.0.113.53, services in 198.51.100.0/24 (documentation ranges: public-looking).
RES=203.0.113.53
SPOTIFY=198.51.100.10 NETFLIX=198.51.100.20 DISCORD=198.51.100.30 YOUTUBE=198.51.100.40
EXAMPLE=198.51.100.50 WIKI=198.51.100.51 CDN=198.51.100.60 SLOWDNS=203.0.113.54

cleanup() {
	for ns in $C $G $I; do
		ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del $ns 2>/dev/null || true
	done
	rm -rf /etc/netns/$C "$T"
}
trap 'cleanup; rm -rf "$K"' EXIT INT TERM

inC() { ip netns exec $C "$@"; }
inG() { ip netns exec $G "$@"; }
inI() { ip netns exec $I "$@"; }

topology() {
	ip netns add $C; ip netns add $G; ip netns add $I
	ip link add c0 netns $C type veth peer name g0 netns $G
	ip link add g1 netns $G type veth peer name i0 netns $I
	inC ip addr add 192.168.50.2/24 dev c0
	inC ip link set c0 up; inC ip link set lo up
	inC ip route add default via 192.168.50.1
	inG ip addr add 192.168.50.1/24 dev g0
	inG ip addr add 203.0.113.1/24 dev g1
	inG ip link set g0 up; inG ip link set g1 up; inG ip link set lo up
	inG ip route add 198.51.100.0/24 via 203.0.113.2
	inG sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.g0.rp_filter=0
	inI ip addr add 203.0.113.2/24 dev i0
	for a in $RES $SLOWDNS; do inI ip addr add $a/32 dev i0; done
	for a in $SPOTIFY $NETFLIX $DISCORD $YOUTUBE $EXAMPLE $WIKI $CDN; do inI ip addr add $a/32 dev i0; done
	inI ip link set i0 up; inI ip link set lo up
	inI ip route add default via 203.0.113.1
	mkdir -p /etc/netns/$C
	printf 'nameserver %s\noptions timeout:2 attempts:1\n' $RES >/etc/netns/$C/resolv.conf
	# Offloads would show segments larger than the wire's MTU; not all kernels let us turn them off.
	for x in "$C c0" "$G g0" "$G g1" "$I i0"; do
		set -- $x
		ip netns exec $1 ethtool -K $2 tso off gso off gro off >/dev/null 2>&1 || true
	done
}

certs() {
	# The test CA is kept (tests/netns/conf, a key for these captures only) so
	# that re-making one scenario keeps captures/test-ca.pem valid for all.
	conf=$ROOT/tests/netns/conf
	mkdir -p $conf
	if [ ! -f $conf/test-ca.key ]; then
		openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=panne test CA" \
			-keyout $conf/test-ca.key -out $conf/test-ca.pem >/dev/null 2>&1
	fi
	cp $conf/test-ca.key $K/ca.key
	cp $conf/test-ca.pem $K/ca.pem
	names="DNS:open.spotify.com,DNS:api.spotify.com,DNS:www.netflix.com,DNS:discord.com,DNS:gateway.discord.gg,DNS:www.youtube.com,DNS:example.org,DNS:www.wikipedia.org,DNS:edge.cdn-example.net"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=panne test server" -keyout $K/srv.key -out $K/srv.csr >/dev/null 2>&1
	printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\n' "$names" >$K/ext
	openssl x509 -req -in $K/srv.csr -CA $K/ca.pem -CAkey $K/ca.key -CAcreateserial -days 3650 \
		-extfile $K/ext -out $K/srv.pem >/dev/null 2>&1
	# An interceptor's own CA, trusted by nobody, and its forged certificate.
	openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Corporate Inspection CA" \
		-keyout $K/evil-ca.key -out $K/evil-ca.pem >/dev/null 2>&1
	openssl req -newkey rsa:2048 -nodes -subj "/CN=open.spotify.com" -keyout $K/forged.key -out $K/forged.csr >/dev/null 2>&1
	printf 'subjectAltName=DNS:open.spotify.com\n' >$K/ext2
	openssl x509 -req -in $K/forged.csr -CA $K/evil-ca.pem -CAkey $K/evil-ca.key -CAcreateserial \
		-days 3650 -extfile $K/ext2 -out $K/forged.pem >/dev/null 2>&1
	cp $K/ca.pem "$OUT/test-ca.pem"
}

# unbound [EXTRA...]: the resolver, with the zones of the scenario.
unbound_start() {
	cat >$T/unbound.conf <<EOC
server:
  interface: $RES
  access-control: 0.0.0.0/0 allow
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$T"
  pidfile: "$T/unbound.pid"
  use-syslog: no
  logfile: "$T/unbound.log"
  do-not-query-localhost: no
  local-zone: "example.org." static
  local-data: "example.org. 300 A $EXAMPLE"
  local-zone: "wikipedia.org." static
  local-data: "www.wikipedia.org. 300 A $WIKI"
  local-zone: "youtube.com." static
  local-data: "www.youtube.com. 300 A $YOUTUBE"
$(cat $T/zones)
EOC
	inI unbound -c $T/unbound.conf
	sleep 0.5
}

zones_plain() {
	cat >$T/zones <<EOZ
  local-zone: "spotify.com." static
  local-data: "open.spotify.com. 300 A $SPOTIFY"
  local-data: "api.spotify.com. 300 A $SPOTIFY"
  local-zone: "netflix.com." static
  local-data: "www.netflix.com. 300 A $NETFLIX"
  local-zone: "discord.com." static
  local-data: "discord.com. 300 A $DISCORD"
EOZ
}

# nginx: every service on 80 and 443; $NETFLIX_HTTP and $CDN_STATUS set answers.
nginx_start() {
	listen_discord="listen $DISCORD:80; listen $DISCORD:443 ssl;"
	[ "${NO_DISCORD:-}" = 1 ] && listen_discord="listen 127.0.0.1:8099;"
	head -c 3000000 /dev/zero >$T/big.bin
	cat >$T/nginx.conf <<EOC
user root;
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 256; }
http {
  access_log off;
  ssl_certificate $K/srv.pem;
  ssl_certificate_key $K/srv.key;
  ssl_protocols TLSv1.2 TLSv1.3;
  server_tokens on;
  server { listen $SPOTIFY:80; listen $SPOTIFY:443 ssl; location / { return 200 "spotify ok\n"; } }
  server { listen $NETFLIX:80; listen $NETFLIX:443 ssl; location / { return ${NETFLIX_HTTP:-200} "netflix\n"; } }
  server { $listen_discord location / { return 200 "discord ok\n"; } }
  server { listen $YOUTUBE:80; listen $YOUTUBE:443 ssl; root $T; location /big.bin { limit_rate 300k; } location / { return 200 "youtube ok\n"; } }
  server { listen $EXAMPLE:80; listen $EXAMPLE:443 ssl; location / { return 200 "example ok\n"; } }
  server { listen $WIKI:80; listen $WIKI:443 ssl; location / { return 200 "wiki ok\n"; } }
  server { listen $CDN:80; listen $CDN:443 ssl; location / { return ${CDN_STATUS:-200} "cdn\n"; } }
}
EOC
	inI nginx -c $T/nginx.conf
	sleep 0.3
}

capture_start() {
	ip netns exec $G tcpdump -Z root -i g0 -s 262144 -U -w "$T/cap.pcap" >/dev/null 2>&1 & # not inG: $! must be tcpdump
	CAP_PID=$!
	sleep 1
}

capture_stop() { # NAME
	sleep 0.5
	inC $TOOLS resolve $RES example.org --tries 1 --wait 1 >/dev/null 2>&1 || true # a last packet: marks the end time
	sleep 0.5
	kill -TERM $CAP_PID 2>/dev/null || true
	wait $CAP_PID 2>/dev/null || true
	cp "$T/cap.pcap" "$OUT/$1.pcap"
	echo "mkcaptures: $1.pcap: $(tcpdump -nr "$OUT/$1.pcap" 2>/dev/null | wc -l) packets"
}

fetch() { # URL [curl options]: a real client fetch; failures are the point of some scenarios
	url=$1; shift
	inC curl -sS -o /dev/null --cacert $K/ca.pem --tls-max 1.2 --connect-timeout 4 -m 8 "$@" "$url" 2>/dev/null || true
}

fetch_all() {
	fetch https://open.spotify.com/
	fetch https://www.netflix.com/
	fetch http://www.netflix.com/
	fetch https://discord.com/
	fetch https://www.youtube.com/
	fetch https://example.org/
	fetch http://www.wikipedia.org/
}

reset_world() {
	cleanup
	T=$(mktemp -d)
	topology
}

scenario_healthy() {
	zones_plain; unbound_start; nginx_start; capture_start
	fetch_all
	capture_stop healthy
}

scenario_http_5xx() {
	zones_plain; unbound_start; NETFLIX_HTTP=503 nginx_start; capture_start
	fetch_all
	fetch http://www.netflix.com/browse
	capture_stop http-5xx
}

scenario_refused() {
	zones_plain; unbound_start; NO_DISCORD=1 nginx_start; capture_start
	fetch_all
	fetch https://discord.com/api
	capture_stop refused
}

scenario_servfail() {
	# netflix.com is delegated to a forwarder that refuses every packet: unbound says SERVFAIL.
	cat >$T/zones <<EOZ
  local-zone: "spotify.com." static
  local-data: "open.spotify.com. 300 A $SPOTIFY"
  local-zone: "discord.com." static
  local-data: "discord.com. 300 A $DISCORD"
forward-zone:
  name: "netflix.com."
  forward-addr: 203.0.113.99
server:
  outbound-msg-retry: 1
  infra-host-ttl: 1
EOZ
	inI iptables -A OUTPUT -d 203.0.113.99 -j REJECT
	unbound_start; nginx_start; capture_start
	fetch_all
	capture_stop servfail
}

scenario_resolver_down() {
	zones_plain; nginx_start; capture_start # no unbound at all
	fetch https://open.spotify.com/
	fetch https://www.netflix.com/
	fetch https://example.org/
	capture_stop resolver-down
}

scenario_gateway_reject() {
	zones_plain; unbound_start; nginx_start
	inG iptables -A FORWARD -d $SPOTIFY -p tcp -j REJECT --reject-with tcp-reset
	capture_start
	fetch_all
	fetch https://open.spotify.com/again
	capture_stop gateway-reject
}

scenario_uplink_drop() {
	zones_plain; unbound_start; nginx_start
	inG iptables -A FORWARD -o g1 -j DROP
	capture_start
	fetch https://open.spotify.com/
	fetch https://www.netflix.com/
	fetch https://example.org/
	fetch https://discord.com/ --resolve discord.com:443:$DISCORD
	sleep 11 # past the SYN and DNS timeouts
	capture_stop uplink-drop
}

scenario_dns_injection() {
	# The real answer for netflix.com comes from a slow authoritative (150 ms);
	# a box on the path answers first with its own address.
	cat >$T/zones <<EOZ
  local-zone: "spotify.com." static
  local-data: "open.spotify.com. 300 A $SPOTIFY"
  local-zone: "discord.com." static
  local-data: "discord.com. 300 A $DISCORD"
forward-zone:
  name: "netflix.com."
  forward-addr: $SLOWDNS@5300
EOZ
	inI $TOOLS slowdns $SLOWDNS 5300 0.15 www.netflix.com=$NETFLIX >/dev/null 2>&1 &
	sleep 0.3
	unbound_start; nginx_start; capture_start
	inG $TOOLS inject-dns g0 netflix.com 198.51.100.66 >/dev/null 2>&1 &
	sleep 0.5
	inC $TOOLS resolve $RES open.spotify.com example.org www.netflix.com discord.com >/dev/null
	fetch https://open.spotify.com/
	fetch https://example.org/
	capture_stop dns-injection
}

scenario_rst_injection() {
	zones_plain; unbound_start; nginx_start; capture_start
	fetch https://open.spotify.com/
	fetch https://example.org/
	inG $TOOLS inject-rst g0 $YOUTUBE 80 40 200000 >/dev/null 2>&1 &
	sleep 0.3
	fetch http://www.youtube.com/big.bin
	sleep 1
	capture_stop rst-injection
}

scenario_syn_flood() {
	zones_plain; unbound_start; nginx_start; capture_start
	fetch https://example.org/
	fetch https://open.spotify.com/
	inC $TOOLS synflood $SPOTIFY 443 1500 1000 >/dev/null
	fetch https://www.netflix.com/
	sleep 11
	capture_stop syn-flood
}

scenario_tls_intercept() {
	zones_plain; unbound_start; nginx_start; capture_start
	fetch https://open.spotify.com/         # the real certificate, first
	fetch https://example.org/
	# Then the gateway diverts the service's HTTPS to its own TLS server.
	inG iptables -t nat -A PREROUTING -i g0 -d $SPOTIFY -p tcp --dport 443 -j REDIRECT --to-ports 8443
	inG openssl s_server -quiet -accept 8443 -cert $K/forged.pem -key $K/forged.key -tls1_2 -www >/dev/null 2>&1 &
	sleep 0.5
	fetch https://open.spotify.com/ -k
	fetch https://open.spotify.com/again -k
	capture_stop tls-intercept
}

scenario_multi_outage() {
	# Three services served from one CDN address, which fails; the rest works.
	cat >$T/zones <<EOZ
  local-zone: "spotify.com." static
  local-data: "open.spotify.com. 300 A $CDN"
  local-zone: "netflix.com." static
  local-data: "www.netflix.com. 300 A $CDN"
  local-zone: "discord.com." static
  local-data: "discord.com. 300 A $CDN"
EOZ
	unbound_start; CDN_STATUS=503 nginx_start; capture_start
	for u in http://open.spotify.com/ http://www.netflix.com/ http://discord.com/ http://www.youtube.com/ http://example.org/ http://www.wikipedia.org/ http://open.spotify.com/retry; do
		fetch $u
	done
	capture_stop multi-outage
}

# h3 ADDR [gtlsserver options]: ngtcp2's HTTP/3 example server on ADDR, UDP 443.
h3() {
	a=$1; shift
	inI sh -c "cd $T && exec gtlsserver -q $* $a 443 $K/srv.key $K/srv.pem >/dev/null 2>&1 &"
	sleep 0.3
}
# get NAME [gtlsclient options]: one HTTP/3 request by ngtcp2's example client.
get() {
	n=$1; shift
	inC timeout 4 gtlsclient -q --exit-on-all-streams-close "$@" "$n" 443 "https://$n/" >/dev/null 2>&1 || true
}

scenario_quic_healthy() {
	zones_plain; unbound_start; nginx_start
	h3 $SPOTIFY
	h3 $DISCORD -V                                    # validates addresses: a Retry first
	h3 $YOUTUBE --groups=-GROUP-ALL:+GROUP-SECP384R1  # no group in common with the client
	capture_start
	get open.spotify.com
	get discord.com
	get www.youtube.com --groups=-GROUP-ALL:+GROUP-X25519
	fetch https://www.youtube.com/
	capture_stop quic-healthy
}

scenario_quic_blocked() {
	zones_plain; unbound_start; nginx_start
	h3 $SPOTIFY; h3 $NETFLIX
	inG iptables -A FORWARD -p udp --dport 443 -j DROP
	capture_start
	get open.spotify.com
	get www.netflix.com
	fetch https://open.spotify.com/   # what a browser does next: TCP and TLS
	fetch https://www.netflix.com/
	capture_stop quic-blocked
}

ALL="healthy http_5xx refused servfail resolver_down gateway_reject uplink_drop dns_injection rst_injection syn_flood tls_intercept multi_outage quic_healthy quic_blocked"
mkdir -p "$OUT"
certs
for s in ${*:-$ALL}; do
	s=$(echo "$s" | tr - _)
	reset_world
	scenario_$s
done
if [ -z "${*:-}" ] || echo " $* " | grep -q " multi-outage \| multi_outage "; then
	cp "$OUT/multi-outage.pcap" "$OUT/demo.pcap"
fi
