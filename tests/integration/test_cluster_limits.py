"""Shared limits over two gateways and one Redis (SPEC section 9,
docs/scale-out.md): two posternd on 127.0.0.51 and 127.0.0.52 with
`cluster` on one private redis-server (redisfix.py, a Unix socket in the
test's directory, no persistence, stopped by PID).

- `rate-limit 5/m`: one client sending through both, the sixth MAIL is
  refused wherever it lands;
- `max-connections-per-ip 3` counted over both;
- a greylisted triplet first seen on one gateway passes on the other after
  DELAY, and AUTO-ALLOW then lets the client's /24 through on both;
- Redis stopped with SIGSTOP: every request gives up after `timeout`, mail
  flows, and the limits are per node; Redis killed: the same; Redis
  started again: the limits are shared again, with no restart of posternd.

Each case uses its own client addresses (127.0.x.y, all loopback), so that
the counters of one case do not touch another's.  The heartbeats that say
a node is alive (kv_count_adjust counts the parts of live nodes only) are
set by the test when the daemon does not publish them itself.
"""
import os
import smtplib
import socket
import time

import pytest

from conftest import (Gateway, RawClient, assert_clean_exit, free_port,
                      gateway_config)
from redisfix import Redis

ADDRS = ("127.0.0.51", "127.0.0.52")
INTRANETS = ("127.0.0.53", "127.0.0.54")
TIMEOUT_MS = 250

INTERNET = """    max-connections-per-ip 3
    filter {
        rate-limit 5/m
        greylist 2s 1h
    }
"""


class Node(Gateway):
    pass


@pytest.fixture
def cluster(posternd_bin, tmp_path):
    redis = Redis(tmp_path).start()
    nodes = []
    for i, (addr, intra) in enumerate(zip(ADDRS, INTRANETS)):
        tmp = str(tmp_path / ("gw%d" % (i + 1)))
        os.makedirs(tmp)
        port = free_port(addr)
        top = """cluster {
    redis %s
    node gw%d
    timeout %dms
}""" % (redis.address, i + 1, TIMEOUT_MS)
        text = gateway_config(tmp, port, top=top, internet=INTERNET,
                              internet_addr=addr, intranet_addr=intra)
        gw = Node(posternd_bin, tmp, text)
        gw.port = port
        gw.internet, gw.intranet = addr, intra
        gw.start()
        nodes.append(gw)
    heartbeats(redis)
    yield redis, nodes
    for gw in nodes:
        assert_clean_exit(gw, gw.stop(), ok=(0, None, -9))
    redis.stop()


def heartbeats(redis):
    for n in ("gw1", "gw2"):
        if not redis.cli("EXISTS", "postern:node:" + n) == ["1"]:
            redis.cli("SET", "postern:node:" + n, "test", "EX", "600")


def mail(gw, source, sender="a@example.org"):
    """The reply code to MAIL from source through gw, and how long it
    took from the connection to that reply."""
    t0 = time.monotonic()
    c = gw.smtp(source=source)
    try:
        c.ehlo("client.example")
        code = c.mail(sender)[0]
        took = time.monotonic() - t0
    finally:
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass
    return code, took


def rcpt(gw, source, sender, rcpt_to):
    c = gw.smtp(source=source)
    try:
        c.ehlo("client.example")
        assert c.mail(sender)[0] == 250
        return c.rcpt(rcpt_to)[0]
    finally:
        try:
            c.quit()
        except (smtplib.SMTPException, OSError):
            pass


def connect(gw, source):
    s = socket.create_connection((gw.internet, gw.port), timeout=30,
                                 source_address=(source, 0))
    return RawClient(s)


def test_rate_limit_shared(cluster):
    redis, (gw1, gw2) = cluster
    client = "127.0.1.10"
    # Three messages through each gateway: the sixth is refused.
    for i in range(5):
        code, _ = mail((gw1, gw2)[i % 2], client)
        assert code == 250, i
    code, _ = mail(gw2, client)
    assert code == 421
    assert mail(gw1, client)[0] == 421
    # The counter is in Redis, scoped and expiring.
    keys = redis.cli("KEYS", "postern:rl:*")
    assert keys == ["postern:rl:internet:127.0.1.10"], keys
    assert 0 < int(redis.cli("PTTL", keys[0])[0]) <= 60000
    # Another client is another budget.
    assert mail(gw1, "127.0.1.11")[0] == 250


def test_connections_shared(cluster):
    redis, (gw1, gw2) = cluster
    client = "127.0.2.10"
    held = [connect(gw1, client), connect(gw1, client), connect(gw2, client)]
    for c in held:
        assert c.reply()[0] == 220
    # The fourth, on either gateway: 421 4.7.0 and closed.
    c = connect(gw2, client)
    code, text = c.reply()
    assert (code, text[4:9]) == (421, "4.7.0"), text
    assert c.closed()
    c = connect(gw1, client)
    assert c.reply()[0] == 421
    assert c.closed()
    # A connection closes on gw1: its count is given back, and the next
    # gets in on gw2.
    held[0].cmd("QUIT")
    held[0].close()
    deadline = time.monotonic() + 10
    while True:
        c = connect(gw2, client)
        code, _ = c.reply()
        if code == 220 or time.monotonic() > deadline:
            break
        c.close()
        time.sleep(0.2)
    assert code == 220
    for h in held[1:] + [c]:
        h.close()
    # The count goes back to nothing once every connection is gone.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        parts = redis.cli("HVALS", "postern:conn:internet:127.0.2.10")
        if all(p == "0" for p in parts):
            break
        time.sleep(0.2)
    assert all(p == "0" for p in parts), parts


def test_greylist_shared(cluster):
    redis, (gw1, gw2) = cluster
    client = "127.0.3.10"
    assert rcpt(gw1, client, "a@example.org", "ericm@winery-co.co") == 451
    # Early on the other gateway too: the triplet is shared.
    assert rcpt(gw2, client, "a@example.org", "ericm@winery-co.co") == 451
    time.sleep(2.2)
    # DELAY later it passes on the other gateway (gw2 saw it early once,
    # gw1 first: the age is Redis's).
    assert rcpt(gw2, "127.0.3.11", "a@example.org",
                "ericm@winery-co.co") == 250
    # AUTO-ALLOW: the /24 with another sender, on both gateways.
    assert rcpt(gw1, "127.0.3.12", "new@example.net",
                "kimy@winery-co.co") == 250
    assert rcpt(gw2, "127.0.3.13", "other@example.com",
                "ericm@winery-co.co") == 250
    keys = sorted(redis.cli("KEYS", "postern:grey*"))
    assert "postern:greyok:internet:127.0.3.0/24" in keys, keys
    for k in keys:
        assert int(redis.cli("TTL", k)[0]) > 0, k
        assert "@" not in k


def wait_shared(redis, gw, n=0):
    """Until gw uses Redis again: a MAIL from a probe address leaves its
    counter there."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        probe = "127.0.9.%d" % (10 + n)
        n += 1
        mail(gw, probe)
        if redis.cli("EXISTS", "postern:rl:internet:" + probe) == ["1"]:
            return n
        time.sleep(0.3)
    raise AssertionError("the gateway did not use Redis again")


def per_node(gw1, gw2, client):
    """Redis does not answer: mail flows, within the timeout, and each
    gateway allows the client its own 5 a minute."""
    for i in range(5):
        code, took = mail(gw1, client)
        assert code == 250, i
        # The greeting and MAIL each waited at most `timeout`.
        assert took < 2 * TIMEOUT_MS / 1000 + 1.5, took
    assert mail(gw1, client)[0] == 421
    # The other gateway counts on its own.
    assert mail(gw2, client)[0] == 250
    # And greylisting goes on from each node's memory.
    assert rcpt(gw2, client, "z@example.org", "ericm@winery-co.co") == 451


def test_redis_outage(cluster):
    redis, (gw1, gw2) = cluster
    # Hung (SIGSTOP): every request times out.
    redis.pause()
    try:
        per_node(gw1, gw2, "127.0.4.10")
    finally:
        redis.resume()
    n = wait_shared(redis, gw1)
    # Killed: the same, at once.
    redis.kill()
    per_node(gw1, gw2, "127.0.5.10")
    # Started again (empty): shared again, with no restart of posternd.
    redis.restart()
    heartbeats(redis)
    n = wait_shared(redis, gw1, n)
    wait_shared(redis, gw2, n)
    client = "127.0.6.10"
    for i in range(5):
        assert mail((gw1, gw2)[i % 2], client)[0] == 250, i
    assert mail(gw2, client)[0] == 421
    # The outage was logged when it began and when it ended.
    log = gw1.log()
    assert "unreachable" in log and "reachable again" in log, log
