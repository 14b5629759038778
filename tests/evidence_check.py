#!/usr/bin/env python3
"""evidence_check.py PANNE_JSON EVIDENCE.pcapng: checks a pcapng evidence
file (-w FILE.pcapng) against the run that wrote it (its JSON lines, with
the evidence map): tshark opens it; every frame cited by a finding is in
it; each carries, as its comment (frame.comment), every finding that cites
it, by kind; and each is the packet claimed: the same bytes (MD5) and time
(to the microsecond) as the frame of the input the map names. Exit 1 and a
message on the first mismatch. Input paths in the JSON are as panne was
given them (run from the same directory)."""
import json
import subprocess
import sys


def tshark(path, fields, filt=None):
    cmd = ["tshark", "-r", path, "-o", "frame.generate_md5_hash:TRUE", "-T", "fields",
           "-E", "occurrence=a", "-E", "aggregator=|"]
    if filt:
        cmd += ["-Y", filt]
    for f in fields:
        cmd += ["-e", f]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode != 0:
        raise SystemExit("evidence: tshark cannot read %s: %s" % (path, p.stderr.decode()[-300:]))
    rows = {}
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        v = line.split("\t")
        rows[int(v[0])] = v[1:]
    return rows


def us(t):
    s, _, f = t.partition(".")
    return s + "." + (f + "000000")[:6]


def main():
    lines = [json.loads(l) for l in open(sys.argv[1])]
    ev = sys.argv[2]
    finds = [o for o in lines if o["type"] == "finding"]
    emap = lines[-1].get("evidence_map", [])
    where = {(m["file"], m["frame"]): m["evidence_frame"] for m in emap}
    got = tshark(ev, ["frame.number", "frame.md5_hash", "frame.time_epoch", "frame.comment"])
    if not finds:
        print("evidence: no finding to check")
        return 1
    for o in finds:
        for e in o["evidence"]:
            k = where.get((o["file"], e))
            if k is None or k not in got:
                print("evidence: %s frame %d (%s) is not in %s" % (o["file"], e, o["kind"], ev))
                return 1
            if "panne: %s (" % o["kind"] not in got[k][2]:
                print("evidence: frame %d (%s frame %d) has no comment naming %s: %r" % (k, o["file"], e, o["kind"], got[k][2][:200]))
                return 1
    by_file = {}
    for (f, fr), k in where.items():
        by_file.setdefault(f, []).append((fr, k))
    for f, pairs in by_file.items():
        orig = tshark(f, ["frame.number", "frame.md5_hash", "frame.time_epoch"],
                      " or ".join("frame.number == %d" % fr for fr, _ in pairs))
        for fr, k in pairs:
            if fr not in orig or orig[fr][0] != got[k][0] or us(orig[fr][1]) != us(got[k][1]):
                print("evidence: frame %d is not %s frame %d (md5/time %s vs %s)" % (k, f, fr, got[k][:2], orig.get(fr)))
                return 1
    print("evidence: %d frames, each the packet claimed, commented with its %d findings" % (len(where), len(finds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
