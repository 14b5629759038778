#!/usr/bin/env python3
"""check.py: the HTML report's checks (standard library only).

  check.py static PAGE.html              well-formed, CSP stated, nothing to fetch
  check.py dom DOM.html JSONL [--hostile] [--client ADDR=FAILED]
                                          the page as a browser rendered it
                                          (chromium --dump-dom) against the
                                          JSON report of the same run; with
                                          --client, the only client lane is
                                          ADDR's, with FAILED failed marks
  check.py netlog NETLOG                  no request but the browser's own
  check.py console STDERR                 no Content-Security-Policy violation

The answer keys are the JSON verdicts and findings of the same run (which
other suites check against how each capture was made) and the hostile
strings written by mkhostile.py."""
import html.parser
import json
import re
import sys

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
SVG_VOID = {"circle", "path", "line", "rect"}  # written self-closing or empty


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.kids, self.text = tag, dict(attrs), parent, [], []

    def cls(self):
        return (self.attrs.get("class") or "").split()

    def walk(self):
        yield self
        for k in self.kids:
            yield from k.walk()

    def alltext(self):
        return "".join(t for n in self.walk() for t in n.text)


class Tree(html.parser.HTMLParser):
    """A tree of the page; errors lists every tag closed out of order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", [], None)
        self.cur, self.errors, self.attrs_seen = self.root, [], []

    def handle_starttag(self, tag, attrs):
        self.attrs_seen.append((tag, attrs))
        n = Node(tag, attrs, self.cur)
        self.cur.kids.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.attrs_seen.append((tag, attrs))
        self.cur.kids.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if self.cur.tag != tag:
            self.errors.append("</%s> closes <%s> at line %d" % (tag, self.cur.tag, self.getpos()[0]))
            n = self.cur
            while n is not None and n.tag != tag:
                n = n.parent
            if n is None:
                return
            self.cur = n
        self.cur = self.cur.parent or self.root

    def handle_data(self, data):
        self.cur.text.append(data)


def parse(path):
    t = Tree()
    t.feed(open(path, encoding="utf-8").read())
    t.close()
    if t.cur is not t.root:
        t.errors.append("<%s> never closed" % t.cur.tag)
    return t


def fail(msgs):
    for m in msgs:
        print("html check:", m)
    sys.exit(1 if msgs else 0)


def static(path):
    t, errs = parse(path), []
    errs += t.errors
    raw = open(path, encoding="utf-8").read()
    csp = [dict(a).get("content", "") for tag, a in t.attrs_seen
           if tag == "meta" and (dict(a).get("http-equiv") or "").lower() == "content-security-policy"]
    if not csp or "default-src 'none'" not in csp[0]:
        errs.append("no Content-Security-Policy meta with default-src 'none': %r" % csp)
    if csp and "script-src" in csp[0]:
        errs.append("the CSP allows script, yet the page has none: %r" % csp[0])
    for tag, attrs in t.attrs_seen:
        for k, v in attrs:
            v = v or ""
            if k == "src" or k == "srcset" or k == "xlink:href" or k == "action" or k == "formaction":
                errs.append("<%s %s=%r>: a reference to fetch" % (tag, k, v))
            if k == "href" and not v.startswith("#"):
                errs.append("<%s href=%r>: a link out of the page" % (tag, v))
            if re.search(r"(?i)https?:|//", v) and k not in ("content",):
                errs.append("<%s %s=%r>: an address in an attribute" % (tag, k, v))
            if k.startswith("on"):
                errs.append("<%s %s>: an event handler" % (tag, k))
        if tag in ("script", "link", "iframe", "object", "embed", "img", "base", "form", "audio", "video"):
            errs.append("<%s> element in the page" % tag)
    style = "".join(n.alltext() for n in t.root.walk() if n.tag == "style")
    if re.search(r"(?i)url\(|@import", style):
        errs.append("the style sheet references something to fetch")
    if "<script" in raw.lower():
        errs.append("'<script' occurs in the page's source")
    fail(errs)


def clock(rfc3339):
    return rfc3339[11:23] if rfc3339 else None  # "19:56:36.521"


def dom(path, jsonl, hostile, client):
    t, errs = parse(path), []
    objs = [json.loads(l) for l in open(jsonl)]
    verdicts = [o for o in objs if o["type"] == "verdict"]
    findings = [o for o in objs if o["type"] == "finding"]
    nodes = list(t.root.walk())
    lanes = [n for n in nodes if "service-lane" in n.cls()]
    if len(lanes) != len(verdicts):
        errs.append("%d service lanes for %d verdicts" % (len(lanes), len(verdicts)))
    by_svc = {n.attrs.get("data-service"): n for n in lanes}
    for v in verdicts:
        lane = by_svc.get(v["service"])
        if lane is None:
            errs.append("no lane for %r" % v["service"])
            continue
        failed = sum(c["failed"] for c in v["counts"].values())
        seen = sum(c["seen"] for c in v["counts"].values())
        marks = [n for n in lane.walk() if "m" in n.cls()]
        nf = sum(int(n.attrs.get("data-n", 1)) for n in marks if "fail" in n.cls())
        no = sum(int(n.attrs.get("data-n", 1)) for n in marks if "ok" in n.cls())
        if nf != failed or no != seen - failed:
            errs.append("%s: %d failed and %d succeeded marks, the verdict counts %d and %d"
                        % (v["service"], nf, no, failed, seen - failed))
        for cat, c in v["counts"].items():
            got = sum(int(n.attrs.get("data-n", 1)) for n in marks
                      if "fail" in n.cls() and n.attrs.get("data-cat") == cat)
            if got != c["failed"]:
                errs.append("%s: %d failed %s marks, the verdict counts %d" % (v["service"], got, cat, c["failed"]))
        when = clock(v.get("onset")) or clock(v.get("first_failure"))
        label = "".join(n.alltext() for n in lane.walk() if "ln" in n.cls())
        if when and when not in label:
            errs.append("%s: the onset %s is not shown in %r" % (v["service"], when, label))
        if v.get("onset") and "onset" not in label:
            errs.append("%s: the diagnosis's onset is not called onset: %r" % (v["service"], label))
        if not when and "no failure" not in label:
            errs.append("%s: no failure, but the lane says %r" % (v["service"], label))
    svcs = {v["service"] for v in verdicts}
    listed = {}
    for n in nodes:
        if "finding" in n.cls():
            listed.setdefault(n.attrs.get("data-frames"), []).append(n)
    for f in findings:
        if f["service"] not in svcs:
            continue
        key = " ".join(str(e) for e in f["evidence"])
        items = listed.get(key)
        if not items:
            errs.append("finding %s %s (frames %s) not listed" % (f["service"], f["kind"], key))
            continue
        text = items[0].alltext()
        want = ("frame.number == %d" % f["evidence"][0]) if len(f["evidence"]) == 1 else \
            "frame.number in {%s}" % key
        if want not in text or any(str(e) not in text for e in f["evidence"]):
            errs.append("finding %s: frames or filter %r missing from %r" % (f["kind"], want, text))
    if not [n for n in nodes if n.tag == "details" and n.alltext().strip()] and findings:
        errs.append("no folded --explain text")
    if hostile:
        errs += hostile_checks(t, nodes, findings)
    cl = [n for n in nodes if "client-lane" in n.cls()]
    if client:
        addr, nfail = client.split("=")
        if [n.attrs.get("data-client") for n in cl] != [addr]:
            errs.append("client lanes %r, expected only %s's" % ([n.attrs.get("data-client") for n in cl], addr))
        else:
            marks = [m for m in cl[0].walk() if "m" in m.cls()]
            got = (sum(1 for m in marks if "fail" in m.cls()), sum(1 for m in marks if "ok" in m.cls()))
            if got != (int(nfail), 0):
                errs.append("client %s's lane: %d failed and %d succeeded marks, expected %s and 0" % (addr, got[0], got[1], nfail))
    elif cl:
        errs.append("client lanes where every client failed alike: %r" % [n.attrs.get("data-client") for n in cl])
    fail(errs)


def hostile_checks(t, nodes, findings):
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    import mkhostile
    errs = []
    names = " ".join(f["name"] or "" for f in findings)
    if "<script>" not in names or not any(f["kind"] == "http_5xx" for f in findings):
        errs.append("the hostile capture gave no hostile finding (JSON: %r)" % names)
    for n in nodes:
        if n.tag in ("script", "img", "iframe", "object", "embed") or n.tag == "b" and n.attrs:
            errs.append("injected <%s %r> in the rendered page" % (n.tag, n.attrs))
        if n.tag == "svg" and not set(n.cls()) & {"tl", "key"}:
            errs.append("injected <svg %r>" % n.attrs)
        for k in n.attrs:
            if k.startswith("on"):
                errs.append("injected attribute %s on <%s>" % (k, n.tag))
        if n.tag == "a" and not (n.attrs.get("href") or "").startswith("#"):
            errs.append("injected link %r" % n.attrs)
    text = t.root.alltext()
    for s in (mkhostile.REASON, mkhostile.SERVER_HDR):
        if s not in text and json.dumps(s)[1:-1] not in text:  # as is, or in a finding's JSON detail
            errs.append("the hostile string %r is not shown as text" % s)
    if '<script>alert' not in text:
        errs.append("the hostile name is not shown as text")
    return errs


# Hosts Chromium itself calls (updates, time, accounts) even headless; the
# browser runs with no network, and no other address may appear.
OWN = re.compile(r"^https?://([a-z0-9.-]+\.)?(google\.com|googleapis\.com|gvt1\.com|gstatic\.com)(/|$)")


def netlog(path):
    urls = set(re.findall(r'"url":"([^"]*)"', open(path, encoding="utf-8", errors="replace").read()))
    bad = sorted(u for u in urls if re.match(r"(?i)^(https?|wss?|ftp)://", u) and not OWN.match(u))
    fail(["the page made a request: %s" % u for u in bad])


def console(path):
    bad = [l.strip() for l in open(path, encoding="utf-8", errors="replace")
           if "Content Security Policy" in l or "Refused to" in l or "Uncaught" in l]
    fail(["browser console: %s" % l for l in bad])


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "static":
        static(sys.argv[2])
    elif mode == "dom":
        cli = sys.argv[sys.argv.index("--client") + 1] if "--client" in sys.argv else None
        dom(sys.argv[2], sys.argv[3], "--hostile" in sys.argv, cli)
    elif mode == "netlog":
        netlog(sys.argv[2])
    elif mode == "console":
        console(sys.argv[2])
    else:
        sys.exit("usage: check.py static|dom|netlog|console ...")
