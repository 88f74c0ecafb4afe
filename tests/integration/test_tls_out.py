"""TLS on the delivering side (postern.conf(5) connector `tls`/`tls-ca`,
`mailbox-tls`; docs/smtp.md), on the world of test_delivery.py (split DNS served
by dnsmasq): real TLS peers on loopback, aiosmtpd with STARTTLS, a
scripted peer that injects bytes after its 220 to STARTTLS, and peers
whose TLS side is `openssl s_server`.  Certificates come from a test CA.

example.org has mx1.example.org (127.0.0.61) and mx2.example.org
(127.0.0.62, nothing listens there); a connector for example.org alone
carries the policy of each test."""
import time

from netfix import wait_for
from test_delivery import world  # noqa: F401 (pytest fixture)
from tlsfix import (InjectingPeer, SServerPeer, TLSSink,  # noqa: F401
                    pki)

MX1 = "127.0.0.61"
SENDER = "ericm@winery-co.co"
RCPT = "someone@example.org"


def connector(world, policy, ca=None, route="dns"):  # noqa: F811
    return """
connector secure {
    address-space   example.org cost 1
    home            intranet
    route           %s
    port            %d
    tls             %s
%s}
""" % (route, world.sport, policy, "    tls-ca %s\n" % ca if ca else "")


def send(world):  # noqa: F811
    world.send("intranet", SENDER, [RCPT])


def deferred_for(world, text, attempts=2):  # noqa: F811
    """At least `attempts` deferrals, each for `text`."""
    def check():
        log = world.gw.log()
        return log.count(text) >= attempts and "status=deferred" in log
    return wait_for(check, timeout=30)


def no_bounce(world):  # noqa: F811
    return "status=bounced" not in world.gw.log() and not world.queue_empty()


def test_may_upgrades_when_offered(world, pki):  # noqa: F811
    cert = pki.cert("mx1.example.org", dns=["mx1.example.org"])
    mx1 = TLSSink(MX1, world.sport, *cert)
    world.sinks[MX1] = mx1.start()
    world.gateway()                  # connector internet: tls may (default)
    send(world)
    assert wait_for(lambda: mx1.rcpts() == [RCPT])
    assert mx1.tls == ["TLSv1.3"]
    log = world.gw.log()
    # The test CA is not in the system store: encrypted, not verified.
    assert "TLS established: TLSv1.3 with cipher" in log
    assert "bits), not verified, status=sent" in log


def test_may_goes_on_in_clear_text_when_not_offered(world):  # noqa: F811
    mx1 = world.sink(MX1)
    world.gateway()
    send(world)
    assert wait_for(lambda: mx1.rcpts() == [RCPT])
    assert "tls=none, status=sent" in world.gw.log()


def test_may_retries_in_clear_text_after_a_failed_handshake(world, pki):  # noqa: F811
    # The peer speaks TLS 1.1 only, which postern refuses (TLS 1.2 or later
    # both ways): the handshake fails, the same address is tried again in
    # clear text, without STARTTLS.
    cert = pki.cert("mx1.example.org", dns=["mx1.example.org"])
    peer = SServerPeer(MX1, world.sport, *cert,
                       args=["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
    world.sinks[MX1] = peer.start()
    world.gateway(extra=connector(world, "may"))
    send(world)
    assert wait_for(lambda: len(peer.messages) == 1)
    assert peer.messages[0][0] == ""                # in clear text
    assert "STARTTLS" in peer.sessions[0]
    assert "STARTTLS" not in peer.sessions[1]
    log = world.gw.log()
    assert "TLS handshake failed" in log and "trying again in clear text" \
        in log
    assert wait_for(world.queue_empty)


def test_encrypt_defers_on_a_peer_without_starttls(world):  # noqa: F811
    mx1 = world.sink(MX1)
    mbx1 = world.sink("127.0.0.31")                 # the sender's mailbox
    world.gateway(extra=connector(world, "encrypt"))
    send(world)
    assert deferred_for(world, "TLS is required (tls encrypt), but "
                        "mx1.example.org[127.0.0.61]:%d does not offer "
                        "STARTTLS" % world.sport)
    time.sleep(1)
    assert mx1.messages == [] and mbx1.messages == []   # no bounce either
    assert no_bounce(world)


def test_encrypt_delivers_to_an_openssl_s_server_peer(world, pki):  # noqa: F811
    cert = pki.cert("mx1.example.org", dns=["mx1.example.org"])
    peer = SServerPeer(MX1, world.sport, *cert)
    world.sinks[MX1] = peer.start()
    world.gateway(extra=connector(world, "encrypt"))
    send(world)
    assert wait_for(lambda: len(peer.messages) == 1)
    assert peer.messages[0][0] == "TLS "
    assert peer.sessions[0][:2] == ["EHLO gateway.winery-co.co", "STARTTLS"]
    assert peer.sessions[0][2] == "TLS EHLO gateway.winery-co.co"
    assert wait_for(world.queue_empty)


def test_verify_refuses_a_self_signed_peer(world, pki):  # noqa: F811
    cert = pki.cert("mx1.example.org", dns=["mx1.example.org"],
                    self_signed=True)
    mx1 = TLSSink(MX1, world.sport, *cert)
    world.sinks[MX1] = mx1.start()
    world.gateway(extra=connector(world, "verify", pki.ca))
    send(world)
    assert deferred_for(world, "certificate verification failed: "
                        "self-signed certificate")
    assert mx1.messages == [] and no_bounce(world)


def test_verify_refuses_a_name_mismatch(world, pki):  # noqa: F811
    cert = pki.cert("mx9.example.org", dns=["mx9.example.org"])
    mx1 = TLSSink(MX1, world.sport, *cert)
    world.sinks[MX1] = mx1.start()
    world.gateway(extra=connector(world, "verify", pki.ca))
    send(world)
    assert deferred_for(world, "certificate verification failed: "
                        "hostname mismatch")
    assert mx1.messages == [] and no_bounce(world)


def test_verify_accepts_a_certificate_from_tls_ca(world, pki):  # noqa: F811
    cert = pki.cert("mx1.example.org", dns=["mx1.example.org"])
    mx1 = TLSSink(MX1, world.sport, *cert)
    world.sinks[MX1] = mx1.start()
    world.gateway(extra=connector(world, "verify", pki.ca))
    send(world)
    assert wait_for(lambda: mx1.rcpts() == [RCPT])
    assert mx1.tls == ["TLSv1.3"]
    assert "bits), verified, status=sent" in world.gw.log()


def test_verify_matches_the_address_of_an_ip_smart_host(world, pki):  # noqa: F811
    good = pki.cert("smarthost", ips=[MX1])
    mx1 = TLSSink(MX1, world.sport, *good)
    world.sinks[MX1] = mx1.start()
    world.gateway(extra=connector(world, "verify", pki.ca,
                                  route="smarthost [%s]" % MX1))
    send(world)
    assert wait_for(lambda: mx1.rcpts() == [RCPT])
    assert "verified, status=sent" in world.gw.log()


def test_verify_refuses_a_name_for_an_ip_smart_host(world, pki):  # noqa: F811
    # The certificate names mx1.example.org, not the smart host's address:
    # refused.  The connector `*` is then tried (cost failover) with the
    # stricter policy of the one before it, and its MX host name matches.
    bad = pki.cert("mx1.example.org", dns=["mx1.example.org"])
    mx1 = TLSSink(MX1, world.sport, *bad)
    world.sinks[MX1] = mx1.start()
    world.gateway(extra=connector(world, "verify", pki.ca,
                                  route="smarthost [%s]" % MX1))
    send(world)
    assert wait_for(lambda: mx1.rcpts() == [RCPT])
    log = world.gw.log()
    assert "relay=127.0.0.61[127.0.0.61]:%d, rcpts=1, sent=0, bounced=0, " \
        "deferred=1, tls=none, status=deferred (TLS handshake with " \
        "127.0.0.61[127.0.0.61]:%d failed: certificate verification " \
        "failed: IP address mismatch)" % (world.sport, world.sport) in log
    assert "every address of connector secure failed, trying connector " \
        "internet" in log
    assert "relay=mx1.example.org[127.0.0.61]:%d: TLS established: " \
        "TLSv1.3" % world.sport in log
    assert "verified, status=sent" in log


def test_failover_never_weakens_the_policy(world):  # noqa: F811
    # example.org's connector says encrypt; the connector `*` (may) tried
    # after it must not deliver in clear text.
    mx1 = world.sink(MX1)
    world.gateway(extra=connector(world, "encrypt"))
    send(world)
    assert wait_for(lambda: "trying connector internet" in world.gw.log(),
                    timeout=30)
    time.sleep(1.5)
    assert mx1.messages == []
    assert world.gw.log().count("does not offer STARTTLS") >= 2


def test_injected_bytes_after_the_220_are_not_processed(world, pki):  # noqa: F811
    cert = pki.cert("mx1.example.org", dns=["mx1.example.org"])
    # Were these taken as the answer to the EHLO after the handshake,
    # the client would see a server without 8BITMIME that pipelines, and
    # would be one reply out of step from then on.
    peer = InjectingPeer(MX1, world.sport, *cert,
                         inject=b"250-injected\r\n250 PIPELINING\r\n")
    world.sinks[MX1] = peer.start()
    world.gateway(extra=connector(world, "encrypt"))
    send(world)
    assert wait_for(lambda: len(peer.messages) == 1)
    cmds = peer.sessions[0]
    assert cmds[2] == "TLS EHLO gateway.winery-co.co"
    assert cmds[3].startswith("TLS MAIL FROM:<%s>" % SENDER)
    assert "discarded 30 bytes sent after the reply to STARTTLS" in \
        world.gw.log()
    assert wait_for(world.queue_empty)


def test_mailbox_tls_verify_with_the_system_store(world, pki, monkeypatch):  # noqa: F811
    # kimy's mailbox server is [127.0.0.32]: verified by address, against
    # the system store (here: the test CA, through SSL_CERT_FILE).
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca)
    cert = pki.cert("mbx2", ips=["127.0.0.32"])
    kimy = TLSSink("127.0.0.32", world.sport, *cert)
    world.sinks["127.0.0.32"] = kimy.start()
    world.gateway(extra="mailbox-tls verify\n")
    world.send("internet", "a@example.net", ["kimy@winery-co.co"])
    assert wait_for(lambda: kimy.rcpts() == ["kimy@winery-co.co"])
    assert kimy.tls == ["TLSv1.3"]
    assert "verified, status=sent" in world.gw.log()


def test_mailbox_tls_encrypt_defers_in_clear_text(world):  # noqa: F811
    kimy = world.sink("127.0.0.32")
    world.gateway(extra="mailbox-tls encrypt\n")
    world.send("internet", "a@example.net", ["kimy@winery-co.co"])
    assert deferred_for(world, "does not offer STARTTLS")
    assert kimy.messages == []
