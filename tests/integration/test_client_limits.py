"""Per-client limits (docs/architecture.md, isolation): an IPv6 client is counted by its /64, and
parallel AUTH attempts of one client get no more than max-auth-failures
guesses checked.

The IPv6 tests need several source addresses of one /64 that reach ::1:
as root they add documentation addresses (2001:db8:7a:64::/64 and a
neighbour /64) to lo for the module's duration and remove them after;
otherwise they are skipped.  All traffic goes to ::1 or 127.0.0.0/8.
The session-level cases (mapped addresses, the AUTH guard by /64, the
verifier's 454) are unit tests: tests/unit/test_session_limits.c."""
import os
import shutil
import socket
import subprocess

import pytest

from conftest import CLIENT_INTERNET, RawClient, base_config
from tlsfix import pki  # noqa: F401 (pytest fixture)
from test_tls_auth import (auth_gateway, gwcert, hashes,  # noqa: F401
                           plain, tls_session)

SAME_64 = ["2001:db8:7a:64::a", "2001:db8:7a:64::b",
           "2001:db8:7a:64:ffff:1:2:3"]
OTHER_64 = "2001:db8:7a:65::a"


def _ip(*args):
    return subprocess.run(["ip", "-6"] + list(args), capture_output=True,
                          text=True)


@pytest.fixture(scope="module")
def v6_sources():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and ip(8) to add 2001:db8:7a:64::/64 "
                    "source addresses to lo; the /64 keying is unit tested "
                    "in test_session_limits.c and test_netaddr.c")
    added = []
    try:
        for a in SAME_64 + [OTHER_64]:
            r = _ip("addr", "add", a + "/128", "dev", "lo", "nodad")
            if r.returncode != 0 and "exists" not in r.stderr:
                pytest.skip("cannot add %s to lo: %s" % (a, r.stderr.strip()))
            if r.returncode == 0:
                added.append(a)
        yield
    finally:
        for a in added:
            _ip("addr", "del", a + "/128", "dev", "lo")


def v6_gateway(make_gateway, extra=""):
    return make_gateway(config=lambda tmp, port: base_config(
        tmp, port, extra_internet="    listen [::1]:%d\n%s" % (port, extra)))


def v6_client(gw, source):
    s = socket.create_connection(("::1", gw.port), timeout=30,
                                 source_address=(source, 0))
    c = RawClient(s)
    return c


def test_connections_per_ip_count_ipv6_by_64(make_gateway, v6_sources):
    # max-connections-per-ip is 4 on the internet server (base_config).
    gw = v6_gateway(make_gateway)
    open_ = []
    for source in [SAME_64[0], SAME_64[0], SAME_64[1], SAME_64[1]]:
        c = v6_client(gw, source)
        assert c.reply()[0] == 220
        open_.append(c)
    c = v6_client(gw, SAME_64[2])
    code, text = c.reply()
    assert (code, text[4:9]) == (421, "4.7.0"), text
    assert c.closed()
    # The neighbouring /64 is another client.
    c = v6_client(gw, OTHER_64)
    assert c.reply()[0] == 220
    open_.append(c)
    for c in open_:
        c.cmd("QUIT")
        c.close()
    assert ("client=%s vserver=internet refused CONNECT "
            "rule=max-connections-per-ip" % SAME_64[2]) in gw.log()


def test_rate_limit_counts_ipv6_by_64(make_gateway, v6_sources):
    gw = v6_gateway(make_gateway, """    filter {
        rate-limit 2/m
    }
""")

    def mail(source):
        c = v6_client(gw, source)
        c.reply()
        c.cmd("EHLO client.example")
        code, text = c.cmd("MAIL FROM:<a@example.org>")
        c.close()
        return code, text

    assert mail(SAME_64[0])[0] == 250
    assert mail(SAME_64[1])[0] == 250
    code, text = mail(SAME_64[2])
    assert (code, text[4:9]) == (421, "4.7.0"), text
    assert mail(OTHER_64)[0] == 250
    assert "client=%s refused MAIL rule=rate-limit" % SAME_64[2] in gw.log()


def test_parallel_auth_attempts_get_no_extra_guesses(make_gateway, tmp_path,
                                                     gwcert, hashes,  # noqa: F811
                                                     pki):  # noqa: F811
    # Four connections of one client send a wrong password at once, before
    # the first verdict (held back a second): with max-auth-failures 2 only
    # two are checked; the others are refused unchecked.
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes,
                      "    max-auth-failures 2\n")
    sessions = [tls_session(gw, pki) for _ in range(4)]
    for i, t in enumerate(sessions):
        t.send("AUTH PLAIN " + plain("ericm", "guess%d" % i) + "\r\n")
    codes = sorted(t.reply()[0] for t in sessions)
    assert codes == [421, 421, 535, 535], codes
    log = gw.log()
    assert log.count("AUTH failed mechanism=PLAIN") == 2
    assert log.count("refused AUTH rule=max-auth-failures") == 2
    # The right password from that client is refused too, unchecked.
    t = tls_session(gw, pki)
    assert t.cmd("AUTH PLAIN " + plain("ericm", "s3cret-Pa55"))[0] == 421
    assert "client=%s authenticated" % CLIENT_INTERNET not in gw.log()
