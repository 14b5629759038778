#!/usr/bin/env python3
"""quic.py PANNE CORPUS_DIR: runs `panne -A -T json` over every capture of
the QUIC corpus and compares panne's counters.quic (Initial packets per
side, Handshake packets, Retry, Version Negotiation, versions, server
names, ALPN, ServerHellos, CONNECTION_CLOSE frames and their codes) with
tshark's (EXPECTED.tsv, see the corpus's MANIFEST.md).

Each comparison is exact unless a known, explained difference is listed in
EXPLAINED below: a difference not listed there fails the test, and an
explanation that no longer matches fails it too. A capture panne cannot
read for a reason listed in UNREADABLE is skipped with that reason. Every
file, the crash reproducers included, must be read without a crash. Skips
cleanly (exit 0, message) when the corpus is absent."""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check import compare_rows, read_expected  # noqa: E402  the public corpus's comparison

# (file, figure) -> (panne's value, why it differs from tshark's).
EXPLAINED = {
    ("zeek-383379789-decrypt-crash.pcap", "connections_named"): (0,
        "fuzzer-mangled Initials with an empty DCID that do not decrypt: nothing to name"),
    ("zeek-curl-8.1.2-dev-http3-www-google-de.pcap", "alpn"): (["h3"],
        "curl offers h3,h3-29,h3-28,h3-27; panne keeps the first protocol a client offers, "
        "tshark lists every one"),
}

# Link types panne does not decode yet: the file is skipped, saying why.
UNREADABLE = {
    "link type 9 (PPP)": "LINKTYPE_PPP (DLT 9) without HDLC framing is not decoded yet",
}


def panne_figures(panne, path):
    p = subprocess.run([panne, "-A", "-T", "json", "-r", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode(errors="replace")
    if p.returncode == 2:
        for key, why in UNREADABLE.items():
            if key in err:
                return None, why
    if p.returncode not in (0, 1, 3):
        raise RuntimeError("exit %d: %s" % (p.returncode, err))
    summary, codes, named = None, [], 0
    for line in p.stdout.decode().splitlines():
        o = json.loads(line)  # every line must be JSON
        if o["type"] == "finding" and o["kind"] == "quic_close":
            d = o["detail"]
            code = str(d["error_code"]) if d["error_space"] == "transport" else "app=%d" % d["error_code"]
            if "alert" in d:
                code += ":tls_alert=%d" % d["alert"]
            codes.append((o["frame"], code))
        elif o["type"] == "finding" and o["kind"] == "quic_timeout" and "closed_by_client" in o["detail"]:
            codes.append((o["frame"], "0"))  # the client's NO_ERROR close before any hello
        elif o["type"] == "summary":
            summary = o
    if summary is None:
        raise RuntimeError("no summary line")
    q = summary["counters"]["quic"]
    return {
        "client_initials": q["client_initials"],
        "server_initials": q["server_initials"],
        "handshakes": q["handshakes"],
        "retries": q["retries"],
        "version_negotiations": q["version_negotiations"],
        "versions": sorted(q["versions"]),
        "sni": sorted(q["names"]),
        "alpn": sorted(q["alpns"]),
        "server_hellos": q["server_hellos"],
        "connection_closes": q["connection_closes"],
        "close_codes": [c for _, c in sorted(codes)],
        "connections_named": q["connections"],
    }, None


def split(s):
    return sorted(x for x in s.split(",") if x)


def expected_figures(row):
    return {
        "client_initials": int(row["quic_initial_client"]),
        "server_initials": int(row["quic_initial_server"]),
        "handshakes": int(row["quic_handshake_packets"]),
        "retries": int(row["quic_retry"]),
        "version_negotiations": int(row["quic_version_negotiation"]),
        "versions": split(row["quic_versions"]),
        "sni": split(row["quic_sni"].lower()),
        "alpn": split(row["quic_alpn"]),
        "server_hellos": int(row["quic_server_hellos"]),
        "connection_closes": int(row["quic_connection_close"]),
        "close_codes": [c for c in row["quic_connection_close_codes"].split(",") if c],
        # A ClientHello read in each connection (quic_connections: distinct
        # conversation and client SCID pairs).
        "connections_named": int(row["quic_connections"]),
    }


def main():
    panne, corpus = sys.argv[1], sys.argv[2]
    rows, _ = read_expected(corpus, "quic corpus")
    if rows is None:
        return 0
    bad, compared, skipped, used = compare_rows(rows, corpus, lambda path: panne_figures(panne, path),
                                                expected_figures, EXPLAINED)
    print("quic corpus: %d files (%d skipped), %d figures compared, %d explained differences, %d failures"
          % (len(rows), skipped, compared, len(used), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
