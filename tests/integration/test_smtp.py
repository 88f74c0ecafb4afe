"""SMTP behaviour of docs/smtp.md seen by a real client: reply codes,
limits, pipelining, DATA handling and the SMTP smuggling class."""
import signal
import socket
import time

import pytest


def session(gw, server="internet"):
    c = gw.raw(server)
    code, _ = c.reply()
    assert code == 220
    return c


def test_ehlo_extensions_and_simple_commands(gateway):
    c = session(gateway)
    code, text = c.cmd("EHLO client.example")
    assert code == 250
    for ext in ["PIPELINING", "SIZE 102400", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8"]:
        assert ext in text
    assert "STARTTLS" not in text and "AUTH" not in text
    assert c.cmd("NOOP") == (250, "250 2.0.0 Ok")
    assert c.cmd("VRFY ericm")[0] == 252
    assert c.cmd("HELP")[0] == 214
    assert c.cmd("RSET")[0] == 250
    code, text = c.cmd("QUIT")
    assert code == 221 and "2.0.0" in text
    assert c.closed()


def test_helo_is_plain_smtp(gateway):
    c = session(gateway)
    code, text = c.cmd("HELO client.example")
    assert code == 250 and "PIPELINING" not in text


@pytest.mark.parametrize("cmds,expect", [
    (["MAIL FROM:<a@example.org>"], (503, "5.5.1")),
    (["EHLO x", "RCPT TO:<ericm@winery-co.co>"], (503, "5.5.1")),
    (["EHLO x", "DATA"], (503, "5.5.1")),
    (["EHLO x", "MAIL FROM:<a@example.org>", "DATA"], (554, "5.5.1")),
    (["EHLO x", "MAIL FROM:<a@example.org>", "MAIL FROM:<a@example.org>"], (503, "5.5.1")),
    (["FOO"], (500, "5.5.2")),
    (["EHLO"], (501, "5.5.4")),
    (["EHLO x", "MAIL FROM:a@example.org"], (501, "5.1.7")),
    (["EHLO x", "MAIL TO:<a@example.org>"], (501, "5.5.4")),
    (["EHLO x", "MAIL FROM:<a@@example.org>"], (501, "5.1.7")),
    (["EHLO x", "MAIL FROM:<a@example.org> FOO=BAR"], (555, "5.5.4")),
    (["EHLO x", "MAIL FROM:<a@example.org> SIZE=999999999"], (552, "5.3.4")),
    (["EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<b@@winery-co.co>"], (501, "5.1.3")),
    (["EHLO x", "MAIL FROM:<a@example.org>", "RCPT TO:<ericm@winery-co.co> FOO"], (555, "5.5.4")),
    (["EHLO x", "MAIL FROM:<ä@example.org>"], (553, "5.6.7")),
    (["STARTTLS"], (502, "5.5.1")),
    (["AUTH PLAIN"], (502, "5.5.1")),
])
def test_reply_codes(gateway, cmds, expect):
    c = session(gateway)
    for line in cmds[:-1]:
        code, text = c.cmd(line)
        assert code < 400, (line, text)
    code, text = c.cmd(cmds[-1])
    assert (code, text[4:9]) == expect, text


def test_utf8_sender_with_smtputf8(gateway):
    c = session(gateway)
    c.cmd("EHLO x")
    assert c.cmd("MAIL FROM:<ä@example.org> SMTPUTF8")[0] == 250
    assert c.cmd("RCPT TO:<ericm@winery-co.co>")[0] == 250


def test_too_many_recipients(gateway):
    c = session(gateway)
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    for i in range(5):
        assert c.cmd("RCPT TO:<x%d@winery.local>" % i)[0] == 250
    code, text = c.cmd("RCPT TO:<x9@winery.local>")
    assert code == 452 and "4.5.3" in text


def test_command_line_too_long_then_resync(gateway):
    c = session(gateway)
    code, text = c.cmd("NOOP " + "x" * 1100)
    assert code == 500 and "5.5.2" in text
    assert c.cmd("NOOP")[0] == 250
    code, text = c.cmd("NOOP " + "x" * 1019)   # exactly the limit
    assert code == 250


def test_bare_lf_in_command(gateway):
    c = session(gateway)
    c.send("NOOP\n")
    code, text = c.reply()
    assert code == 500 and "5.5.2" in text


def test_max_errors_disconnects(gateway):
    c = session(gateway)
    for _ in range(3):
        assert c.cmd("BOGUS")[0] == 500
    code, text = c.cmd("BOGUS")
    assert code == 421 and "4.7.0" in text
    assert c.closed()


def test_max_unknown_recipients_disconnects(gateway):
    c = session(gateway)
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    for i in range(3):
        assert c.cmd("RCPT TO:<nobody%d@winery-co.co>" % i)[0] == 550
    code, text = c.cmd("RCPT TO:<nobody9@winery-co.co>")
    assert code == 421 and "4.7.0" in text
    assert c.closed()


def transaction(c, body, rcpt="ericm@winery-co.co"):
    c.cmd("EHLO x")
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % rcpt)[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(body)
    return c.reply()


def test_dot_unstuffing_and_received(gateway):
    c = session(gateway)
    code, text = transaction(c, b"Subject: x\r\n\r\n..leading dot\r\n.\r\n")
    assert code == 250 and "2.0.0 Ok: queued as " in text
    qid = text.split()[-1]
    [m] = gateway.messages()
    assert m["id"] == qid
    assert m["body"].endswith(b"\r\n\r\n.leading dot\r\n")
    assert m["body"].count(b"Received:") == 1


def test_message_too_large(gateway):
    c = session(gateway)
    code, text = transaction(c, b"Subject: x\r\n\r\n" + (b"y" * 900 + b"\r\n") * 120 + b".\r\n")
    assert code == 552 and "5.3.4" in text
    assert gateway.messages() == []
    # The session goes on.
    assert c.cmd("NOOP")[0] == 250


def test_text_line_too_long(gateway):
    c = session(gateway)
    code, text = transaction(c, b"Subject: x\r\n\r\n" + b"y" * 999 + b"\r\n.\r\n")
    assert code == 554 and "5.6.0" in text
    c = session(gateway)
    code, text = transaction(c, b"Subject: x\r\n\r\n" + b"y" * 998 + b"\r\n.\r\n")
    assert code == 250


def test_mail_loop_refused(gateway):
    c = session(gateway)
    hdrs = b"".join(b"Received: from h%d by h%d\r\n" % (i, i) for i in range(51))
    code, text = transaction(c, hdrs + b"Subject: x\r\n\r\nbody\r\n.\r\n")
    assert code == 554 and "5.4.6" in text
    c = session(gateway)
    hdrs = b"".join(b"Received: from h%d by h%d\r\n" % (i, i) for i in range(50))
    assert transaction(c, hdrs + b"Subject: x\r\n\r\nbody\r\n.\r\n")[0] == 250


@pytest.mark.parametrize("smuggle", [
    b"\n.\n", b"\n.\r\n", b"\r\n.\n", b"\r.\r\n", b"\r\n.\r",
])
def test_smtp_smuggling_impossible(gateway, smuggle):
    c = session(gateway)
    body = (b"Subject: x\r\n\r\nhello" + smuggle +
            b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<kimy@winery-co.co>\r\n"
            b"DATA\r\n\r\nsmuggled\r\n.\r\n")
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<ericm@winery-co.co>")
    assert c.cmd("DATA")[0] == 354
    c.send(body)
    code, text = c.reply()
    assert code == 521 and "5.5.2" in text
    assert c.closed()
    assert gateway.messages() == []


def test_pipelined_transaction_in_one_write(gateway):
    c = session(gateway)
    c.send(b"EHLO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<ericm@winery-co.co>\r\n"
           b"RCPT TO:<nobody@winery-co.co>\r\nRCPT TO:<kimy@winery-co.co>\r\nDATA\r\n")
    codes = [c.reply()[0] for _ in range(6)]
    assert codes == [250, 250, 250, 550, 250, 354]
    c.send(b"Subject: p\r\n\r\nhi\r\n.\r\nMAIL FROM:<b@example.org>\r\n"
           b"RCPT TO:<ericm@winery-co.co>\r\nDATA\r\n")
    assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send(b"x\r\n.\r\nQUIT\r\n")
    assert [c.reply()[0] for _ in range(2)] == [250, 221]
    msgs = gateway.messages()
    assert sorted(len(m["rcpts"]) for m in msgs) == [1, 2]


def test_max_connections_per_ip(gateway):
    conns = [session(gateway) for _ in range(4)]
    c = gateway.raw("internet")
    code, text = c.reply()
    assert code == 421 and "4.7.0" in text
    # Another client address is not affected.
    other = gateway.raw("internet", source="127.0.0.11")
    assert other.reply()[0] == 220
    for x in conns:
        x.close()


def test_idle_timeout(make_gateway):
    gw = make_gateway(extra_intranet="    timeout 1s")
    c = gw.raw("intranet")
    assert c.reply()[0] == 220
    code, text = c.reply()
    assert code == 421 and "4.4.2" in text
    assert c.closed()


def test_sigterm_sends_421_to_idle_and_finishes_transaction(gateway):
    idle = session(gateway)
    busy = session(gateway, "intranet")
    busy.cmd("EHLO x")
    busy.cmd("MAIL FROM:<a@winery-co.co>")
    busy.cmd("RCPT TO:<someone@example.org>")
    assert busy.cmd("DATA")[0] == 354
    gateway.proc.send_signal(signal.SIGTERM)
    code, text = idle.reply()
    assert code == 421 and "4.3.2" in text
    busy.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    code, text = busy.reply()
    assert code == 250
    code, text = busy.reply()
    assert code == 421 and "4.3.2" in text
    assert gateway.proc.wait(30) == 0
    assert len(gateway.messages()) == 1
