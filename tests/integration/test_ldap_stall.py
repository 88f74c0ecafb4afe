"""A directory server that stalls never stalls the gateway (issue #14;
docs/architecture.md, isolation: nothing the gateway asks of another program blocks the event loop;
docs/ldap.md, "Connections").

The directory is a StallingLdap (ldapfix.py) on 127.0.0.42: it takes any
bind, and answers a search with the first half of a TLS record (ldaps://,
StartTLS) or with only the tag and length of an LDAP message (ldap://),
then says nothing for longer than the gateway's `timeout`.  While client
A's RCPT waits on it, client B must get its 220 greeting and its EHLO
reply at once; A then gets 451 4.3.0 (never a 550, never a crash), and the
gateway goes on serving.  The world of test_delivery.py and the gateways
of test_ldap.py are reused.
"""
import time

import pytest

from ldapfix import StallingLdap
from test_delivery import world  # noqa: F401
from test_ldap import gateways  # noqa: F401

STALL_ADDR = "127.0.0.42"
TIMEOUT = 4         # the directory's timeout in the gateway, seconds
PROMPT = 1.0        # "at once" for a greeting, on a loaded 2-CPU test host


@pytest.mark.parametrize("mode", ["ldaps", "starttls", "ldap"])
def test_half_a_reply_stalls_only_its_own_session(world, gateways,
                                                  monkeypatch, mode):
    srv = StallingLdap(world.tmp, STALL_ADDR, mode, pause=3 * TIMEOUT)
    clients = []
    try:
        if srv.cafile:
            # libldap's own variable names the CA (docs/ldap.md, TLS).
            monkeypatch.setenv("LDAPTLS_CACERT", srv.cafile)
        gw = gateways([srv.uri], cache="0s", starttls=mode == "starttls",
                      timeout="%ds" % TIMEOUT)
        a = gw.raw()
        clients.append(a)
        assert a.reply()[0] == 220
        assert a.cmd("EHLO a.example")[0] == 250
        assert a.cmd("MAIL FROM:<someone@example.org>")[0] == 250
        t_rcpt = time.time()
        a.send("RCPT TO:<ericm@winery-co.co>\r\n")
        assert srv.stalled.wait(20), gw.log()
        time.sleep(0.3)         # the cut reply has reached the gateway
        t0 = time.time()
        b = gw.raw()
        clients.append(b)
        greet = b.reply()
        ehlo = b.cmd("EHLO b.example")
        took = time.time() - t0
        assert greet[0] == 220 and ehlo[0] == 250, (greet, ehlo)
        assert took < PROMPT, "B waited %.2f s for 220 and EHLO" % took
        # A: the directory is temporarily failing, after its timeout.
        code, text = a.reply()
        assert code == 451 and "4.3.0" in text, text
        assert time.time() - t_rcpt >= TIMEOUT - 0.5
        assert "no answer in %d s" % TIMEOUT in gw.log(), gw.log()
        # Both sessions go on.
        assert b.cmd("NOOP")[0] == 250
        assert a.cmd("QUIT")[0] == 221 and b.cmd("QUIT")[0] == 221
        assert srv.searches == 1 and not srv.errors, srv.errors
    finally:
        for c in clients:
            c.close()
        srv.stop()
