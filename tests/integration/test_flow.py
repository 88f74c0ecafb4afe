"""The receive-side rows of the canonical mail-flow table (README.md, `posternctl flow`), on two virtual
servers, plus the address tricks that must never open a relay."""
import smtplib
import time

import pytest

from conftest import CLIENT_INTERNET


def rcpt(gw, server, addr, sender="someone@example.org", source=None):
    c = gw.smtp(server, source=source)
    try:
        c.ehlo("client.example")
        code, _ = c.mail(sender)
        assert code == 250
        return c.rcpt(addr)
    finally:
        c.quit()


def send(gw, server, rcpts, sender="someone@example.org", body="Subject: t\r\n\r\nhello\r\n"):
    c = gw.smtp(server)
    try:
        c.ehlo("client.example")
        return c.sendmail(sender, rcpts, body)
    finally:
        c.quit()


def test_internet_to_internet_is_relay_denied(gateway):
    code, msg = rcpt(gateway, "internet", "someone@example.net")
    assert code == 550 and msg.startswith(b"5.7.1")
    assert gateway.messages() == []


def test_internet_to_local_user_is_queued(gateway):
    assert send(gateway, "internet", ["ericm@winery-co.co"]) == {}
    [m] = gateway.messages()
    assert m["rcpts"] == ["ericm@winery-co.co"]
    assert m["vserver"] == "internet"
    assert m["client"] == CLIENT_INTERNET
    assert m["sender"] == "someone@example.org"
    assert abs(int(m["received"]) - time.time()) < 60
    assert m["body"].startswith(b"Received: from client.example ([127.0.0.10])")
    assert m["body"].endswith(b"\r\nhello\r\n")


def test_internet_to_unknown_local_user_is_refused(gateway):
    code, msg = rcpt(gateway, "internet", "nobody@winery-co.co")
    assert code == 550 and msg.startswith(b"5.1.1")


def test_intranet_to_local_user(gateway):
    assert send(gateway, "intranet", ["kimy@winery-co.co"], sender="ericm@winery-co.co") == {}
    [m] = gateway.messages()
    assert m["vserver"] == "intranet" and m["rcpts"] == ["kimy@winery-co.co"]


def test_intranet_to_internet(gateway):
    assert send(gateway, "intranet", ["someone@example.org"], sender="ericm@winery-co.co") == {}
    [m] = gateway.messages()
    assert m["rcpts"] == ["someone@example.org"]


def test_intranet_from_unlisted_client_cannot_relay(gateway):
    code, msg = rcpt(gateway, "intranet", "someone@example.org", source="127.0.0.21")
    assert code == 550 and msg.startswith(b"5.7.1")


def test_unknown_local_user_refused_on_intranet_too(gateway):
    code, msg = rcpt(gateway, "intranet", "nobody@winery-co.co")
    assert code == 550 and msg.startswith(b"5.1.1")


def test_partner_relay_domain_accepted_from_internet(gateway):
    code, _ = rcpt(gateway, "internet", "x@partner.example")
    assert code == 250


def test_alias_and_catch_all(gateway):
    assert rcpt(gateway, "internet", "team@winery-co.co")[0] == 250
    assert rcpt(gateway, "internet", "anyone@winery.local")[0] == 250


def test_case_insensitive_local_match(gateway):
    assert rcpt(gateway, "internet", "EricM@WINERY-CO.CO")[0] == 250


def test_postmaster_without_domain(gateway):
    assert rcpt(gateway, "internet", "postmaster")[0] == 250


@pytest.mark.parametrize("addr,code,enh", [
    ("user%example.org@winery-co.co", 550, b"5.1.1"),
    ("@winery-co.co:user@example.org", 550, b"5.7.1"),
    ('"user@example.org"@winery-co.co', 550, b"5.1.1"),
    ("example.org!user@winery-co.co", 550, b"5.1.1"),
    ("user@[127.0.0.1]", 550, b"5.7.1"),
    ("user@[IPv6:::1]", 550, b"5.7.1"),
    ("user@example.org.", 501, b"5.1.3"),
    ("user@winery-co.co.", 501, b"5.1.3"),
    ("user@EXAMPLE.org", 550, b"5.7.1"),
    ("user@winery-co.co.example.org", 550, b"5.7.1"),
    ("user@sub.winery-co.co", 550, b"5.7.1"),
])
def test_address_tricks_never_relay(gateway, addr, code, enh):
    c = gateway.raw("internet")
    try:
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example")[0] == 250
        assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
        got, text = c.cmd("RCPT TO:<%s>" % addr)
        assert got == code and text[4:].startswith(enh.decode()), text
    finally:
        c.close()
    assert gateway.messages() == []


def test_blocked_sender_and_client(make_gateway):
    gw = make_gateway(extra_internet="""
    filter {
        block-sender spam@bad.example @worse.example <>
        block-client 127.0.0.66/32
    }""")
    for sender in ["spam@bad.example", "x@worse.example", "SPAM@BAD.EXAMPLE"]:
        c = gw.smtp("internet")
        c.ehlo("x")
        code, msg = c.mail(sender)
        assert code == 550 and msg.startswith(b"5.7.1"), sender
        c.quit()
    c = gw.raw("internet")
    c.reply()
    c.cmd("EHLO x")
    code, text = c.cmd("MAIL FROM:<>")
    assert code == 550 and "5.7.1" in text
    c.close()
    c = gw.raw("internet", source="127.0.0.66")
    code, text = c.reply()
    assert code == 554 and "5.7.1" in text
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 554
    assert c.cmd("QUIT")[0] == 221
    c.close()
    # The intranet server has no filter: the same sender is fine there.
    c = gw.smtp("intranet")
    c.ehlo("x")
    assert c.mail("spam@bad.example")[0] == 250
    c.quit()


def test_alias_expanded_into_envelope(gateway):
    assert send(gateway, "internet", ["team@winery-co.co", "ericm@winery-co.co"]) == {}
    [m] = gateway.messages()
    assert sorted(m["rcpts"]) == ["ericm@winery-co.co", "kimy@winery-co.co"]
