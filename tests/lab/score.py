#!/usr/bin/env python3
"""score.py PANNE [--dir DIR] [--check] [--verbose] [PATTERN...]: runs panne
(-T json) over every capture of the lab that has an answer key
(DIR/NAME.json, default tests/lab/captures) and scores its verdicts and
findings against the keys, which mklab.py wrote from how each scenario was
built. Prints checks passed / total, false alarms, calibration (of the
verdicts given with confidence >= 0.9, the share that are right) and every
failing check, by capture and grouped by cause. With --check, exits 1 when
fewer than 95 % of checks pass, when a healthy capture has a false alarm, or
when fewer than 95 % of the confident verdicts are right. Standard library
only; the frame predicates of the keys are evaluated on the pcap files by
the small reader below. The key format is in tests/lab/README.md.
"""
import datetime
import fnmatch
import json
import os
import socket
import struct
import subprocess
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
PASS_SHARE, CONF_SHARE, CONFIDENT = 0.95, 0.95, 0.9


# ---------------------------------------------------------------- pcap

class Frame:
    __slots__ = ("n", "t", "src", "dst", "proto", "sport", "dport", "ttl", "ipid", "flags", "payload",
                 "icmp_unreach", "dns")


def read_pcap(path):
    """Every frame of a classic pcap file (Ethernet, Linux cooked v1/v2 or
    raw IP), decoded as far as the predicates need."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise ValueError("%s: not a classic pcap file" % path)
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    link = struct.unpack(e + "I", data[20:24])[0] & 0xffff
    off, n = 24, 0
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + incl]
        off += 16 + incl
        n += 1
        fr = Frame()
        fr.n, fr.t = n, sec + frac / (1e9 if nano else 1e6)
        fr.src = fr.dst = fr.proto = fr.sport = fr.dport = fr.ttl = fr.ipid = fr.flags = None
        fr.payload, fr.icmp_unreach, fr.dns = b"", False, None
        decode(fr, pkt, link)
        out.append(fr)
    return out


def decode(fr, pkt, link):
    if link == 1:
        et, ip = (struct.unpack("!H", pkt[12:14])[0] if len(pkt) >= 14 else 0), pkt[14:]
        while et == 0x8100 and len(ip) >= 4:
            et, ip = struct.unpack("!H", ip[2:4])[0], ip[4:]
    elif link == 113:
        et, ip = (struct.unpack("!H", pkt[14:16])[0] if len(pkt) >= 16 else 0), pkt[16:]
    elif link == 276:
        et, ip = (struct.unpack("!H", pkt[0:2])[0] if len(pkt) >= 20 else 0), pkt[20:]
    elif link in (101, 12, 14):
        et, ip = (0x0800 if pkt[:1] and pkt[0] >> 4 == 4 else 0x86dd), pkt
    else:
        return
    if et == 0x0800 and len(ip) >= 20:
        ihl = (ip[0] & 15) * 4
        tot = struct.unpack("!H", ip[2:4])[0]
        fr.ttl, fr.proto, fr.ipid = ip[8], ip[9], struct.unpack("!H", ip[4:6])[0]
        fr.src, fr.dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
        l4 = ip[ihl:tot] if tot >= ihl else ip[ihl:]
        if struct.unpack("!H", ip[6:8])[0] & 0x1fff:
            return  # a later fragment
    elif et == 0x86dd and len(ip) >= 40:
        fr.ttl, fr.proto = ip[7], ip[6]
        fr.src, fr.dst = socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
        l4 = ip[40:40 + struct.unpack("!H", ip[4:6])[0]]
        while fr.proto in (0, 43, 60) and len(l4) >= 8:  # hop-by-hop, routing, destination options
            fr.proto, l4 = l4[0], l4[(l4[1] + 1) * 8:]
    else:
        return
    if fr.proto == 6 and len(l4) >= 20:
        fr.sport, fr.dport = struct.unpack("!HH", l4[:4])
        fr.flags = l4[13]
        fr.payload = l4[(l4[12] >> 4) * 4:]
    elif fr.proto == 17 and len(l4) >= 8:
        fr.sport, fr.dport = struct.unpack("!HH", l4[:4])
        fr.payload = l4[8:]
        if 53 in (fr.sport, fr.dport):
            fr.dns = dns_decode(fr.payload)
    elif fr.proto == 1 and len(l4) >= 2:
        fr.icmp_unreach = l4[0] == 3
    elif fr.proto == 58 and len(l4) >= 2:
        fr.icmp_unreach = l4[0] == 1


def dns_name(m, i, depth=0):
    labels = []
    while i < len(m) and depth < 20:
        ln = m[i]
        if ln == 0:
            return ".".join(labels), i + 1
        if ln & 0xc0 == 0xc0:
            if i + 1 >= len(m):
                break
            name, _ = dns_name(m, ((ln & 0x3f) << 8) | m[i + 1], depth + 1)
            labels.append(name)
            return ".".join(labels), i + 2
        labels.append(m[i + 1:i + 1 + ln].decode(errors="replace").lower())
        i += 1 + ln
    return ".".join(labels), len(m)


def dns_decode(m):
    """{"qr", "rcode", "qname", "answers": [addresses]}, or None."""
    if len(m) < 12:
        return None
    flags, qd, an = struct.unpack("!HHH", m[2:8])
    d = {"qr": bool(flags & 0x8000), "rcode": flags & 15, "qname": None, "answers": []}
    i = 12
    try:
        for q in range(qd):
            name, i = dns_name(m, i)
            if q == 0:
                d["qname"] = name
            i += 4
        for _ in range(an):
            _, i = dns_name(m, i)
            typ, _, _, rdl = struct.unpack("!HHIH", m[i:i + 10])
            rd = m[i + 10:i + 10 + rdl]
            i += 10 + rdl
            if typ == 1 and rdl == 4:
                d["answers"].append(socket.inet_ntoa(rd))
            elif typ == 28 and rdl == 16:
                d["answers"].append(socket.inet_ntop(socket.AF_INET6, rd))
    except (struct.error, IndexError, ValueError):
        pass
    return d


FLAGS = {"F": 1, "S": 2, "R": 4, "A": 16}


def match(fr, p):
    """Does frame fr satisfy predicate p (README: frame predicates)?"""
    for k, v in p.items():
        if k == "any":
            if not any(match(fr, q) for q in v):
                return False
        elif k == "file":
            continue
        elif k == "t_from":
            if fr.t < v:
                return False
        elif k == "t_to":
            if fr.t > v:
                return False
        elif k in ("src", "dst"):
            if getattr(fr, k) is None or norm(getattr(fr, k)) != norm(v):
                return False
        elif k in ("sport", "dport", "ttl", "ipid"):
            if getattr(fr, k) != v:
                return False
        elif k == "tcp_flags":  # exactly these of F, S, R, A
            want = sum(FLAGS[c] for c in v)
            if fr.flags is None or fr.flags & 0x17 != want:
                return False
        elif k == "payload_prefix":
            if not fr.payload.startswith(v.encode()):
                return False
        elif k == "payload_contains":
            if v.encode() not in fr.payload:
                return False
        elif k == "icmp_unreach":
            if fr.icmp_unreach != v:
                return False
        elif k.startswith("dns_"):
            d = fr.dns
            if d is None:
                return False
            if k == "dns_qname" and d["qname"] != v.lower():
                return False
            if k == "dns_rcode" and (not d["qr"] or d["rcode"] != v):
                return False
            if k == "dns_answer":
                want = [norm(x) for x in (v if isinstance(v, list) else [v])]
                if not d["qr"] or not any(norm(a) in want for a in d["answers"]):
                    return False
        else:
            raise ValueError("unknown predicate field " + k)
    return True


def norm(addr):
    try:
        return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, addr))
    except OSError:
        return addr


# ---------------------------------------------------------------- scoring

def when(s):
    if not s:
        return None
    try:
        return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except (TypeError, ValueError):
        return None


class Score:
    def __init__(self):
        self.passed = self.total = 0
        self.failures = []  # (capture, cause, text)
        self.false_alarms = []  # (capture, healthy_capture, text)
        self.confident = self.confident_right = 0

    def check(self, cap, cause, ok, text):
        self.total += 1
        if ok:
            self.passed += 1
        else:
            self.failures.append((cap, cause, text))
        return ok


def run_panne(panne, d, key):
    caps = [key["capture"]] + key.get("merge", [])
    cmd = [panne]
    for c in caps:
        cmd += ["-r", c]
    if key.get("merge"):
        cmd.append("--merge")
    cmd += ["-T", "json"] + key.get("args", [])
    r = subprocess.run(cmd, cwd=d, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    objs, bad = [], 0
    for line in r.stdout.decode(errors="replace").splitlines():
        try:
            objs.append(json.loads(line))
        except ValueError:
            bad += 1
    return r.returncode, objs, bad, r.stderr.decode(errors="replace")


def score_capture(sc, panne, d, key, frames_cache):
    cap = key["capture"][:-5]
    healthy_capture = all(v["status"] == ["healthy"] for v in key["services"].values()) and \
        key.get("scenario") == "healthy"
    rc, objs, bad, err = run_panne(panne, d, key)
    summary = [o for o in objs if o.get("type") == "summary"]
    if not sc.check(cap, "panne run", rc in (0, 1) and not bad and summary,
                    "panne exit status %d, %d unparsable lines, %d summaries: %s" %
                    (rc, bad, len(summary), err.strip()[-300:])):
        return
    finds = [o for o in objs if o.get("type") == "finding"]
    verdicts = {}
    for o in objs:
        if o.get("type") == "verdict":
            verdicts[o.get("service")] = o  # the last one stands (live mode repeats them)
    first = os.path.basename(key["capture"])
    frames = frames_cache.setdefault(os.path.join(d, key["capture"]), read_pcap(os.path.join(d, key["capture"])))
    forbidden_kinds = set(key.get("forbid", {}).get("kinds", []))
    alarmed = set()

    def alarm(text, obj=None):
        if obj is not None:
            if id(obj) in alarmed:
                return
            alarmed.add(id(obj))
        sc.false_alarms.append((cap, healthy_capture, text))

    for s, k in sorted(key["services"].items()):
        v = verdicts.get(s)
        if not sc.check(cap, "verdict missing", v is not None, "%s: no verdict" % s):
            continue
        status, attr = v.get("status"), v.get("attribution")
        forbid_attr = k.get("forbid_attribution", [])
        ok_status = sc.check(cap, "status %s where the key allows %s" % (status, "/".join(k["status"])),
                             status in k["status"], "%s: status %s, key allows %s (attribution %s)" %
                             (s, status, "/".join(k["status"]), attr))
        ok_attr = sc.check(cap, "attribution %s where the key allows %s" % (attr, "/".join(k["attribution"])),
                           attr in k["attribution"] and attr not in forbid_attr,
                           "%s: attribution %s, key allows %s%s (status %s)" %
                           (s, attr, "/".join(k["attribution"]),
                            ", forbids " + "/".join(forbid_attr) if forbid_attr else "", status))
        conf = v.get("confidence")
        if isinstance(conf, (int, float)) and conf >= CONFIDENT:
            sc.confident += 1
            sc.confident_right += ok_status and ok_attr
        if k["status"] == ["healthy"] and status != "healthy":
            alarm("%s: %s, %s where the key says healthy" % (s, status, attr))
        if attr in forbid_attr:
            alarm("%s: attribution %s, which the key forbids" % (s, attr))
        for field in ("onset", "recovery"):
            if field in k:
                t = when(v.get(field))
                win = k[field]
                sc.check(cap, field + (" absent" if t is None else " outside the window"),
                         t is not None and win["from"] <= t <= win["to"],
                         "%s: %s %s, key: between %s and %s" % (s, field, v.get(field, "absent"),
                                                                stamp(win["from"]), stamp(win["to"])))
        if "clients" in k:
            # Each expected client is a host: the list of its addresses. An
            # affected one must have an address among the affected and none
            # among the unaffected; an unaffected one the other way round.
            vc = v.get("clients")
            got = {side: {norm(a) for a in vc.get(side, []) if isinstance(a, str)}
                   for side in ("affected", "unaffected")} if isinstance(vc, dict) else None
            ok = got is not None
            for side, other in (("affected", "unaffected"), ("unaffected", "affected")):
                for host in k["clients"][side]:
                    host = {norm(a) for a in ([host] if isinstance(host, str) else host)}
                    ok = ok and bool(host & got[side]) and not host & got[other]
            sc.check(cap, "clients absent" if got is None else "clients wrong", ok, "%s: clients %s, key: affected %s, unaffected %s" %
                     (s, "absent" if got is None else {x: sorted(y) for x, y in got.items()},
                      k["clients"]["affected"], k["clients"]["unaffected"]))
        if "names" in k:
            vn = v.get("names")
            table = {n.get("name"): n for n in vn if isinstance(n, dict)} if isinstance(vn, list) else None
            for n in k["names"].get("failed", []):
                sc.check(cap, "names absent" if table is None else "names wrong",
                         table is not None and table.get(n, {}).get("failed", 0) > 0,
                         "%s: names: %s should have failed exchanges (%s)" %
                         (s, n, "names absent" if table is None else table.get(n, "not listed")))
            for n in k["names"].get("ok", []):
                e = (table or {}).get(n, {})
                sc.check(cap, "names absent" if table is None else "names wrong",
                         table is not None and e.get("seen", 0) > 0 and e.get("failed", 1) == 0,
                         "%s: names: %s should be seen with no failure (%s)" %
                         (s, n, "names absent" if table is None else e or "not listed"))
        if k["status"] == ["healthy"]:
            allow = set(k.get("allow_kinds", []))
            wrong = [f for f in finds if f.get("service") == s and f.get("kind") not in allow]
            for f in wrong:
                alarm("%s: finding %s (frame %s)" % (s, f.get("kind"), f.get("frame")), f)
            sc.check(cap, "findings on a healthy service: " + ",".join(sorted({f.get("kind") for f in wrong})), not wrong, "%s: %d findings where the key says healthy: %s" %
                     (s, len(wrong), summarize(wrong)))

    for need in key.get("findings", []):
        pred = need.get("frame")
        want = None
        if pred:
            want = {fr.n for fr in frames if match(fr, pred)}
        cands = [f for f in finds if f.get("kind") in need["kind"]
                 and (need.get("service") is None or f.get("service") == need["service"])
                 and (need.get("name") is None or f.get("name") == need["name"])]
        hit = []
        for f in cands:
            if want is None:
                hit.append(f)
                continue
            if os.path.basename(str(f.get("file", first))) != first:
                continue
            ev = set(f.get("evidence") or []) | {f.get("frame")}
            if ev & want:
                hit.append(f)
        sc.check(cap, "finding missing: %s (%s)" % ("/".join(need["kind"]), "none of that kind and service" if not cands
                                                     else "not citing the frame"), bool(hit),
                 "no %s finding for %s citing %s (%s); %d of that kind and service%s" %
                 ("/".join(need["kind"]), need.get("service") or "any service",
                  "a frame of %s" % describe(pred, want) if pred else "any frame", need.get("why", ""),
                  len(cands), ", citing " + summarize(cands) if cands else ""))

    bad_f = [f for f in finds if f.get("kind") in forbidden_kinds]
    for f in bad_f:
        alarm("finding %s for %s (frame %s), a kind the key forbids" % (f.get("kind"), f.get("service"), f.get("frame")), f)
    if forbidden_kinds:
        sc.check(cap, "forbidden kinds reported: " + ",".join(sorted({f.get("kind") for f in bad_f})), not bad_f, "%d findings of kinds the key forbids: %s" %
                 (len(bad_f), summarize(bad_f)))

    ac = summary[-1].get("attack_checks")
    for field, want in sorted(key.get("attack_checks", {}).items()):
        got = ac.get(field) if isinstance(ac, dict) else None
        if isinstance(want, dict):
            ok = isinstance(got, (int, float)) and got >= want.get("min", 0)
            txt = ">= %s" % want.get("min", 0)
        else:
            ok, txt = got == want, "%s" % want
        sc.check(cap, "attack_checks absent" if got is None else "attack_checks wrong", ok, "summary attack_checks.%s %s, key: %s" %
                 (field, "absent" if got is None else got, txt))


def stamp(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%H:%M:%S.%f")


def summarize(fs, most=4):
    s = ", ".join("%s/%s@%s" % (f.get("kind"), f.get("service"), f.get("frame")) for f in fs[:most])
    return s + (" ..." if len(fs) > most else "")


def describe(pred, frames):
    p = {k: v for k, v in pred.items() if k not in ("t_from", "t_to")}
    s = json.dumps(p, sort_keys=True)
    f = sorted(frames)
    return "%s (frames %s)" % (s, ",".join(map(str, f[:6])) + ("..." if len(f) > 6 else "") if f else "none")


def main(argv):
    args = argv[1:]
    if not args:
        sys.exit(__doc__)
    panne = os.path.abspath(args.pop(0))
    d, check, verbose, pats = os.path.join(HERE, "captures"), False, False, []
    while args:
        a = args.pop(0)
        if a == "--dir":
            d = os.path.abspath(args.pop(0))
        elif a == "--check":
            check = True
        elif a == "--verbose":
            verbose = True
        else:
            pats.append(a)
    keys = sorted(f for f in os.listdir(d) if f.endswith(".json"))
    if pats:
        keys = [k for k in keys if any(fnmatch.fnmatch(k[:-5], p) for p in pats)]
    sc = Score()
    cache = {}
    for k in keys:
        with open(os.path.join(d, k)) as f:
            key = json.load(f)
        cache.clear()
        score_capture(sc, panne, d, key, cache)
    by_cap = defaultdict(list)
    for cap, cause, text in sc.failures:
        by_cap[cap].append(text)
    if by_cap:
        print("failing checks, by capture:")
        for cap in sorted(by_cap):
            print("  %s" % cap)
            for t in by_cap[cap]:
                print("    - %s" % t)
    by_cause = defaultdict(lambda: defaultdict(int))
    for cap, cause, _ in sc.failures:
        by_cause[cause][cap.split("-")[0] if False else scenario_of(cap)] += 1
    if by_cause:
        print("failing checks, by cause (and scenario):")
        for cause in sorted(by_cause, key=lambda c: -sum(by_cause[c].values())):
            n = sum(by_cause[cause].values())
            print("  %4d  %s: %s" % (n, cause, ", ".join("%s %d" % kv for kv in sorted(by_cause[cause].items()))))
    if sc.false_alarms and verbose:
        print("false alarms:")
        for cap, _, t in sc.false_alarms:
            print("  %s: %s" % (cap, t))
    share = sc.passed / sc.total if sc.total else 0.0
    fa_healthy = sum(1 for _, h, _ in sc.false_alarms if h)
    cal = sc.confident_right / sc.confident if sc.confident else 1.0
    print("lab: %d captures; checks passed %d/%d (%.1f %%)" % (len(keys), sc.passed, sc.total, 100 * share))
    print("lab: false alarms: %d (on the healthy captures: %d)" % (len(sc.false_alarms), fa_healthy))
    print("lab: calibration: %d/%d verdicts with confidence >= %.1f right (%.1f %%)" %
          (sc.confident_right, sc.confident, CONFIDENT, 100 * cal))
    if check:
        bad = []
        if share < PASS_SHARE:
            bad.append("checks passed %.1f %% < %.0f %%" % (100 * share, 100 * PASS_SHARE))
        if fa_healthy:
            bad.append("%d false alarms on the healthy captures" % fa_healthy)
        if cal < CONF_SHARE:
            bad.append("calibration %.1f %% < %.0f %%" % (100 * cal, 100 * CONF_SHARE))
        if not keys:
            bad.append("no capture with a key in %s" % d)
        if bad:
            print("lab: below the thresholds: " + "; ".join(bad))
            return 1
    return 0


def scenario_of(cap):
    for plan in ("-doc-", "-rfc1918-", "-v6-"):
        if plan in cap:
            return cap.split(plan)[0]
    return cap


if __name__ == "__main__":
    sys.exit(main(sys.argv))
