"""Success notifications (RFC 3461 NOTIFY=SUCCESS) and the queue's
per-destination limit, end to end, on the world of test_delivery.py:
split DNS served by dnsmasq and aiosmtpd sinks.

The sender ericm@winery-co.co has its mailbox server at 127.0.0.31, so
every report sent to it lands in that sink; eric@winery-co.co is a mailbox
of the gateway's own Maildir store."""
import asyncio
import os
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from netfix import Sink, wait_for
from test_delivery import world, dsns  # noqa: F401 (pytest fixture)

SENDER = "ericm@winery-co.co"
MBX1 = "127.0.0.31"
MX1 = "127.0.0.61"             # example.org
REJECT = "127.0.0.68"          # reject.example


class DsnSMTP(SMTP):
    """aiosmtpd refuses MAIL/RCPT parameters it does not know: take the
    DSN ones when DSN is offered."""
    dsn_offered = False

    def _getparams(self, params):
        result = super()._getparams(params)
        if result is not None and self.dsn_offered:
            for k in ("RET", "ENVID", "NOTIFY", "ORCPT"):
                result.pop(k, None)
        return result


class DsnController(Controller):
    def __init__(self, handler, dsn, **kw):
        self.dsn = dsn
        super().__init__(handler, **kw)

    def factory(self):
        smtp = DsnSMTP(self.handler, **self.SMTP_kwargs)
        smtp.dsn_offered = self.dsn
        return smtp


class TestSink(Sink):
    """A Sink that may offer DSN in its EHLO reply, keeps each recipient's
    RCPT parameters, and may hold every DATA a while, counting how many
    are held at the same time."""
    __test__ = False

    def __init__(self, addr, port, dsn=False, data_delay=0, **kw):
        super().__init__(addr, port, **kw)
        inner = self.controller.handler
        self.dsn = dsn
        self.data_delay = data_delay
        self.active = 0
        self.max_active = 0
        self.rcpt_options = {}
        self.ehlo = []
        sink = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope, hostname,
                                  responses):
                session.host_name = hostname
                if sink.dsn:
                    responses.insert(len(responses) - 1, "250-DSN")
                sink.ehlo = list(responses)
                return responses

            async def handle_RCPT(self, server, session, envelope, address,
                                  rcpt_options):
                sink.rcpt_options[address] = list(rcpt_options)
                return await inner.handle_RCPT(server, session, envelope,
                                               address, rcpt_options)

            async def handle_DATA(self, server, session, envelope):
                # One event loop thread runs every session: no lock.
                sink.active += 1
                sink.max_active = max(sink.max_active, sink.active)
                try:
                    if sink.data_delay:
                        await asyncio.sleep(sink.data_delay)
                    return await inner.handle_DATA(server, session, envelope)
                finally:
                    sink.active -= 1

        self.controller = DsnController(Handler(), dsn, hostname=addr,
                                        port=port, ready_timeout=10)


def sink(world, addr, **kw):
    s = TestSink(addr, world.sport, **kw).start()
    world.sinks[addr] = s
    return s


def send(world, sender, rcpts, notify=None, server="intranet"):
    c = world.gw.smtp(server)
    try:
        return c.sendmail(sender, rcpts, "Subject: test\r\n\r\nhello\r\n",
                          rcpt_options=["NOTIFY=" + notify] if notify else [])
    finally:
        c.quit()


def report(dsn):
    """The message/delivery-status part, as text."""
    [part] = [p for p in dsn.walk()
              if p.get_content_type() == "message/delivery-status"]
    return "".join(str(block) for block in part.get_payload())


def settle(world):
    """The queue is empty and a report, had one been queued, had time to
    arrive."""
    assert wait_for(world.queue_empty)
    time.sleep(1.5)


def test_delivered_to_the_mailbox_store(world):
    mbx1 = sink(world, MBX1)
    world.gateway()
    send(world, SENDER, ["eric@winery-co.co"], "SUCCESS")
    new = os.path.join(world.tmp, "mailboxes", "eric@winery-co.co", "new")
    assert wait_for(lambda: os.path.isdir(new) and os.listdir(new))
    assert wait_for(lambda: dsns(mbx1))
    settle(world)
    [dsn] = dsns(mbx1)
    assert dsn["Subject"] == "Successful Mail Delivery Report"
    assert mbx1.messages[0][1] == [SENDER]
    text = report(dsn)
    assert "Final-Recipient: rfc822; eric@winery-co.co" in text
    assert "Action: delivered" in text and "Status: 2.0.0" in text
    assert "Remote-MTA" not in text
    # A success report returns the header only.
    assert [p.get_content_type() for p in dsn.get_payload()][2] == \
        "text/rfc822-headers"
    assert "hello" not in dsn.get_payload()[2].get_payload()


def test_relayed_to_a_peer_without_dsn(world):
    mbx1 = sink(world, MBX1)
    mx1 = sink(world, MX1)
    world.gateway()
    send(world, SENDER, ["a@example.org"], "SUCCESS")
    assert wait_for(lambda: mx1.rcpts() == ["a@example.org"])
    # aiosmtpd does not offer DSN: NOTIFY went no further.
    assert not any(line.endswith("DSN") for line in mx1.ehlo), mx1.ehlo
    assert mx1.rcpt_options["a@example.org"] == []
    assert wait_for(lambda: dsns(mbx1))
    settle(world)
    [dsn] = dsns(mbx1)
    text = report(dsn)
    assert "Final-Recipient: rfc822; a@example.org" in text
    assert "Action: relayed" in text and "Status: 2.0.0" in text
    assert "Remote-MTA: dns; mx1.example.org" in text
    assert "250 2.0.0 OK sink" in text


def test_peer_with_dsn_reports_itself(world):
    mbx1 = sink(world, MBX1)
    mx1 = sink(world, MX1, dsn=True)
    world.gateway()
    send(world, SENDER, ["a@example.org"], "SUCCESS")
    assert wait_for(lambda: mx1.rcpts() == ["a@example.org"])
    assert "250-DSN" in mx1.ehlo
    assert "NOTIFY=SUCCESS" in mx1.rcpt_options["a@example.org"]
    settle(world)
    assert dsns(mbx1) == []
    assert "sender notification" not in world.gw.log()


def test_failure_gets_only_the_failure_report(world):
    mbx1 = sink(world, MBX1)
    sink(world, REJECT,
         rcpt_reply={"bad@reject.example": "550 5.1.1 no such user"})
    world.gateway()
    send(world, SENDER, ["bad@reject.example"], "SUCCESS,FAILURE")
    assert wait_for(lambda: dsns(mbx1))
    settle(world)
    [dsn] = dsns(mbx1)
    text = report(dsn)
    assert "Action: failed" in text and "5.1.1" in text
    assert "Action: delivered" not in text and "Action: relayed" not in text


def test_failure_and_success_in_one_attempt(world):
    """Two reports from one attempt: queued one after the other."""
    mbx1 = sink(world, MBX1)
    rej = sink(world, REJECT,
               rcpt_reply={"bad@reject.example": "550 5.1.1 no such user"})
    world.gateway()
    send(world, SENDER, ["bad@reject.example", "ok@reject.example"],
         "SUCCESS,FAILURE")
    assert wait_for(lambda: len(dsns(mbx1)) == 2)
    settle(world)
    assert len(dsns(mbx1)) == 2
    assert rej.rcpts() == ["ok@reject.example"]
    texts = sorted(report(d) for d in dsns(mbx1))
    failed = [t for t in texts if "Action: failed" in t]
    relayed = [t for t in texts if "Action: relayed" in t]
    assert len(failed) == 1 and len(relayed) == 1
    assert "bad@reject.example" in failed[0]
    assert "ok@reject.example" not in failed[0]
    assert "ok@reject.example" in relayed[0]
    assert "bad@reject.example" not in relayed[0]


def test_no_success_report_without_notify(world):
    mbx1 = sink(world, MBX1)
    mx1 = sink(world, MX1)
    world.gateway()
    send(world, SENDER, ["a@example.org", "eric@winery-co.co"])
    assert wait_for(lambda: mx1.rcpts() == ["a@example.org"])
    settle(world)
    assert dsns(mbx1) == []


def test_no_success_report_to_the_null_sender(world):
    mbx1 = sink(world, MBX1)
    world.gateway()
    send(world, "", ["eric@winery-co.co"], "SUCCESS")
    new = os.path.join(world.tmp, "mailboxes", "eric@winery-co.co", "new")
    assert wait_for(lambda: os.path.isdir(new) and os.listdir(new))
    settle(world)
    assert mbx1.messages == []
    assert "sender notification" not in world.gw.log()


# ---- the queue's per-destination limit ----

def send_four(world):
    """Four messages, one transaction each, on one connection so that
    they reach the queue together."""
    c = world.gw.smtp("intranet")
    try:
        for i in range(4):
            c.sendmail(SENDER, ["u%d@example.org" % i],
                       "Subject: %d\r\n\r\nhello\r\n" % i)
    finally:
        c.quit()


def test_per_destination_one(world):
    mx1 = sink(world, MX1, data_delay=0.5)
    world.gateway(queue="retry 1s\n    expire 1h\n    per-destination 1")
    send_four(world)
    assert wait_for(lambda: len(mx1.rcpts()) == 4)
    assert mx1.rcpts() == ["u%d@example.org" % i for i in range(4)]
    assert mx1.max_active == 1


def test_per_destination_four(world):
    mx1 = sink(world, MX1, data_delay=0.5)
    world.gateway(queue="retry 1s\n    expire 1h\n    per-destination 4\n"
                        "    concurrency 4")
    send_four(world)
    assert wait_for(lambda: len(mx1.rcpts()) == 4)
    assert mx1.max_active > 1
