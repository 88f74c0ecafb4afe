"""The resolver's answer cache end to end (docs/configuration.md, "The DNS
answer cache"), on the Winery gateway of test_authentication.py: its
Internet-facing server checks SPF, DKIM and DMARC through the external
list.

- When the external dnsmasq gives its records a TTL, a second message from
  the same domain asks it nothing the first one asked, and gets the same
  results; the debug line of a question answered from the cache says so.
- With dnsmasq's own TTL of 0 (what every other test uses), nothing is
  kept: each message asks again.
"""
import pytest

import test_authentication as auth
import test_delivery as delivery
from netfix import wait_for

QUESTIONS = [("TXT", "example.org"), ("TXT", "_dmarc.example.org"),
             ("TXT", "s1._domainkey.example.org")]


class World(auth.World):
    def __init__(self, tmp, binary, ttl):
        super().__init__(tmp, binary)
        if ttl:
            self.external.args.append("--local-ttl=%d" % ttl)


@pytest.fixture(params=[60, 0], ids=["ttl60", "ttl0"])
def world(request, tmp_path, posternd_bin):
    w = World(str(tmp_path), posternd_bin, request.param)
    w.ttl = request.param
    yield from delivery.running(w)


def test_second_message_from_a_domain(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    for i in range(2):
        world.send("internet", "alice@example.org", ["ericm@winery-co.co"],
                   auth.signed(world))
        assert wait_for(lambda: len(mbx1.messages) == i + 1)
        ar = auth.results(mbx1.messages[i][2])[0]
        for m in ("spf", "dkim", "dmarc"):
            assert auth.method(ar, m)[0].result == "pass", (i, m, str(ar))
    asked = world.external.queries()
    for q in QUESTIONS:
        assert asked.count(q) == (1 if world.ttl else 2), (q, asked)
    log = world.gw.log()
    assert ("(cached)" in log) == bool(world.ttl), log
