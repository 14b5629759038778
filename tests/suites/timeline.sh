#!/bin/sh
# timeline.sh PANNE: the live status on a terminal (a pty) redraws its
# timeline lines in place: panne -i lo -G 1 in an empty network namespace
# while a resolver on lo answers every other query SERVFAIL; the block each redraw
# moves up over must be exactly the lines printed before it, one timeline
# line per service. UTF-8 locale: block characters and red failed bins;
# NO_COLOR: no color; C locale: ASCII. Root only (a live capture).
set -u
PANNE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
	echo "timeline: not root (or no network namespaces): skipped"
	exit 0
fi
OUT=tests/out/timeline
mkdir -p "$OUT"
python3 - "$PANNE" "$OUT" <<'EOP'
import os, pty, re, select, subprocess, sys, time
panne, out = sys.argv[1], sys.argv[2]
# In the namespace: lo up, panne capturing on it, refused connections.
script = r'''
ip link set lo up
# A resolver on lo: SERVFAIL to every other query, an answer to the rest.
python3 -c 'import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 53)); s.settimeout(8)
try:
    while True:
        q, a = s.recvfrom(512)
        txid = struct.unpack("!H", q[:2])[0]
        if txid % 2:
            s.sendto(q[:2] + struct.pack("!HHHHH", 0x8182, 1, 0, 0, 0) + q[12:], a)
        else:
            s.sendto(q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0) + q[12:]
                     + struct.pack("!HHHIH4s", 0xc00c, 1, 1, 60, 4, bytes([93, 184, 215, 14])), a)
except OSError:
    pass' &
r=$!
"$0" -i lo -A -G 1 -t 7 --dns-timeout 1 -Z nobody &
p=$!
sleep 1
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	python3 -c 'import socket, struct; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
q = struct.pack("!HHHHHH", 4660 + '$i', 256, 1, 0, 0, 0) + b"\x03www\x07example\x03org\x00\x00\x01\x00\x01"
s.sendto(q, ("127.0.0.1", 53)); s.settimeout(1); s.recv(512)' ; sleep 0.25
done
wait $p
kill $r 2>/dev/null
'''
def run(env_extra, name):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm"}
    env.update(env_extra)
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe("unshare", ["unshare", "-n", "sh", "-c", script, panne], env)
    data, end = b"", time.time() + 20
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
    os.waitpid(pid, 0)
    open(os.path.join(out, name + ".tty"), "wb").write(data)
    return data.decode("utf-8", "replace").replace("\r\n", "\n")

ok = True
def need(cond, what):
    global ok
    if not cond:
        print("timeline:", what); ok = False

for name, env, utf8, color in (("utf8", {"LANG": "C.UTF-8"}, True, True),
                               ("nocolor", {"LANG": "C.UTF-8", "NO_COLOR": "1"}, True, False),
                               ("ascii", {"LC_ALL": "C"}, False, True)):
    text = run(env, name)
    # The live part: up to the final report's first line.
    live = text.split("\npanne: ", 1)[0]
    parts = re.split(r"\033\[(\d+)A\033\[J", live)
    redraws = [(int(parts[i]), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]
    need(len(redraws) >= 2, "%s: the status was not redrawn in place (%d redraws)" % (name, len(redraws)))
    blocks = [parts[0]] + [b for _, b in redraws]
    for (n, _), before in zip(redraws, blocks):
        lines = before.count("\n")
        need(n == lines, "%s: a redraw moves up %d lines over a block of %d" % (name, n, lines))
    last = blocks[-1] if redraws else ""
    tl = [l for l in last.split("\n") if l.strip().startswith("timeline ")]
    svc = [l for l in last.split("\n") if "failed" in l and not l.strip().startswith("timeline")]
    need(tl and len(tl) == len(svc), "%s: %d timeline lines for %d services in %r" % (name, len(tl), len(svc), last))
    need(any("example.org" in l for l in svc), "%s: the failing lookups' domain is not in the status" % name)
    blocks_ch = any(c in live for c in "\u2592\u2573")
    need(blocks_ch == utf8, "%s: failed bins %s block characters" % (name, "without" if utf8 else "with"))
    if not utf8:
        need(re.search(r"\[[.oOxX]+\]", live) is not None, "%s: no ASCII timeline" % name)
    need(("\033[1;31m" in live) == color, "%s: color %s" % (name, "missing" if color else "despite NO_COLOR"))
print("timeline: the live status redraws its timelines in place (UTF-8, NO_COLOR, ASCII)" if ok else "")
sys.exit(0 if ok else 1)
EOP
