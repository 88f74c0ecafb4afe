"""Greylisting on one node, from memory (docs/greylisting.md): a new
triplet gets 451 4.7.1 at RCPT, so does a retry before DELAY, a retry
after DELAY passes (and the message is queued); AUTO-ALLOW lets the
client's /24 through with any sender afterwards; allow-client and relay
clients are never greylisted, nor are unknown users (550 first);
`posternctl trace` says what the session would answer without recording
anything, `posternctl flow` shows it on the server that has it, and the
refusals are counted under the rule `greylist`.
DELAY is 2 s so that the test waits little."""
import smtplib
import time

from conftest import CLIENT_INTERNET, base_config
from test_ctl import ctl, ctl_json

DELAY = 2.2     # a little over the configured 2s


def grey_gateway(make_gateway, allow=""):
    return make_gateway(config=lambda tmp, port: base_config(
        tmp, port, extra_internet="""    filter {
        greylist 2s %s
        allow-client 127.0.0.11/32
    }
""" % allow))


def rcpt(gw, sender, rcpt_to, source=CLIENT_INTERNET, data=False):
    """The reply to RCPT (code, text) from source; the message is sent
    when it is accepted and data is asked."""
    c = gw.smtp(source=source)
    try:
        c.ehlo("client.example")
        assert c.mail(sender)[0] == 250
        code, text = c.rcpt(rcpt_to)
        if code == 250 and data:
            assert c.data(b"Subject: grey\r\n\r\nhello\r\n")[0] == 250
        return code, text.decode()
    finally:
        try:
            c.quit()
        except smtplib.SMTPException:
            pass


def trace(gw, sender, rcpt_to, client=CLIENT_INTERNET):
    [t] = ctl_json(gw, "trace", "--server", "internet", "--client", client,
                   "--sender", sender, rcpt_to)
    return t


def test_greylist_defers_then_passes(make_gateway):
    gw = grey_gateway(make_gateway)
    code, text = rcpt(gw, "a@example.org", "ericm@winery-co.co")
    assert code == 451 and text.startswith("4.7.1 Greylisted"), text
    # A retry before DELAY: still deferred.
    assert rcpt(gw, "a@example.org", "ericm@winery-co.co")[0] == 451
    # trace agrees, and says so by the rule's name.
    t = trace(gw, "a@example.org", "ericm@winery-co.co")
    assert not t["accepted"] and t["rule"] == "greylist", t
    assert t["reply"] == "451 4.7.1 Greylisted, try again later"
    assert "first seen less than DELAY ago" in t["note"], t
    time.sleep(DELAY)
    # trace sees the triplet would pass now, but records nothing ...
    t = trace(gw, "a@example.org", "ericm@winery-co.co")
    assert t["accepted"], t
    assert "greylist: triplet first seen DELAY ago: passes" in t["note"], t
    # ... and a triplet only traced is new to the session afterwards.
    t = trace(gw, "traced@example.org", "ericm@winery-co.co")
    assert t["rule"] == "greylist", t
    # The retry after DELAY passes, from any address of the /24.
    code, text = rcpt(gw, "a@example.org", "ericm@winery-co.co",
                      source="127.0.0.12", data=True)
    assert code == 250, text
    assert len(gw.messages()) == 1
    # Without AUTO-ALLOW another triplet of that client starts over.
    assert rcpt(gw, "b@example.org", "ericm@winery-co.co")[0] == 451
    # The passed triplet stays passed.
    assert rcpt(gw, "a@example.org", "ericm@winery-co.co")[0] == 250
    time.sleep(DELAY)
    assert rcpt(gw, "traced@example.org", "ericm@winery-co.co")[0] == 451
    # Unknown users get their 550 (and cost no greylist entry).
    code, text = rcpt(gw, "c@example.org", "nobody@winery-co.co")
    assert code == 550, text
    # Counted under the rule.
    stats = ctl(gw, "stats").stdout
    assert "greylist" in stats, stats


def test_greylist_auto_allow(make_gateway):
    gw = grey_gateway(make_gateway, allow="1h")
    assert rcpt(gw, "a@example.org", "ericm@winery-co.co")[0] == 451
    time.sleep(DELAY)
    assert rcpt(gw, "a@example.org", "ericm@winery-co.co")[0] == 250
    # The client's /24 is let through with any sender and recipient.
    code, text = rcpt(gw, "new@example.net", "kimy@winery-co.co",
                      source="127.0.0.13")
    assert code == 250, text
    t = trace(gw, "other@example.com", "ericm@winery-co.co",
              client="127.0.0.14")
    assert t["accepted"], t
    assert "auto-allowed" in t["note"], t
    # Not another network.
    t = trace(gw, "other@example.com", "ericm@winery-co.co",
              client="192.0.2.1")
    assert t["rule"] == "greylist", t


def test_greylist_exempt_clients(make_gateway):
    gw = grey_gateway(make_gateway)
    # allow-client: never greylisted.
    code, text = rcpt(gw, "a@example.org", "ericm@winery-co.co",
                      source="127.0.0.11")
    assert code == 250, text
    t = trace(gw, "a@example.org", "ericm@winery-co.co", client="127.0.0.11")
    assert t["accepted"], t
    # A client the server relays for (the organisation's own hosts):
    # the intranet server has no greylist, but the internet one relays
    # for nobody; its relay clients are tested in test_session_limits_kv.
    c = gw.smtp(server="intranet")
    try:
        c.ehlo("client.example")
        assert c.mail("a@example.org")[0] == 250
        assert c.rcpt("ericm@winery-co.co")[0] == 250
    finally:
        c.quit()


def test_flow_shows_greylisting(make_gateway):
    gw = grey_gateway(make_gateway)
    rows = ctl_json(gw, "flow", "--user", "ericm@winery-co.co")
    table = {(r["vserver"], r["flow"]): r for r in rows}
    r = table[("internet", "Internet -> local user")]
    assert not r["accepted"], r
    assert r["reply"] == "451 4.7.1 Greylisted, try again later", r
    # The intranet server has no greylist.
    assert table[("intranet", "intranet -> local user")]["accepted"]
    # flow traces, it records nothing: the live triplet is new.
    assert rcpt(gw, "a@example.org", "ericm@winery-co.co")[0] == 451
