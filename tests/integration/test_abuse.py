"""The abuse catalogue (issue 6): named bad inputs and the reply each must
get.  Each case runs a fresh session on the Internet-facing server with
MAIL/RCPT context as it needs, sends its bytes, and checks the reply to
the last command (code and enhanced status class) and that nothing was
queued unless the case says so.  docs/security.md maps these to the
promises they prove."""
import pytest

DIR = """\
ericm@winery-co.co   mbx1.winery.local
kimy@winery-co.co    mbx1.winery.local
loop1@winery-co.co   -> loop2@winery-co.co ericm@winery-co.co
loop2@winery-co.co   -> loop1@winery-co.co kimy@winery-co.co
"""

EHLO = b"EHLO client.example\r\n"
MAIL = b"MAIL FROM:<a@example.org>\r\n"
RCPT = b"RCPT TO:<ericm@winery-co.co>\r\n"


def rcpt(addr):
    return EHLO + MAIL + b"RCPT TO:<" + addr.encode() + b">\r\n"


def data(body):
    return [EHLO + MAIL + RCPT + b"DATA\r\n", body]


# name: (chunks, expected code, expected enhanced status prefix or None,
#        messages queued afterwards)
CASES = {
    # open-relay address tricks
    "percent-hack": (rcpt("user%example.org@winery-co.co"), 550, "5.1.1", 0),
    "source-route": (rcpt("@winery-co.co:user@example.org"), 550, "5.7.1", 0),
    "quoted-at": (rcpt('"user@example.org"@winery-co.co'), 550, "5.1.1", 0),
    "bang-path": (rcpt("example.org!user@winery-co.co"), 550, "5.1.1", 0),
    "ipv4-literal": (rcpt("user@[127.0.0.1]"), 550, "5.7.1", 0),
    "ipv6-literal": (rcpt("user@[IPv6:::1]"), 550, "5.7.1", 0),
    "trailing-dot": (rcpt("user@example.org."), 501, "5.1.3", 0),
    "local-as-prefix": (rcpt("user@winery-co.co.example.org"), 550, "5.7.1", 0),
    "local-subdomain": (rcpt("user@sub.winery-co.co"), 550, "5.7.1", 0),
    "mixed-case-remote": (rcpt("user@Example.ORG"), 550, "5.7.1", 0),
    "double-at": (rcpt("user@example.org@winery-co.co"), 501, "5.1.3", 0),
    "empty-rcpt": (rcpt(""), 501, "5.1.3", 0),
    "unbracketed-rcpt": (EHLO + MAIL + b"RCPT TO:user@example.org\r\n", 501, "5.1.3", 0),
    # SMTP smuggling: end-of-data variants (SEC Consult 2023)
    "smuggle-lf-dot-lf": (data(b"x\n.\nMAIL FROM:<e@x>\r\n.\r\n"), 521, "5.5.2", 0),
    "smuggle-lf-dot-crlf": (data(b"x\n.\r\nMAIL FROM:<e@x>\r\n.\r\n"), 521, "5.5.2", 0),
    "smuggle-crlf-dot-lf": (data(b"x\r\n.\nMAIL FROM:<e@x>\r\n.\r\n"), 521, "5.5.2", 0),
    "smuggle-cr-dot-cr": (data(b"x\r.\rMAIL FROM:<e@x>\r\n.\r\n"), 521, "5.5.2", 0),
    "smuggle-cr-dot-crlf": (data(b"x\r.\r\nMAIL FROM:<e@x>\r\n.\r\n"), 521, "5.5.2", 0),
    "smuggle-crlf-dot-cr": (data(b"x\r\n.\rMAIL FROM:<e@x>\r\n.\r\n"), 521, "5.5.2", 0),
    "smuggle-crlf-dot-crcrlf": (data(b"x\r\n.\r\r\nMAIL FROM:<e@x>\r\n.\r\n"), 521, "5.5.2", 0),
    "smuggle-nul-dot": (data(b"x\r\n\x00.\r\nMAIL FROM:<e@x>\r\n.\r\n"), 250, "2.0.0", 1),
    # command injection through MAIL FROM (CVE-2020-7247 class) and friends
    "mail-shell-metachars": (EHLO + b"MAIL FROM:<;sleep 66;@example.org>\r\n", 501, "5.1.7", 0),
    "mail-backtick": (EHLO + b"MAIL FROM:<`id`@example.org>\r\n", 250, "2.1.0", 0),
    "mail-cr-injection": (EHLO + b"MAIL FROM:<a@example.org>\rRCPT TO:<x@y>\r\n", 500, "5.5.2", 0),
    "mail-nul": (EHLO + b"MAIL FROM:<a\x00@example.org>\r\n", 500, "5.5.2", 0),
    "helo-cr-header-injection": (b"EHLO a\rX-Evil: 1\r\n", 500, "5.5.2", 0),
    "helo-lf-header-injection": (b"EHLO a\nX-Evil: 1\r\n", 500, "5.5.2", 0),
    "helo-too-long": (b"EHLO " + b"h" * 300 + b"\r\n", 501, "5.5.4", 0),
    "helo-missing": (b"EHLO\r\n", 501, "5.5.4", 0),
    # 8-bit without SMTPUTF8
    "utf8-sender-without-smtputf8": (EHLO + "MAIL FROM:<ä@example.org>\r\n".encode(), 553, "5.6.7", 0),
    "utf8-rcpt-without-smtputf8": (EHLO + MAIL + "RCPT TO:<ä@winery-co.co>\r\n".encode(), 553, "5.6.7", 0),
    "invalid-utf8-with-smtputf8": (EHLO + b"MAIL FROM:<\xc3@example.org> SMTPUTF8\r\n", 501, "5.1.7", 0),
    # overlong everything
    "command-line-2000": (b"NOOP " + b"x" * 2000 + b"\r\n", 500, "5.5.2", 0),
    "local-part-65": (rcpt("x" * 65 + "@winery-co.co"), 501, "5.1.3", 0),
    "domain-label-64": (rcpt("x@" + "d" * 64 + ".example"), 501, "5.1.3", 0),
    "path-over-256": (rcpt("x@" + ".".join(["d" * 60] * 5)), 501, "5.1.3", 0),
    "envid-too-long": (EHLO + b"MAIL FROM:<a@example.org> ENVID=" + b"e" * 600 + b"\r\n", 501, "5.5.4", 0),
    "size-param-overflow": (EHLO + b"MAIL FROM:<a@example.org> SIZE=99999999999999999999999\r\n", 501, "5.5.4", 0),
    "size-param-over-limit": (EHLO + b"MAIL FROM:<a@example.org> SIZE=999999999\r\n", 552, "5.3.4", 0),
    "duplicate-param": (EHLO + b"MAIL FROM:<a@example.org> SIZE=1 SIZE=2\r\n", 501, "5.5.4", 0),
    "notify-never-plus": (EHLO + MAIL + b"RCPT TO:<ericm@winery-co.co> NOTIFY=NEVER,SUCCESS\r\n", 501, "5.5.4", 0),
    "orcpt-bad-xtext": (EHLO + MAIL + b"RCPT TO:<ericm@winery-co.co> ORCPT=rfc822;a+ZZ\r\n", 501, "5.5.4", 0),
    "text-line-999": (data(b"Subject: x\r\n\r\n" + b"y" * 999 + b"\r\n.\r\n"), 554, "5.6.0", 0),
    "message-too-large": (data(b"Subject: x\r\n\r\n" + (b"y" * 900 + b"\r\n") * 120 + b".\r\n"), 552, "5.3.4", 0),
    "mail-loop-51-received": (data(b"".join(b"Received: from h%d\r\n" % i for i in range(51)) + b"\r\nx\r\n.\r\n"), 554, "5.4.6", 0),
    # sequence abuse
    "rcpt-before-mail": (EHLO + RCPT, 503, "5.5.1", 0),
    "data-before-rcpt": (EHLO + MAIL + b"DATA\r\n", 554, "5.5.1", 0),
    "mail-before-helo": (MAIL, 503, "5.5.1", 0),
    # BDAT (CHUNKING): refused chunks are still read, so what follows
    # them is never taken as commands; the last reply is the test's
    "bdat-before-mail": (EHLO + b"BDAT 15 LAST\r\nRCPT TO:<x@y>\r\n" + b"NOOP\r\n", 250, "2.0.0", 0),
    "bdat-before-mail-reply": (EHLO + b"BDAT 15 LAST\r\nRCPT TO:<x@y>\r\n", 503, "5.5.1", 0),
    "bdat-no-valid-rcpt": (EHLO + MAIL + b"RCPT TO:<x@example.net>\r\nBDAT 4 LAST\r\nQUIT", 554, "5.5.1", 0),
    "bdat-bare-lf": (EHLO + MAIL + RCPT + b"BDAT 20 LAST\r\nSubject: x\n\r\nhello\r\n", 554, "5.6.0", 0),
    "bdat-bare-cr-at-end": (EHLO + MAIL + RCPT + b"BDAT 17 LAST\r\nSubject: x\r\n\r\nab\r", 554, "5.6.0", 0),
    "bdat-smuggled-dot": (EHLO + MAIL + RCPT + b"BDAT 37 LAST\r\nSubject: x\r\n\r\na\r\n.\r\nMAIL FROM:<e@x>\r\n", 250, "2.0.0", 1),
    "bdat-size-garbage": (EHLO + MAIL + RCPT + b"BDAT 1x LAST\r\n", 501, "5.5.4", 0),
    "bdat-size-overflow": (EHLO + MAIL + RCPT + b"BDAT 99999999999999999999999\r\n", 501, "5.5.4", 0),
    "bdat-too-large": (EHLO + MAIL + RCPT + b"BDAT 130000 LAST\r\n" + (b"y" * 998 + b"\r\n") * 130, 552, "5.3.4", 0),
    "bdat-line-999": (EHLO + MAIL + RCPT + b"BDAT 1015 LAST\r\nSubject: x\r\n\r\n" + b"y" * 999 + b"\r\n", 554, "5.6.0", 0),
    "data-after-bdat": (EHLO + MAIL + RCPT + b"BDAT 3\r\nx\r\nDATA\r\n", 503, "5.5.1", 0),
    "starttls-not-offered": (EHLO + b"STARTTLS\r\n", 502, "5.5.1", 0),
    "auth-not-offered": (EHLO + b"AUTH PLAIN AGFhAGI=\r\n", 502, "5.5.1", 0),
    "expn": (EHLO + b"EXPN team\r\n", 502, "5.5.1", 0),
    # recursion through aliases: a loop expands each address once
    "alias-loop": (rcpt("loop1@winery-co.co") + b"DATA\r\nSubject: x\r\n\r\nx\r\n.\r\n", 250, "2.0.0", 1),
}


def session(gw):
    c = gw.raw("internet")
    assert c.reply()[0] == 220
    return c


@pytest.mark.parametrize("name", sorted(CASES))
def test_abuse_case(make_gateway, name):
    gw = make_gateway(directory=DIR)
    chunks, code, enh, queued = CASES[name]
    if isinstance(chunks, bytes):
        chunks = [chunks]
    c = session(gw)
    for chunk in chunks:
        c.send(chunk)
    replies = c.drain()
    got_code, text = replies[-1]
    assert got_code == code, (name, replies)
    if enh:
        assert text.split("\n")[-1][4:].startswith(enh), (name, text)
    c.close()
    msgs = gw.messages()
    assert len(msgs) == queued, name
    for m in msgs:
        assert b"X-Evil" not in m["body"]
        if name == "alias-loop":
            assert sorted(m["rcpts"]) == ["ericm@winery-co.co", "kimy@winery-co.co"]


def test_pipelining_flood(make_gateway):
    """100 000 pipelined commands: every one answered, in order, with the
    server reading only as fast as the client takes its replies."""
    gw = make_gateway()
    c = session(gw)
    n = 100000
    import threading
    def writer():
        c.sock.sendall(b"NOOP\r\n" * n + b"QUIT\r\n")
    t = threading.Thread(target=writer)
    t.start()
    for i in range(n):
        code, _ = c.reply()
        assert code == 250, i
    assert c.reply()[0] == 221
    t.join()


def test_thousand_recipients(make_gateway):
    gw = make_gateway(extra_top="", extra_intranet="    max-recipients 1000")
    c = gw.raw("intranet")
    assert c.reply()[0] == 220
    c.send(b"EHLO x\r\nMAIL FROM:<a@winery-co.co>\r\n" +
           b"".join(b"RCPT TO:<u%d@example.org>\r\n" % i for i in range(1000)) + b"DATA\r\n")
    codes = [c.reply()[0] for _ in range(1003)]
    assert codes[:2] == [250, 250] and set(codes[2:1002]) == {250} and codes[-1] == 354
    c.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
    assert c.reply()[0] == 250
    [m] = gw.messages()
    assert len(m["rcpts"]) == 1000


def test_100mb_line_is_refused_without_buffering(make_gateway):
    gw = make_gateway()
    c = session(gw)
    c.send(b"NOOP ")
    chunk = b"x" * (1 << 20)
    for _ in range(100):
        c.sock.sendall(chunk)
    c.send(b"\r\n")
    code, text = c.reply()
    assert code == 500 and "5.5.2" in text
    assert c.cmd("NOOP")[0] == 250
