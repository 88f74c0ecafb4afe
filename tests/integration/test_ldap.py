"""The directory on LDAP, and scaling out to several gateways (postern.conf(5),
docs/ldap.md, docs/scale-out.md), end to end against a real slapd.

Each test starts its own slapd (ldapfix.py: a test-only slapd.conf and mdb
database under tmp_path, on 127.0.0.40, stopped by PID) and the world of
test_delivery.py (dnsmasq for split DNS, aiosmtpd sinks as mailbox
servers: mbx1 at 127.0.0.31 through DNS, kimy's at [127.0.0.32]).  The
gateways bind as a service account: anonymous clients can read nothing in
this slapd.  Searches are counted in slapd's `stats` log.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import (INTERNET, INTRANET, Gateway, assert_clean_exit,
                      free_port, gateway_config)
from ldapfix import BASE, BIND_DN, PASSWORD, Slapd, ldif
from netfix import wait_for
from test_delivery import EXTERNAL_DNS, INTERNAL_DNS, world  # noqa: F401

LDAP_ADDR = "127.0.0.40"
DEAD_LDAP = "127.0.0.41"
MBX1 = "127.0.0.31"
KIMY = "127.0.0.32"
# The second gateway of the scale-out tests.
INTERNET_B = "127.0.0.4"
INTRANET_B = "127.0.0.5"

ADOPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                     "scripts", "adopt-spool")

FILTER = "(|(mail=%s)(mailLocalAddress=%s)(mailLocalAddress=@%d))"


def config(tmp, port, dport, sport, uris, internet=INTERNET,
           intranet=INTRANET, cache="60s", password_file=None,
           starttls=False, extra_top="", timeout="2s", extra_dir=""):
    directory = f"""directory ldap {{
    uri {" ".join('"%s"' % u for u in uris)}
    base "{BASE}"
    bind-dn "{BIND_DN}"
    password-file {password_file or tmp + "/ldap.secret"}
    filter "{FILTER}"
    host-attribute mailHost
    alias-attribute rfc822MailMember
    starttls {"yes" if starttls else "no"}
    timeout {timeout}
    cache {cache}
{extra_dir}}}"""
    return gateway_config(
        tmp, port, directory=directory,
        top=extra_top + "\nlog-level debug\nmailbox-port %d\n"
        "mailbox-store %s/mailboxes\n" % (sport, tmp),
        dns="%s:%d" % (INTERNAL_DNS, dport),
        external_dns="%s:%d" % (EXTERNAL_DNS, dport),
        local_domains=("winery-co.co", "winery.local"),
        connector="    port %d" % sport, queue="    retry 1s\n    expire 1h",
        internet_addr=internet, intranet_addr=intranet)


class LdapGateway(Gateway):
    """A gateway of its own directory (tmp), on its own addresses."""

    def __init__(self, binary, tmp, text, port, internet, intranet):
        os.makedirs(tmp, exist_ok=True)
        with open(os.path.join(tmp, "ldap.secret"), "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(os.path.join(tmp, "ldap.secret"), 0o600)
        super().__init__(binary, tmp, text)
        self.port = port
        self.internet, self.intranet = internet, intranet

    def send(self, rcpts, sender="someone@example.org", server="internet",
             body="Subject: test\r\n\r\nhello\r\n"):
        c = self.smtp(server)
        try:
            return c.sendmail(sender, rcpts, body)
        finally:
            c.quit()

    def rcpt(self, addr, server="internet"):
        """The reply to RCPT TO:<addr>, as (code, text)."""
        c = self.smtp(server)
        try:
            c.ehlo()
            c.mail("someone@example.org")
            code, text = c.rcpt(addr)
            return code, text.decode()
        finally:
            c.quit()

    def queue_empty(self):
        return not os.listdir(os.path.join(self.spool, "queue"))


def winery_slapd(world, name, **kw):
    """The winery's directory (ldapfix.ldif) on LDAP_ADDR, started."""
    return Slapd(world.tmp, name, LDAP_ADDR,
                 ldif("[%s]:%d" % (KIMY, world.sport)), **kw).start()


@pytest.fixture
def slapd(world):
    s = winery_slapd(world, "a")
    yield s
    s.stop()


@pytest.fixture
def gateways(world):
    made = []

    def make(uris, name="a", internet=INTERNET, intranet=INTRANET,
             start=True, tmp=None, **kw):
        tmp = tmp or os.path.join(world.tmp, "gw-" + name)
        port = free_port(internet)
        text = config(tmp, port, world.dport, world.sport, uris,
                      internet=internet, intranet=intranet, **kw)
        gw = LdapGateway(world.binary, tmp, text, port, internet, intranet)
        made.append(gw)
        if start:
            gw.start()
        return gw

    yield make
    for gw in made:
        assert_clean_exit(gw, gw.stop())


def test_recipients_routed_through_ldap(world, slapd, gateways):
    mbx1 = world.sink(MBX1)
    kimy = world.sink(KIMY)
    gw = gateways([slapd.uri])
    gw.send(["ericm@winery-co.co", "KimY@Winery-co.co", "eric@winery-co.co",
             "bob@winery.local", "anyone@winery.local"])
    # bob has his own entry; anyone falls to the winery.local catch-all
    # that the filter also finds for bob.
    assert wait_for(lambda: mbx1.rcpts() == ["anyone@winery.local",
                                             "ericm@winery-co.co"])
    assert wait_for(lambda: kimy.rcpts() == ["bob@winery.local",
                                             "kimy@winery-co.co"])
    new = os.path.join(gw.tmp, "mailboxes", "eric@winery-co.co", "new")
    assert wait_for(lambda: os.path.isdir(new) and len(os.listdir(new)) == 1)
    assert gw.rcpt("nobody@winery-co.co")[0] == 550
    assert "5.1.1" in gw.rcpt("nobody@winery-co.co")[1]
    # Found twice: never a guess, never a 550.
    code, text = gw.rcpt("dup@winery-co.co")
    assert code == 451 and "4.3.0" in text
    assert "found 2 times" in gw.log()
    assert wait_for(gw.queue_empty)


def test_lists_expanded_once_and_loops_bounded(world, slapd, gateways):
    mbx1 = world.sink(MBX1)
    kimy = world.sink(KIMY)
    gw = gateways([slapd.uri])
    # team: ericm, KimY@Winery-Co.CO (case folded) and a value that is
    # no address (skipped, with a warning).
    gw.send(["team@winery-co.co"])
    assert wait_for(lambda: mbx1.rcpts() == ["ericm@winery-co.co"] and
                    kimy.rcpts() == ["kimy@winery-co.co"])
    assert '"not an address" is not an address' in gw.log()
    # all -> team (ericm, kimy), ericm, eric, kimy: each address once.
    gw.send(["all@winery-co.co"])
    assert wait_for(lambda: len(mbx1.messages) == 2 and len(kimy.messages) == 2)
    assert mbx1.messages[1][1] == ["ericm@winery-co.co"]
    assert kimy.messages[1][1] == ["kimy@winery-co.co"]
    new = os.path.join(gw.tmp, "mailboxes", "eric@winery-co.co", "new")
    assert wait_for(lambda: os.path.isdir(new) and len(os.listdir(new)) == 1)
    # loopa -> loopb -> loopa ...: ends, each member once.
    gw.send(["loopa@winery-co.co"])
    assert wait_for(lambda: len(mbx1.messages) == 3 and len(kimy.messages) == 3)
    assert mbx1.messages[2][1] == ["ericm@winery-co.co"]
    assert kimy.messages[2][1] == ["kimy@winery-co.co"]
    # deep0 -> ... -> deep11: past 10 levels.
    code, text = gw.rcpt("deep0@winery-co.co")
    assert code == 550 and "5.4.6" in text, text
    assert wait_for(gw.queue_empty)
    time.sleep(0.5)
    assert len(mbx1.messages) == 3 and len(kimy.messages) == 3


def test_groups_of_member_dns(world, slapd, gateways):
    """member-attribute: a group's member DNs are read for their address;
    nested groups follow; a loop ends; past 10 levels is 550 5.4.6."""
    mbx1 = world.sink(MBX1)
    kimy = world.sink(KIMY)
    gw = gateways([slapd.uri], extra_dir="    member-attribute member\n")
    # sales: ericm, kimy, a DN with no entry and a group of such DNs.
    gw.send(["sales@winery-co.co"])
    assert wait_for(lambda: mbx1.rcpts() == ["ericm@winery-co.co"] and
                    kimy.rcpts() == ["kimy@winery-co.co"])
    assert "group member uid=gone,ou=people,%s has no entry" % BASE in gw.log()
    # outer -> inner (a group with no address of its own) -> eric, and ericm.
    gw.send(["outer@winery-co.co"])
    assert wait_for(lambda: len(mbx1.messages) == 2)
    assert mbx1.messages[1][1] == ["ericm@winery-co.co"]
    new = os.path.join(gw.tmp, "mailboxes", "eric@winery-co.co", "new")
    assert wait_for(lambda: os.path.isdir(new) and len(os.listdir(new)) == 1)
    # grpa -> grpb -> grpa ...: each DN once; ericm and kimy once each.
    gw.send(["grpa@winery-co.co"])
    assert wait_for(lambda: len(mbx1.messages) == 3 and len(kimy.messages) == 2)
    assert mbx1.messages[2][1] == ["ericm@winery-co.co"]
    assert kimy.messages[1][1] == ["kimy@winery-co.co"]
    # gdeep0 -> ... -> gdeep11: past 10 levels.
    code, text = gw.rcpt("gdeep0@winery-co.co")
    assert code == 550 and "5.4.6" in text, text
    # Every member was read with a base-scope search of its own.
    assert "scope=0" in slapd.log()
    assert wait_for(gw.queue_empty)
    time.sleep(0.5)
    assert len(mbx1.messages) == 3 and len(kimy.messages) == 2


def test_groups_and_the_harvest_guard(world, slapd, gateways):
    """With member-attribute, a harvester still meets 550 5.1.1 for each
    unknown name and 421 past max-unknown-recipients (20 by default);
    groups found are not refusals."""
    world.sink(MBX1)
    world.sink(KIMY)
    gw = gateways([slapd.uri], extra_dir="    member-attribute member\n")
    c = gw.smtp()
    c.ehlo()
    c.mail("someone@example.org")
    for addr in ("sales@winery-co.co", "outer@winery-co.co",
                 "grpa@winery-co.co"):
        assert c.rcpt(addr)[0] == 250
    for i in range(20):
        code, text = c.rcpt("guess%d@winery-co.co" % i)
        assert code == 550 and b"5.1.1" in text, (i, code, text)
    code, text = c.rcpt("guess20@winery-co.co")
    assert code == 421 and b"4.7.0" in text
    c.close()


def test_groups_ignored_without_member_attribute(world, slapd, gateways):
    # Without member-attribute a group is an entry with no mailbox server:
    # unknown, as before.
    gw = gateways([slapd.uri])
    code, text = gw.rcpt("sales@winery-co.co")
    assert code == 550 and "5.1.1" in text, text


def test_filter_specials_never_widen_the_filter(world, slapd, gateways):
    world.sink(MBX1)
    gw = gateways([slapd.uri])
    for addr in ("*@winery-co.co", "star*@winery-co.co", "*user@winery-co.co",
                 '"x)(mail=*"@winery-co.co', '"*)(|(mail=*"@winery-co.co'):
        code, text = gw.rcpt(addr)
        assert code == 550 and "5.1.1" in text, (addr, code, text)
    # The addresses that do hold those characters are found, exactly.
    assert gw.rcpt("star*user@winery-co.co")[0] == 250
    assert gw.rcpt('"paren)(user"@winery-co.co')[0] == 250
    filters = slapd.filters()
    assert filters
    # A wildcard or a parenthesis of an address would show as a substring
    # filter or an extra item; slapd logs every filter as it parsed it.
    for f in filters:
        assert "=*" not in f, f
        assert "(mail=x)" not in f and "(mail=\"x)" not in f, f


def test_first_uri_dead_second_alive(world, slapd, gateways):
    mbx1 = world.sink(MBX1)
    dead = "ldap://%s:%d" % (DEAD_LDAP, free_port(DEAD_LDAP))
    gw = gateways([dead, slapd.uri])
    gw.send(["ericm@winery-co.co"])
    assert wait_for(lambda: mbx1.rcpts() == ["ericm@winery-co.co"])
    assert dead in gw.log()


def test_hung_first_server_times_out_to_the_second(world, slapd, gateways):
    # Accepts connections (the kernel's backlog) and never answers.
    hung = socket.socket()
    hung.bind((DEAD_LDAP, 0))
    hung.listen(16)
    try:
        world.sink(MBX1)
        gw = gateways(["ldap://%s:%d" % hung.getsockname(), slapd.uri])
        t0 = time.time()
        assert gw.rcpt("ericm@winery-co.co")[0] == 250
        assert 1.5 < time.time() - t0 < 8
        # Down now: it is retried in the background, never waited for
        # while the second server answers.
        for addr in ("kimy@winery-co.co", "bob@winery.local",
                     "eric@winery-co.co", "team@winery-co.co"):
            time.sleep(0.7)
            t0 = time.time()
            assert gw.rcpt(addr)[0] == 250
            assert time.time() - t0 < 1
        assert "no answer in 2 s" in gw.log() or \
            "Timed out" in gw.log() or "Can't contact" in gw.log(), gw.log()
    finally:
        hung.close()


def test_starttls_and_ldaps_check_the_certificate(world, gateways,
                                                  monkeypatch):
    s = winery_slapd(world, "tls", tls=True)
    try:
        mbx1 = world.sink(MBX1)
        # libldap's own variable names the CA (docs/ldap.md).
        monkeypatch.setenv("LDAPTLS_CACERT", s.cafile)
        a = gateways([s.uri], name="a", starttls=True)
        b = gateways([s.ldaps_uri], name="b", internet=INTERNET_B,
                     intranet=INTRANET_B)
        a.send(["ericm@winery-co.co"])
        b.send(["ericm@winery-co.co"])
        assert wait_for(lambda: len(mbx1.messages) == 2)
        assert "STARTTLS" in s.log()
        assert s.log().count("TLS established") >= 2
        # A certificate nobody vouches for: no directory, 451.
        monkeypatch.delenv("LDAPTLS_CACERT")
        monkeypatch.setenv("LDAPTLS_CACERT", "/nonexistent")
        c = gateways([s.uri], name="c", starttls=True,
                     internet="127.0.0.6", intranet="127.0.0.7")
        code, text = c.rcpt("ericm@winery-co.co")
        assert code == 451 and "4.3.0" in text
        assert "StartTLS" in c.log()
    finally:
        s.stop()


def test_tls_ca_names_the_directory_ca(world, gateways, monkeypatch):
    """tls-ca: the CA bundle of this directory alone, set on each
    connection (libldap's global settings name no CA here)."""
    s = winery_slapd(world, "tlsca", tls=True)
    try:
        mbx1 = world.sink(MBX1)
        monkeypatch.delenv("LDAPTLS_CACERT", raising=False)
        monkeypatch.setenv("LDAPTLS_CACERT", "/nonexistent")
        ca = "    tls-ca %s\n" % s.cafile
        a = gateways([s.uri], name="a", starttls=True, extra_dir=ca)
        b = gateways([s.ldaps_uri], name="b", internet=INTERNET_B,
                     intranet=INTRANET_B, extra_dir=ca)
        a.send(["ericm@winery-co.co"])
        b.send(["ericm@winery-co.co"])
        assert wait_for(lambda: len(mbx1.messages) == 2)
        assert s.log().count("TLS established") >= 2
        # Without it: the certificate is not trusted, no directory, 451.
        c = gateways([s.ldaps_uri], name="c", internet="127.0.0.6",
                     intranet="127.0.0.7")
        code, text = c.rcpt("ericm@winery-co.co")
        assert code == 451 and "4.3.0" in text
        assert "connect" in c.log()
        # A bundle that holds no certificate fails the connect: 451 too.
        bad = os.path.join(world.tmp, "bad-ca.pem")
        with open(bad, "w") as f:
            f.write("not a certificate\n")
        d = gateways([s.ldaps_uri], name="d", internet="127.0.0.8",
                     intranet="127.0.0.9", extra_dir="    tls-ca %s\n" % bad)
        code, text = d.rcpt("ericm@winery-co.co")
        assert code == 451 and "4.3.0" in text
        assert "connect" in d.log()
        # One that does not exist is a configuration error.
        e = gateways([s.ldaps_uri], name="e", start=False,
                     extra_dir="    tls-ca /nonexistent/ca.pem\n")
        r = subprocess.run([e.binary, "-n", "-f", e.conf],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "tls-ca /nonexistent/ca.pem" in \
            r.stderr, r.stderr
    finally:
        s.stop()


def test_check_and_reload(world, slapd, gateways):
    world.sink(MBX1)
    gw = gateways([slapd.uri], start=False)
    # -n checks the configuration (and reads the password file) without
    # asking the directory anything.
    slapd.stop()
    r = subprocess.run([gw.binary, "-n", "-f", gw.conf], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    os.unlink(os.path.join(gw.tmp, "ldap.secret"))
    r = subprocess.run([gw.binary, "-n", "-f", gw.conf], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "ldap.secret" in r.stderr, r.stderr
    with open(os.path.join(gw.tmp, "ldap.secret"), "w") as f:
        f.write(PASSWORD + "\n")
    slapd.start()
    gw.start()
    assert gw.rcpt("ericm@winery-co.co")[0] == 250
    # A reload opens a new directory; lookups go on through it.
    for _ in range(2):
        mark = len(gw.log())
        gw.proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "configuration reloaded" in gw.log()[mark:])
        assert gw.rcpt("kimy@winery-co.co")[0] == 250
    gw.send(["ericm@winery-co.co"])
    assert wait_for(gw.queue_empty)


@pytest.fixture
def opentmp():
    """A directory the unprivileged user may enter (tmp_path is root's)."""
    tmp = tempfile.mkdtemp(prefix="postern-ldap-priv-")
    os.chmod(tmp, 0o755)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_password_read_before_privileges_are_dropped(opentmp, world, slapd,
                                                     gateways):
    world.sink(MBX1)
    gw = gateways([slapd.uri], tmp=opentmp, extra_top="user nobody",
                  start=False)
    # Root's alone: read at start, before posternd becomes nobody.
    assert os.stat(os.path.join(opentmp, "ldap.secret")).st_mode & 0o077 == 0
    gw.start()
    assert gw.rcpt("ericm@winery-co.co")[0] == 250
    # A reload, as nobody, cannot read it: the password read at start
    # goes on, and so does the directory.
    mark = len(gw.log())
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "configuration reloaded" in gw.log()[mark:])
    assert "keeping the password read at start" in gw.log()[mark:]
    assert gw.rcpt("kimy@winery-co.co")[0] == 250


def test_wrong_password_is_a_temporary_failure(world, slapd, gateways):
    gw = gateways([slapd.uri], start=False)
    with open(os.path.join(gw.tmp, "ldap.secret"), "w") as f:
        f.write("wrong\n")
    gw.start()
    code, text = gw.rcpt("ericm@winery-co.co")
    assert code == 451 and "4.3.0" in text
    assert "Invalid credentials" in gw.log()


def test_slapd_down_tempfails_and_defers_then_delivers(world, slapd, gateways):
    gw = gateways([slapd.uri], cache="0s")
    # Accepted while slapd is up; mbx1 is not there yet: deferred.
    gw.send(["ericm@winery-co.co"])
    assert wait_for(lambda: "status=deferred" in gw.log())
    slapd.stop()
    code, text = gw.rcpt("kimy@winery-co.co")
    assert code == 451 and "4.3.0" in text, text
    # Now mbx1 answers, but the directory does not: still deferred.
    mbx1 = world.sink(MBX1)
    mark = len(gw.log())
    assert wait_for(lambda: "Directory temporarily unavailable" in
                    gw.log()[mark:])
    assert mbx1.rcpts() == [] and not gw.queue_empty()
    slapd.start()
    assert wait_for(lambda: mbx1.rcpts() == ["ericm@winery-co.co"], timeout=45)
    assert wait_for(gw.queue_empty)
    assert gw.rcpt("kimy@winery-co.co")[0] == 250


def test_burst_to_one_user_answered_from_the_cache(world, slapd, gateways):
    mbx1 = world.sink(MBX1)
    gw = gateways([slapd.uri])
    c = gw.smtp()
    for i in range(20):
        c.sendmail("someone@example.org", ["ericm@winery-co.co"],
                   "Subject: %d\r\n\r\nburst\r\n" % i)
    for i in range(5):
        c.ehlo()
        c.mail("someone@example.org")
        assert c.rcpt("nobody@winery-co.co")[0] == 550
        c.rset()
    c.quit()
    assert wait_for(lambda: len(mbx1.messages) == 20)
    # 20 RCPTs and 20 deliveries: one search.  The unknown address: one
    # search for it and one for its domain's catch-all.
    assert slapd.searches_for("mail=ericm@winery-co.co") == 1
    assert slapd.searches_for("mail=nobody@winery-co.co") == 1
    assert slapd.searches_for("mail=@winery-co.co") == 1
    # A cached answer is used while the directory is down.
    slapd.stop()
    gw.send(["ericm@winery-co.co"])
    assert wait_for(lambda: len(mbx1.messages) == 21)


def test_two_gateways_share_one_directory(world, slapd, gateways):
    mbx1 = world.sink(MBX1)
    kimy = world.sink(KIMY)
    a = gateways([slapd.uri], name="a")
    b = gateways([slapd.uri], name="b", internet=INTERNET_B,
                 intranet=INTRANET_B)
    a.send(["ericm@winery-co.co", "team@winery-co.co"],
           body="Subject: via a\r\n\r\na\r\n")
    b.send(["kimy@winery-co.co", "team@winery-co.co"],
           body="Subject: via b\r\n\r\nb\r\n")
    assert wait_for(lambda: len(mbx1.messages) == 2 and len(kimy.messages) == 2)
    time.sleep(0.5)
    subjects = sorted(m[2].split(b"Subject: ")[1].split(b"\r\n")[0]
                      for m in mbx1.messages + kimy.messages)
    assert subjects == [b"via a", b"via a", b"via b", b"via b"]
    assert sorted(r for m in mbx1.messages for r in m[1]) == \
        ["ericm@winery-co.co", "ericm@winery-co.co"]
    assert wait_for(a.queue_empty) and wait_for(b.queue_empty)
    # Each gateway keeps its own connection to the directory.
    assert slapd.log().count('BIND dn="%s"' % BIND_DN) >= 2


def test_spool_moved_to_another_gateway(world, slapd, gateways):
    """docs/scale-out.md, "When a gateway dies": its queue and state
    files, moved by scripts/adopt-spool into another gateway's spool while
    that one is stopped, are delivered by it, nothing lost and nothing
    twice."""
    mbx1 = world.sink(MBX1)
    a = gateways([slapd.uri], name="a")
    b = gateways([slapd.uri], name="b", internet=INTERNET_B,
                 intranet=INTRANET_B)
    # B has mail of its own, delivered.
    b.send(["ericm@winery-co.co"], body="Subject: b own\r\n\r\nb\r\n")
    assert wait_for(lambda: len(mbx1.messages) == 1)
    # On A: one message half delivered (ericm done, kimy's server down),
    # two waiting for kimy's server.
    a.send(["ericm@winery-co.co", "kimy@winery-co.co"],
           body="Subject: a half\r\n\r\nhalf\r\n")
    a.send(["kimy@winery-co.co"], body="Subject: a one\r\n\r\none\r\n")
    a.send(["team@winery-co.co"], body="Subject: a two\r\n\r\ntwo\r\n")
    assert wait_for(lambda: len(mbx1.messages) == 3)
    assert wait_for(lambda: a.log().count("status=deferred") >= 3)
    assert a.stop() == 0
    queued = sorted(os.listdir(os.path.join(a.spool, "queue")))
    assert len(queued) == 3
    # The move, as docs/scale-out.md says: B stopped, scripts/adopt-spool.
    assert b.stop() == 0
    r = subprocess.run([ADOPT, a.spool, b.spool], capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    assert "3 message(s) moved" in r.stdout
    assert not os.listdir(os.path.join(a.spool, "queue"))
    assert not os.listdir(os.path.join(a.spool, "state"))
    assert sorted(os.listdir(os.path.join(b.spool, "queue"))) == queued
    assert not os.listdir(os.path.join(b.spool, "incoming"))
    # Run again: nothing left to move, nothing doubled.
    r = subprocess.run([ADOPT, a.spool, b.spool], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "0 message(s) moved" in r.stdout
    kimy = world.sink(KIMY)
    b.start()
    assert "3 message(s) in the queue" in b.log()
    assert wait_for(lambda: len(kimy.messages) == 3)
    assert wait_for(b.queue_empty)
    time.sleep(1)
    got = sorted((m[2].split(b"Subject: ")[1].split(b"\r\n")[0], tuple(m[1]))
                 for m in kimy.messages)
    assert got == [(b"a half", ("kimy@winery-co.co",)),
                   (b"a one", ("kimy@winery-co.co",)),
                   (b"a two", ("kimy@winery-co.co",))]
    # mbx1: B's own, ericm of "a half" (by A, not again by B), "a two".
    got = sorted(m[2].split(b"Subject: ")[1].split(b"\r\n")[0]
                 for m in mbx1.messages)
    assert got == [b"a half", b"a two", b"b own"]
