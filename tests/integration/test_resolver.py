"""The resolver (src/dns/resolver.c) against live DNS servers: MX order,
implicit and null MX, the permanent and temporary outcomes, split DNS, a
server that refuses connections and one that never answers
(docs/delivery.md).  These were the live cases of tests/unit/test_resolver.c;
its pure cases (literals, profile lookup, cancel and free with questions in
flight) stay there.

The questions are asked by tests/tools/resolver_probe (built with posternd,
in the same build: the normal and the ASan+UBSan one), which prints one JSON
line per answer.  The servers, on loopback and stopped by PID:

    internal  dnsmasq A on 127.0.0.1: example.org MX, an implicit MX, a
              null MX, NXDOMAIN, NODATA, REFUSED for other zones,
              split.example.org = 127.0.0.81, and slow.test forwarded to
              the hole (its A/AAAA never come)
    external  dnsmasq B on ::1 where there is one (so that "[ip6]:port"
              servers are covered), else 127.0.0.1: split.example.org =
              127.0.0.82; an unnamed list of the virtual server "out"
    stopped   a port nothing listens on (connection refused)
    hole      a UDP socket that never answers (timeouts)
"""
import json
import os
import socket
import subprocess

import pytest

from netfix import DNS

RECORDS_A = [
    "--cache-size=0",
    "--local=/example.org/",
    "--mx-host=example.org,mx1.example.org,10",
    "--mx-host=example.org,mx2.example.org,20",
    "--mx-host=example.org,mx3.example.org,10",
    "--host-record=mx1.example.org,127.0.0.61",
    "--host-record=mx2.example.org,127.0.0.62,::1",
    "--host-record=mx3.example.org,127.0.0.63",
    "--host-record=implicit.example.org,127.0.0.70",
    "--mx-host=nohost.example.org,gone.example.org,10",
    # RFC 7505 "0 .": rdata is preference 0 and the root label.
    "--dns-rr=nullmx.example.org,15,000000",
    "--host-record=split.example.org,127.0.0.81",
    "--mx-host=stuck.example.org,host.slow.test,10",
    "--mx-host=mixed.example.org,mx1.example.org,10",
    "--mx-host=mixed.example.org,host.slow.test,20",
]
RECORDS_B = [
    "--cache-size=0",
    "--local=/example.org/",
    "--host-record=split.example.org,127.0.0.82",
]


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def free_udp_port(addr):
    """A port free for UDP and TCP both: dnsmasq binds the two, and a
    port free in UDP may be some loopback connection's in TCP."""
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    while True:
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.bind((addr, 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(fam, socket.SOCK_STREAM) as t:
                t.bind((addr, port))
            return port
        except OSError:
            continue


class Servers:
    def __init__(self, tmp, probe):
        self.tmp, self.probe = tmp, probe
        self.hole = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.hole.bind(("127.0.0.1", 0))
        hole = self.hole.getsockname()[1]
        self.a = DNS(tmp, "a", "127.0.0.1", free_udp_port("127.0.0.1"),
                     RECORDS_A + ["--server=/slow.test/127.0.0.1#%d" % hole])
        ip6 = "::1" if ipv6_loopback() else "127.0.0.1"
        self.b = DNS(tmp, "b", ip6, free_udp_port(ip6), RECORDS_B)
        stopped = free_udp_port("127.0.0.1")
        ext = "[%s]:%d" % (ip6, self.b.port) if ":" in ip6 else \
            "%s:%d" % (ip6, self.b.port)
        self.conf = os.path.join(tmp, "resolver.conf")
        with open(self.conf, "w") as f:
            f.write("dns 127.0.0.1:%d\n"
                    "dns-list stopped 127.0.0.1:%d\n"
                    "dns-list hole 127.0.0.1:%d\n"
                    "virtual-server out {\n"
                    "\tlisten 127.0.0.1:2525\n"
                    "\texternal-dns %s\n"
                    "}\n" % (self.a.port, stopped, hole, ext))

    def start(self):
        self.a.start()
        self.b.start()
        return self

    def stop(self):
        self.a.stop()
        self.b.stop()
        self.hole.close()

    def ask(self, *queries, opts=(), status=0):
        """Ask; (answers by question index in order of arrival, the other
        lines, stderr)."""
        r = subprocess.run([self.probe, *opts, self.conf, *queries],
                           capture_output=True, text=True, timeout=60)
        assert "runtime error:" not in r.stderr, r.stderr
        assert "Sanitizer" not in r.stderr, r.stderr
        assert r.returncode == status, (r.returncode, r.stdout, r.stderr)
        answers, other = [], []
        for line in r.stdout.splitlines():
            o = json.loads(line)
            (answers if "i" in o else other).append(o)
        return answers, other, r.stderr


def by_index(answers):
    return {a["i"]: a for a in answers}


def stats(other, profile):
    for o in other:
        if o.get("stats") == profile:
            return o["queries"], o["failures"]
    raise AssertionError("no stats for %s in %r" % (profile, other))


@pytest.fixture
def dns(tmp_path, posternd_bin):
    probe = os.path.join(os.path.dirname(posternd_bin), "tests", "tools",
                         "resolver_probe")
    if not os.path.exists(probe):
        pytest.fail("missing " + probe)
    if not os.access("/usr/sbin/dnsmasq", os.X_OK):
        pytest.skip("dnsmasq is not installed")
    s = Servers(str(tmp_path), probe).start()
    yield s
    s.stop()


def test_mx_order(dns):
    answers, _, _ = dns.ask(*["internal,mx,Example.ORG,2525"] * 20)
    assert len(answers) == 20
    firsts = set()
    for a in answers:
        assert a["status"] == "OK", a
        h = a["hosts"]
        # mx1 and mx3 (10) in either order, then mx2 (20).
        assert [x["pref"] for x in h] == [10, 10, 20]
        assert h[0]["name"] in ("mx1.example.org", "mx3.example.org")
        firsts.add(h[0]["name"])
        assert h[2]["name"] == "mx2.example.org"
        assert h[2]["addrs"] == ["127.0.0.62:2525", "[::1]:2525"]
        assert len(h[0]["addrs"]) == 1 and not h[0]["tempfail"]
    assert len(firsts) == 2         # ties are shuffled


def test_mx_implicit(dns):
    (a,), _, _ = dns.ask("internal,mx,implicit.example.org,25")
    assert a["status"] == "OK"
    assert [(h["name"], h["pref"], h["addrs"]) for h in a["hosts"]] == \
        [("implicit.example.org", 0, ["127.0.0.70:25"])]


def test_mx_permanent(dns):
    answers, _, _ = dns.ask(
        "internal,mx,nx.example.org,25",
        "internal,mx,nullmx.example.org,25",
        # An MX whose host does not exist.
        "internal,mx,nohost.example.org,25",
        # A host name that does not exist.
        "internal,host,gone.example.org,25",
        # A name with MX records but no A or AAAA.
        "internal,host,example.org,25")
    nx, null, nohost, noaddr, nodata = (by_index(answers)[i]
                                        for i in range(5))
    assert nx["status"] == "NXDOMAIN"
    assert "nx.example.org" in nx["error"] and "internal" in nx["error"]
    assert null["status"] == "NULLMX"
    assert nohost["status"] == "NOHOST"
    assert [(h["addrs"], h["tempfail"]) for h in nohost["hosts"]] == \
        [([], False)]
    assert noaddr["status"] == "NXDOMAIN"
    assert nodata["status"] == "NOHOST"
    assert [h["addrs"] for h in nodata["hosts"]] == [[]]


def test_refused(dns):
    # dnsmasq has no upstream for other zones: REFUSED, temporary.
    (a,), other, _ = dns.ask("internal,mx,elsewhere.test,25")
    assert a["status"] == "TEMPFAIL"
    assert "MX lookup for elsewhere.test" in a["error"]
    assert "(via internal)" in a["error"]
    assert stats(other, "internal") == (1, 1)


def test_split(dns):
    answers, other, log = dns.ask("internal,host,split.example.org,25",
                                  "vs:out,host,split.example.org,25",
                                  opts=["-d"])
    inside, outside = by_index(answers)[0], by_index(answers)[1]
    assert inside["status"] == outside["status"] == "OK"
    assert inside["hosts"][0]["addrs"] == ["127.0.0.81:25"]
    assert outside["hosts"][0]["addrs"] == ["127.0.0.82:25"]
    assert stats(other, "internal")[0] == 2     # A and AAAA each
    assert stats(other, "vs:out")[0] == 2
    # Each debug line names its profile.
    assert "profile=internal qtype=A name=split.example.org" in log, log
    assert ("profile=external qtype=AAAA name=split.example.org "
            "outcome=NODATA") in log, log


def test_stopped_server(dns):
    answers, other, _ = dns.ask("stopped,mx,example.org,25",
                                "stopped,host,mx1.example.org,25")
    a, b = by_index(answers)[0], by_index(answers)[1]
    assert max(a["ms"], b["ms"]) <= 8000
    assert a["status"] == "TEMPFAIL" and "(via stopped)" in a["error"]
    assert b["status"] == "TEMPFAIL" and b["hosts"][0]["tempfail"]
    assert stats(other, "stopped") == (3, 3)


def test_dead_server(dns):
    # Only the timer can end these: nothing ever answers.  All run in
    # parallel, so the test waits for the slowest only once.
    answers, _, _ = dns.ask("hole,mx,example.org,25",
                            "internal,mx,stuck.example.org,25",
                            "internal,mx,mixed.example.org,25",
                            "internal,mx,example.org,25")
    got = by_index(answers)
    a, c, d, b = (got[i] for i in range(4))
    # The other profile is not held up by the dead one.
    assert b["status"] == "OK" and b["ms"] < a["ms"]
    assert max(x["ms"] for x in answers) <= 10000

    assert a["status"] == "TEMPFAIL"
    assert "MX lookup for example.org" in a["error"]
    assert "(via hole)" in a["error"]
    # The MX host's addresses time out: temporary, not "no host".
    assert c["status"] == "TEMPFAIL"
    assert [h["tempfail"] for h in c["hosts"]] == [True]
    assert "lookup for host.slow.test" in c["error"]
    # One good host is enough; the other is marked.
    assert d["status"] == "OK"
    assert [(h["name"], len(h["addrs"]), h["tempfail"])
            for h in d["hosts"]] == [("mx1.example.org", 1, False),
                                     ("host.slow.test", 0, True)]


def test_cancel_in_flight(dns):
    # Once a later question on the same server has been answered, the
    # cancelled one has been too: its callback never runs (the probe
    # fails if it does).
    answers, _, _ = dns.ask("internal,mx,example.org,25",
                            "internal,mx,example.org,25", opts=["-c", "0"])
    assert [a["i"] for a in answers] == [1]


def test_set_free_with_address_questions_in_flight(dns):
    # The MX step answers, its A/AAAA questions never do: the set is
    # freed once they are asked; no callback runs after (the probe and
    # the sanitizers check it).
    answers, other, _ = dns.ask("internal,mx,stuck.example.org,25",
                                "hole,mx,example.org,25",
                                opts=["-F", "3"])
    assert answers == [] and other == [{"freed": 3}]
