#!/usr/bin/env python3
"""reader_cmp.py TSHARK_OUT TSHARK_ERR PANNE_OUT NAME: compares panne's
reading of a capture (panne --dump-frames: frame, interface, time, captured
and wire length per record) with tshark's (-T fields -e frame.number -e
frame.interface_id -e frame.time_epoch -e frame.cap_len): the same frames,
each with the same interface, time to the microsecond and captured length.
When tshark stopped at damage, panne must have read the same frames before
it. Exit 1 and a message naming the first difference."""
import sys


def rows(path, tshark):
    out = {}
    for line in open(path, encoding="utf-8", errors="replace"):
        f = line.rstrip("\n").split("\t")
        if len(f) < 4 or not f[0].isdigit():
            continue
        if tshark and not f[1]:
            continue  # not a packet (a custom block): numbered, not read
        t = f[2]
        if tshark and not t:
            t = None  # a Simple Packet Block has no time: panne keeps the last one
        elif tshark:
            # tshark prints nanoseconds: keep the microseconds, as panne.
            sec, _, frac = t.partition(".")
            t = "%s.%s" % (sec, (frac + "000000")[:6])
        out[int(f[0])] = (f[1] or "0", t, f[3])
    return out


def main():
    tout, terr, pout, name = sys.argv[1:5]
    t, p = rows(tout, True), rows(pout, False)
    damaged = "appears to" in open(terr).read() or "cut short" in open(terr).read()
    bad = 0
    if damaged:
        # tshark may show the record it could half-read; panne stops before it.
        common = [k for k in sorted(t) if k in p]
        if len(p) > len(t) or sorted(p) != list(range(1, len(p) + 1)) or len(t) - len(p) > 1:
            print("reader: %s: damaged: panne read %d frames, tshark %d" % (name, len(p), len(t)))
            bad = 1
    else:
        common = sorted(t)
        if sorted(p) != sorted(t):
            print("reader: %s: panne read %d frames, tshark %d" % (name, len(p), len(t)))
            return 1
    fields = ("interface", "time", "captured length")
    for k in common:
        for i in range(3):
            if t[k][i] is not None and t[k][i] != p[k][i]:
                print("reader: %s: frame %d: %s %s, tshark says %s" % (name, k, fields[i], p[k][i], t[k][i]))
                return 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
