#!/bin/sh
# tunnels.sh PANNE: failures seen through tunnels. Two network namespaces
# joined by a veth pair carry a real kernel VXLAN tunnel (VNI 42); across it
# a client is refused on TCP 443 (no listener: the kernel resets) and
# answered SERVFAIL by a resolver, over IPv4 and IPv6. tcpdump captures the
# underlay (outer headers) and the tunnel interface (inner). panne must
# report the same findings from both, and the outer ones must name the
# tunnel in detail.tunnel. The inner capture is then carried by
# tests/netns/encap.py in PPPoE over QinQ, GRE, IPIP, 4in6, Geneve, 6in4 and
# Teredo (kernels without those drivers or PPP are common in containers, and
# PPPoE needs /dev/ppp), with the same expectations. Root only.
set -u
PANNE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if [ "$(id -u)" -ne 0 ]; then
	echo "tunnels: skipped: needs root for network namespaces"
	exit 0
fi
for t in tcpdump curl python3 ip; do
	command -v $t >/dev/null 2>&1 || { echo "tunnels: $t is missing (make deps installs it)"; exit 1; }
done
A=ptunA$$ B=ptunB$$
T=$(mktemp -d)
chmod 755 "$T"
cleanup() {
	for ns in $A $B; do
		ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true
		ip netns del $ns 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
inA() { ip netns exec $A "$@"; }
inB() { ip netns exec $B "$@"; }

ip netns add $A
ip netns add $B
ip link add u0 netns $A type veth peer name u1 netns $B
inA ip addr add 192.0.2.1/24 dev u0
inB ip addr add 192.0.2.2/24 dev u1
for ns in $A $B; do ip -n $ns link set lo up; done
inA ip link set u0 up
inB ip link set u1 up
if ! inA ip link add vx0 type vxlan id 42 local 192.0.2.1 remote 192.0.2.2 dstport 4789 2>"$T/err"; then
	echo "tunnels: skipped: this kernel offers no VXLAN ($(cat "$T/err"))"
	exit 0
fi
inB ip link add vx0 type vxlan id 42 local 192.0.2.2 remote 192.0.2.1 dstport 4789
inA ip addr add 198.51.100.1/24 dev vx0
inB ip addr add 198.51.100.2/24 dev vx0
inA ip addr add 2001:db8:64::1/64 dev vx0 nodad
inB ip addr add 2001:db8:64::2/64 dev vx0 nodad
inA ip link set vx0 up
inB ip link set vx0 up

# The resolver: every query answered SERVFAIL, on both families.
cat >"$T/servfail.py" <<'EOF'
import select, socket
socks = []
for fam, addr in ((socket.AF_INET, "198.51.100.2"), (socket.AF_INET6, "2001:db8:64::2")):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    s.bind((addr, 53))
    socks.append(s)
while True:
    for s in select.select(socks, [], [])[0]:
        q, peer = s.recvfrom(512)
        if len(q) >= 12:
            s.sendto(q[:2] + bytes([0x81, 0x82]) + q[4:6] + b"\0\0\0\0\0\0" + q[12:], peer)
EOF
cat >"$T/query.py" <<'EOF'
import socket, struct, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.settimeout(2)
name = b"".join(bytes([len(l)]) + l.encode() for l in "open.spotify.com".split(".")) + b"\0"
s.sendto(struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + name + struct.pack("!HH", int(sys.argv[2]), 1),
         (sys.argv[1], 53))
r = s.recv(512)
sys.exit(0 if (r[3] & 15) == 2 else 1)
EOF
inB python3 "$T/servfail.py" &
RES=$!
sleep 0.5
inA tcpdump -Z root -i u0 -s 262144 -U -w "$T/outer.pcap" >/dev/null 2>&1 &
TD1=$!
inA tcpdump -Z root -i vx0 -s 262144 -U -w "$T/inner.pcap" >/dev/null 2>&1 &
TD2=$!
sleep 1.5
rc=0
fail() { echo "tunnels: $*"; rc=1; }
inA python3 "$T/query.py" 198.51.100.2 1 || fail "no SERVFAIL from the resolver over IPv4"
inA python3 "$T/query.py" 2001:db8:64::2 28 || fail "no SERVFAIL from the resolver over IPv6"
inA curl -s -o /dev/null --connect-timeout 2 --resolve open.spotify.com:443:198.51.100.2 https://open.spotify.com/
inA curl -s -o /dev/null --connect-timeout 2 --resolve 'open.spotify.com:443:[2001:db8:64::2]' https://open.spotify.com/
sleep 1
kill -TERM $TD1 $TD2 $RES 2>/dev/null
wait $TD1 $TD2 $RES 2>/dev/null

for k in outer inner; do
	"$PANNE" -A -T json -r "$T/$k.pcap" >"$T/$k.json" 2>"$T/$k.err"
done
for k in pppoe gre ipip 4in6 geneve 6in4 teredo; do
	python3 tests/netns/encap.py $k "$T/inner.pcap" "$T/$k.pcap" || fail "encap.py $k failed"
	"$PANNE" -A -T json -r "$T/$k.pcap" >"$T/$k.json" 2>"$T/$k.err"
done

python3 - "$T" <<'EOP' || rc=1
import json, os, sys
d = sys.argv[1]

def load(name):
    lines = [json.loads(l) for l in open(os.path.join(d, name + ".json"))]
    return [o for o in lines if o["type"] == "finding"], lines[-1]

def key(f):
    return (f["category"], f["kind"], f["client"], f["server"], f["server_port"], f["name"])

ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("tunnels: " + msg)
        ok = False

inner, _ = load("inner")
keys = {key(f) for f in inner}
# The answer key: how the traffic was made.
want = {("dns", "servfail", "198.51.100.1", "198.51.100.2", 53, "open.spotify.com"),
        ("dns", "servfail", "2001:db8:64::1", "2001:db8:64::2", 53, "open.spotify.com"),
        ("tcp", "refused", "198.51.100.1", "198.51.100.2", 443),
        ("tcp", "refused", "2001:db8:64::1", "2001:db8:64::2", 443)}
for w in want:
    check(any(k[:len(w)] == w for k in keys), "inner capture: no finding %s (got %s)" % (w, sorted(keys)))
check(not any("tunnel" in f["detail"] for f in inner), "inner capture: a finding names a tunnel")

# kind -> (tunnel expected on IPv4 flows, on IPv6 flows)
vx = {"kind": "vxlan", "outer_src": "192.0.2.1", "outer_dst": "192.0.2.2", "vni": 42}
gre = {"kind": "gre", "outer_src": "192.0.2.101", "outer_dst": "192.0.2.102", "key": 7}
cases = {
    "outer": (vx, vx),
    "pppoe": ({"kind": "pppoe", "session": 42},) * 2,
    "gre": (gre, gre),
    "ipip": ({"kind": "ipip", "outer_src": "192.0.2.101", "outer_dst": "192.0.2.102"}, None),
    "4in6": ({"kind": "4in6", "outer_src": "2001:db8:ffff::101", "outer_dst": "2001:db8:ffff::102"}, None),
    "geneve": ({"kind": "geneve", "outer_src": "192.0.2.101", "outer_dst": "192.0.2.102", "vni": 99},) * 2,
    "6in4": (None, {"kind": "6in4", "outer_src": "192.0.2.101", "outer_dst": "192.0.2.102"}),
    "teredo": (None, {"kind": "teredo", "outer_src": "192.0.2.101", "outer_dst": "192.0.2.102"}),
}
for name, (t4, t6) in cases.items():
    finds, summary = load(name)
    got = {key(f) for f in finds}
    check(got == keys, "%s: findings differ from the inner capture's: %s vs %s"
          % (name, sorted(got ^ keys), sorted(keys)))
    for f in finds:
        t = t6 if ":" in f["client"] else t4
        check(f["detail"].get("tunnel") == t, "%s: %s %s %s: detail.tunnel %s, expected %s"
              % (name, f["kind"], f["client"], f["server"], f["detail"].get("tunnel"), t))
    enc = summary.get("counters", {}).get("encapsulations", {})
    k = (t4 or t6)["kind"]
    check(enc.get(k, 0) > 0, "%s: counters.encapsulations has no %s: %s" % (name, k, enc))
print("tunnels: %d findings, the same through VXLAN (kernel) and through %s (scripted)"
      % (len(keys), ", ".join(k for k in cases if k != "outer")))
sys.exit(0 if ok else 1)
EOP
[ $rc = 0 ] || { for k in outer inner; do cat "$T/$k.err"; done; }
exit $rc
