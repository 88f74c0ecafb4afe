"""Content filters through the milter protocol (docs/milter.md), with
real peers started by the tests on loopback (milterfix.py): a private
rspamd (milter proxy, no network) and clamav-milter with clamd on an
EICAR-only database, and a scriptable fake filter (fakemilter.py).

GTUBE is refused with rspamd's verdict, EICAR with ClamAV's, a clean
message passes both and carries the headers they add; a scanner that is
down gives 421 4.7.1 at the greeting (on-failure tempfail) or passes
(accept); a filter that answers garbage, an oversized packet or nothing
gives a 4xx within its timeout and the gateway keeps serving; each
modification a filter asks for is applied; discard and quarantine do what
they say.  Verdicts come at their own command: connect (the greeting),
HELO, MAIL, each RCPT (that recipient only) and DATA, with pipelining
kept; `posternctl show` and /metrics name each filter's verdict.
"""
import os
import smtplib
import time

import pytest

from conftest import gateway_config
from fakemilter import (Action, FakeMilter, addheader, addrcpt, chgheader, delay,
                        delheader, delrcpt, discard, garbage, insheader,
                        oversized, quarantine, replbody, replycode, reject,
                        silent, tempfail)
from milterfix import (clamav, dead_socket, eicar_message,  # noqa: F401
                       gtube_message, message, milter_block, rspamd)
from netfix import wait_for
from test_ctl import ctl


def start_gw(make_gateway, tmp_path, milters, names, extra="", internet=""):
    """The Winery gateway whose Internet-facing server runs the filters
    `names`, from milters: (name, socket, milter_block options)."""
    top = extra + "".join(milter_block(n, sock, **kw)
                          for n, sock, kw in milters)
    return make_gateway(lambda tmp, port: gateway_config(
        tmp, port, top=top, internet="    milters %s\n%s" % (
            " ".join(names), internet), queue="    retry 1s"))


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

@pytest.mark.parametrize("on_failure", ["tempfail", "accept"])
def test_scanner_down(make_gateway, tmp_path, on_failure):
    """A filter down is its on-failure from the first stage on: 421 4.7.1
    instead of the greeting, or the mail goes on without it."""
    gw = start_gw(make_gateway, tmp_path,
                 [("scan", dead_socket(), {"timeout": "2s",
                                           "on_failure": on_failure})],
                 ["scan"])
    if on_failure == "accept":
        got, text = send(gw, message())
        assert got == 250, (got, text)
        return
    c = gw.raw("internet")
    code, text = c.reply()
    assert code == 421 and "4.7.1" in text, (code, text)
    assert c.closed()


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

def test_reject_at_connect_is_the_greeting(make_gateway, tmp_path):
    """As Postfix: the filter's reply instead of the 220, then every
    command but QUIT gets it again; nothing reaches the filter after."""
    with FakeMilter(on={"connect": replycode("550 5.7.1 Fake says no")}) \
            as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.raw("internet")
        assert c.reply() == (550, "550 5.7.1 Fake says no")
        assert c.cmd("EHLO client.example.org")[0] == 550
        assert c.cmd("QUIT")[0] == 221
        assert fm.wait(lambda f: f.conns and f.conns[0].connect)
        assert fm.conns[0].helo is None and not fm.txns()
    with FakeMilter(on={"connect": reject()}) as fm:
        gw2 = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                      ["fake"])
        c = gw2.raw("internet")
        code, text = c.reply()
        assert code == 554 and "5.7.1" in text, text
    with FakeMilter(on={"connect": tempfail()}) as fm:
        gw3 = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                      ["fake"])
        c = gw3.raw("internet")
        code, text = c.reply()
        assert code == 421 and "4.7.1" in text, text
        assert c.closed()
    assert "milter=fake stage=connect verdict=reject" in gw.log()


def test_filters_get_the_esmtp_arguments_and_the_connect_macros(
        make_gateway, tmp_path):
    """MAIL and RCPT go to the filter with their ESMTP arguments exactly
    as the client wrote them, one string each; the connect macros name
    the listener's address the client reached ({if_addr})."""
    with FakeMilter() as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.raw("internet")
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example.org")[0] == 250
        assert c.cmd("MAIL FROM:<alice@example.org> SIZE=1234  "
                     "BODY=8BITMIME RET=HDRS ENVID=QQ314159")[0] == 250
        assert c.cmd("RCPT TO:<postmaster@winery-co.co> "
                     "NOTIFY=SUCCESS,FAILURE "
                     "ORCPT=rfc822;postmaster@winery-co.co")[0] == 250
        assert c.cmd("RCPT TO:<ericm@winery-co.co>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message(subject="arguments") + b".\r\n")
        assert c.reply()[0] == 250
        assert c.cmd("QUIT")[0] == 221
        assert fm.wait(lambda f: f.last and f.last.end)
        t = fm.last
        assert t.mail == ["<alice@example.org>", "SIZE=1234",
                          "BODY=8BITMIME", "RET=HDRS", "ENVID=QQ314159"]
        assert t.rcpts == [
            ["<postmaster@winery-co.co>", "NOTIFY=SUCCESS,FAILURE",
             "ORCPT=rfc822;postmaster@winery-co.co"],
            ["<ericm@winery-co.co>"]]
        conn = fm.conns[0]
        assert conn.macros["C"]["{if_addr}"] == gw.internet
        assert conn.macros["C"]["{client_addr}"] == "127.0.0.10"
        assert conn.macros["C"]["{daemon_name}"] == "postern"
        assert conn.macros["C"]["{if_name}"] == conn.macros["C"]["j"]
        assert t.macros["M"]["{mail_addr}"] == "alice@example.org"
        assert t.macros["R"]["{rcpt_addr}"] == "ericm@winery-co.co"
        assert t.macros["T"]["i"] == t.macros["M"]["i"]
        assert t.macros["E"]["i"] == t.macros["M"]["i"]


def test_reject_at_helo_is_the_helo_reply(make_gateway, tmp_path):
    with FakeMilter(on={"helo": reject()}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.raw("internet")
        assert c.reply()[0] == 220
        code, text = c.cmd("EHLO client.example.org")
        assert code == 550 and "5.7.1" in text, text
        # no HELO: MAIL is out of sequence; the verdict holds for the
        # connection
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 503
        assert c.cmd("HELO client.example.org")[0] == 550
        assert fm.conns[0].helo == "client.example.org"
        assert not fm.txns()


def test_reject_and_tempfail_at_mail(make_gateway, tmp_path):
    with FakeMilter(on={"mail": replycode("553 5.7.1 Not that sender")}) \
            as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.smtp("internet")
        c.ehlo("client.example.org")
        assert c.mail("alice@example.org") == (553, b"5.7.1 Not that sender")
        # the refused MAIL ended the transaction: RCPT is out of sequence
        assert c.rcpt("postmaster@winery-co.co")[0] == 503
        c.quit()
        assert fm.wait(lambda f: f.last and f.last.end)
        assert fm.last.end in ("abort", "quit", "closed")
        assert not fm.last.rcpts
    with FakeMilter(on={"mail": tempfail()}) as fm:
        gw2 = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                      ["fake"])
        c = gw2.smtp("internet")
        c.ehlo("client.example.org")
        code, text = c.mail("alice@example.org")
        assert code == 451 and b"4.7.1" in text, (code, text)
        c.quit()


def test_reject_one_rcpt_of_two_delivers_the_other(make_gateway, tmp_path):
    def no_kimy(conn, txn, data):
        return reject() if b"kimy" in data else None
    with FakeMilter(on={"rcpt": no_kimy}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.smtp("internet")
        c.ehlo("client.example.org")
        assert c.mail("alice@example.org")[0] == 250
        code, text = c.rcpt("kimy@winery-co.co")
        assert code == 550 and b"5.7.1" in text, (code, text)
        assert c.rcpt("postmaster@winery-co.co")[0] == 250
        assert c.data(message(subject="one of two"))[0] == 250
        c.quit()
        head, _ = delivered(gw)
        assert b"Subject: one of two" in head
        assert "milter=fake stage=rcpt verdict=reject" in gw.log()
        ids = sorted(os.listdir(os.path.join(gw.spool, "queue")))
        for i in ids:
            assert "kimy" not in ctl(gw, "show", i).stdout


def test_tempfail_at_rcpt(make_gateway, tmp_path):
    def later_kimy(conn, txn, data):
        return tempfail() if b"kimy" in data else None
    with FakeMilter(on={"rcpt": later_kimy}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.smtp("internet")
        c.ehlo("client.example.org")
        c.mail("alice@example.org")
        code, text = c.rcpt("kimy@winery-co.co")
        assert code == 451 and b"4.7.1" in text, (code, text)
        assert c.rcpt("postmaster@winery-co.co")[0] == 250
        assert c.data(message())[0] == 250
        c.quit()


@pytest.mark.parametrize("on_failure", ["tempfail", "accept"])
def test_on_failure_at_mail(make_gateway, tmp_path, on_failure):
    """A filter that breaks at MAIL: 451 4.7.1 there, or on without it."""
    with FakeMilter(on={"mail": garbage()}) as fm:
        gw = start_gw(make_gateway, tmp_path,
                     [("fake", fm.socket, {"timeout": "2s",
                                           "on_failure": on_failure})],
                     ["fake"])
        c = gw.smtp("internet")
        c.ehlo("client.example.org")
        code, text = c.mail("alice@example.org")
        if on_failure == "tempfail":
            assert code == 451 and b"4.7.1" in text, (code, text)
        else:
            assert code == 250
            assert c.rcpt("postmaster@winery-co.co")[0] == 250
            assert c.data(message())[0] == 250
        c.quit()


def test_reject_at_data_command(make_gateway, tmp_path):
    with FakeMilter(on={"data": reject()}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.raw("internet")
        c.reply()
        c.cmd("EHLO client.example.org")
        c.cmd("MAIL FROM:<alice@example.org>")
        c.cmd("RCPT TO:<postmaster@winery-co.co>")
        code, text = c.cmd("DATA")
        assert code == 550 and "5.7.1" in text, text
        assert not queued(gw)


def test_pipelined_commands_wait_for_a_slow_filter(make_gateway, tmp_path):
    """MAIL, two RCPTs and DATA in one packet with a filter that takes its
    time at each: the replies come in order, each after its verdict."""
    def slow_rcpt(conn, txn, data):
        return [Action(delay=0.3), reject() if b"kimy" in data else None]
    with FakeMilter(on={"mail": delay(0.3), "rcpt": slow_rcpt,
                        "data": delay(0.3)}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        c = gw.raw("internet")
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example.org")[0] == 250
        t0 = time.time()
        c.send("MAIL FROM:<alice@example.org>\r\n"
               "RCPT TO:<kimy@winery-co.co>\r\n"
               "RCPT TO:<postmaster@winery-co.co>\r\n"
               "DATA\r\n")
        codes = [c.reply()[0] for _ in range(4)]
        assert codes == [250, 550, 250, 354], codes
        assert time.time() - t0 >= 1.1
        c.send(message(subject="pipelined") + b".\r\n")
        assert c.reply()[0] == 250
        assert c.cmd("QUIT")[0] == 221
        head, _ = delivered(gw)
        assert b"Subject: pipelined" in head


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


def test_show_and_metrics_name_each_filters_verdict(make_gateway, tmp_path):
    """The envelope keeps each filter's verdict and time (posternctl
    show); /metrics counts every stage's verdict per filter."""
    import urllib.request
    from milterfix import free_port
    mport = free_port("127.0.0.1")

    def no_kimy(conn, txn, data):
        return reject() if b"kimy" in data else None
    with FakeMilter(on={"rcpt": no_kimy}) as f1, FakeMilter() as f2:
        gw = start_gw(make_gateway, tmp_path,
                     [("first", f1.socket, {}), ("second", f2.socket, {})],
                     ["first", "second"],
                     extra="metrics 127.0.0.1:%d\n" % mport)
        c = gw.smtp("internet")
        c.ehlo("client.example.org")
        c.mail("alice@example.org")
        assert c.rcpt("kimy@winery-co.co")[0] == 550
        assert c.rcpt("ericm@winery-co.co")[0] == 250
        assert c.data(message())[0] == 250
        c.quit()
        ids = sorted(os.listdir(os.path.join(gw.spool, "queue")))
        assert len(ids) == 1
        shown = ctl(gw, "show", ids[0]).stdout
        assert "milters:" in shown, shown
        assert "first=accept stage=eom time=" in shown, shown
        assert "second=accept stage=eom time=" in shown, shown
        text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                      timeout=10).read().decode()
        got = {}
        for line in text.splitlines():
            if line.startswith("postern_milter_verdicts_total{"):
                key, val = line.rsplit(" ", 1)
                got[key] = float(val)
        assert got['postern_milter_verdicts_total{milter="first",'
                   'verdict="reject"}'] == 1, got
        assert got['postern_milter_verdicts_total{milter="first",'
                   'verdict="accept"}'] == 1, got
        assert got['postern_milter_verdicts_total{milter="second",'
                   'verdict="reject"}'] == 0, got
        assert got['postern_milter_verdicts_total{milter="second",'
                   'verdict="continue"}'] >= 4, got


def test_signature_covers_the_filters_changes(make_gateway, tmp_path):
    """A server that signs (dkim-sign) signs the message as the filters
    left it: a header added, one changed and the body replaced, and the
    delivered message verifies."""
    import dkim
    from conftest import readable_by_run_user
    from test_authentication import keypair
    key, p = keypair(str(tmp_path), "winery")
    readable_by_run_user(key)
    mods = [addheader("X-Scanned", "yes"),
            chgheader(1, "Subject", "changed by the filter"),
            replbody(b"A body the filter wrote.\r\n")]
    with FakeMilter(mods=mods) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"], extra="dkim-key winery {\n"
                     "    domain winery-co.co\n    selector s2026\n"
                     "    key %s\n}\n" % key,
                     internet="    dkim-sign winery\n")
        code, _ = send(gw, message(subject="original",
                                   sender="ericm@winery-co.co"),
                       rcpts=("postmaster@winery-co.co",))
        assert code == 250
        head, body = delivered(gw)
        raw = head + b"\r\n\r\n" + body
        assert b"DKIM-Signature:" in head, head
        assert b"Subject: changed by the filter" in head, head
        assert b"X-Scanned: yes" in head, head
        assert body == b"A body the filter wrote.\r\n", body

        def dnsfunc(name, timeout=5):
            assert name == b"s2026._domainkey.winery-co.co.", name
            return b"v=DKIM1; k=rsa; p=" + p.encode()
        assert dkim.verify(raw, dnsfunc=dnsfunc)


def test_body_streams_while_the_message_arrives(make_gateway, tmp_path):
    """The filter gets the header and the first body chunks before the
    end of the data; a message refused by another check (too big) while
    the filter still owes an answer leaves the filter's connection usable
    for the next transaction of the session."""
    with FakeMilter(on={"body": delay(1.0)}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"], internet="    max-message-size 150K\n")
        c = gw.raw("internet")
        assert c.reply()[0] == 220
        assert c.cmd("EHLO client.example.org")[0] == 250
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<postmaster@winery-co.co>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        big = message(subject="big", body="x" * 998 + "\r\n")
        c.send(big)
        # the first whole body chunk reaches the filter before the rest
        # of the message is even sent
        c.send(b"y" * 998 + b"\r\n" * 1)
        c.send((b"z" * 998 + b"\r\n") * 70)
        assert fm.wait(lambda f: f.last and len(f.last.body) > 0)
        assert fm.last.end is None
        c.send((b"w" * 998 + b"\r\n") * 100 + b".\r\n")
        code, text = c.reply()
        assert code == 552, (code, text)
        # the next transaction waits for the filter's answer, then goes
        assert c.cmd("MAIL FROM:<alice@example.org>")[0] == 250
        assert c.cmd("RCPT TO:<postmaster@winery-co.co>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(message(subject="small") + b".\r\n")
        assert c.reply()[0] == 250
        assert c.cmd("QUIT")[0] == 221
        assert len(fm.conns) == 1, fm.conns
        head, _ = delivered(gw)
        assert b"Subject: small" in head


@pytest.mark.parametrize("stage", ["header", "eoh", "body"])
def test_reject_while_the_message_arrives_is_the_end_of_data_reply(
        make_gateway, tmp_path, stage):
    """A verdict that came while the message arrived answers the end of
    the data; the filter gets nothing more of that message."""
    with FakeMilter(on={stage: replycode("554 5.7.1 Not this one")}) as fm:
        gw = start_gw(make_gateway, tmp_path, [("fake", fm.socket, {})],
                     ["fake"])
        body = "line of a long body\r\n" * 8000      # over two chunks
        code, text = send(gw, message(body=body),
                          rcpts=("postmaster@winery-co.co",))
        assert (code, text) == (554, b"5.7.1 Not this one"), (code, text)
        assert not queued(gw)
        if stage == "body":
            assert len(fm.last.body) <= 65535
        assert fm.wait(lambda f: f.last.end in ("abort", "quit", "closed"))
