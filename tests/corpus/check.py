#!/usr/bin/env python3
"""check.py PANNE CORPUS_DIR: runs `panne -A -T json` over every capture of
the public corpus, or of the tunnel corpus (a folder whose EXPECTED.tsv has
the encapsulation columns), and compares panne's figures with tshark's.

Each comparison is exact unless a known, explained difference is listed in
EXPLAINED below: a difference not listed there fails the test, and an
explanation that no longer matches a difference fails it too (so the list
stays true). Skips cleanly (exit 0, message) when the corpus is absent."""
import collections
import json
import os
import subprocess
import sys

# (file, figure) -> (panne's value, why it differs from tshark's).
EXPLAINED = {
    ("ndpi-bad-dns-traffic.pcap", "dns_timeout"): (61,
        "frames 55, 56 and 58 were answered 6.7-7.6 s after the query, past panne's 5 s "
        "--dns-timeout (a client's resolver has given up by then); tshark matches an answer "
        "at any delay"),
    ("ndpi-fuzz-2006-06-26-2594.pcap", "dns_queries"): (250,
        "fuzzed file: 5 queries have mutated ports (e.g. frame 8, 2712 -> 49973) that tshark "
        "still dissects as DNS by conversation; panne reads DNS on port 53 only"),
    ("ndpi-fuzz-2006-06-26-2594.pcap", "dns_responses"): (47,
        "fuzzed file: 2 responses on mutated ports (frames 29, 355), see dns_queries"),
    ("ndpi-fuzz-2006-06-26-2594.pcap", "dns_timeout"): (186,
        "fuzzed file: mutated ids, ports and names pair queries differently: tshark takes a "
        "query reusing an id as a retransmission whatever its (mutated) name (30, e.g. frame "
        "25) and matches answers whose names differ from their query's (6, e.g. frame 42), "
        "panne neither; 33 that tshark counts panne leaves undecided or does not read as DNS "
        "(e.g. frame 21, whose wait a reused id ended before the resolver's round trip was "
        "known, and frame 8, on a mutated port)"),
    ("zeek-dns-notify2.pcap", "dns_timeout"): (0,
        "the capture ends less than 5 s (--dns-timeout) after the query: panne cannot know it "
        "went unanswered and says nothing, tshark counts it"),
    ("ndpi-synscan.pcap", "tcp_syn_timeouts"): (0,
        "an nmap SYN scan of 1 994 ports of one host from one source: panne reports one scan "
        "finding (detail.count 1994), and a scanner's unanswered probes are not the target's "
        "failure; tshark counts every unanswered stream"),
    ("ndpi-synscan.pcap", "tcp_refused_streams"): (0,
        "the 5 closed ports of the same scan: refusals of a scanner's probes are not the "
        "target's failure either, see tcp_syn_timeouts"),
    ("zeek-nmap-vsn.pcap", "tcp_syn_timeouts"): (0,
        "the whole capture lasts 2.4 s, less than the 10 s --syn-timeout: the 8 SYNs had not "
        "timed out when it ended, their clients did not retry nor fall back to another address "
        "of the same name, and their servers never answered, so no round trip tells how long "
        "is too long"),
    ("zeek-tcp-syn.pcap", "tcp_syn_timeouts"): (0,
        "a single-packet capture: the SYN had no time to be answered"),
    ("ndpi-http-ipv6.pcap", "ipv6_frames"): (193,
        "6 frames carrying certificate chains have a protocol list so long that tshark -V "
        "prints it as 'Protocols in frame [truncated]', which the reference count did not "
        "read; tshark -T fields -e frame.protocols shows ipv6 in all 193"),
    ("zeek-tls-certificate-request-failed.pcap", "ipv6_frames"): (12,
        "one frame with a certificate chain: its protocol list is printed truncated, "
        "see ndpi-http-ipv6.pcap"),
    ("ndpi-fuzz-2006-06-26-2594.pcap", "ipv6_frames"): (0,
        "fuzzed file: frame 669 is typed IPv4 by its Ethernet header but its version nibble "
        "says 6; tshark flags 'Bogus IPv4 version' and dissects it as IPv6 anyway, panne "
        "counts it invalid (ip.version). (It is no tunnel: the IPv6 inside IPv4 and the "
        "Teredo this table used to explain are decoded now)"),
    ("ndpi-netflix.pcap", "http_responses"): (32,
        "tshark counts a response once its body is reassembled, and the capture cuts 27 of "
        "the 32 bodies (e.g. frame 351); panne counts each response head (tshark with "
        "reassembly off finds the same 32)"),
    ("ndpi-netflix.pcap", "http_codes"): ({"200": 24, "206": 8}, "see http_responses"),
    ("ndpi-1kxun.pcap", "http_responses"): (118,
        "tshark counts 111 final responses once their bodies are reassembled; the capture "
        "cuts 7 more bodies (e.g. the 206 of frame 582), whose heads panne counts; tshark "
        "with reassembly off finds 119 final heads, one of them frame 503, a retransmission "
        "of frame 486"),
    ("ndpi-1kxun.pcap", "http_codes"): ({"200": 102, "204": 5, "206": 1, "301": 2, "302": 3,
                                        "404": 1, "500": 2, "502": 2}, "see http_responses"),
    ("suricata-verify-tls-der-incomplete-header.pcap", "x509_certs"): (1,
        "the Certificate message lists one certificate whose DER header is cut: tshark does "
        "not count what it cannot dissect, panne counts the entry (and judges nothing)"),
    ("zeek-http-methods.pcap", "http_responses"): (25,
        "24 responses answer request lines that are not HTTP (no space after the method as "
        "in 'GET/ HTTP/1.1', 'OPTIONSHTTP/1.1', bytes that are no method): panne reads a "
        "flow as HTTP when its client starts with a request line; tshark reads any "
        "response on port 80"),
    ("zeek-http-methods.pcap", "http_codes"): ({"200": 5, "400": 7, "403": 1, "405": 7, "411": 5},
        "see http_responses"),
}


# The tunnel corpus (../shared/corpus/tunnels): same figures, plus the
# encapsulation kinds and inner IP frames. (file, figure) -> (panne's value, why).
NOT_DECODED = ("panne decodes the tunnels a gateway or an operator's tap meets (PPPoE, PPP, MPLS, "
               "IP in IP, GRE, VXLAN, Geneve, Teredo, GTP-U); %s stays the UDP flow it travels in, counted as "
               "such, as a gateway tool need not follow it")
AYIYA = NOT_DECODED % "AYIYA (UDP 5072, SixXS's tunnel broker protocol, closed in 2017)"
EXPLAINED_TUNNELS = {
    ("zeek-tunnels-4in6.pcap", "tcp_syn_timeouts"): (0,
        "a single-packet capture: the SYN had no time to be answered (as zeek-tcp-syn.pcap "
        "in the public corpus)"),
    ("zeek-tunnels-geneve-vxlan-dns-truncated.pcap", "dns_timeout"): (0,
        "both DNS messages are cut by the 176-byte snaplen after their complete 12-byte "
        "headers: panne pairs the response with the query by id and addresses (one answered "
        "transaction), tshark stops dissecting before pairing them (MANIFEST.md, caveats)"),
    ("zeek-tunnels-gre-sample.pcap", "dns_timeout"): (0,
        "both queries are answered by ICMP port unreachable inside the GRE tunnel (frames 34 "
        "and 36): panne reports each as the transaction's answer (icmp_unreachable), tshark "
        "counts it unanswered"),
    ("zeek-tunnels-vxlan-triple-v2.pcap", "dns_timeout"): (0,
        "a single-packet capture: the query had no time to go unanswered (--dns-timeout 5 s)"),
    ("zeek-tunnels-ayiya3.pcap", "tcp_syn"): (0, AYIYA),
    ("zeek-tunnels-ayiya3.pcap", "tcp_synack"): (0, "see tcp_syn"),
    ("zeek-tunnels-ayiya3.pcap", "ipv6_frames"): (0, "see tcp_syn"),
    ("zeek-tunnels-ayiya3.pcap", "http_responses"): (0, "see tcp_syn"),
    ("zeek-tunnels-ayiya3.pcap", "http_codes"): ({}, "see tcp_syn"),
    ("zeek-tunnels-ayiya3.pcap", "inner_ip_frames"): (0, "see tcp_syn"),
    ("zeek-tunnels-ayiya3.pcap", "tunnel_kinds"): ({}, "see tcp_syn"),
    ("zeek-tunnels-gtp-gtp2_different_udp_port.pcap", "inner_ip_frames"): (36,
        "42 downlink datagrams are fragmented on the outer IPv4 layer: tshark reassembles "
        "them and dissects GTP-U in the frame completing each (78 = 36 + 42); panne does "
        "not reassemble, so decodes a tunnel in unfragmented packets only (the 36), and its "
        "flows lose the 42 large segments (MANIFEST.md, caveats)"),
    ("zeek-tunnels-gtp-gtp2_different_udp_port.pcap", "tunnel_kinds"): ({"gtpu": 36},
        "see inner_ip_frames"),
}

# tshark's kind names (MANIFEST.md, column tunnel_kinds) -> panne's
# counters.encapsulations names.
TUNNEL_KIND_NAMES = {"pppoed": "pppoe_discovery", "pppoes": "pppoe", "ppp": "ppp", "mpls": "mpls",
                     "gre": "gre", "vxlan": "vxlan", "geneve": "geneve", "teredo": "teredo",
                     "ipip": "ipip", "ip6-in-ip": "6in4", "ip-in-ip6": "4in6", "ip6-in-ip6": "6in6",
                     "gtp": "gtpu"}


def kv(s):
    """'0:6,2:3' -> {'0': 6, '2': 3}; '-' -> {}."""
    if s in ("-", ""):
        return {}
    out = {}
    for part in s.split(","):
        k, _, v = part.rpartition(":")
        out[k] = int(v)
    return out


def panne_figures(panne, path):
    p = subprocess.run([panne, "-A", "-T", "json", "-r", path],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if p.returncode not in (0, 1, 3):
        raise RuntimeError("exit %d: %s" % (p.returncode, p.stderr.decode(errors="replace")))
    kinds = collections.Counter()
    fatal_alerts = collections.Counter()
    summary = None
    for line in p.stdout.decode().splitlines():
        o = json.loads(line)  # every line must be JSON
        if o["type"] == "finding":
            kinds[(o["category"], o["kind"])] += 1
            if o["kind"] == "tls_alert" and o["detail"].get("level") == 2:
                fatal_alerts[o["detail"].get("description")] += 1
        elif o["type"] == "summary":
            summary = o
    if summary is None:
        raise RuntimeError("no summary line")
    c = summary.get("counters", {})
    fig = {
        "frames": summary["packets"],
        "read_status": "ok" if not summary["damaged"] else "damaged",
        "tcp_syn": c.get("tcp", {}).get("syn"),
        "tcp_synack": c.get("tcp", {}).get("synack"),
        "tcp_rst": c.get("tcp", {}).get("rst"),
        "dns_queries": c.get("dns", {}).get("queries"),
        "dns_responses": c.get("dns", {}).get("responses"),
        "dns_servfail_txn": kinds[("dns", "servfail")],
        "dns_nxdomain_txn": kinds[("dns", "nxdomain")],
        "dns_refused_txn": kinds[("dns", "refused")],
        "dns_timeout": kinds[("dns", "dns_timeout")],
        "tcp_refused_streams": kinds[("tcp", "refused")],
        "tcp_syn_timeouts": kinds[("tcp", "syn_timeout")],
        "tls_fatal_alerts": sum(fatal_alerts.values()),
        "http_5xx": kinds[("http", "http_5xx")],
        "cert_expired": kinds[("tls", "cert_expired")],
        "ipv6_frames": c.get("frames", {}).get("ipv6"),
        "vlan_frames": c.get("frames", {}).get("vlan"),
        "tls_client_hellos": c.get("tls", {}).get("client_hellos"),
        "tls_server_hellos": c.get("tls", {}).get("server_hellos"),
        "http_responses": c.get("http", {}).get("responses"),
        "http_codes": c.get("http", {}).get("codes"),
        "x509_certs": c.get("tls", {}).get("certificates"),
        "tls_versions": c.get("tls", {}).get("versions"),
        "tls_alerts": c.get("tls", {}).get("alerts"),
        "tls_sni": c.get("tls", {}).get("server_names"),
        "inner_ip_frames": c.get("frames", {}).get("inner_ip"),
        "tunnel_kinds": c.get("encapsulations"),
    }
    return fig, p.returncode


def expected_figures(row):
    rc = kv(row["dns_rcodes"])
    dup = int(row["dns_dup_responses"])
    status = row["read_status"]
    out = {
        "frames": int(row["frames"]),
        "read_status": "ok" if status == "ok" else "damaged",
        "tcp_syn": int(row["tcp_syn"]),
        "tcp_synack": int(row["tcp_synack"]),
        "tcp_rst": int(row["tcp_rst"]),
        "dns_queries": int(row["dns_queries"]),
        "dns_responses": int(row["dns_responses"]),
        # One finding per transaction; tshark counts every response, and
        # dns_dup_responses are retransmitted answers of the same transaction.
        "dns_servfail_txn": int(row["dns_servfail"]) - (dup if int(row["dns_servfail"]) >= dup else 0),
        "dns_nxdomain_txn": int(row["dns_nxdomain"]),
        "dns_refused_txn": int(row["dns_refused"]),
        "dns_timeout": int(row["dns_unanswered_txn"]),
        "tcp_refused_streams": int(row["tcp_refused_streams"]),
        "tcp_syn_timeouts": int(row["tcp_unanswered_streams"]),
        "tls_fatal_alerts": int(row["tls_fatal_alerts"]),
        "http_5xx": int(row["http_5xx"]),
        "cert_expired": int(row["x509_leaf_expired"]),
        "ipv6_frames": int(row["ipv6_frames"]),
        "vlan_frames": int(row["vlan_frames"]),
        "tls_client_hellos": int(row["tls_client_hellos"]),
        "tls_server_hellos": int(row["tls_server_hellos"]),
        # panne counts final responses; tshark also counts interim 1xx ones.
        "http_responses": int(row["http_responses"]) -
        sum(n for code, n in kv(row["http_codes"]).items() if 100 <= int(code) < 200),
        "http_codes": {code: n for code, n in kv(row["http_codes"]).items() if not 100 <= int(code) < 200},
        "x509_certs": int(row["x509_certs"]),
        "tls_versions": kv(row["tls_versions"]),
        "tls_alerts": kv(row["tls_alerts"]),
        # Distinct ClientHello server names (panne keeps them lower case).
        "tls_sni": len({n.lower() for n in row["tls_sni"].split(",")} - {"-", ""}),
    }
    if "tunnel_kinds" in row:  # the tunnel corpus
        out["inner_ip_frames"] = int(row["inner_ip_frames"])
        # A kind panne does not decode (ayiya) keeps tshark's name: never equal.
        out["tunnel_kinds"] = {TUNNEL_KIND_NAMES.get(k, k): n for k, n in kv(row["tunnel_kinds"]).items()}
    return out


# The captures MANIFEST.md calls clean: no service may be degraded or failing.
CLEAN = ["zeek-http-get.pcap", "zeek-tls-tls1.2.pcap", "zeek-tls-chrome-1250-x25519-kyber.pcap",
         "zeek-tls-openjdk-zeek.org-sll2.pcap", "zeek-pcapng-multi-interface.pcapng",
         "ndpi-spotify-tcp.pcap", "ndpi-youtubeupload.pcap", "ndpi-netflix.pcap"]


def false_alarms(panne, corpus):
    bad = 0
    for name in CLEAN:
        path = os.path.join(corpus, name)
        if not os.path.exists(path):
            continue
        p = subprocess.run([panne, "-A", "-T", "json", "-r", path], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=300)
        for line in p.stdout.decode().splitlines():
            o = json.loads(line)
            if o["type"] == "verdict" and o["status"] in ("degraded", "failing"):
                print("FALSE ALARM %s: %s %s, %s: %s" % (name, o["service"], o["status"],
                                                       o["attribution"], o["reasons"][:1]))
                bad += 1
        if p.returncode != 0:
            print("FALSE ALARM %s: exit status %d on a clean capture" % (name, p.returncode))
            bad += 1
    print("corpus: %d clean captures, %d false alarms" % (len(CLEAN), bad))
    return bad


def read_expected(corpus, label):
    """The rows of corpus's EXPECTED.tsv, with its header, or None (said) when absent."""
    tsv = os.path.join(corpus, "EXPECTED.tsv")
    if not os.path.isfile(tsv):
        print("%s: %s not found, skipped" % (label, tsv))
        return None, None
    with open(tsv) as fh:
        header = fh.readline().rstrip("\n").split("\t")
        rows = [dict(zip(header, l.rstrip("\n").split("\t"))) for l in fh if l.strip()]
    return rows, header


def compare_rows(rows, corpus, figures, expected, explained):
    """Compares figures(path) -> (got, why) with expected(row) on every row.
    got None skips the file (why says so). A difference passes only as the
    explained value; an explanation that no longer applies fails as stale.
    Returns (failures, figures compared, files skipped, explanations used)."""
    bad = compared = skipped = 0
    used = set()
    for row in rows:
        path = os.path.join(corpus, row["file"])
        try:
            got, why = figures(path)
        except Exception as e:  # a crash or bad JSON is a failure, never skipped
            print("FAIL %s: %s" % (row["file"], e))
            bad += 1
            continue
        if got is None:
            print("skipped %s: %s" % (row["file"], why))
            skipped += 1
            continue
        for k, w in expected(row).items():
            compared += 1
            g = got.get(k)
            key = (row["file"], k)
            if g == w:
                if key in explained:
                    print("STALE %s %s: explained difference no longer occurs (now %s)" % (row["file"], k, g))
                    bad += 1
                continue
            if key in explained and explained[key][0] == g:
                used.add(key)
                print("known %s %s: panne %s, tshark %s: %s" % (row["file"], k, g, w, explained[key][1]))
                continue
            print("FAIL %s %s: panne %s, tshark %s" % (row["file"], k, g, w))
            bad += 1
    return bad, compared, skipped, used


def main():
    panne, corpus = sys.argv[1], sys.argv[2]
    rows, header = read_expected(corpus, "corpus")
    if rows is None:
        return 0
    tunnels = "tunnel_kinds" in header
    explained = EXPLAINED_TUNNELS if tunnels else EXPLAINED
    bad, compared, _, used = compare_rows(rows, corpus, lambda path: panne_figures(panne, path),
                                          expected_figures, explained)
    print("corpus%s: %d files, %d figures compared, %d explained differences, %d failures"
          % (" (tunnels)" if tunnels else "", len(rows), compared, len(used), bad))
    if not tunnels:
        bad += false_alarms(panne, corpus)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
