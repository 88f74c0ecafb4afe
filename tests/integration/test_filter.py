"""Message filtering on the Internet-facing virtual server (postern.conf(5) `filter`,
docs/smtp.md; docs/filtering.md), with a real SMTP client against posternd:
connection filtering (CIDR lists in IPv4 and IPv6, allow-client
exceptions, DNSBL zones served by a test dnsmasq, a DNSBL server that is
down), the block-senders-file and its reload, blocked recipients, rate
limiting, the error counter of a refused client, the pre-greeting test,
and the log line every refusal leaves.

The basics that tests/integration/test_flow.py and test_smtp.py already
cover (block-sender in the configuration, an IPv4 block-client, unknown
recipients, the harvesting guard, max-errors, max-connections-per-ip)
are not repeated here.
"""
import os
import re
import signal
import socket
import subprocess
import time

from conftest import RawClient, free_port
from netfix import DNS, wait_for

DNSBL_ADDR = "127.0.0.55"
V6_NIBBLES = ".".join(["1"] + ["0"] * 31)      # ::1, reversed

DNSBL_RECORDS = [
    "--local=/bl.test/", "--local=/bl2.test/",
    "--host-record=66.0.0.127.bl.test,127.0.0.2",
    "--host-record=68.0.0.127.bl.test,127.0.0.2",
    "--host-record=67.0.0.127.bl2.test,127.0.0.3",
    "--host-record=%s.bl.test,127.0.0.4" % V6_NIBBLES,
    # The "query refused" answer of lists such as Spamhaus: never a listing.
    "--host-record=69.0.0.127.bl.test,127.255.255.254",
]

MESSAGE = "Subject: filter test\r\n\r\nhello\r\n"


def free_port6():
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        return s.getsockname()[1]


def raw6(port):
    """A client from ::1 to the gateway's [::1]:port listener."""
    return RawClient(socket.create_connection(("::1", port), timeout=30))


def line(c):
    """One reply line, as it arrives (multi-line replies line by line)."""
    while b"\r\n" not in c.buf:
        chunk = c.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; got %r" % c.buf)
        c.buf += chunk
    ln, c.buf = c.buf.split(b"\r\n", 1)
    return ln.decode()


def send_message(c, rcpt="ericm@winery-co.co", sender="a@example.org"):
    """A whole transaction on a greeted RawClient; the final reply code."""
    assert c.cmd("EHLO client.example")[0] == 250
    code, text = c.cmd("MAIL FROM:<%s>" % sender)
    if code != 250:
        return code, text
    assert c.cmd("RCPT TO:<%s>" % rcpt)[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(MESSAGE + ".\r\n")
    return c.reply()


def refusals(gw, rule):
    return [ln for ln in gw.log().splitlines()
            if " refused " in ln and "rule=%s" % rule in ln]


class DnsblWorld:
    """A dnsmasq serving bl.test and bl2.test, and the gateway config
    pieces that point the Internet-facing server's `dns` at it."""

    def __init__(self, tmp, records=DNSBL_RECORDS, up=True):
        self.port = free_port(DNSBL_ADDR)
        self.dns = DNS(tmp, "dnsbl", DNSBL_ADDR, self.port, records)
        if up:
            self.dns.start()

    def top(self):
        return "dns-list bl %s:%d\n" % (DNSBL_ADDR, self.port)

    def stop(self):
        self.dns.stop()


def internet(filter_lines, extra=""):
    return "    dns bl\n%s    filter {\n%s\n    }\n" % (extra, filter_lines)


# ---- connection filtering: CIDR lists ----

def test_block_client_cidr_allow_exception_and_ipv6(make_gateway):
    gw = make_gateway(extra_internet="""
    filter {
        block-client 127.0.0.64/28 ::1/128
        allow-client 127.0.0.70/32
    }""")
    # Inside the blocked block: 554 greeting, then only QUIT.
    c = gw.raw("internet", source="127.0.0.66")
    code, text = c.reply()
    assert code == 554 and "5.7.1" in text
    assert c.cmd("EHLO x")[0] == 554
    assert c.cmd("QUIT")[0] == 221
    c.close()
    # The exception inside it is served normally.
    c = gw.raw("internet", source="127.0.0.70")
    assert c.reply()[0] == 220
    assert send_message(c)[0] == 250
    c.cmd("QUIT")
    c.close()
    # Outside the block: unaffected.
    c = gw.raw("internet", source="127.0.0.80")
    assert c.reply()[0] == 220
    c.close()
    assert len(gw.messages()) == 1
    assert len(refusals(gw, "block-client")) == 1
    gw.stop()
    # An IPv6 block, on an IPv6 listener.
    port6 = free_port6()
    gw2 = make_gateway(extra_internet="""
    listen [::1]:%d
    filter {
        block-client ::/0
    }""" % port6)
    c = raw6(port6)
    code, text = c.reply()
    assert code == 554 and "5.7.1" in text
    c.close()
    # IPv6 rules do not touch IPv4 clients.
    c = gw2.raw("internet")
    assert c.reply()[0] == 220
    c.close()


def test_allow_client_ipv6_exception(make_gateway):
    port6 = free_port6()
    gw = make_gateway(extra_internet="""
    listen [::1]:%d
    filter {
        block-client ::/0 127.0.0.0/8
        allow-client ::1/128
    }""" % port6)
    c = raw6(port6)
    assert c.reply()[0] == 220
    assert send_message(c)[0] == 250
    c.close()
    c = gw.raw("internet")
    assert c.reply()[0] == 554
    c.close()


def test_refused_client_that_keeps_talking_is_disconnected(make_gateway):
    gw = make_gateway(extra_internet="""
    filter {
        block-client 127.0.0.66/32
    }""")
    c = gw.raw("internet", source="127.0.0.66")
    assert c.reply()[0] == 554
    for _ in range(3):          # max-errors 3 in the test configuration
        assert c.cmd("HELO x")[0] == 554
    code, text = c.cmd("HELO x")
    assert code == 421 and "4.7.0" in text
    assert c.closed()
    assert refusals(gw, "max-errors")


# ---- connection filtering: DNSBL ----

def test_dnsbl_listed_and_unlisted_ipv4_and_ipv6(make_gateway, tmp_path):
    w = DnsblWorld(str(tmp_path))
    try:
        port6 = free_port6()
        gw = make_gateway(extra_top=w.top(), extra_internet=internet(
            "        dnsbl bl.test\n        dnsbl bl2.test\n"
            "        allow-client 127.0.0.68/32",
            extra="    listen [::1]:%d\n" % port6))
        # Listed IPv4 client: 554 5.7.1 naming the list, then only QUIT.
        c = gw.raw("internet", source="127.0.0.66")
        code, text = c.reply()
        assert code == 554 and "5.7.1" in text and "bl.test" in text
        assert "127.0.0.66" in text
        code, text = c.cmd("MAIL FROM:<a@example.org>")
        assert code == 554 and "bl.test" in text
        assert c.cmd("QUIT")[0] == 221
        c.close()
        # Listed in the second zone only: that zone is named.
        c = gw.raw("internet", source="127.0.0.67")
        code, text = c.reply()
        assert code == 554 and "bl2.test" in text
        c.close()
        # Unlisted IPv4 client: mail accepted.
        c = gw.raw("internet", source="127.0.0.10")
        assert c.reply()[0] == 220
        assert send_message(c)[0] == 250
        c.close()
        # Listed IPv6 client (reversed nibbles).
        c = raw6(port6)
        code, text = c.reply()
        assert code == 554 and "bl.test" in text and "::1" in text
        c.close()
        # allow-client: listed, but exempt, and not even looked up.
        c = gw.raw("internet", source="127.0.0.68")
        assert c.reply()[0] == 220
        assert send_message(c)[0] == 250
        c.close()
        # A "query refused" answer (127.255.255.x) is no listing.
        c = gw.raw("internet", source="127.0.0.69")
        assert c.reply()[0] == 220
        c.close()
        names = [n for _, n in w.dns.queries()]
        assert "66.0.0.127.bl.test" in names
        assert "10.0.0.127.bl2.test" in names
        assert V6_NIBBLES + ".bl.test" in names
        assert not any(n.startswith("68.0.0.127.") for n in names)
        log = refusals(gw, "dnsbl")
        assert len(log) == 3, log
        assert "bl.test=127.0.0.2" in log[0] and "client=127.0.0.66" in log[0]
        assert "lookup failed" in gw.log()    # 127.255.255.254, logged
        # After a reload (new resolver profiles) the lists still apply.
        gw.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "configuration reloaded" in gw.log())
        c = gw.raw("internet", source="127.0.0.66")
        assert c.reply()[0] == 554
        c.close()
        assert len(gw.messages()) == 2
    finally:
        w.stop()


def test_trace_asks_the_dnsbl_like_the_server(make_gateway, tmp_path):
    """posternctl trace gives a DNSBL-listed client the 554 the server
    gives it (the same zones, the server's own `dns` profile); --no-dns
    skips the lookup and says so."""
    import json
    import subprocess
    w = DnsblWorld(str(tmp_path))
    try:
        gw = make_gateway(extra_top=w.top(), extra_internet=internet(
            "        dnsbl bl.test\n        dnsbl bl2.test"))
        ctl = os.path.join(os.path.dirname(gw.binary), "posternctl")

        def trace(client, *extra):
            r = subprocess.run([ctl, "-c", gw.conf, "trace", "--json",
                                "--server", "internet", "--client", client]
                               + list(extra) + ["ericm@winery-co.co"],
                               capture_output=True, text=True, timeout=30)
            assert r.returncode == 0, r.stderr
            return json.loads(r.stdout)[0]

        c = gw.raw("internet", source="127.0.0.66")
        real = c.reply()
        c.close()
        t = trace("127.0.0.66")
        assert not t["accepted"] and t["rule"] == "dnsbl", t
        assert t["reply"] == "%d %s" % (real[0], real[1][4:]), (t, real)
        assert "bl.test" in t["note"]
        t = trace("127.0.0.10")
        assert t["accepted"] and "not listed" in t["note"], t
        t = trace("127.0.0.66", "--no-dns")
        assert t["accepted"] and "DNSBL not asked" in t["note"], t
    finally:
        w.stop()


def test_dnsbl_unlisted_ipv6(make_gateway, tmp_path):
    w = DnsblWorld(str(tmp_path))
    try:
        port6 = free_port6()
        gw = make_gateway(extra_top=w.top(), extra_internet=internet(
            "        dnsbl bl2.test",
            extra="    listen [::1]:%d\n" % port6))
        c = raw6(port6)
        assert c.reply()[0] == 220
        assert send_message(c)[0] == 250
        c.close()
        assert (V6_NIBBLES + ".bl2.test") in [n for _, n in w.dns.queries()]
        assert len(gw.messages()) == 1
    finally:
        w.stop()


def test_dnsbl_server_down_fails_open(make_gateway, tmp_path):
    w = DnsblWorld(str(tmp_path), up=False)     # nothing answers there
    gw = make_gateway(extra_top=w.top(), extra_internet=internet(
        "        dnsbl bl.test"))
    c = gw.raw("internet", source="127.0.0.66")
    code, text = c.reply()
    assert code == 220, text
    assert send_message(c)[0] == 250
    c.close()
    assert len(gw.messages()) == 1
    assert re.search(r"client=127\.0\.0\.66 dnsbl=bl\.test lookup failed, "
                     r"not refusing", gw.log())
    assert not refusals(gw, "dnsbl")


# ---- sender filtering: block-senders-file ----

def test_block_senders_file_and_reload(make_gateway, tmp_path):
    path = os.path.join(str(tmp_path), "blocked-senders")
    with open(path, "w") as f:
        f.write("# spammers\n"
                "spam@bad.example\n"
                "  @worse.example   # the whole domain\n"
                "<>\n")
    gw = make_gateway(extra_internet="""
    filter {
        block-senders-file %s
    }""" % path)

    def mail(sender):
        c = gw.raw("internet")
        c.reply()
        c.cmd("EHLO x")
        code, text = c.cmd("MAIL FROM:<%s>" % sender)
        c.close()
        return code, text

    for sender in ["spam@bad.example", "SPAM@Bad.Example", "x@worse.example",
                   ""]:
        code, text = mail(sender)
        assert code == 550 and "5.7.1" in text, sender
    assert mail("ok@bad.example")[0] == 250
    assert mail("new@spam.example")[0] == 250
    assert len(refusals(gw, "block-senders-file")) == 4

    # Reloaded on SIGHUP: a new entry applies, a removed one no longer.
    with open(path, "w") as f:
        f.write("new@spam.example\r\n")
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: gw.log().count("configuration reloaded") == 1)
    assert mail("new@spam.example")[0] == 550
    assert mail("spam@bad.example")[0] == 250
    assert mail("")[0] == 250

    # A bad line refuses the reload (FILE:LINE) and the old list stays.
    with open(path, "w") as f:
        f.write("fine@x.example\nnot an address\n")
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in gw.log())
    assert "%s:2: " % path in gw.log()
    assert mail("new@spam.example")[0] == 550
    assert mail("fine@x.example")[0] == 250


def test_block_senders_file_errors_at_start(make_gateway, tmp_path):
    path = os.path.join(str(tmp_path), "blocked-senders")
    with open(path, "w") as f:
        f.write("ok@x.example\n@bad..example\n")
    gw = make_gateway(start=False, extra_internet="""
    filter {
        block-senders-file %s
    }""" % path)
    open(gw.logpath, "a").close()   # the fixture reads it at teardown
    p = subprocess.run([gw.binary, "-n", "-f", gw.conf], capture_output=True,
                       text=True)
    assert p.returncode == 1
    assert p.stderr.startswith("%s:2: bad sender" % path), p.stderr
    os.unlink(path)
    p = subprocess.run([gw.binary, "-n", "-f", gw.conf], capture_output=True,
                       text=True)
    assert p.returncode == 1 and path in p.stderr


# ---- recipient filtering ----

def test_blocked_recipient_and_unknown_recipient(make_gateway):
    gw = make_gateway(extra_internet="""
    filter {
        block-recipient kimy@winery-co.co
    }""")
    c = gw.raw("internet")
    c.reply()
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<a@example.org>")
    code, text = c.cmd("RCPT TO:<KimY@winery-co.co>")
    assert code == 550 and "5.7.1" in text
    code, text = c.cmd("RCPT TO:<nobody@winery-co.co>")
    assert code == 550 and "5.1.1" in text
    assert c.cmd("RCPT TO:<ericm@winery-co.co>")[0] == 250
    c.close()
    # The intranet server has no such rule.
    c = gw.smtp("intranet")
    c.ehlo("x")
    c.mail("ericm@winery-co.co")
    assert c.rcpt("kimy@winery-co.co")[0] == 250
    c.quit()
    assert len(refusals(gw, "block-recipient")) == 1
    assert len(refusals(gw, "unknown-user")) == 1


# ---- rate limiting and abuse control ----

def test_rate_limit(make_gateway):
    gw = make_gateway(extra_internet="""
    filter {
        rate-limit 3/m
    }""")
    # Three messages in two connections, then the fourth MAIL: 421, closed.
    c = gw.raw("internet")
    c.reply()
    assert send_message(c)[0] == 250
    assert send_message(c)[0] == 250
    c.cmd("QUIT")
    c.close()
    c = gw.raw("internet")
    c.reply()
    assert send_message(c)[0] == 250
    code, text = send_message(c)
    assert code == 421 and "4.7.0" in text
    assert c.closed()
    # Counted per client address.
    c = gw.raw("internet", source="127.0.0.11")
    c.reply()
    assert send_message(c)[0] == 250
    c.close()
    # Still refused for the first address within the minute.
    c = gw.raw("internet")
    c.reply()
    assert send_message(c)[0] == 421
    c.close()
    assert len(gw.messages()) == 4
    assert len(refusals(gw, "rate-limit")) == 2


def test_pregreet_refused_patient_client_served(make_gateway, tmp_path):
    w = DnsblWorld(str(tmp_path))
    try:
        gw = make_gateway(extra_top=w.top(), extra_internet=internet(
            "        greet-wait 1s\n        dnsbl bl.test"))
        # Impatient: talks after "220-", before the final line.
        c = gw.raw("internet")
        first = line(c)
        assert first.startswith("220-gateway.winery-co.co")
        c.send("EHLO early.example\r\n")
        code, text = c.reply()
        assert code == 554 and "5.5.1" in text
        assert c.closed()
        log = refusals(gw, "pregreet")
        assert len(log) == 1 and '"EHLO early.example..' in log[0]
        # Patient: "220-" at once, "220 " after the wait, then business.
        t0 = time.time()
        c = gw.raw("internet")
        assert line(c).startswith("220-")
        last = line(c)
        assert last.startswith("220 gateway.winery-co.co")
        assert time.time() - t0 >= 0.9
        assert send_message(c)[0] == 250
        c.close()
        # Listed: the greeting's last line is the DNSBL refusal.
        c = gw.raw("internet", source="127.0.0.66")
        assert line(c).startswith("220-")
        code, text = c.reply()
        assert code == 554 and "bl.test" in text
        assert c.cmd("QUIT")[0] == 221
        c.close()
        assert len(gw.messages()) == 1
    finally:
        w.stop()


def test_every_refusal_is_one_log_line(make_gateway):
    gw = make_gateway(extra_internet="""
    filter {
        block-sender @bad.example
    }""")
    c = gw.raw("internet")
    c.reply()
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<x@bad.example>")
    c.cmd("MAIL FROM:<a@example.org>")
    c.cmd("RCPT TO:<x@example.net>")
    for i in range(4):          # max-unknown-recipients 3: the 4th is 421
        c.cmd("RCPT TO:<nobody%d@winery-co.co>" % i)
    assert c.closed()
    log = gw.log()
    pat = r"session=[0-9a-f]{16} client=127\.0\.0\.10 refused %s rule=%s %s: %s"
    assert re.search(pat % ("MAIL", "block-sender", r"<x@bad\.example>",
                            r"550 5\.7\.1 "), log)
    assert re.search(pat % ("RCPT", "relay", r"x@example\.net",
                            r"550 5\.7\.1 "), log)
    assert len(re.findall(pat % ("RCPT", "unknown-user", r"nobody\d@\S+",
                                 r"550 5\.1\.1 "), log)) == 3
    assert re.search(pat % ("RCPT", "max-unknown-recipients", r"\S+",
                            r"421 4\.7\.0 "), log)
