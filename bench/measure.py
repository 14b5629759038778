#!/usr/bin/env python3
"""measure.py ROUNDS PACKETS MB NAME=CMD [NAME=CMD ...]: runs the commands in
alternating rounds (so that a noisy moment hits all of them alike), each
with its output thrown away, and prints per command the median wall time,
packets/s, MB/s, its own peak RSS and the ratio to the first command. A
command named with a leading '1' runs once only (slow references)."""
import os
import shlex
import statistics
import subprocess
import sys
import time


def run(cmd):
    t = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    return time.monotonic() - t, ru.ru_maxrss, os.waitstatus_to_exitcode(status)


def main():
    rounds, packets, mb = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    cmds = []
    for a in sys.argv[4:]:
        name, cmd = a.split("=", 1)
        once = name.startswith("1")
        cmds.append((name.lstrip("1"), shlex.split(cmd), once))
    times = {n: [] for n, _, _ in cmds}
    rss = {n: 0 for n, _, _ in cmds}
    for r in range(rounds):
        for name, cmd, once in cmds:
            if once and r:
                continue
            t, m, rc = run(cmd)
            if rc not in (0, 1):  # panne exits 1 when it reports findings
                print("measure: %s exited with %d" % (" ".join(cmd), rc), file=sys.stderr)
                sys.exit(1)
            times[name].append(t)
            rss[name] = max(rss[name], m)
    base = statistics.median(times[cmds[0][0]])
    print("%-34s %9s %12s %9s %9s %8s" % ("reader", "seconds", "packets/s", "MB/s", "RSS MiB", "ratio"))
    for name, _, _ in cmds:
        t = statistics.median(times[name])
        print("%-34s %9.3f %12.0f %9.0f %9.1f %8.2f" % (name, t, packets / t, mb / t, rss[name] / 1024, t / base))


if __name__ == "__main__":
    main()
