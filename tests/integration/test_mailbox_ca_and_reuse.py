"""Edge settings (issue 20): `mailbox-tls-ca` (the CA bundle for
`mailbox-tls verify`, docs/tls.md) and `queue { reuse-files no }`
(delivered queue files unlinked at once instead of kept in free/,
docs/spool.md), on the world of test_delivery.py."""
import os
import time

from netfix import wait_for
from test_delivery import world  # noqa: F401 (pytest fixture)
from tlsfix import TLSSink, pki  # noqa: F401 (pytest fixture)

KIMY = "127.0.0.32"
QUEUE = "retry 1s\n    expire 1h"


def kimy_tls_sink(world, pki):  # noqa: F811
    # kimy's mailbox server is [127.0.0.32]: a certificate of the test CA
    # for that address (the CA is in no system store here).
    cert = pki.cert("mbx2", ips=[KIMY])
    kimy = TLSSink(KIMY, world.sport, *cert)
    world.sinks[KIMY] = kimy.start()
    return kimy


def test_mailbox_tls_ca_verifies_the_mailbox_server(world, pki, monkeypatch):  # noqa: F811
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    kimy = kimy_tls_sink(world, pki)
    world.gateway(extra="mailbox-tls verify\nmailbox-tls-ca %s\n" % pki.ca)
    world.send("internet", "a@example.net", ["kimy@winery-co.co"])
    assert wait_for(lambda: kimy.rcpts() == ["kimy@winery-co.co"])
    assert kimy.tls == ["TLSv1.3"]
    assert "verified, status=sent" in world.gw.log()


def test_mailbox_tls_verify_without_the_ca_defers(world, pki, monkeypatch):  # noqa: F811
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    kimy = kimy_tls_sink(world, pki)
    world.gateway(extra="mailbox-tls verify\n")
    world.send("internet", "a@example.net", ["kimy@winery-co.co"])
    assert wait_for(lambda: world.gw.log().count("status=deferred") >= 2,
                    timeout=30)
    assert kimy.messages == []
    assert "status=bounced" not in world.gw.log()


def free_files(world):
    return os.listdir(os.path.join(world.gw.spool, "free"))


def send_some(world, n=3):
    mbx1 = world.sink("127.0.0.31")
    for i in range(n):
        world.send("internet", "a@example.net", ["ericm@winery-co.co"])
    assert wait_for(lambda: len(mbx1.messages) == n)
    assert wait_for(world.queue_empty)


def test_delivered_files_kept_for_reuse_by_default(world):  # noqa: F811
    world.gateway(queue=QUEUE)
    send_some(world)
    assert wait_for(lambda: len(free_files(world)) >= 1)


def test_reuse_files_no_unlinks_delivered_mail(world):  # noqa: F811
    world.gateway(queue=QUEUE + "\n    reuse-files no")
    send_some(world)
    time.sleep(0.5)
    assert free_files(world) == []
