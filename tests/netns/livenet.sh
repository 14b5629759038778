# livenet.sh: sourced by tests/suites/live.sh and probe.sh. Builds client
# -> gateway -> "internet" (real unbound and nginx) in network namespaces of
# its own; the caller removes them with cleanup (netns_suite arranges it).
ROOT=$(pwd)
OUT=${OUT:-$ROOT/captures}
T=$(mktemp -d)
K=$(mktemp -d) # certificates, made once for every scenario
C=plc$$ G=plg$$ I=pli$$

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

# netns_suite NAME TOOL...: how a test suite built on this file starts:
# skipped (exit 0) unless root, failed if a tool is missing; OUT becomes a
# fresh directory, removed with the rest on exit.
netns_suite() {
	name=$1; shift
	if [ "$(id -u)" -ne 0 ]; then
		echo "$name: skipped: needs root for network namespaces"
		exit 0
	fi
	for t in "$@"; do
		command -v $t >/dev/null 2>&1 || { echo "$name: $t is missing (make deps installs it)"; exit 1; }
	done
	OUT=$(mktemp -d)
	chmod 755 "$OUT"
	trap 'cleanup; rm -rf "$K" "$OUT"' EXIT INT TERM
}

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

# unbound_head NAME ADDR: the server: lines every unbound here starts with
# (listening on ADDR, its files named NAME in $T).
unbound_head() {
	cat <<EOC
server:
  interface: $2
  access-control: 0.0.0.0/0 allow
  do-ip6: no
  username: ""
  chroot: ""
  directory: "$T"
  pidfile: "$T/$1.pid"
  use-syslog: no
  logfile: "$T/$1.log"
EOC
}

# unbound [EXTRA...]: the resolver, with the zones of the scenario.
unbound_start() {
	{ unbound_head unbound $RES; cat <<EOC; } >$T/unbound.conf
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

