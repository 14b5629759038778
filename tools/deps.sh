#!/bin/sh
# deps.sh build|check: install the Debian/Ubuntu packages panne needs that
# are missing (apt-get, as root), or say what to install otherwise.
set -u
build="make gcc pkg-config libpcap-dev libldns-dev libssl-dev libjansson-dev libpsl-dev"
check="$build libcmocka-dev clang unbound nginx-light openssl ca-certificates curl tcpdump tshark iproute2 iptables mandoc python3 chromium tidy util-linux ngtcp2-client ngtcp2-server nmap"
case "${1:-build}" in
build) want=$build ;;
check) want=$check ;;
*) echo "usage: deps.sh build|check" >&2; exit 2 ;;
esac
command -v dpkg-query >/dev/null 2>&1 || { echo "deps: not a Debian/Ubuntu system; install: $want" >&2; exit 0; }
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing" >&2
	echo "deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark's wireshark-common asks whether to make dumpcap setuid: it must not ask.
case "$missing" in
*tshark*) echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null ;;
esac
apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update -qq >/dev/null 2>&1
	apt-get install -y --no-install-recommends $missing
}
