"""The delivering side end to end (README.md, postern.conf(5), docs/smtp.md): split DNS served by two
real dnsmasq instances, aiosmtpd sinks standing in for mailbox servers
and Internet MX hosts, retries, DSNs, the Maildir store."""
import email
import os
import signal
import time

import pytest

from conftest import Gateway, free_port, gateway_config, INTERNET, INTRANET
from netfix import DNS, Sink, wait_for

INTERNAL_DNS = "127.0.0.53"
EXTERNAL_DNS = "127.0.0.54"


def directory(sp):
    return f"""\
ericm@winery-co.co   mbx1.winery.local
kimy@winery-co.co    [127.0.0.32]:{sp}
postmaster@winery-co.co local
eric@winery-co.co    local
team@winery-co.co    -> ericm@winery-co.co kimy@winery-co.co someone@example.org
"""


def config(tmp, port, dport, sport, queue="retry 1s\n    expire 1h", extra="",
           intranet=""):
    return gateway_config(
        tmp, port,
        top="log-level debug\nmailbox-port %d\nmailbox-store %s/mailboxes\n"
        % (sport, tmp),
        dns="%s:%d" % (INTERNAL_DNS, dport),
        external_dns="%s:%d" % (EXTERNAL_DNS, dport),
        intranet=intranet, connector="    port %d" % sport,
        queue="    " + queue) + extra


INTERNAL_RECORDS = [
    "--local=/winery.local/",
    "--host-record=mbx1.winery.local,127.0.0.31",
]

EXTERNAL_RECORDS = [
    "--local=/example.org/", "--local=/example/",
    "--mx-host=example.org,mx1.example.org,10",
    "--mx-host=example.org,mx2.example.org,20",
    "--host-record=mx1.example.org,127.0.0.61",
    "--host-record=mx2.example.org,127.0.0.62",
    "--mx-host=fallback.example,dead.fallback.example,10",
    "--mx-host=fallback.example,good.fallback.example,20",
    "--host-record=dead.fallback.example,127.0.0.63",
    "--host-record=good.fallback.example,127.0.0.64",
    "--mx-host=busy.example,busy.busy.example,10",
    "--mx-host=busy.example,good.busy.example,20",
    "--host-record=busy.busy.example,127.0.0.65",
    "--host-record=good.busy.example,127.0.0.66",
    "--host-record=implicit.example,127.0.0.67",
    "--mx-host=reject.example,mx.reject.example,10",
    "--host-record=mx.reject.example,127.0.0.68",
    "--mx-host=later.example,mx.later.example,10",
    "--host-record=mx.later.example,127.0.0.69",
    "--dns-rr=nullmx.example,15,000000",
    "--mx-host=loop.example,mx.loop.example,10",
    "--host-record=mx.loop.example,127.0.0.74",
]


class World:
    """The two DNS servers, the sinks and the gateway of a test (other
    tests give their own records and gateway: test_authentication.py)."""

    def __init__(self, tmp, binary, internal=INTERNAL_RECORDS,
                 external=EXTERNAL_RECORDS):
        self.tmp = tmp
        self.binary = binary
        self.dport = free_port(INTERNAL_DNS)
        self.sport = free_port("127.0.0.31")
        self.internal = DNS(tmp, "internal", INTERNAL_DNS, self.dport, internal)
        self.external = DNS(tmp, "external", EXTERNAL_DNS, self.dport, external)
        self.sinks = {}
        self.gw = None

    def sink(self, addr, **kw):
        s = Sink(addr, self.sport, **kw).start()
        self.sinks[addr] = s
        return s

    def gateway(self, **kw):
        port = free_port(INTERNET)
        self.gw = Gateway(self.binary, self.tmp,
                          config(self.tmp, port, self.dport, self.sport, **kw),
                          directory(self.sport))
        self.gw.port = port
        return self.gw.start()

    def send(self, server, sender, rcpts, body="Subject: test\r\n\r\nhello\r\n"):
        c = self.gw.smtp(server)
        try:
            return c.sendmail(sender, rcpts, body)
        finally:
            c.quit()

    def queue_empty(self):
        return not os.listdir(os.path.join(self.gw.spool, "queue"))

    def close(self):
        if self.gw:
            self.gw.stop()
        for s in self.sinks.values():
            s.stop()
        self.internal.stop()
        self.external.stop()


def running(w):
    """A world's servers for the length of a test, then its checks."""
    w.internal.start()
    w.external.start()
    yield w
    w.close()
    log = w.gw.log() if w.gw else ""
    assert "ERROR: AddressSanitizer" not in log, log
    assert "runtime error:" not in log, log


@pytest.fixture
def world(tmp_path, posternd_bin):
    yield from running(World(str(tmp_path), posternd_bin))


def test_internet_to_local_user_reaches_mailbox_server(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    world.send("internet", "someone@example.org", ["ericm@winery-co.co"])
    assert wait_for(lambda: mbx1.rcpts() == ["ericm@winery-co.co"])
    assert wait_for(world.queue_empty)
    sender, _, content = mbx1.messages[0]
    assert sender == "someone@example.org"
    assert content.startswith(b"Received: from ")


def test_intranet_to_local_user_at_address_literal(world):
    kimy = world.sink("127.0.0.32")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["kimy@winery-co.co"])
    assert wait_for(lambda: kimy.rcpts() == ["kimy@winery-co.co"])


def test_intranet_to_internet_uses_external_dns_only(world):
    mx1 = world.sink("127.0.0.61")
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["someone@example.org"])
    world.send("internet", "x@example.org", ["ericm@winery-co.co"])
    assert wait_for(lambda: mx1.rcpts() == ["someone@example.org"])
    assert wait_for(lambda: mbx1.rcpts() == ["ericm@winery-co.co"])
    internal = {n for _, n in world.internal.queries()}
    external = {n for _, n in world.external.queries()}
    assert "example.org" in external and "mx1.example.org" in external
    assert not any(n.endswith("example.org") for n in internal), internal
    assert "mbx1.winery.local" in internal
    assert not any("winery" in n for n in external), external


def test_relay_keeps_the_local_part_as_written(world):
    """RFC 5321 2.4: a relay never changes an address; only lookups and
    the duplicate check ignore case (two spellings are one recipient)."""
    mx1 = world.sink("127.0.0.61")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co",
               ["John.Smith@Example.ORG", "john.smith@example.org"])
    assert wait_for(lambda: mx1.rcpts() == ["John.Smith@example.org"])
    assert wait_for(world.queue_empty)
    assert mx1.rcpts() == ["John.Smith@example.org"]


def test_mx_fallback_on_refused_connection(world):
    good = world.sink("127.0.0.64")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@fallback.example"])
    assert wait_for(lambda: good.rcpts() == ["a@fallback.example"])


def test_mx_fallback_on_4xx(world):
    busy = world.sink("127.0.0.65", rcpt_reply={"a@busy.example": "451 4.3.2 try later"})
    good = world.sink("127.0.0.66")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@busy.example"])
    assert wait_for(lambda: good.rcpts() == ["a@busy.example"])
    assert busy.rcpts() == []


def test_mx_preference_order(world):
    mx1 = world.sink("127.0.0.61")
    mx2 = world.sink("127.0.0.62")
    world.gateway()
    for i in range(3):
        world.send("intranet", "ericm@winery-co.co", ["u%d@example.org" % i])
    assert wait_for(lambda: len(mx1.rcpts()) == 3)
    assert mx2.rcpts() == []


def test_implicit_mx(world):
    host = world.sink("127.0.0.67")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@implicit.example"])
    assert wait_for(lambda: host.rcpts() == ["a@implicit.example"])


def dsns(sink):
    out = []
    for sender, rcpts, content in sink.messages:
        if sender in ("", "<>"):
            out.append(email.message_from_bytes(content))
    return out


def test_nxdomain_bounces_to_local_sender(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@nowhere.example"])
    assert wait_for(lambda: dsns(mbx1))
    [dsn] = dsns(mbx1)
    assert dsn.get_content_type() == "multipart/report"
    report = [p for p in dsn.walk() if p.get_content_type() == "message/delivery-status"]
    assert report
    text = dsn.as_string()
    assert "a@nowhere.example" in text and "Action: failed" in text
    assert wait_for(world.queue_empty)


def test_5xx_rcpt_gives_exactly_one_dsn(world):
    world.sink("127.0.0.68", rcpt_reply={"bad@reject.example": "550 5.1.1 no such user"})
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["bad@reject.example", "ok@reject.example"])
    assert wait_for(lambda: dsns(mbx1))
    time.sleep(1.5)
    [dsn] = dsns(mbx1)
    text = dsn.as_string()
    assert "bad@reject.example" in text and "5.1.1" in text
    assert "ok@reject.example" not in text.split("message/rfc822")[0].split("delivery-status")[-1]
    assert world.sinks["127.0.0.68"].rcpts() == ["ok@reject.example"]


def test_local_mailbox_store(world):
    world.gateway()
    world.send("internet", "someone@example.org", ["eric@winery-co.co"])
    new = os.path.join(world.tmp, "mailboxes", "eric@winery-co.co", "new")
    assert wait_for(lambda: os.path.isdir(new) and os.listdir(new))
    [name] = os.listdir(new)
    content = open(os.path.join(new, name), "rb").read()
    assert b"hello" in content and b"Delivered-To: eric@winery-co.co" in content
    assert wait_for(world.queue_empty)


def test_dead_next_hop_defers_then_delivers(world):
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@later.example"])
    assert wait_for(lambda: "status=deferred" in world.gw.log())
    assert not world.queue_empty()
    later = world.sink("127.0.0.69")
    assert wait_for(lambda: later.rcpts() == ["a@later.example"], timeout=30)
    assert wait_for(world.queue_empty)


def test_external_dns_down_delays_only_internet_mail(world):
    mbx1 = world.sink("127.0.0.31")
    world.sink("127.0.0.61")
    world.external.stop()
    world.gateway()
    t0 = time.time()
    world.send("intranet", "ericm@winery-co.co", ["someone@example.org"])
    world.send("internet", "x@example.org", ["ericm@winery-co.co"])
    assert wait_for(lambda: mbx1.rcpts() == ["ericm@winery-co.co"], timeout=5)
    assert time.time() - t0 < 5
    assert wait_for(lambda: "someone@example.org" in world.gw.log() and
                    "status=deferred" in world.gw.log(), timeout=30)
    assert world.sinks["127.0.0.61"].rcpts() == []


def test_expiry_bounces(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway(queue="retry 1s\n    expire 2s")
    world.send("intranet", "ericm@winery-co.co", ["a@later.example"])
    assert wait_for(lambda: dsns(mbx1), timeout=30)
    text = dsns(mbx1)[0].as_string()
    assert "a@later.example" in text and "4.4.7" in text
    assert wait_for(world.queue_empty)


def test_restart_mid_delivery_loses_nothing(world):
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@later.example", "b@later.example"])
    assert wait_for(lambda: "status=deferred" in world.gw.log())
    world.gw.proc.send_signal(signal.SIGKILL)
    world.gw.proc.wait()
    later = world.sink("127.0.0.69")
    world.gw.start()
    assert wait_for(lambda: later.rcpts() == ["a@later.example", "b@later.example"], timeout=30)
    assert wait_for(world.queue_empty)


def test_alias_with_external_member(world):
    mbx1 = world.sink("127.0.0.31")
    kimy = world.sink("127.0.0.32")
    mx1 = world.sink("127.0.0.61")
    world.gateway()
    world.send("internet", "x@example.org", ["team@winery-co.co"])
    assert wait_for(lambda: mbx1.rcpts() and kimy.rcpts() and mx1.rcpts())


def test_null_mx_bounces(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@nullmx.example"])
    assert wait_for(lambda: dsns(mbx1))
    text = dsns(mbx1)[0].as_string()
    assert "a@nullmx.example" in text and "5.1.10" in text


def test_notify_never_suppresses_the_dsn(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    c = world.gw.smtp("intranet")
    c.ehlo("x")
    c.mail("ericm@winery-co.co")
    assert c.rcpt("a@nowhere.example", ["NOTIFY=NEVER"])[0] == 250
    c.data("Subject: x\r\n\r\nbody\r\n")
    c.quit()
    assert wait_for(world.queue_empty)
    time.sleep(1)
    assert dsns(mbx1) == []


def test_delay_warning(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway(queue="retry 1s\n    expire 1h\n    delay-warning 1s")
    world.send("intranet", "ericm@winery-co.co", ["a@later.example"])
    assert wait_for(lambda: dsns(mbx1), timeout=30)
    time.sleep(2.5)
    [dsn] = dsns(mbx1)
    text = dsn.as_string()
    assert "Action: delayed" in text and "a@later.example" in text
    assert not world.queue_empty()


def test_smart_hosts_in_order_and_cost_failover(world):
    second = world.sink("127.0.0.71")
    backup = world.sink("127.0.0.73")
    sp = world.sport
    world.gateway(extra=f"""
connector partner {{
    address-space partner.example cost 1
    home intranet
    route smarthost [127.0.0.70]:{sp} [127.0.0.71]:{sp}
}}
connector cheap {{
    address-space failover.example cost 1
    home intranet
    route smarthost [127.0.0.72]:{sp}
}}
connector backup {{
    address-space failover.example cost 5
    home intranet
    route smarthost [127.0.0.73]:{sp}
}}
""")
    world.send("intranet", "ericm@winery-co.co", ["a@partner.example", "b@failover.example"])
    assert wait_for(lambda: second.rcpts() == ["a@partner.example"])
    assert wait_for(lambda: backup.rcpts() == ["b@failover.example"])
    assert "every address of connector cheap failed, trying connector backup" in world.gw.log()
    # Smart hosts by address are used as is: no DNS question about them.
    assert not any("127.0.0.7" in n for _, n in world.internal.queries())


def test_never_connects_to_its_own_listening_address(world):
    world.gateway(intranet=f"    listen 127.0.0.74:{world.sport}")
    world.send("intranet", "ericm@winery-co.co", ["a@loop.example"])
    assert wait_for(lambda: "mail loop" in world.gw.log())
    assert "connect from 127.0.0.74" not in world.gw.log()
    assert not world.queue_empty()


def test_dead_next_hop_does_not_stall_others(world):
    mx1 = world.sink("127.0.0.61")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["a@later.example"])
    world.send("intranet", "ericm@winery-co.co", ["b@example.org"])
    assert wait_for(lambda: mx1.rcpts() == ["b@example.org"], timeout=5)
