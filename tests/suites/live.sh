#!/bin/sh
# live.sh PANNE: panne -i on both sides of a gateway in network namespaces
# (real unbound, nginx, curl; the gateway NATs) while the client meets a
# gateway REJECT rule, a gateway DROP rule, a server that never answers and
# then a stopped resolver. Checks the findings and verdicts printed live
# (including which SYNs the gateway kept and which it forwarded), that panne
# ran unprivileged after start, that the same traffic written by tcpdump
# and read offline gives the same findings, that one `dumpcap -i g0 -i g1`
# pcapng file of it gives the findings and gateway verdicts of --merge of
# the two tcpdump files (SYNs the gateway drops, SYNs it forwards to a
# server that stays silent, with NAT) and a pcapng evidence file whose
# cited frames carry their findings, and that a live -w copy stops at
# --keep-max and says so. Root only.
set -u
PANNE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
. tests/netns/livenet.sh
netns_suite live unbound nginx curl tcpdump dumpcap tshark
reset_world
certs
zones_plain; unbound_start; nginx_start
inG iptables -A FORWARD -d $SPOTIFY -p tcp -j REJECT --reject-with tcp-reset
inG iptables -A FORWARD -d $DISCORD -p tcp -j DROP                 # kept by the gateway
inI iptables -A INPUT -d $YOUTUBE -p tcp --dport 443 -j DROP       # the server never answers
inG iptables -t nat -A POSTROUTING -o g1 -j MASQUERADE

# Not through inG: in a function's background subshell, $! would not be
# tcpdump's pid, and the kill below would leave tcpdump running.
ip netns exec $G tcpdump -Z root -i g0 -s 262144 -U -w "$OUT/live.pcap" >/dev/null 2>&1 &
TCPDUMP=$!
ip netns exec $G tcpdump -Z root -i g1 -s 262144 -U -w "$OUT/wan.pcap" >/dev/null 2>&1 &
TCPDUMP2=$!
# Both sides in one pcapng file, as an admin would capture them.
ip netns exec $G dumpcap -q -i g0 -i g1 -s 262144 -w "$OUT/both.pcapng" >/dev/null 2>&1 &
DUMPCAP=$!
ip netns exec $G "$PANNE" -i g0 -i g1 -A -T json -G 2 -t 24 --syn-timeout 3 -Z nobody -w "$OUT/ev.pcap" \
	--ca-file "$K/ca.pem" >"$OUT/live.json" 2>"$OUT/live.err" &
PID=$!
sleep 2
uid=$(awk '/^Uid:/ {print $2}' /proc/$PID/status 2>/dev/null)
fetch https://www.netflix.com/
fetch https://open.spotify.com/        # the gateway answers with a reset
fetch https://discord.com/ --connect-timeout 2    # the gateway keeps the SYNs
fetch https://www.youtube.com/ --connect-timeout 2 # forwarded, never answered
kill "$(cat $T/unbound.pid)" 2>/dev/null
sleep 0.5
fetch https://example.org/             # no resolver any more: ICMP port unreachable
wait $PID
prc=$?
sleep 0.5
kill -TERM $TCPDUMP $TCPDUMP2 $DUMPCAP 2>/dev/null; wait $TCPDUMP $TCPDUMP2 $DUMPCAP 2>/dev/null

# The release build also confines itself to an empty, unlinked directory
# (the sanitizer build cannot: its leak check reads /proc at exit).
rel_root=""
if [ -x ./panne ]; then
	ip netns exec $G ./panne -i g0 -t 3 -Z nobody >/dev/null 2>&1 &
	RPID=$!
	sleep 1.5
	rel_root=$(readlink /proc/$RPID/root 2>/dev/null)
	rel_uid=$(awk '/^Uid:/ {print $2}' /proc/$RPID/status 2>/dev/null)
	wait $RPID
fi

rc=0
fail() { echo "live: $*"; rc=1; }
n=$(tcpdump -nr "$OUT/ev.pcap" 2>/dev/null | wc -l)
m=$(tail -n 1 "$OUT/live.json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("evidence_map", [])))')
[ "$n" -gt 0 ] && [ "$n" = "$m" ] || fail "-w file holds $n packets (tcpdump), the evidence map $m"
if [ -x ./panne ]; then
	case "$rel_root" in
	/tmp/panne-root.*"(deleted)") ;;
	*) fail "release panne is not confined to an empty directory (root: '$rel_root')" ;;
	esac
	[ "$rel_uid" != 0 ] || fail "release panne still ran as root"
fi
[ -n "$uid" ] && [ "$uid" != 0 ] || fail "panne still ran as uid '${uid:-?}' after start"
[ "$prc" = 1 ] || { fail "exit status $prc, expected 1"; cat "$OUT/live.err"; }
python3 - "$OUT/live.json" <<'EOP' || rc=1
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
finds = [o for o in lines if o["type"] == "finding"]
kinds = {(o["service"], o["kind"], o["origin"]) for o in finds}
def gateway(svc):
    return " ".join(o["detail"].get("gateway", "") for o in finds if o["service"] == svc and o["kind"] == "syn_timeout")
verdicts = [o for o in lines if o["type"] == "verdict"]
final = {o["service"]: o for o in verdicts}
ok = True
def need(cond, what):
    global ok
    if not cond:
        print("live: missing:", what); ok = False
need(("spotify", "refused", "local") in kinds, "spotify refused by a local device")
need(any(k[0] == "example.org" and k[1] == "icmp_unreachable" for k in kinds), "example.org's lookup answered ICMP unreachable")
need(final.get("spotify", {}).get("attribution") == "local", "spotify verdict attributed local")
need("dropped at the gateway" in gateway("discord"), "discord's SYNs seen entering the gateway, never leaving: %r" % gateway("discord"))
need(final.get("discord", {}).get("attribution") == "local", "discord verdict attributed local")
need("forwarded by the gateway" in gateway("youtube"), "youtube's SYNs forwarded, never answered: %r" % gateway("youtube"))
need(final.get("youtube", {}).get("attribution") == "upstream", "youtube verdict attributed upstream")
need(final.get("netflix", {}).get("status") == "healthy", "netflix healthy")
need(len(verdicts) > len(final), "verdicts printed at intervals (-G), not only at the end")
need(lines[-1]["type"] == "summary", "a summary as the last line")
cited = sorted({(o["file"], e) for o in finds for e in o["evidence"]})
kept = sorted((m["file"], m["frame"]) for m in lines[-1].get("evidence_map", []))
need(cited and cited == kept, "-w holds exactly the cited frames: %s vs %s" % (cited[:6], kept[:6]))
sys.exit(0 if ok else 1)
EOP
# The same traffic, offline: the same findings.
"$PANNE" -r "$OUT/live.pcap" -A -T json --syn-timeout 3 --ca-file "$K/ca.pem" >"$OUT/offline.json" 2>/dev/null
python3 - "$OUT/live.json" "$OUT/offline.json" <<'EOP' || rc=1
import json, sys
def f(p):
    return sorted((o["service"] or "", o["kind"], o["client_port"] or 0) for o in map(json.loads, open(p)) if o["type"] == "finding")
a, b = f(sys.argv[1]), f(sys.argv[2])
if a != b:
    print("live: live and offline findings differ:\n  live:    %s\n  offline: %s" % (a, b)); sys.exit(1)
print("live: %d findings, the same live and offline" % len(a))
EOP
# Both sides written by tcpdump, read side by side (--merge): the gateway's
# verdicts as live.
"$PANNE" --merge -r "$OUT/live.pcap" -r "$OUT/wan.pcap" -A -T json --syn-timeout 3 \
	--ca-file "$K/ca.pem" >"$OUT/merged.json" 2>/dev/null
python3 - "$OUT/live.json" "$OUT/merged.json" <<'EOP' || rc=1
import json, sys
def f(p):
    return sorted((o["service"] or "", o["kind"], o["detail"].get("gateway", "")) for o in map(json.loads, open(p)) if o["type"] == "finding")
a, b = f(sys.argv[1]), f(sys.argv[2])
if a != b:
    print("live: live and merged offline findings differ:\n  live:   %s\n  merged: %s" % (a, b)); sys.exit(1)
print("live: both sides read offline with --merge: the same %d findings and gateway verdicts" % len(a))
EOP
# The same two sides in one dumpcap pcapng file: the same findings and
# gateway verdicts as --merge, g0 found as the inside by the default rule,
# findings naming it; its pcapng evidence file checked frame by frame.
"$PANNE" -r "$OUT/both.pcapng" -A -T json --syn-timeout 3 --ca-file "$K/ca.pem" \
	-w "$OUT/both-ev.pcapng" >"$OUT/both.json" 2>"$OUT/both.err"
python3 - "$OUT/merged.json" "$OUT/both.json" <<'EOP' || rc=1
import json, sys
def f(p):
    return sorted((o["service"] or "", o["kind"], o["detail"].get("gateway", "")) for o in map(json.loads, open(p)) if o["type"] == "finding")
def v(p):
    return sorted((o["service"], o["status"], o["attribution"]) for o in map(json.loads, open(p)) if o["type"] == "verdict")
a, b = f(sys.argv[1]), f(sys.argv[2])
lines = [json.loads(l) for l in open(sys.argv[2])]
roles = {i["name"]: i["role"] for i in lines[-1].get("interfaces", [])}
ifs = {o.get("interface") for o in lines if o["type"] == "finding"}
bad = []
if a != b: bad.append("findings differ:\n  merged: %s\n  pcapng: %s" % (a, b))
if v(sys.argv[1]) != v(sys.argv[2]): bad.append("verdicts differ: %s vs %s" % (v(sys.argv[1]), v(sys.argv[2])))
if roles != {"g0": "inside", "g1": "outside"}: bad.append("interfaces %s" % roles)
if ifs != {"g0"}: bad.append("findings on interfaces %s" % ifs)
if bad: print("live: dumpcap's pcapng of both sides:", "; ".join(bad)); sys.exit(1)
print("live: dumpcap -i g0 -i g1: the same %d findings and gateway verdicts as --merge" % len(a))
EOP
python3 tests/evidence_check.py "$OUT/both.json" "$OUT/both-ev.pcapng" || rc=1
# A long live -w run: the copy kept for the evidence stops at --keep-max (1 MiB here, passed by a
# rate-limited download), panne says so, still reports what follows, and at
# the end says which cited frames the evidence file lacks.
ip netns exec $G "$PANNE" -i g0 -A -T json -t 7 --keep-max 1 -Z nobody -w "$OUT/ev2.pcap" \
	>"$OUT/keep.json" 2>"$OUT/keep.err" &
KPID=$!
sleep 1.5
inC curl -sS -o /dev/null -m 4.5 http://$YOUTUBE/big.bin 2>/dev/null
inC curl -sS -o /dev/null --connect-timeout 2 https://$SPOTIFY/ 2>/dev/null # refused by the gateway
wait $KPID

grep -q "reached --keep-max (1 MiB) at frame" "$OUT/keep.err" ||
	fail "--keep-max: no word that the kept copy stopped: $(cat "$OUT/keep.err")"
grep -q "cited as evidence are not in the evidence file" "$OUT/keep.err" ||
	fail "--keep-max: no word of the cited frames the evidence file lacks"
grep -q '"kind":"refused"' "$OUT/keep.json" || fail "--keep-max: the refusal after the copy stopped was not reported"
exit $rc
