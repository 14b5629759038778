#!/usr/bin/env python3
"""check_frames.py JSON_OUTPUT PCAP: opens every frame that panne's findings
and verdicts cite as evidence and checks it is the packet claimed: the reset
for a reset, the response with that rcode for a DNS error, the 5xx status
line for http_5xx... Exit 1 on the first frame that is not what it is said
to be."""
import json
import re
import struct
import sys


def read_pcap(path):
    with open(path, "rb") as fh:
        data = fh.read()
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        sys.exit("check_frames: %s is not a classic pcap file" % path)
    linktype = struct.unpack(e + "I", data[20:24])[0]
    frames, off = [None], 24
    while off + 16 <= len(data):
        _, _, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
        frames.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return linktype, frames


def dissect(frame, linktype):
    """Returns (proto, l4 header dict, payload) or None for non-IPv4/IPv6."""
    p = frame
    if linktype == 1:
        et = struct.unpack("!H", p[12:14])[0]
        p = p[14:]
        while et in (0x8100, 0x88a8):
            et = struct.unpack("!H", p[2:4])[0]
            p = p[4:]
        if et not in (0x0800, 0x86dd):
            return None
    if p[0] >> 4 == 4:
        ihl = (p[0] & 15) * 4
        proto, l4 = p[9], p[ihl:struct.unpack("!H", p[2:4])[0]]
    else:
        proto, l4 = p[6], p[40:]
    if proto == 6:
        doff = (l4[12] >> 4) * 4
        return "tcp", {"sport": struct.unpack("!H", l4[0:2])[0], "dport": struct.unpack("!H", l4[2:4])[0],
                       "flags": l4[13]}, l4[doff:]
    if proto == 17:
        return "udp", {"sport": struct.unpack("!H", l4[0:2])[0], "dport": struct.unpack("!H", l4[2:4])[0]}, l4[8:]
    if proto in (1, 58):
        return "icmp", {"type": l4[0], "code": l4[1]}, l4[8:]
    return None


def dns_msg(d):
    proto, h, pl = d
    if proto == "tcp":
        pl = pl[2:]
    if len(pl) < 12 or 53 not in (h.get("sport"), h.get("dport")):
        return None
    return {"id": struct.unpack("!H", pl[:2])[0], "qr": pl[2] >> 7, "rcode": pl[3] & 15}


def check(kind, detail, d, frame_no):
    """None if the frame is what the finding says, else why not."""
    if d is None:
        return "not an IP packet"
    proto, h, pl = d
    if kind in ("refused", "rst", "rst_injection") and proto == "tcp":
        return None if h["flags"] & 0x04 else "no RST flag"
    if kind in ("syn_timeout", "syn_flood"):
        return None if proto == "tcp" and h["flags"] & 0x12 == 0x02 else "not a SYN"
    if kind in ("nxdomain", "servfail", "refused", "dns_error", "dns_injection", "dns_bogus_answer"):
        m = dns_msg(d)
        if not m or m["qr"] != 1:
            return "not a DNS response"
        if "rcode" in detail and isinstance(detail["rcode"], int) and m["rcode"] != detail["rcode"]:
            return "rcode %d, finding says %d" % (m["rcode"], detail["rcode"])
        return None
    if kind == "dns_reflection":
        m = dns_msg(d)
        return None if (m and m["qr"] == 1) or proto == "udp" else "not a DNS answer"
    if kind == "dns_timeout":
        m = dns_msg(d)
        return None if m and m["qr"] == 0 else "not a DNS query"
    if kind == "icmp_unreachable":
        return None if proto == "icmp" and h["type"] in (1, 3) else "not an ICMP unreachable"
    if kind == "tls_alert":
        return None if proto == "tcp" and b"\x15\x03" in pl else "no TLS alert record"
    if kind in ("cert_untrusted", "cert_mismatch", "cert_expired"):
        return None if proto == "tcp" and b"\x16\x03" in pl else "no TLS handshake record"
    if kind in ("tls_timeout", "sni_filtered"):
        return None if proto == "tcp" and pl[:1] == b"\x16" else "not a ClientHello"
    if kind == "http_5xx":
        status = str(detail.get("status", "5"))
        return None if proto == "tcp" and re.search(rb"HTTP/1\.[01] " + status.encode(), pl) else "no 5xx status line"
    if kind in ("quic_timeout", "quic_close", "quic_version"):
        # A QUIC long header (RFC 9000 section 17.2): the client's Initial, the
        # packet that carries the close, or a Version Negotiation (version 0).
        if proto != "udp" or len(pl) < 7 or not pl[0] & 0x80:
            return "not a QUIC long header"
        version = struct.unpack("!I", pl[1:5])[0]
        if kind == "quic_version":
            return None if version == 0 else "not a Version Negotiation"
        return None if version else "a Version Negotiation"
    return "unknown kind " + kind


def main():
    out, pcap = sys.argv[1], sys.argv[2]
    linktype, frames = read_pcap(pcap)
    bad = checked = 0
    for line in open(out):
        o = json.loads(line)
        if o["type"] == "finding":
            why = check(o["kind"], o["detail"], dissect(frames[o["frame"]], linktype), o["frame"])
            checked += 1
            if why:
                print("%s: finding %s cites frame %d: %s" % (pcap, o["kind"], o["frame"], why))
                bad += 1
            for ev in o["evidence"]:
                if not 1 <= ev < len(frames):
                    print("%s: evidence frame %d does not exist" % (pcap, ev))
                    bad += 1
            if o["kind"] == "dns_injection":
                a = o["detail"]["answers"]
                ids = {dns_msg(dissect(frames[x["frame"]], linktype))["id"] for x in a}
                if len(ids) != 1:
                    print("%s: dns_injection answers are not for one query" % pcap)
                    bad += 1
        elif o["type"] == "verdict":
            cited = list(o["evidence"])
            for r in o["reasons"]:
                for grp in re.findall(r"frames? ([0-9][0-9, .]*)", r):
                    cited += [int(x) for x in re.findall(r"[0-9]+", grp)]
            for f in cited:
                checked += 1
                if not 1 <= f < len(frames):
                    print("%s: verdict %s cites frame %d, which does not exist" % (pcap, o["service"], f))
                    bad += 1
    print("check_frames: %s: %d citations checked, %d wrong" % (pcap, checked, bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
