#!/usr/bin/env python3
"""mklab.py [--list] [PATTERN...]: builds the lab's captures and their answer
keys (tests/lab/captures/NAME.pcap and NAME.json) from real traffic in
network namespaces of its own: two or three LAN clients behind a gateway, a
chain of routers and an "internet" namespace holding a real unbound and real
nginx servers; curl is the client, openssl s_server the interceptor, nmap the
scanner, iptables the firewalls and filters, tests/lab/labtools.py the forger.

Every key is written here, from the parameters the scenario was built with
(addresses, TTLs, the IP IDs of forged packets, the times rules were switched
on and off), never from panne's output. The key format is in
tests/lab/README.md. PATTERN selects captures by name (fnmatch); --list
prints the names. Needs root.
"""
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import score  # the scorer's pcap reader and frame predicates

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.environ.get("OUT") or os.path.join(HERE, "captures")
LABTOOLS = ["python3", os.path.join(HERE, "labtools.py")]
NETTOOLS = ["python3", os.path.join(ROOT, "tests", "netns", "tools.py")]
SERVICES = ["spotify", "netflix", "discord", "youtube"]

# Host numbers of the servers (in the plan's server prefix) and the names
# each one serves by default.
SP, SPAPI, NF, DC, YT, EX, WK, CDN, AUTH = 10, 11, 20, 30, 40, 50, 51, 60, 54
NAMES = {"open.spotify.com": SP, "api.spotify.com": SP, "www.netflix.com": NF, "discord.com": DC,
         "gateway.discord.gg": DC, "www.youtube.com": YT, "example.org": EX, "www.wikipedia.org": WK}
SERVICE_OF = {"open.spotify.com": "spotify", "api.spotify.com": "spotify", "www.netflix.com": "netflix",
              "discord.com": "discord", "gateway.discord.gg": "discord", "www.youtube.com": "youtube"}
CERT_NAMES = list(NAMES) + ["spotify.edge.cdn-example.net", "netflix.edge.cdn-example.net",
                            "discord.edge.cdn-example.net", "edge.cdn-example.net"]

# Address plans. doc: documentation ranges (public-looking servers); rfc1918:
# private addresses everywhere with split-horizon DNS (public names answered
# with 10.x servers whose certificates verify); v6: the doc plan dual-stack,
# clients preferring AAAA.
PLANS = {
    "doc": dict(lan="192.168.50", wan="203.0.113", res="203.0.113.53", srv="198.51.100"),
    "rfc1918": dict(lan="10.10.0", wan="10.255.0", res="10.20.0.53", srv="10.30.0"),
    "v6": dict(lan="192.168.50", wan="203.0.113", res="203.0.113.53", srv="198.51.100"),
}
LAN6, SRV6, RES6 = "2001:db8:50::", "2001:db8:100::", "2001:db8:53::53"
FORGED_PUBLIC, FORGED_PRIVATE = "198.51.100.66", "10.66.0.1"
IPID_RST, IPID_DNS, IPID_FLOOD, IPID_SPOOF = 0x7a7a, 0x6d6d, 0x5f5f, 0x4b4b
FAIL_KINDS = ["nxdomain", "servfail", "refused", "dns_error", "dns_timeout", "dns_bogus_answer",
              "dns_injection", "syn_timeout", "rst", "rst_injection", "icmp_unreachable", "syn_flood",
              "tls_alert", "cert_untrusted", "cert_mismatch", "cert_expired", "tls_timeout", "http_5xx",
              "sni_filtered", "quic_timeout", "quic_close", "quic_version"]


def run(*cmd, check=True, quiet=True):
    r = subprocess.run(cmd, stdout=subprocess.PIPE if quiet else None, stderr=subprocess.PIPE if quiet else None)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                                (r.stderr or b"").decode(errors="replace").strip()))
    return r


class World:
    """The namespaces of one capture, built from a variant: addr (doc,
    rfc1918, v6), nat (bool), hops (routers from a LAN client to a server:
    1, 3 or 12), cap (lan, client, both), resolver (isp, lan)."""

    def __init__(self, v, tmp, certs):
        self.v, self.T, self.K = v, tmp, certs
        self.p = PLANS[v["addr"]]
        self.v6 = v["addr"] == "v6"
        tag = "%x%x" % (os.getpid() & 0xfff, int(time.time() * 10) & 0xfff)
        self.ns = {n: "pl%s%s" % (n, tag) for n in ("c1", "c2", "c3", "g", "r1", "r2", "i")}
        if v["hops"] == 1:
            del self.ns["r1"], self.ns["r2"]
        self.procs = []
        self.caps = []

    # --- addresses
    def lan(self, n):
        return "%s.%d" % (self.p["lan"], n)

    def lan6(self, n):
        return "%s%d" % (LAN6, n)

    def srv(self, n):
        return "%s.%d" % (self.p["srv"], n)

    def srv6(self, n):
        return "%s%d" % (SRV6, n)

    def wan(self, n):
        return "%s.%d" % (self.p["wan"], n)

    @property
    def gw(self):
        return self.lan(1)

    @property
    def res(self):
        return self.p["res"]

    def client(self, c):
        return self.lan({"c1": 11, "c2": 12, "c3": 13}[c])

    def client6(self, c):
        return self.lan6({"c1": 11, "c2": 12, "c3": 13}[c])

    def resolver_addr(self):
        """The clients' resolver: the gateway's own (lan), or the ISP's; the
        IPv6 plan reaches it over IPv6."""
        if self.v.get("resolver") == "lan":
            return self.lan6(1) if self.v6 else self.gw
        return RES6 if self.v6 else self.res

    # --- running things
    def sh(self, ns, *cmd, check=True):
        return run("ip", "netns", "exec", self.ns[ns], *cmd, check=check)

    def bg(self, ns, *cmd):
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns], *cmd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def bg_ready(self, ns, *cmd, most=10.0):
        """A tool that says when it is ready (the READY file of tools.py)."""
        flag = os.path.join(self.T, "ready.%d" % len(self.procs))
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns], *cmd], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, env=dict(os.environ, READY=flag))
        self.procs.append(p)
        end = time.time() + most
        while not os.path.exists(flag):
            if time.time() > end or p.poll() is not None:
                raise RuntimeError("%s did not start" % cmd[-1])
            time.sleep(0.05)
        return p

    def wait_listen(self, ns, port, most=10.0):
        """Until something listens on TCP port in ns (or most seconds)."""
        end = time.time() + most
        while time.time() < end:
            r = self.sh(ns, "ss", "-Hltn", "sport = :%d" % port, check=False)
            if r.stdout.strip():
                return
            time.sleep(0.1)
        raise RuntimeError("nothing listens on port %d in %s" % (port, ns))

    def build(self):
        ns = self.ns
        for n in ns.values():
            run("ip", "netns", "add", n)
        for n in ns:
            self.sh(n, "ip", "link", "set", "lo", "up")
            self.sh(n, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0",
                    "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0",
                    "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=%d" % (n not in ("c1", "c2", "c3")))
        # The LAN: a bridge in the gateway, one port per client.
        self.sh("g", "ip", "link", "add", "lan0", "type", "bridge", "stp_state", "0", "forward_delay", "0")
        # Bridged frames do not go through iptables: else the gateway's own
        # resets leave by the bridge port, unseen on lan0 (br_netfilter).
        self.sh("g", "sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0", "net.bridge.bridge-nf-call-ip6tables=0",
                "net.bridge.bridge-nf-call-arptables=0", check=False)
        for c in ("c1", "c2", "c3"):
            run("ip", "link", "add", "eth0", "netns", ns[c], "type", "veth", "peer", "name", "p" + c, "netns", ns["g"])
            self.sh("g", "ip", "link", "set", "p" + c, "master", "lan0", "up")
            self.sh(c, "ip", "addr", "add", self.client(c) + "/24", "dev", "eth0")
            if self.v6:
                self.sh(c, "ip", "-6", "addr", "add", self.client6(c) + "/64", "dev", "eth0", "nodad")
            self.sh(c, "ip", "link", "set", "eth0", "up")
            self.sh(c, "ip", "route", "add", "default", "via", self.gw)
            if self.v6:
                self.sh(c, "ip", "-6", "route", "add", "default", "via", self.lan6(1))
        self.sh("g", "ip", "addr", "add", self.gw + "/24", "dev", "lan0")
        if self.v6:
            self.sh("g", "ip", "-6", "addr", "add", self.lan6(1) + "/64", "dev", "lan0", "nodad")
        self.sh("g", "ip", "link", "set", "lan0", "up")
        # The path: g [- r1 - r2] - i, /30 links in the plan's WAN prefix.
        chain = ["g", "i"] if self.v["hops"] == 1 else ["g", "r1", "r2", "i"]
        for k in range(len(chain) - 1):
            a, b = chain[k], chain[k + 1]
            run("ip", "link", "add", "wan0" if a == "g" else "up0", "netns", ns[a], "type", "veth",
                "peer", "name", "dn0", "netns", ns[b])
            ia, ib = ("wan0" if a == "g" else "up0"), "dn0"
            self.sh(a, "ip", "addr", "add", "%s/30" % self.wan(4 * k + 1), "dev", ia)
            self.sh(b, "ip", "addr", "add", "%s/30" % self.wan(4 * k + 2), "dev", ib)
            if self.v6:
                self.sh(a, "ip", "-6", "addr", "add", "2001:db8:ff0%d::1/64" % (k + 1), "dev", ia, "nodad")
                self.sh(b, "ip", "-6", "addr", "add", "2001:db8:ff0%d::2/64" % (k + 1), "dev", ib, "nodad")
            self.sh(a, "ip", "link", "set", ia, "up")
            self.sh(b, "ip", "link", "set", ib, "up")
        for k, n in enumerate(chain):
            if n != "i":  # up: default toward the internet
                self.sh(n, "ip", "route", "add", "default", "via", self.wan(4 * k + 2))
                if self.v6:
                    self.sh(n, "ip", "-6", "route", "add", "default", "via", "2001:db8:ff0%d::2" % (k + 1))
            if n != "g":  # down: the LAN and the links behind
                via = self.wan(4 * (k - 1) + 1)
                self.sh(n, "ip", "route", "add", self.p["lan"] + ".0/24", "via", via)
                for j in range(k - 1):  # the links behind, not the one we are on
                    self.sh(n, "ip", "route", "add", "%s/30" % self.wan(4 * j), "via", via)
                if self.v6:
                    v6via = "2001:db8:ff0%d::1" % k
                    self.sh(n, "ip", "-6", "route", "add", LAN6 + "/64", "via", v6via)
                    for j in range(k - 1):
                        self.sh(n, "ip", "-6", "route", "add", "2001:db8:ff0%d::/64" % (j + 1), "via", v6via)
        # Replies to spoofed sources leave the internet namespace by a
        # dummy device and vanish, as they would on the Internet (a route
        # must exist, or a flood's half-open connections would not queue).
        self.sh("i", "ip", "link", "add", "void0", "type", "veth", "peer", "name", "void1")
        self.sh("i", "ip", "link", "set", "void1", "up")
        self.sh("i", "ip", "link", "set", "void0", "up")
        self.sh("i", "ip", "route", "add", "default", "dev", "void0")
        if self.v6:
            self.sh("i", "ip", "-6", "route", "add", "default", "dev", "void0")
        for a in [self.res] + [self.srv(n) for n in (SP, SPAPI, NF, DC, YT, EX, WK, CDN, AUTH)]:
            self.sh("i", "ip", "addr", "add", a + "/32", "dev", "lo")
        if self.v6:
            for a in [RES6] + [self.srv6(n) for n in (SP, SPAPI, NF, DC, YT, EX, WK, CDN)]:
                self.sh("i", "ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad")
        if self.v["hops"] > 3:  # the far router stands for the rest of the path
            self.sh("r2", "iptables", "-t", "mangle", "-A", "FORWARD", "-j", "TTL", "--ttl-dec", str(self.v["hops"] - 3))
            if self.v6:
                self.sh("r2", "ip6tables", "-t", "mangle", "-A", "FORWARD", "-j", "HL", "--hl-dec",
                        str(self.v["hops"] - 3))
        if self.v["nat"]:
            self.sh("g", "iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan0", "-j", "MASQUERADE")
        for n in ns:  # segments no larger than the wire's MTU, as a real link shows them
            self.sh(n, *NETTOOLS, "nooffload", *self.devices(n), check=False)
        self.set_resolver(self.resolver_addr())

    def devices(self, n):
        if n in ("c1", "c2", "c3"):
            return ["eth0"]
        if n == "g":
            return ["lan0", "pc1", "pc2", "pc3", "wan0"]
        return [d for d in ("up0", "dn0") if not (n == "i" and d == "up0")]

    def set_resolver(self, *addrs):
        for c in ("c1", "c2", "c3"):
            d = "/etc/netns/%s" % self.ns[c]
            os.makedirs(d, exist_ok=True)
            with open(d + "/resolv.conf", "w") as f:
                for a in addrs:
                    f.write("nameserver %s\n" % a)
                f.write("options timeout:2 attempts:2\n")

    def hops_from(self, box):
        """Routers a packet sent by box crosses to reach the capture point
        (the gateway's LAN side or a client: the same count)."""
        return {"g": 0, "r1": 1, "r2": 2, "i": self.v["hops"] - 1}[box]

    def server_ttl(self):
        return 64 - self.v["hops"]

    # --- servers
    def auth_zones(self, names):
        """Zones served as authoritative data (auth-zone, for-upstream), so
        that unbound follows CNAME chains from one zone into another, as a
        real resolver does; returns the configuration lines."""
        by_zone = {}
        for name, to in names.items():
            by_zone.setdefault(".".join(name.split(".")[-2:]), []).append((name, to))
        conf = ""
        for z, recs in sorted(by_zone.items()):
            path = os.path.join(self.T, z + ".zone")
            with open(path, "w") as f:
                f.write("$ORIGIN %s.\n$TTL 300\n@ SOA ns.%s. host.%s. 1 3600 600 86400 300\n@ NS ns.%s.\n"
                        "ns A %s\n" % (z, z, z, z, self.res))
                for name, to in recs:
                    if isinstance(to, str):
                        f.write("%s. CNAME %s.\n" % (name, to))
                    else:
                        f.write("%s. A %s\n" % (name, self.srv(to)))
                        if self.v6:
                            f.write("%s. AAAA %s\n" % (name, self.srv6(to)))
            conf += ('auth-zone:\n  name: "%s."\n  zonefile: "%s"\n  for-downstream: no\n  for-upstream: yes\n'
                     '  fallback-enabled: no\n' % (z, path))
        return conf

    def zones(self, names=None, extra=""):
        """unbound local zones: names maps a name to a host number (A, and
        AAAA in the v6 plan) or to another name (CNAME)."""
        names = dict(NAMES if names is None else names)
        out, zones = [], set()
        for name, to in names.items():
            zones.add(".".join(name.split(".")[-2:]))
            if isinstance(to, str):
                out.append('  local-data: "%s. 300 CNAME %s."' % (name, to))
            else:
                out.append('  local-data: "%s. 300 A %s"' % (name, self.srv(to)))
                if self.v6:
                    out.append('  local-data: "%s. 300 AAAA %s"' % (name, self.srv6(to)))
        big = " ".join('"%s"' % (chr(97 + k) * 250) for k in range(3))
        out.append("  local-data: 'big.example.org. 300 TXT %s'" % big)
        zones.add("example.org")
        return "\n".join(['  local-zone: "%s." static' % z for z in sorted(zones)] + out) + "\n" + extra

    def unbound(self, ns, name, listen, body):
        conf = os.path.join(self.T, name + ".conf")
        with open(conf, "w") as f:
            f.write("server:\n")
            for a in listen:
                f.write("  interface: %s\n" % a)
            f.write("""  access-control: 0.0.0.0/0 allow
  access-control: ::/0 allow
  do-ip6: %s
  username: ""
  chroot: ""
  directory: "%s"
  pidfile: "%s/%s.pid"
  use-syslog: no
  logfile: "%s/%s.log"
  do-not-query-localhost: no
  outbound-msg-retry: 1
  infra-host-ttl: 1
%s""" % ("yes" if self.v6 else "no", self.T, self.T, name, self.T, name, body))
        self.sh(ns, "unbound", "-c", conf)
        time.sleep(0.3)

    def isp_resolver(self, names=None, extra=""):
        self.unbound("i", "isp", [self.res] + ([RES6] if self.v6 else []), self.zones(names, extra))

    def lan_resolver(self, extra=""):
        self.unbound("g", "lan", [self.gw] + ([self.lan6(1)] if self.v6 else []),
                     extra + 'forward-zone:\n  name: "."\n  forward-addr: %s\n' % self.res)

    def stop_lan_resolver(self):
        with open(os.path.join(self.T, "lan.pid")) as f:
            os.kill(int(f.read().strip()), signal.SIGTERM)
        time.sleep(0.3)

    def nginx(self, status=None, absent=(), backlog=None, extra=""):
        status = status or {}
        blocks = []
        for n in (SP, SPAPI, NF, DC, YT, EX, WK, CDN):
            if n in absent:
                continue
            listens = []
            for a in [self.srv(n)] + (["[%s]" % self.srv6(n)] if self.v6 else []):
                bl = " backlog=%d" % backlog if backlog and n == SP else ""
                listens.append("listen %s:80%s; listen %s:443 ssl%s;" % (a, bl, a, bl))
            blocks.append('  server { %s root %s; location /big.bin { limit_rate 16k; } '
                          'location / { return %d "ok %d\\n"; } }' % (" ".join(listens), self.T, status.get(n, 200), n))
        with open(os.path.join(self.T, "big.bin"), "wb") as f:
            f.write(b"\0" * 40000)
        conf = os.path.join(self.T, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""user root;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/nginx.err;
events { worker_connections 256; }
http {
  access_log off;
  ssl_certificate %s/srv.pem;
  ssl_certificate_key %s/srv.key;
  ssl_protocols TLSv1.2;
  server_tokens on;
%s
%s
}
""" % (self.T, self.T, self.K, self.K, "\n".join(blocks), extra))
        self.sh("i", "nginx", "-c", conf)
        time.sleep(0.3)

    # --- capture
    def capture_start(self, name):
        where = {"lan": [("g", "lan0", "")], "client": [("c1", "eth0", "")],
                 "both": [("g", "lan0", ""), ("g", "wan0", "-wan")]}[self.v["cap"]]
        for ns, dev, suffix in where:
            path = os.path.join(self.T, name + suffix + ".pcap")
            err = os.path.join(self.T, "tcpdump%s.err" % suffix)
            p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns], "tcpdump", "-Z", "root", "--immediate-mode", "-i", dev,
                                  "-s", "262144", "-U", "-w", path], stdout=subprocess.DEVNULL, stderr=open(err, "w"))
            self.caps.append((p, path, name + suffix + ".pcap"))
            for _ in range(50):
                time.sleep(0.05)
                if "listening" in open(err).read():
                    break
        time.sleep(0.3)

    def capture_stop(self):
        time.sleep(1.0)
        files = []
        for p, path, base in self.caps:
            if os.environ.get("LABDEBUG"):
                print("capture %s: %s" % (base, "running" if p.poll() is None else "ended %s" % p.returncode),
                      file=sys.stderr)
            p.send_signal(signal.SIGTERM)
            p.wait()
            shutil.copy(path, os.path.join(OUT, base))
            files.append(base)
        self.caps = []
        return files

    # --- clients
    def fetch(self, c, url, *extra, timeout=3):
        r = self.sh(c, "curl", "-sS", "-o", "/dev/null", "--cacert", self.K + "/ca.pem", "--tls-max", "1.2",
                "--connect-timeout", str(timeout), "-m", str(timeout + 3), *extra, url, check=False)
        if os.environ.get("LABDEBUG"):
            print("fetch %s %s: %d %s" % (c, url, r.returncode, r.stderr.decode(errors="replace").strip()),
                  file=sys.stderr)

    def fetch_all(self, c, skip=()):
        for u in ("https://open.spotify.com/", "https://www.netflix.com/", "http://www.netflix.com/",
                  "https://discord.com/", "https://www.youtube.com/", "https://example.org/",
                  "http://www.wikipedia.org/"):
            if not any(s in u for s in skip):
                self.fetch(c, u)

    def destroy(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p, _, _ in self.caps:
            p.terminate()
        for n in self.ns.values():
            r = run("ip", "netns", "pids", n, check=False)
            for pid in (r.stdout or b"").split():
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            run("ip", "netns", "del", n, check=False)
            shutil.rmtree("/etc/netns/%s" % n, ignore_errors=True)


# ---------------------------------------------------------------- keys

def P(**kw):
    """A frame predicate (tests/lab/README.md lists the fields)."""
    return {k: v for k, v in kw.items() if v is not None}


class Key:
    def __init__(self, w, name, scenario, desc):
        self.w = w
        vis = ["c1"] if w.v["cap"] == "client" else ["c1", "c2", "c3"]
        self.visible = vis
        self.d = {"capture": name + ".pcap", "scenario": scenario, "variant": dict(w.v), "description": desc,
                  "args": ["--ca-file", "test-ca.pem", "-s", ",".join(SERVICES)],
                  "services": {s: {"status": ["healthy"], "attribution": ["none"]} for s in SERVICES},
                  "findings": [], "forbid": {"kinds": []}, "attack_checks": {}, "verdict_words": ""}
        if w.v["cap"] == "both":
            self.d["merge"] = [name + "-wan.pcap"]

    def svc(self, s, status, attribution, **kw):
        e = {"status": status, "attribution": attribution}
        e.update({k: v for k, v in kw.items() if v is not None})
        self.d["services"][s] = e
        return e

    def clients(self, s, affected, unaffected):
        """Expected clients of a verdict, limited to those the capture sees."""
        w = self.w
        addr = (lambda c: [w.client(c)] + ([w.client6(c)] if w.v6 else []))  # one host, its addresses
        a = [addr(c) for c in affected if c in self.visible]
        u = [addr(c) for c in unaffected if c in self.visible]
        self.d["services"][s]["clients"] = {"affected": a, "unaffected": u}

    def need(self, kind, service, why, pred=None, **kw):
        f = {"kind": kind if isinstance(kind, list) else [kind], "service": service, "why": why}
        if pred:
            f["frame"] = pred
        f.update(kw)
        self.d["findings"].append(f)

    def absent(self, why, pred):
        """Something the scenario must not show (checked by the generator
        on its capture, not scored): e.g. no SYN-ACK while a rule drops."""
        self.d.setdefault("absent", []).append({"why": why, "frame": pred})

    def forbid(self, *kinds):
        self.d["forbid"]["kinds"] += list(kinds)

    def window(self, s, field, t, before=11.0):
        self.d["services"][s][field] = {"from": round(t - 0.05, 6), "to": round(t + before, 6)}

    def write(self, words):
        """Writes the key, once the capture shows what the scenario built:
        every required finding's frame predicate must hold for some frame
        (a scenario whose failure did not happen is an error, not a key)."""
        self.d["verdict_words"] = words
        frames = score.read_pcap(os.path.join(OUT, self.d["capture"]))
        for f in self.d["findings"]:
            if "frame" in f and not any(score.match(fr, f["frame"]) for fr in frames):
                raise RuntimeError("the capture has no frame for the required %s (%s): %s" %
                                   ("/".join(f["kind"]), f["why"], json.dumps(f["frame"])))
        for a in self.d.get("absent", []):
            hit = [fr.n for fr in frames if score.match(fr, a["frame"])]
            if hit:
                raise RuntimeError("the capture shows what it must not (%s): frames %s" % (a["why"], hit[:5]))
        self.d["frames"] = len(frames)
        with open(os.path.join(OUT, self.d["capture"][:-5] + ".json"), "w") as f:
            json.dump(self.d, f, indent=1, sort_keys=True)
            f.write("\n")


def healthy_checks(k):
    k.d["attack_checks"] = {"dns_injected": 0, "resets_forged": 0, "chains_intercepted": 0, "floods": 0,
                            "scans": 0}


def some_failing(on_both):
    return ["upstream"] if on_both else ["upstream", "unknown"]


# ---------------------------------------------------------------- scenarios
# Each builds the servers, starts the capture, makes the traffic and writes
# the key. w: the world; k: the key; name: the capture's name.

def sc_healthy(w, k):
    w.isp_resolver()
    if w.v.get("resolver") == "lan":
        w.lan_resolver()
    w.nginx()
    w.capture_start(k.name)
    w.fetch_all("c1")
    w.fetch_all("c2")
    w.fetch("c1", "http://www.youtube.com/")
    w.capture_stop()
    k.forbid(*FAIL_KINDS)
    healthy_checks(k)
    for s in SERVICES:
        k.clients(s, [], ["c1", "c2"])
    k.write("every service healthy, no finding, every attack check at zero")


def sc_http5xx(w, k):
    w.isp_resolver()
    mid = w.v.get("timing") == "mid"
    w.nginx(status={} if mid else {NF: 503},
            extra="  server { listen %s:8503; location / { return 503 \"busy\\n\"; } }" % w.srv(NF))
    w.capture_start(k.name)
    w.fetch_all("c1")
    w.fetch("c2", "https://open.spotify.com/")
    if mid:
        time.sleep(1)
        w.sh("i", "iptables", "-t", "nat", "-A", "PREROUTING", "-d", w.srv(NF), "-p", "tcp", "--dport", "80",
             "-j", "DNAT", "--to-destination", w.srv(NF) + ":8503")
        t_on = time.time()
    for c in ("c1", "c2"):
        w.fetch(c, "http://www.netflix.com/browse", "-4")
        w.fetch(c, "http://www.netflix.com/title", "-4")
    if mid:
        time.sleep(1)
        w.sh("i", "iptables", "-t", "nat", "-F")
        t_off = time.time()
        w.fetch("c1", "http://www.netflix.com/", "-4")
        w.fetch("c2", "http://www.netflix.com/", "-4")
    w.capture_stop()
    k.svc("netflix", ["failing", "degraded"], ["upstream"])
    k.clients("netflix", ["c1", "c2"], [])
    if mid:
        k.window("netflix", "onset", t_on)
        k.window("netflix", "recovery", t_off, 5)
    k.need("http_5xx", "netflix", "netflix's plain-HTTP server answers 503",
           P(src=w.srv(NF), sport=80, payload_prefix="HTTP/1.1 503"))
    k.forbid("dns_injection", "rst_injection", "cert_untrusted", "syn_flood")
    k.write("netflix failing (or degraded), upstream: its server answers 503; the others healthy")


def sc_refused(w, k):
    w.isp_resolver()
    mid = w.v.get("timing") == "mid"
    w.nginx(absent=() if mid else (DC,))
    w.capture_start(k.name)
    w.fetch_all("c1")
    w.fetch_all("c2", skip=("discord",))
    if mid:
        time.sleep(1)
        for t in ("iptables",) + (("ip6tables",) if w.v6 else ()):
            w.sh("i", t, "-A", "INPUT", "-d", w.srv(DC) if t == "iptables" else w.srv6(DC), "-p", "tcp",
                 "-j", "REJECT", "--reject-with", "tcp-reset")
        t_on = time.time()
    w.fetch("c1", "https://discord.com/api")
    w.fetch("c2", "https://discord.com/api")
    if mid:
        time.sleep(1)
        w.sh("i", "iptables", "-F")
        if w.v6:
            w.sh("i", "ip6tables", "-F")
        t_off = time.time()
        w.fetch("c1", "https://discord.com/")
        w.fetch("c2", "https://discord.com/")
    w.capture_stop()
    k.svc("discord", ["failing", "degraded"] if mid else ["failing"], ["upstream"])
    k.clients("discord", ["c1", "c2"], [])
    if mid:
        k.window("discord", "onset", t_on)
        k.window("discord", "recovery", t_off, 5)
    src = w.srv6(DC) if w.v6 else w.srv(DC)
    k.need("refused", "discord", "the server's kernel resets each SYN, at the server's own distance",
           P(src=src, sport=443, tcp_flags="RA", ttl=w.server_ttl()))
    k.forbid("rst_injection", "dns_injection", "syn_flood")
    k.d["services"]["discord"]["forbid_attribution"] = ["local", "attack"]
    k.write("discord failing, upstream: its server refuses (resets at the server's TTL %d)" % w.server_ttl())


def sc_blackhole(w, k):
    w.isp_resolver()
    w.nginx()
    mid = w.v.get("timing") == "mid"
    def drop():
        w.sh("i", "iptables", "-A", "INPUT", "-d", w.srv(YT), "-p", "tcp", "-j", "DROP")
        if w.v6:
            w.sh("i", "ip6tables", "-A", "INPUT", "-d", w.srv6(YT), "-p", "tcp", "-j", "DROP")
        return time.time()
    t_on = None if mid else drop()
    w.capture_start(k.name)
    w.fetch_all("c1", skip=() if mid else ("youtube",))
    w.fetch_all("c2", skip=("youtube",))
    if mid:
        time.sleep(1)
        t_on = drop()
    w.fetch("c1", "https://www.youtube.com/watch")
    w.fetch("c2", "https://www.youtube.com/watch")
    if mid:
        w.sh("i", "iptables", "-F")
        if w.v6:
            w.sh("i", "ip6tables", "-F")
        t_off = time.time()
        w.fetch("c1", "https://www.youtube.com/")
        w.fetch("c2", "https://www.youtube.com/")
    else:
        time.sleep(1.5)
    w.capture_stop()
    k.svc("youtube", ["failing", "degraded"] if mid else ["failing"], some_failing(w.v["cap"] == "both"),
          forbid_attribution=["attack"])
    k.clients("youtube", ["c1", "c2"], [])
    if mid:
        k.window("youtube", "onset", t_on)
        k.window("youtube", "recovery", t_off, 5)
    k.need("syn_timeout", "youtube", "the client's SYNs to youtube vanish beyond the gateway",
           P(src=w.client("c1") if not w.v6 else None, dst=w.srv6(YT) if w.v6 else w.srv(YT), dport=443,
             tcp_flags="S", t_from=t_on))
    k.absent("no SYN-ACK from youtube while the rule holds",
             P(src=w.srv6(YT) if w.v6 else w.srv(YT), sport=443, tcp_flags="SA", t_from=t_on + 0.01,
               t_to=t_off if mid else None))
    k.forbid("rst_injection", "dns_injection", "syn_flood", "refused")
    k.write("youtube failing, upstream (SYNs forwarded, never answered; unknown is allowed when only "
            "the LAN side is captured, since the gateway's own drop would look the same)")


def sc_servfail(w, k):
    # netflix.com is forwarded to an authoritative that rejects (servfail) or
    # drops (down) every packet.
    down = k.scenario == "auth-down"
    dead = w.srv(AUTH)
    w.isp_resolver({n: h for n, h in NAMES.items() if "netflix" not in n},
                   'forward-zone:\n  name: "netflix.com."\n  forward-addr: %s\n' % dead)
    w.sh("i", "iptables", "-A", "INPUT" if down else "OUTPUT", "-d", dead, "-j", "DROP" if down else "REJECT")
    w.nginx()
    w.capture_start(k.name)
    w.fetch_all("c1")
    w.fetch_all("c2")
    w.capture_stop()
    k.svc("netflix", ["failing"], ["upstream"], forbid_attribution=["local", "attack"])
    k.clients("netflix", ["c1", "c2"], [])
    if down:
        k.need(["servfail", "dns_timeout"], "netflix", "netflix's authoritative never answers the resolver",
               P(dns_qname="www.netflix.com"))
    else:
        k.need("servfail", "netflix", "the resolver answers SERVFAIL for netflix names only",
               P(src=w.resolver_addr(), dns_qname="www.netflix.com", dns_rcode=2))
    k.forbid("dns_injection", "rst_injection", "syn_flood", "dns_bogus_answer")
    k.write("netflix failing, upstream: its DNS fails (%s) while the same resolver answers the rest" %
            ("authoritative down" if down else "SERVFAIL"))


def sc_resolver_down(w, k):
    # The clients' resolver is the gateway's own, and it is not running (or
    # stops mid-capture and comes back).
    w.isp_resolver()
    w.nginx()
    w.v["resolver"] = "lan"
    w.set_resolver(w.resolver_addr())
    mid = w.v.get("timing") == "mid"
    if mid:
        w.lan_resolver()
    w.capture_start(k.name)
    if mid:
        w.fetch_all("c1")
        time.sleep(1)
        w.stop_lan_resolver()
    t_on = time.time()
    for u in ("https://open.spotify.com/", "https://www.netflix.com/", "https://discord.com/",
              "https://www.youtube.com/"):
        w.fetch("c1", u, timeout=2)
    w.fetch("c2", "https://open.spotify.com/", timeout=2)
    w.fetch("c2", "https://www.youtube.com/", timeout=2)
    if mid:
        w.lan_resolver()
        t_off = time.time()
        w.fetch_all("c1")
    w.capture_stop()
    for s in SERVICES:
        k.svc(s, ["failing", "degraded"] if mid else ["failing"], ["local"])
        k.clients(s, ["c1", "c2"], [])
        if mid:
            k.window(s, "onset", t_on)
            k.window(s, "recovery", t_off, 5)
    k.need("icmp_unreachable", None, "the gateway answers each query with port unreachable",
           P(src=w.resolver_addr(), icmp_unreach=True, t_from=t_on))
    k.forbid("dns_injection", "rst_injection", "syn_flood")
    k.write("every service failing, local: the LAN resolver (the gateway) is down")


def sc_resolver_unreach(w, k):
    # The LAN resolver's host drops every query: nothing comes back.
    w.isp_resolver()
    w.nginx()
    w.v["resolver"] = "lan"
    w.set_resolver(w.resolver_addr())
    w.lan_resolver()
    w.sh("g", "iptables", "-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP")
    if w.v6:
        w.sh("g", "ip6tables", "-A", "INPUT", "-p", "udp", "--dport", "53", "-j", "DROP")
    w.capture_start(k.name)
    t_on = time.time()
    for u in ("https://open.spotify.com/", "https://www.netflix.com/", "https://discord.com/",
              "https://www.youtube.com/"):
        w.fetch("c1", u, timeout=2)
    w.fetch("c2", "https://open.spotify.com/", timeout=2)
    time.sleep(1)
    w.capture_stop()
    for s in SERVICES:
        k.svc(s, ["failing"], ["local"])
    k.need("dns_timeout", None, "queries to the LAN resolver are never answered",
           P(dst=w.resolver_addr(), dport=53, t_from=t_on))
    k.forbid("dns_injection", "rst_injection", "syn_flood")
    k.write("every service failing, local: the LAN resolver does not answer")


def sc_fw_reset(w, k):
    w.isp_resolver()
    w.nginx()
    mid = w.v.get("timing") == "mid"
    only = ["-s", w.client("c1")] if mid else []
    w.capture_start(k.name)
    if mid:
        w.fetch_all("c1")
        w.fetch_all("c2")
        time.sleep(1)
    w.sh("g", "iptables", "-A", "FORWARD", *only, "-d", w.srv(SP), "-p", "tcp", "-j", "REJECT", "--reject-with",
         "tcp-reset")
    if w.v6:
        w.sh("g", "ip6tables", "-A", "FORWARD", *(["-s", w.client6("c1")] if mid else []), "-d", w.srv6(SP),
             "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset")
    t_on = time.time()
    w.fetch_all("c1")
    w.fetch("c1", "https://open.spotify.com/again")
    w.fetch("c2", "https://open.spotify.com/")
    w.fetch("c2", "https://www.netflix.com/")
    if mid:
        time.sleep(1)
        w.sh("g", "iptables", "-F", "FORWARD")
        if w.v6:
            w.sh("g", "ip6tables", "-F", "FORWARD")
        t_off = time.time()
        w.fetch("c1", "https://open.spotify.com/")
    w.capture_stop()
    k.svc("spotify", ["failing", "degraded"], ["local"], forbid_attribution=["attack", "upstream"])
    if mid:
        k.clients("spotify", ["c1"], ["c2"])
        k.window("spotify", "onset", t_on)
        k.window("spotify", "recovery", t_off, 5)
    else:
        k.clients("spotify", ["c1", "c2"], [])
    k.need("refused", "spotify", "the gateway resets the SYNs itself (TTL 64, hop 0)",
           P(src=w.srv6(SP) if w.v6 else w.srv(SP), sport=443, tcp_flags="RA", ttl=64, t_from=t_on))
    k.forbid("rst_injection", "dns_injection", "syn_flood")
    k.write("spotify failing, local: the gateway's firewall resets its connections (TTL 64 where the "
            "server's packets have %d)%s" % (w.server_ttl(), "; only c1 affected, from mid-capture" if mid else ""))


def sc_gw_drop(w, k):
    w.isp_resolver()
    w.nginx()
    mid = w.v.get("timing") == "mid"
    only = ["-s", w.client("c1")] if mid else []
    w.capture_start(k.name)
    if mid:
        w.fetch_all("c1")
        w.fetch_all("c2")
        time.sleep(1)
    else:
        w.fetch_all("c2", skip=("netflix",))
    w.sh("g", "iptables", "-A", "FORWARD", *only, "-d", w.srv(NF), "-p", "tcp", "-j", "DROP")
    if w.v6:
        w.sh("g", "ip6tables", "-A", "FORWARD", *(["-s", w.client6("c1")] if mid else []), "-d", w.srv6(NF),
             "-p", "tcp", "-j", "DROP")
    t_on = time.time()
    w.fetch("c1", "https://www.netflix.com/")
    w.fetch("c1", "https://example.org/")
    w.fetch("c2", "https://www.netflix.com/")
    if mid:
        w.sh("g", "iptables", "-F", "FORWARD")
        if w.v6:
            w.sh("g", "ip6tables", "-F", "FORWARD")
        t_off = time.time()
        w.fetch("c1", "https://www.netflix.com/")
    else:
        time.sleep(1.5)
    w.capture_stop()
    both = w.v["cap"] == "both"
    k.svc("netflix", ["failing", "degraded"] if mid else ["failing"], ["local"] if both else ["local", "unknown"],
          forbid_attribution=["attack"])
    if mid:
        k.clients("netflix", ["c1"], ["c2"])
        k.window("netflix", "onset", t_on)
        k.window("netflix", "recovery", t_off, 5)
    else:
        k.clients("netflix", ["c1", "c2"], [])
    k.need("syn_timeout", "netflix", "the gateway keeps the SYNs (the uplink file shows none of them)",
           P(dst=w.srv6(NF) if w.v6 else w.srv(NF), dport=443, tcp_flags="S", t_from=t_on))
    k.forbid("rst_injection", "dns_injection", "syn_flood")
    k.write("netflix failing, local: the gateway drops its SYNs (unknown allowed when only the LAN side "
            "is captured)")


def sc_uplink(w, k):
    # Healthy, then the uplink dies (silently, or the link goes down), then
    # comes back.
    w.isp_resolver()
    w.nginx()
    down = w.v.get("cut") == "link"
    w.capture_start(k.name)
    w.fetch_all("c1", skip=("http://",))
    w.fetch_all("c2", skip=("http://", "example"))
    time.sleep(1.5)
    if down:
        w.sh("g", "ip", "link", "set", "wan0", "down")
    else:
        w.sh("g", "iptables", "-A", "FORWARD", "-o", "wan0", "-j", "DROP")
        if w.v6:
            w.sh("g", "ip6tables", "-A", "FORWARD", "-o", "wan0", "-j", "DROP")
    t_on = time.time()
    w.fetch_all("c1")
    w.fetch("c2", "https://www.youtube.com/")
    time.sleep(1)
    if down:
        w.sh("g", "ip", "link", "set", "wan0", "up")
        w.sh("g", "ip", "route", "replace", "default", "via", w.wan(2))
        if w.v6:
            w.sh("g", "ip", "-6", "route", "replace", "default", "via", "2001:db8:ff01::2")
        time.sleep(0.5)
    else:
        w.sh("g", "iptables", "-F", "FORWARD")
        if w.v6:
            w.sh("g", "ip6tables", "-F", "FORWARD")
    t_off = time.time()
    w.fetch_all("c1", skip=("http://",))
    w.fetch("c2", "https://www.netflix.com/")
    w.capture_stop()
    for s in SERVICES:
        k.svc(s, ["failing", "degraded"], ["local"], forbid_attribution=["upstream", "attack"])
        k.window(s, "onset", t_on)
        k.window(s, "recovery", t_off, 6)
    k.need(["dns_timeout", "icmp_unreachable"], None, "after the cut nothing answers the LAN",
           P(any=[P(dns_qname="open.spotify.com"), P(src=w.gw, icmp_unreach=True)], t_from=t_on, t_to=t_off))
    k.forbid("dns_injection", "rst_injection", "syn_flood")
    k.write("every service failing (or degraded: it recovers), local: the uplink is cut mid-capture, "
            "everything fails alike from then on")


def sc_dns_filter(w, k):
    how = w.v.get("filter", "null")
    w.isp_resolver()
    w.nginx()
    w.v["resolver"] = "lan"
    w.set_resolver(w.resolver_addr())
    w.lan_resolver('  local-zone: "netflix.com." %s\n' % ("always_null" if how == "null" else "always_nxdomain"))
    w.capture_start(k.name)
    w.fetch_all("c1")
    w.fetch_all("c2")
    w.capture_stop()
    k.svc("netflix", ["failing"], ["local"], forbid_attribution=["attack", "upstream"])
    k.clients("netflix", ["c1", "c2"], [])
    if how == "null":
        k.need("dns_bogus_answer", "netflix", "the LAN resolver answers 0.0.0.0 for netflix",
               P(src=w.resolver_addr(), dns_qname="www.netflix.com", dns_answer=["0.0.0.0", "::"]))
    else:
        k.need("nxdomain", "netflix", "the LAN resolver says NXDOMAIN for netflix",
               P(src=w.resolver_addr(), dns_qname="www.netflix.com", dns_rcode=3))
    k.forbid("dns_injection", "rst_injection", "syn_flood")
    k.write("netflix failing, local: a DNS filter on the LAN answers %s for it" %
            ("0.0.0.0 / ::" if how == "null" else "NXDOMAIN"))


def sc_v6_broken(w, k):
    w.isp_resolver()
    w.nginx()
    w.set_resolver(w.res)
    mid = w.v.get("timing") == "mid"
    w.capture_start(k.name)
    if mid:
        w.fetch_all("c1")
        time.sleep(1)
    w.sh("g", "ip6tables", "-A", "FORWARD", "-j", "DROP")
    t_on = time.time()
    w.fetch_all("c1")
    w.fetch_all("c2")
    time.sleep(1)
    w.capture_stop()
    for s in SERVICES:
        k.svc(s, ["degraded"], ["local"], forbid_attribution=["upstream", "attack"])
        if mid:
            k.window(s, "onset", t_on)
    k.need("syn_timeout", None, "IPv6 SYNs vanish at the gateway while IPv4 to the same servers works",
           P(src=w.client6("c1"), tcp_flags="S", dport=443, t_from=t_on))
    k.forbid("dns_injection", "rst_injection", "syn_flood", "refused")
    k.write("every service degraded, local: the IPv6 path is broken at the gateway (clients fall back "
            "to IPv4, which works)")


def sc_dns_injection(w, k):
    forged = FORGED_PRIVATE if w.v.get("forged") == "private" else FORGED_PUBLIC
    box = w.v["box"]
    slow = w.srv(AUTH)
    w.isp_resolver({n: h for n, h in NAMES.items() if "netflix" not in n},
                   'forward-zone:\n  name: "netflix.com."\n  forward-addr: %s@5300\n' % slow)
    w.bg_ready("i", *NETTOOLS, "slowdns", slow, "5300", "0.15", "www.netflix.com=" + w.srv(NF))
    w.nginx()
    w.capture_start(k.name)
    w.bg_ready(box, *LABTOOLS, "inject-dns", "dn0" if box != "g" else "lan0", w.res, forged, str(IPID_DNS),
               "netflix.com")
    w.fetch("c1", "https://open.spotify.com/")
    w.sh("c1", *NETTOOLS, "resolve", w.res, "example.org", "www.netflix.com", "discord.com", check=False)
    w.sh("c2", *NETTOOLS, "resolve", w.res, "www.netflix.com", "www.youtube.com", check=False)
    w.fetch("c2", "https://example.org/")
    w.fetch("c2", "https://www.youtube.com/")
    w.fetch("c1", "https://discord.com/")
    w.fetch("c1", "https://www.youtube.com/")
    w.capture_stop()
    k.svc("netflix", ["failing", "degraded"], ["attack"], forbid_attribution=["local"])
    k.clients("netflix", ["c1", "c2"], [])
    k.need("dns_injection", "netflix", "a box %d router(s) beyond the gateway answers first with %s" %
           (w.hops_from(box), forged), P(src=w.res, ipid=IPID_DNS, dns_answer=forged))
    k.forbid("rst_injection", "syn_flood")
    k.d["attack_checks"] = {"dns_injected": {"min": 1}}
    k.write("netflix failing, attack: two answers to each netflix query, the first forged (%s) by a box "
            "on the path" % forged)


def sc_rst_injection(w, k):
    box = w.v["box"]
    w.isp_resolver()
    w.nginx()
    ttl = 64
    at = ttl - w.hops_from(box)
    w.capture_start(k.name)
    w.fetch_all("c1", skip=("youtube",))
    w.fetch("c2", "https://example.org/")
    w.bg_ready(box, *LABTOOLS, "inject-rst", "dn0", w.srv(YT), "80", str(ttl), "6000", "2", str(IPID_RST))
    w.fetch("c1", "http://www.youtube.com/big.bin", "-4")
    w.fetch("c2", "http://www.youtube.com/big.bin", "-4")
    time.sleep(0.5)
    w.capture_stop()
    k.svc("youtube", ["failing", "degraded"], ["attack"], forbid_attribution=["local"])
    k.clients("youtube", ["c1", "c2"], [])
    k.need("rst_injection", "youtube", "a box %d router(s) beyond the gateway resets the download (TTL %d at "
           "the capture point; the server's packets have %d)" % (w.hops_from(box), at, w.server_ttl()),
           P(src=w.srv(YT), sport=80, tcp_flags="R", ipid=IPID_RST))
    k.forbid("dns_injection", "syn_flood")
    k.d["attack_checks"] = {"resets_forged": {"min": 1}}
    k.write("youtube failing, attack: resets forged by a box %d router(s) beyond the gateway (TTL %d, server "
            "%d), not local" % (w.hops_from(box), at, w.server_ttl()))


def sc_syn_flood(w, k):
    w.isp_resolver()
    w.sh("i", "sysctl", "-qw", "net.ipv4.tcp_syncookies=0")
    w.nginx(backlog=4)
    w.capture_start(k.name)
    w.fetch("c1", "https://open.spotify.com/")
    w.fetch("c2", "https://www.netflix.com/")
    flood = w.bg("c3", *LABTOOLS, "synflood", w.srv(SP), "443", "400", "200", str(IPID_FLOOD))
    time.sleep(0.8)
    t_on = time.time()
    w.fetch("c1", "https://open.spotify.com/", "-4")
    w.fetch("c2", "https://www.netflix.com/")
    w.fetch("c1", "https://discord.com/")
    w.fetch("c2", "https://www.youtube.com/")
    flood.wait()
    time.sleep(1)
    w.capture_stop()
    k.svc("spotify", ["failing", "degraded"], ["attack"], forbid_attribution=["local"])
    k.clients("spotify", ["c1"], [])
    k.need("syn_flood", "spotify", "400 spoofed SYNs from a LAN device toward spotify's server",
           P(dst=w.srv(SP), dport=443, tcp_flags="S", ipid=IPID_FLOOD))
    k.need("syn_timeout", "spotify", "the client's own SYNs starve behind the flood",
           P(src=w.client("c1"), dst=w.srv(SP), dport=443, tcp_flags="S", t_from=t_on))
    k.absent("c1's SYNs to spotify go unanswered during the flood",
             P(src=w.srv(SP), dst=w.client("c1"), tcp_flags="SA", t_from=t_on, t_to=t_on + 3))
    k.forbid("dns_injection", "rst_injection")
    k.d["attack_checks"] = {"floods": {"min": 1}}
    k.write("spotify degraded or failing, attack: a SYN flood from a LAN device; c1's own SYNs starve "
            "and are reported too; netflix healthy")


def sc_tls_intercept(w, k):
    box = w.v["box"]
    w.isp_resolver()
    w.nginx()
    w.capture_start(k.name)
    w.fetch("c1", "https://open.spotify.com/")
    w.fetch("c2", "https://example.org/")
    w.sh(box, "iptables", "-t", "nat", "-A", "PREROUTING", "-d", w.srv(SP), "-p", "tcp", "--dport", "443",
         "-j", "REDIRECT", "--to-ports", "8443")
    w.bg(box, "openssl", "s_server", "-quiet", "-accept", "8443", "-cert", w.K + "/forged.pem", "-key",
         w.K + "/forged.key", "-tls1_2", "-www")
    w.wait_listen(box, 8443)
    t_on = time.time()
    w.fetch("c1", "https://open.spotify.com/", "-k", "-4")
    w.fetch("c2", "https://open.spotify.com/again", "-k", "-4")
    w.fetch("c2", "https://www.netflix.com/")
    w.fetch("c2", "https://discord.com/")
    w.fetch("c2", "https://www.youtube.com/")
    for u in ("https://www.netflix.com/", "https://discord.com/", "https://www.youtube.com/"):
        w.fetch("c1", u)  # seen from c1's own interface too
    w.capture_stop()
    k.svc("spotify", ["failing", "degraded"], ["attack"], forbid_attribution=["upstream"])
    k.need("cert_untrusted", "spotify", "a box %d router(s) from the capture presents a certificate from "
           "'Corporate Inspection CA'" % w.hops_from(box),
           P(src=w.srv(SP), sport=443, payload_prefix="\x16\x03\x03", t_from=t_on))
    k.forbid("dns_injection", "rst_injection", "syn_flood")
    k.d["attack_checks"] = {"chains_intercepted": {"min": 1}}
    k.write("spotify failing, attack: its HTTPS is intercepted with a certificate from an unknown CA")


def sc_sni_filter(w, k):
    how = w.v.get("sni", "drop")
    names = dict(NAMES)
    names["discord.com"] = CDN
    names["example.org"] = CDN
    w.isp_resolver(names)
    w.nginx()
    for t in ("iptables",) + (("ip6tables",) if w.v6 else ()):
        w.sh(w.v["box"], t, "-A", "FORWARD", "-p", "tcp", "--dport", "443", "-m", "string", "--string",
             "discord.com", "--algo", "bm", "-j", *(["DROP"] if how == "drop" else
                                                     ["REJECT", "--reject-with", "tcp-reset"]))
    w.capture_start(k.name)
    w.fetch("c1", "https://example.org/")
    w.fetch("c2", "https://example.org/")
    w.fetch("c1", "https://discord.com/")
    w.fetch("c1", "https://www.youtube.com/")
    w.fetch("c2", "https://discord.com/")
    w.fetch("c2", "https://open.spotify.com/")
    w.fetch("c1", "https://www.netflix.com/")
    time.sleep(1)
    w.capture_stop()
    k.svc("discord", ["failing"], ["attack"], forbid_attribution=["upstream"])
    k.clients("discord", ["c1", "c2"], [])
    k.need("sni_filtered", "discord", "a box %d router(s) beyond the gateway %s every ClientHello naming "
           "discord.com while example.org completes on the same address" %
           (w.hops_from(w.v["box"]), "drops" if how == "drop" else "resets"),
           P(dport=443, payload_contains="discord.com"))
    k.forbid("dns_injection", "syn_flood", "cert_untrusted")
    k.write("discord failing, attack: an on-path filter %s handshakes naming discord.com; example.org "
            "works on the same server" % ("drops" if how == "drop" else "resets"))


def sc_cdn(w, k):
    how = w.v.get("cdn", "503")
    names = dict(NAMES)
    chains = {}
    for n, s in (("open.spotify.com", "spotify"), ("www.netflix.com", "netflix"), ("discord.com", "discord")):
        chains[n] = "%s.edge.cdn-example.net" % s
        chains["%s.edge.cdn-example.net" % s] = CDN
    for n in ("api.spotify.com", "gateway.discord.gg"):
        chains[n] = names.pop(n)
    for n in chains:
        names.pop(n, None)
    w.isp_resolver(names, w.auth_zones(chains))
    w.nginx(status={CDN: 503} if how == "503" else {})
    if how == "drop":
        w.sh("i", "iptables", "-A", "INPUT", "-d", w.srv(CDN), "-p", "tcp", "-j", "DROP")
        if w.v6:
            w.sh("i", "ip6tables", "-A", "INPUT", "-d", w.srv6(CDN), "-p", "tcp", "-j", "DROP")
    w.capture_start(k.name)
    for c in ("c1", "c2"):
        for u in ("http://open.spotify.com/", "http://www.netflix.com/", "http://discord.com/",
                  "http://www.youtube.com/", "http://example.org/"):
            w.fetch(c, u, timeout=2)
    w.fetch("c1", "http://open.spotify.com/retry", timeout=2)
    time.sleep(0.5 if how == "503" else 1.5)
    w.capture_stop()
    both = w.v["cap"] == "both"
    for s in ("spotify", "netflix", "discord"):
        k.svc(s, ["failing"], ["upstream"] if how == "503" else some_failing(both), forbid_attribution=["attack"])
        k.clients(s, ["c1", "c2"], [])
        if how == "503":
            k.need("http_5xx", s, "the shared CDN address answers 503 for %s" % s,
                   P(src=w.srv6(CDN) if w.v6 else w.srv(CDN), sport=80, payload_prefix="HTTP/1.1 503"))
        else:
            k.need("syn_timeout", s, "the shared CDN address never answers %s's SYNs" % s,
                   P(dst=w.srv6(CDN) if w.v6 else w.srv(CDN), dport=80, tcp_flags="S"))
    k.forbid("dns_injection", "rst_injection", "syn_flood")
    k.write("spotify, netflix, discord failing, upstream: one CDN address behind their own CNAMEs %s; "
            "youtube healthy" % ("answers 503" if how == "503" else "drops every SYN"))


def sc_name_partial(w, k):
    names = dict(NAMES)
    names["api.spotify.com"] = SPAPI
    w.isp_resolver(names)
    w.nginx()
    w.sh("i", "iptables", "-A", "INPUT", "-d", w.srv(SPAPI), "-p", "tcp", "-j", "DROP")
    if w.v6:
        w.sh("i", "ip6tables", "-A", "INPUT", "-d", w.srv6(SPAPI), "-p", "tcp", "-j", "DROP")
    w.capture_start(k.name)
    w.fetch_all("c1")
    w.fetch("c1", "https://api.spotify.com/v1/me")
    w.fetch("c1", "https://api.spotify.com/v1/me")
    w.fetch_all("c2")
    w.fetch("c2", "https://open.spotify.com/album")
    time.sleep(1.5)
    w.capture_stop()
    k.svc("spotify", ["degraded", "failing"], some_failing(w.v["cap"] == "both"), forbid_attribution=["attack"],
          names={"failed": ["api.spotify.com"], "ok": ["open.spotify.com"]})
    k.clients("spotify", ["c1"], ["c2"])
    k.need("syn_timeout", "spotify", "api.spotify.com's server never answers",
           P(dst=w.srv6(SPAPI) if w.v6 else w.srv(SPAPI), dport=443, tcp_flags="S"), name="api.spotify.com")
    k.forbid("dns_injection", "rst_injection", "syn_flood")
    k.write("spotify degraded, upstream: api.spotify.com fails for c1 while open.spotify.com works for c1 "
            "and c2")


def sc_scan(w, k):
    filt = w.v.get("target") == "filtered"
    w.isp_resolver()
    w.nginx()
    tgt = w.srv6(YT) if w.v6 else w.srv(YT)
    if filt:
        w.sh("i", "ip6tables" if w.v6 else "iptables", "-A", "INPUT", "-d", tgt, "-p", "tcp", "-m", "multiport",
             "!", "--dports", "80,443", "-j", "DROP")
    w.capture_start(k.name)
    w.fetch_all("c1")
    scan = w.bg("c3", "nmap", *(["-6"] if w.v6 else []), "-sS", "-Pn", "-n", "-T5", "--max-retries", "0",
                "-p", "1-300", tgt)
    w.fetch("c2", "https://www.youtube.com/")
    w.fetch("c2", "https://www.netflix.com/")
    scan.wait()
    w.fetch("c1", "https://www.youtube.com/")
    time.sleep(1)
    w.capture_stop()
    k.svc("youtube", ["healthy"], ["none"], allow_kinds=["scan"])
    k.need("scan", None, "a LAN host probes 300 ports of youtube's server",
           P(src=w.client6("c3") if w.v6 else w.client("c3"), tcp_flags="S"))
    k.forbid("syn_timeout", "refused", "syn_flood", "rst_injection", "dns_injection")
    k.d["attack_checks"] = {"scans": {"min": 1}}
    k.write("every service healthy: one scan finding for the LAN host probing youtube's server (%s ports); "
            "its unanswered or refused probes are not youtube failing" % ("filtered" if filt else "closed"))


def sc_reflection(w, k):
    w.isp_resolver()
    w.nginx()
    victim = w.client("c2")
    w.capture_start(k.name)
    w.fetch_all("c1")
    sp = w.bg("i", *LABTOOLS, "spoof-queries", victim, w.res, "big.example.org", "56", "25", str(IPID_SPOOF))
    w.fetch_all("c2")
    sp.wait()
    w.fetch("c1", "https://open.spotify.com/")
    w.capture_stop()
    k.need("dns_reflection", None, "56 large answers reach a LAN host that asked nothing",
           P(src=w.res, dst=victim, sport=53, dns_qname="big.example.org"))
    k.forbid(*[x for x in FAIL_KINDS if x != "dns_reflection"])
    for s in SERVICES:
        k.clients(s, [], ["c1", "c2"])
    k.write("every service healthy: a DNS reflection aimed at %s (one dns_reflection finding), not any "
            "service failing" % victim)


def sc_backscatter(w, k):
    w.isp_resolver()
    w.nginx()
    victim = w.client("c1")
    w.capture_start(k.name)
    w.fetch_all("c2")
    sp = w.bg("i", *LABTOOLS, "spoof-syns", victim, w.srv(NF), "443,81", "80", "30", str(IPID_SPOOF))
    w.fetch_all("c1")
    sp.wait()
    w.fetch("c2", "https://www.netflix.com/")
    time.sleep(0.5)
    w.capture_stop()
    k.forbid(*FAIL_KINDS)
    for s in SERVICES:
        k.clients(s, [], ["c1", "c2"])
    k.write("every service healthy: SYN-ACKs and resets from netflix's server answering SYNs nobody here "
            "sent (backscatter) are not netflix failing")


# ---------------------------------------------------------------- the matrix

def V(addr="doc", nat=False, hops=3, cap="lan", **kw):
    d = dict(addr=addr, nat=nat, hops=hops, cap=cap)
    d.update(kw)
    return d


MATRIX = [
    ("healthy", sc_healthy, [V(), V(nat=True, hops=1), V(cap="client", hops=12), V(cap="both", nat=True),
                             V("rfc1918", nat=True), V("rfc1918", hops=12), V("rfc1918", cap="both", nat=True),
                             V("rfc1918", cap="client", resolver="lan"), V("v6"), V("v6", cap="client", hops=12),
                             V("v6", nat=True, cap="both")]),
    ("http-5xx", sc_http5xx, [V(), V("rfc1918", nat=True), V("v6"), V(timing="mid", hops=12)]),
    ("refused", sc_refused, [V(hops=1), V(nat=True, hops=12), V("rfc1918", cap="client"), V("v6"),
                             V(timing="mid", nat=True)]),
    ("blackhole", sc_blackhole, [V(), V(cap="both", nat=True, hops=12), V("rfc1918"), V("v6"),
                                 V(timing="mid", cap="both")]),
    ("servfail", sc_servfail, [V(), V("rfc1918", nat=True, cap="client"), V("v6")]),
    ("auth-down", sc_servfail, [V(), V("rfc1918", nat=True)]),
    ("resolver-down", sc_resolver_down, [V(), V("rfc1918", cap="client"), V("v6"), V(timing="mid", nat=True)]),
    ("resolver-unreachable", sc_resolver_unreach, [V(nat=True), V("rfc1918")]),
    ("firewall-reset", sc_fw_reset, [V(hops=12), V("rfc1918", nat=True, cap="client"), V("v6"),
                                     V(timing="mid", hops=12)]),
    ("gateway-drop", sc_gw_drop, [V(cap="both", nat=True), V("rfc1918", cap="both"), V(), V(timing="mid", cap="both")]),
    ("uplink-cut", sc_uplink, [V(nat=True), V("rfc1918", cut="link"), V("v6"), V(cap="client", nat=True),
                               V(cap="both", hops=12)]),
    ("dns-filter", sc_dns_filter, [V(filter="null"), V("rfc1918", filter="nxdomain", nat=True), V("v6", filter="null"),
                                   V(cap="client", filter="nxdomain")]),
    ("ipv6-broken", sc_v6_broken, [V("v6"), V("v6", cap="client"), V("v6", hops=12, cap="both"),
                                   V("v6", timing="mid")]),
    ("dns-injection", sc_dns_injection, [V(box="r1", forged="public"), V(hops=12, box="r2", forged="private", nat=True),
                                         V("rfc1918", hops=12, box="r1", forged="public"),
                                         V("rfc1918", box="r2", forged="private", cap="client")]),
    ("rst-injection", sc_rst_injection, [V(box="r1"), V(hops=12, box="r1", nat=True), V(hops=12, box="r2", cap="both"),
                                         V("rfc1918", hops=12, box="r1", cap="client"),
                                         V("rfc1918", box="r2", nat=True)]),
    ("syn-flood", sc_syn_flood, [V(), V("rfc1918", hops=12), V(cap="both")]),
    ("tls-intercept", sc_tls_intercept, [V(box="g", hops=1), V(box="r1", hops=12, nat=True),
                                         V("rfc1918", box="r1", cap="client")]),
    ("sni-filter", sc_sni_filter, [V(box="r1", sni="drop"), V(box="r2", hops=12, nat=True, sni="reset"),
                                   V("rfc1918", box="r1", sni="reset", cap="both"), V("v6", box="r1", sni="reset")]),
    ("cdn-shared", sc_cdn, [V(cdn="503"), V("rfc1918", nat=True, cap="client", cdn="503"),
                            V(cap="both", hops=12, cdn="drop"), V("v6", cdn="503")]),
    ("name-partial", sc_name_partial, [V(), V("rfc1918", nat=True), V("v6"), V(hops=12, cap="both")]),
    ("port-scan", sc_scan, [V(), V(nat=True, target="filtered"), V("rfc1918", hops=12), V("v6")]),
    ("dns-reflection", sc_reflection, [V(), V("rfc1918", hops=12), V(cap="both")]),
    ("backscatter", sc_backscatter, [V(), V("rfc1918", hops=12), V(cap="client")]),
]


def vname(scenario, v):
    parts = [scenario, v["addr"], "nat" if v["nat"] else "routed", "h%d" % v["hops"], v["cap"]]
    for key in ("timing", "box", "forged", "filter", "cut", "sni", "cdn", "target", "resolver"):
        if key in v and not (key == "timing" and v[key] == "start"):
            parts.append(str(v[key]))
    return "-".join(parts)


def all_captures():
    return [(vname(s, v), s, fn, v) for s, fn, vs in MATRIX for v in vs]


def certs(K):
    conf = os.path.join(ROOT, "tests", "netns", "conf")
    shutil.copy(os.path.join(conf, "test-ca.key"), K + "/ca.key")
    shutil.copy(os.path.join(conf, "test-ca.pem"), K + "/ca.pem")
    o = lambda *a: run("openssl", *a)
    o("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=panne lab server", "-keyout", K + "/srv.key", "-out",
      K + "/srv.csr")
    with open(K + "/ext", "w") as f:
        f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % ",".join("DNS:" + n for n in CERT_NAMES))
    o("x509", "-req", "-in", K + "/srv.csr", "-CA", K + "/ca.pem", "-CAkey", K + "/ca.key", "-CAcreateserial",
      "-days", "3650", "-extfile", K + "/ext", "-out", K + "/srv.pem")
    o("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650", "-subj", "/CN=Corporate Inspection CA",
      "-keyout", K + "/evil-ca.key", "-out", K + "/evil-ca.pem")
    o("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=open.spotify.com", "-keyout", K + "/forged.key",
      "-out", K + "/forged.csr")
    with open(K + "/ext2", "w") as f:
        f.write("subjectAltName=DNS:open.spotify.com\n")
    o("x509", "-req", "-in", K + "/forged.csr", "-CA", K + "/evil-ca.pem", "-CAkey", K + "/evil-ca.key",
      "-CAcreateserial", "-days", "3650", "-extfile", K + "/ext2", "-out", K + "/forged.pem")
    shutil.copy(K + "/ca.pem", os.path.join(OUT, "test-ca.pem"))


def readme():
    """Rewrites the table of README.md (between its markers) from the keys."""
    path = os.path.join(HERE, "README.md")
    with open(path) as f:
        text = f.read()
    head, rest = text.split("<!-- table -->", 1)
    _, tail = rest.split("<!-- /table -->", 1)
    rows = ["| capture | addressing, NAT, hops, capture point, other | right verdict |", "| --- | --- | --- |"]
    for name, scenario, _, v in all_captures():
        kp = os.path.join(OUT, name + ".json")
        if not os.path.exists(kp):
            continue
        with open(kp) as f:
            key = json.load(f)
        other = ", ".join("%s %s" % (x, v[x]) for x in sorted(v) if x not in ("addr", "nat", "hops", "cap"))
        files = "`%s`" % key["capture"] + "".join(" + `%s`" % m for m in key.get("merge", []))
        rows.append("| %s | %s, %s, %d hop%s, %s%s | %s |" % (
            files, v["addr"], "NAT" if v["nat"] else "routed", v["hops"], "s" if v["hops"] > 1 else "",
            {"lan": "gateway LAN side", "client": "client c1's interface", "both": "both gateway sides"}[v["cap"]],
            ", " + other if other else "", key["verdict_words"]))
    with open(path, "w") as f:
        f.write(head + "<!-- table -->\n" + "\n".join(rows) + "\n<!-- /table -->" + tail)


def main(argv):
    caps = all_captures()
    if "--readme" in argv:
        readme()
        return 0
    if "--verify" in argv:  # every kept key's frames are in its capture
        bad = 0
        for name, _, _, _ in caps:
            kp = os.path.join(OUT, name + ".json")
            if not os.path.exists(kp):
                print("mklab: %s: no key" % name)
                bad += 1
                continue
            with open(kp) as f:
                key = json.load(f)
            frames = score.read_pcap(os.path.join(OUT, key["capture"]))
            for f in key["findings"]:
                n = sum(1 for fr in frames if "frame" in f and score.match(fr, f["frame"]))
                if "frame" in f and not n:
                    print("mklab: %s: no frame for the required %s: %s" % (name, "/".join(f["kind"]), f["frame"]))
                    bad += 1
            for a in key.get("absent", []):
                if any(score.match(fr, a["frame"]) for fr in frames):
                    print("mklab: %s: shows what it must not: %s" % (name, a["why"]))
                    bad += 1
        return 1 if bad else 0
    if "--list" in argv:
        for name, _, _, _ in caps:
            print(name)
        return 0
    if os.geteuid() != 0:
        print("mklab: needs root (network namespaces)", file=sys.stderr)
        return 2
    pats = [a for a in argv[1:] if not a.startswith("-")]
    if pats:
        caps = [c for c in caps if any(fnmatch.fnmatch(c[0], p) or fnmatch.fnmatch(c[1], p) for p in pats)]
    os.makedirs(OUT, exist_ok=True)
    K = tempfile.mkdtemp(prefix="mklab-k")
    certs(K)
    failed = 0
    try:
        for name, scenario, fn, v in caps:
            T = tempfile.mkdtemp(prefix="mklab-")
            os.chmod(T, 0o755)
            w = World(dict(v), T, K)
            try:
                w.build()
                k = Key(w, name, scenario, fn.__doc__ or "")
                k.name, k.scenario = name, scenario
                t0 = time.time()
                fn(w, k)
                print("mklab: %s (%.0f s)" % (name, time.time() - t0), flush=True)
            except Exception as e:  # one broken scenario does not stop the others
                failed += 1
                print("mklab: %s: FAILED: %s" % (name, e), file=sys.stderr, flush=True)
            finally:
                w.destroy()
                shutil.rmtree(T, ignore_errors=True)
    finally:
        shutil.rmtree(K, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
