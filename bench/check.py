#!/usr/bin/env python3
"""check.py [--exact] PLANTED JSON: every failure the generator planted (PLANTED, one
per line: kind, client, client port, server, server port, name) must be a
finding of panne's JSON output with the same kind and flow. Prints the
recall and what panne reported beyond the planted ones; exits 1 if any
planted finding is missing."""
import collections
import ipaddress
import json
import sys


def key(kind, client, cport, server, sport):
    return (kind, ipaddress.ip_address(client), int(cport), ipaddress.ip_address(server), int(sport))


def main():
    args = sys.argv[1:]
    exact = args[0] == "--exact"
    if exact:
        args = args[1:]
    planted = collections.Counter()
    for line in open(args[0]):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        planted[key(*f[:5])] += 1
    found = collections.Counter()
    extra = collections.Counter()
    for line in open(args[1]):
        o = json.loads(line)
        if o.get("type") != "finding" or o.get("client") is None:
            continue
        k = key(o["kind"], o["client"], o["client_port"], o["server"], o["server_port"])
        if k in planted and found[k] < planted[k]:
            found[k] += 1
        else:
            extra[o["kind"]] += 1
    missing = planted - found
    for k, n in sorted(missing.items(), key=str):
        print("missing: %s %s:%d -> %s:%d (x%d)" % (k[0], k[1], k[2], k[3], k[4], n))
    per_kind = collections.Counter()
    for k, n in planted.items():
        per_kind[k[0]] += n
    print("planted findings: %d (%s); found: %d; missing: %d; reported beyond them: %d%s" % (
        sum(planted.values()), ", ".join("%s %d" % kv for kv in sorted(per_kind.items())),
        sum(found.values()), sum(missing.values()), sum(extra.values()),
        " (%s)" % ", ".join("%s %d" % kv for kv in sorted(extra.items())) if extra else ""))
    return 1 if missing or (exact and extra) else 0


if __name__ == "__main__":
    sys.exit(main())
