"""Content filters through the milter protocol (docs/milter.md), with
real peers started by the tests on loopback (milterfix.py): a private
rspamd (milter proxy, no network) and clamav-milter with clamd on an
EICAR-only database, and a scriptable fake filter (fakemilter.py).

GTUBE is refused with rspamd's verdict, EICAR with ClamAV's, a clean
message passes both and carries the headers they add; a scanner that is
down gives 451 4.7.1 (on-failure tempfail) or passes (accept); a filter
that answers garbage, an oversized packet or nothing gives a 4xx within
its timeout and the gateway keeps serving; each modification a filter
asks for is applied; discard and quarantine do what they say.
"""
import os
import smtplib
import time

import pytest

from conftest import gateway_config
from fakemilter import (FakeMilter, addheader, addrcpt, chgheader,
                        delheader, delrcpt, discard, garbage, insheader,
                        oversized, quarantine, replbody, replycode, reject,
                        silent, tempfail)
from milterfix import (clamav, dead_socket, eicar_message,  # noqa: F401
                       gtube_message, message, milter_block, rspamd)
from netfix import wait_for
from test_ctl import ctl


def start_gw(make_gateway, tmp_path, milters, names):
    """The Winery gateway whose Internet-facing server runs the filters
    `names`, from milters: (name, socket, milter_block options)."""
    top = "".join(milter_block(n, sock, **kw) for n, sock, kw in milters)
    return make_gateway(lambda tmp, port: gateway_config(
        tmp, port, top=top, internet="    milters %s\n" % " ".join(names),
        queue="    retry 1s"))


def send(gw, msg, rcpts=("ericm@winery-co.co",)):
    """The reply to the end of the data: (code, text)."""
    c = gw.smtp("internet")
    try:
        c.ehlo("client.example.org")
        c.mail("alice@example.org")
        for r in rcpts:
            c.rcpt(r)
        return c.data(msg)
    finally:
        try:
            c.quit()
        except smtplib.SMTPServerDisconnected:
            pass


def queued(gw):
    return gw.messages()


def delivered(gw, rcpt="postmaster@winery-co.co"):
    """The first message the gateway's own Maildir store got for rcpt
    (waited for), split into header and body."""
    new = os.path.join(gw.spool, "mailboxes", rcpt, "new")
    assert wait_for(lambda: os.path.isdir(new) and os.listdir(new))
    raw = open(os.path.join(new, sorted(os.listdir(new))[0]), "rb").read()
    return raw.split(b"\r\n\r\n", 1)


# ---- the real scanners ----

def test_rspamd_refuses_gtube_and_marks_clean_mail(make_gateway, tmp_path,
                                                    rspamd, clamav):
    gw = start_gw(make_gateway, tmp_path,
                 [("rspamd", rspamd.socket, {}), ("clamav", clamav.socket,
                                                      {})],
                 ["rspamd", "clamav"])
    code, text = send(gw, gtube_message())
    assert code == 554 and b"5.7.1" in text, (code, text)
    code, text = send(gw, eicar_message())
    assert code == 550 and b"Eicar" in text, (code, text)
    assert not queued(gw)
    assert "milter=rspamd stage=eom verdict=reject" in gw.log()
    assert "milter=clamav stage=eom verdict=reject" in gw.log()


def test_clean_message_carries_the_scanners_headers(make_gateway, tmp_path,
                                                    rspamd, clamav):
    gw = start_gw(make_gateway, tmp_path,
                 [("rspamd", rspamd.socket, {}), ("clamav", clamav.socket,
                                                      {})],
                 ["rspamd", "clamav"])
    code, _ = send(gw, message(subject="clean"),
                   rcpts=("postmaster@winery-co.co",))
    assert code == 250
    head, _ = delivered(gw)
    assert b"X-Virus-Status: Clean" in head, head
    assert b"X-Rspamd-" in head or b"X-Spamd-Result" in head, head


# ---- a scanner that is down ----

@pytest.mark.parametrize("on_failure,code", [("tempfail", 451),
                                             ("accept", 250)])
def test_scanner_down(make_gateway, tmp_path, on_failure, code):
    gw = start_gw(make_gateway, tmp_path,
                 [("scan", dead_socket(), {"timeout": "2s",
                                           "on_failure": on_failure})],
                 ["scan"])
    got, text = send(gw, message())
    assert got == code, (got, text)
    if code == 451:
        assert b"4.7.1" in text


# ---- a broken filter ----

@pytest.mark.parametrize("answer", ["garbage", "oversized", "silent"])
def test_broken_filter_gives_4xx_and_the_gateway_serves(make_gateway,
                                                        tmp_path, answer):
    act = {"garbage": garbage(), "oversized": oversized(),
           "silent": silent()}[answer]
    with FakeMilter(on={"eom": act}) as fm:
        gw = start_gw(make_gateway, tmp_path,
                     [("fake", fm.socket, {"timeout": "2s"})], ["fake"])
        t0 = time.time()
        code, text = send(gw, message())
        assert 400 <= code < 500, (code, text)
        assert time.time() - t0 < 15
        # the gateway still serves
        c = gw.smtp("internet")
        assert c.noop()[0] == 250
        c.quit()


# ---- verdicts ----

@pytest.mark.parametrize("stage", ["connect", "mail", "rcpt", "eom"])
def test_reject_at_each_stage_is_told_before_the_250(make_gateway, tmp_path,
                                                     stage):
    act = replycode("550 5.7.1 Fake says no") if stage != "rcpt" else \
        reject()
    with FakeMilter(on={stage: act}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        code, text = send(gw, message())
        assert code >= 500, (code, text)
        assert not queued(gw)


def test_tempfail_discard_quarantine(make_gateway, tmp_path):
    with FakeMilter(on={"eom": tempfail()}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        code, text = send(gw, message())
        assert code == 451 and b"4.7.1" in text, (code, text)
        gw.stop()
    with FakeMilter(on={"eom": discard()}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        code, text = send(gw, message())
        assert code == 250, (code, text)
        assert not queued(gw)
        gw.stop()
    with FakeMilter(on={"eom": quarantine("suspicious")}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        code, text = send(gw, message())
        assert code == 250, (code, text)
        ids = sorted(os.listdir(os.path.join(gw.spool, "queue")))
        assert len(ids) == 1
        shown = ctl(gw, "show", ids[0]).stdout
        assert "held:" in shown and "suspicious" in shown, shown


def test_each_modification_is_applied(make_gateway, tmp_path):
    mods = [addheader("X-Added", "yes"),
            insheader(0, "X-First", "top"),
            chgheader(1, "Subject", "changed"),
            delheader(1, "X-Remove-Me"),
            replbody(b"new body\r\n"),
            addrcpt("<ericm@winery-co.co>"),
            delrcpt("<kimy@winery-co.co>")]
    with FakeMilter(mods=mods) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        msg = message(subject="original",
                      extra_headers=[("X-Remove-Me", "1")])
        code, text = send(gw, msg, rcpts=("kimy@winery-co.co",
                                          "postmaster@winery-co.co"))
        assert code == 250, (code, text)
        # kimy removed, ericm added (mbx1 does not resolve here: it stays
        # queued), postmaster delivered to the gateway's Maildir store
        ids = sorted(os.listdir(os.path.join(gw.spool, "queue")))
        shown = ctl(gw, "show", ids[0]).stdout if ids else ""
        assert "kimy@winery-co.co" not in shown, shown
        assert "ericm@winery-co.co" in shown, shown
        head, body = delivered(gw)
        assert b"\r\nX-Added: yes\r\n" in head + b"\r\n", head
        assert b"X-First: top\r\n" in head, head
        assert b"Subject: changed\r\n" in head, head
        assert b"Subject: original" not in head, head
        assert b"X-Remove-Me" not in head, head
        assert body == b"new body\r\n", body
        assert fm.last.rcpt_addrs() == ["<kimy@winery-co.co>",
                                        "<postmaster@winery-co.co>"]
