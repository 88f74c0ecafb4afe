"""TLS on the receiving side (postern.conf(5) `tls`, `listen ... tls`; docs/smtp.md):
STARTTLS (RFC 3207) and implicit TLS (RFC 8314) against real clients on
loopback: Python's ssl and smtplib, and `openssl s_client -starttls smtp`.
Certificates come from a test CA made with the openssl command."""
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import warnings

import pytest

from conftest import (CLIENT_INTERNET, INTERNET, Gateway, RawClient,
                      base_config, free_port, readable_by_run_user)
from netfix import wait_for
from tlsfix import pki  # noqa: F401 (pytest fixture)

HOST = "gateway.winery-co.co"


@pytest.fixture(scope="module")
def gwcert(pki):  # noqa: F811
    return pki.cert(HOST, dns=[HOST], ips=[INTERNET])


def tls_lines(cert, extra=""):
    return "    tls certificate %s key %s %s\n" % (cert[0], cert[1], extra)


def client_context(pki):  # noqa: F811
    ctx = ssl.create_default_context(cafile=pki.ca)
    return ctx


def starttls(gw, ctx, source=CLIENT_INTERNET):
    """A RawClient over TLS after EHLO and STARTTLS."""
    s = socket.create_connection((INTERNET, gw.port), timeout=30,
                                 source_address=(source, 0))
    c = RawClient(s)
    assert c.reply()[0] == 220
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("STARTTLS") == (220, "220 2.0.0 Ready to start TLS")
    return RawClient(ctx.wrap_socket(s, server_hostname=HOST))


def test_starttls_negotiated_and_recorded(make_gateway, pki, gwcert):  # noqa: F811
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    c = gw.smtp()
    code, text = c.ehlo()
    assert b"STARTTLS" in text and b"AUTH" not in text
    assert c.starttls(context=client_context(pki))[0] == 220
    code, text = c.ehlo()
    assert code == 250 and b"STARTTLS" not in text
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    c.sendmail("a@example.org", ["ericm@winery-co.co"],
               "Subject: tls\r\n\r\nhello\r\n")
    c.quit()
    [m] = gw.messages()
    head = m["body"].split(b"\r\n\r\n")[0].decode()
    assert "with ESMTPS id " + m["id"] in head
    assert "(using TLSv1.3 with cipher TLS_" in head
    assert "TLS established (STARTTLS): TLSv1.3" in gw.log()


def test_plaintext_pipelined_after_starttls_is_discarded(make_gateway, pki,  # noqa: F811
                                                         gwcert):
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    s = socket.create_connection((INTERNET, gw.port), timeout=30,
                                 source_address=(CLIENT_INTERNET, 0))
    c = RawClient(s)
    assert c.reply()[0] == 220
    # One write: the commands after STARTTLS arrive in clear text with it.
    c.send(b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@example.org>\r\n"
           b"RCPT TO:<ericm@winery-co.co>\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 220
    assert c.buf == b""
    t = RawClient(client_context(pki).wrap_socket(s, server_hostname=HOST))
    assert t.cmd("EHLO y")[0] == 250
    # Had the clear-text MAIL counted, this RCPT would be accepted.
    code, text = t.cmd("RCPT TO:<ericm@winery-co.co>")
    assert (code, text[4:9]) == (503, "5.5.1"), text
    assert t.cmd("QUIT")[0] == 221
    assert "discarded 57 bytes sent after STARTTLS" in gw.log()
    assert gw.messages() == []


def test_session_starts_over_after_starttls(make_gateway, pki, gwcert):  # noqa: F811
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    t = starttls(gw, client_context(pki))
    code, text = t.cmd("MAIL FROM:<a@example.org>")
    assert (code, text[4:9]) == (503, "5.5.1"), text     # HELO forgotten
    assert t.cmd("EHLO y")[0] == 250
    assert t.cmd("STARTTLS")[0] == 503                   # not twice
    assert t.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert t.cmd("QUIT")[0] == 221


def test_starttls_refused_in_a_transaction_or_with_an_argument(make_gateway,
                                                               gwcert):
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    c = gw.raw()
    c.reply()
    c.cmd("EHLO x")
    assert c.cmd("STARTTLS now")[0] == 501
    c.cmd("MAIL FROM:<a@example.org>")
    assert c.cmd("STARTTLS")[0] == 503
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("STARTTLS")[0] == 220


def test_tls_required(make_gateway, pki, gwcert):  # noqa: F811
    gw = make_gateway(extra_internet=tls_lines(gwcert, "required"))
    c = gw.raw()
    c.reply()
    c.cmd("EHLO x")
    code, text = c.cmd("MAIL FROM:<a@example.org>")
    assert (code, text[4:9]) == (530, "5.7.0"), text
    c.close()
    t = starttls(gw, client_context(pki))
    t.cmd("EHLO x")
    assert t.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert "rule=tls-required" in gw.log()


def implicit_gateway(make_gateway, cert, extra=""):
    port2 = free_port(INTERNET)
    gw = make_gateway(extra_internet="    listen %s:%d tls\n" % (INTERNET, port2)
                      + tls_lines(cert) + extra)
    gw.port2 = port2
    return gw


def test_implicit_tls_on_a_second_listener(make_gateway, pki, gwcert):  # noqa: F811
    gw = implicit_gateway(make_gateway, gwcert)
    c = smtplib.SMTP_SSL(INTERNET, gw.port2, context=client_context(pki),
                         source_address=(CLIENT_INTERNET, 0), timeout=30)
    code, text = c.ehlo()
    assert code == 250 and b"STARTTLS" not in text
    assert c.docmd("STARTTLS")[0] == 503
    c.sendmail("a@example.org", ["ericm@winery-co.co"],
               "Subject: 465\r\n\r\nhello\r\n")
    c.quit()
    [m] = gw.messages()
    assert b"with ESMTPS id" in m["body"]
    assert b"(using TLSv1.3 with cipher" in m["body"]
    assert "TLS established (implicit)" in gw.log()
    # The plain listener of the same server still offers STARTTLS.
    p = gw.smtp()
    assert b"STARTTLS" in p.ehlo()[1]
    p.quit()


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_tls_1_0_and_1_1_refused(make_gateway, pki, gwcert, version):  # noqa: F811
    gw = implicit_gateway(make_gateway, gwcert)
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.check_hostname = False
    old.verify_mode = ssl.CERT_NONE
    old.set_ciphers("DEFAULT@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = getattr(ssl.TLSVersion, version)
    for port in (gw.port2, None):
        s = socket.create_connection((INTERNET, port or gw.port), timeout=30,
                                     source_address=(CLIENT_INTERNET, 0))
        if port is None:           # STARTTLS
            c = RawClient(s)
            c.reply()
            c.cmd("EHLO x")
            assert c.cmd("STARTTLS")[0] == 220
        with pytest.raises((ssl.SSLError, ConnectionResetError)):
            old.wrap_socket(s).recv(100)
        s.close()
    assert wait_for(lambda: gw.log().count("TLS handshake failed") == 2)
    assert "unsupported protocol" in gw.log()
    # TLS 1.2 is still fine.
    v12 = client_context(pki)
    v12.maximum_version = ssl.TLSVersion.TLSv1_2
    s = v12.wrap_socket(socket.create_connection((INTERNET, gw.port2),
                                                 timeout=30), server_hostname=HOST)
    assert s.version() == "TLSv1.2"
    assert RawClient(s).reply()[0] == 220
    s.close()


def s_client(gw, *args, stdin="EHLO client.example\nQUIT\n"):
    return subprocess.run(
        ["openssl", "s_client", "-starttls", "smtp", "-connect",
         "%s:%d" % (INTERNET, gw.port), "-brief", "-crlf", "-ign_eof"]
        + list(args), input=stdin, capture_output=True, text=True, timeout=30)


def test_openssl_s_client_as_an_independent_client(make_gateway, pki, gwcert):  # noqa: F811
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    r = s_client(gw, "-CAfile", pki.ca, "-verify_return_error",
                 "-verify_ip", INTERNET)
    assert r.returncode == 0, r.stderr
    assert "Protocol version: TLSv1.3" in r.stderr
    assert "Verification: OK" in r.stderr
    assert "250 DSN" in r.stdout and "221 2.0.0" in r.stdout
    assert "STARTTLS" not in r.stdout          # the EHLO after TLS
    r = s_client(gw, "-tls1_2", "-CAfile", pki.ca)
    assert r.returncode == 0 and "Protocol version: TLSv1.2" in r.stderr
    r = s_client(gw, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert r.returncode != 0
    assert "alert protocol version" in r.stderr


def test_session_resumption(make_gateway, pki, gwcert):  # noqa: F811
    gw = implicit_gateway(make_gateway, gwcert)
    ctx = client_context(pki)

    def connect(session=None):
        s = ctx.wrap_socket(socket.create_connection((INTERNET, gw.port2),
                                                     timeout=30),
                            server_hostname=HOST, session=session)
        c = RawClient(s)
        assert c.reply()[0] == 220
        assert c.cmd("QUIT")[0] == 221
        return s

    first = connect()
    assert not first.session_reused
    second = connect(first.session)
    assert second.session_reused
    first.close()
    second.close()


def test_reload_replaces_the_certificate_and_keeps_sessions(make_gateway, pki,  # noqa: F811
                                                           gwcert):
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    ctx = client_context(pki)
    old = starttls(gw, ctx)
    assert old.cmd("EHLO x")[0] == 250
    assert old.sock.getpeercert()["subject"] == ((("commonName", HOST),),)
    new_cert = pki.cert("renewed." + HOST, dns=[HOST], ips=[INTERNET])
    readable_by_run_user(new_cert[1])   # a reload runs as the run user
    text = open(gw.conf).read().replace(gwcert[0], new_cert[0]) \
        .replace(gwcert[1], new_cert[1])
    gw.write_config(text)
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "configuration reloaded" in gw.log())
    assert old.cmd("NOOP")[0] == 250            # the session goes on
    fresh = starttls(gw, ctx)
    assert fresh.sock.getpeercert()["subject"] == \
        ((("commonName", "renewed." + HOST),),)
    fresh.cmd("QUIT")
    old.cmd("QUIT")


def test_reload_with_a_bad_key_is_refused(make_gateway, pki, gwcert, tmp_path):  # noqa: F811
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    bad = tmp_path / "bad.key"
    bad.write_text("not a key\n")
    gw.write_config(open(gw.conf).read().replace(gwcert[1], str(bad)))
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in gw.log())
    assert "cannot load the key" in gw.log()
    t = starttls(gw, client_context(pki))        # the old one still serves
    assert t.cmd("EHLO x")[0] == 250


def test_missing_certificate_stops_the_start(posternd_bin, tmp_path):
    conf = tmp_path / "postern.conf"
    conf.write_text(base_config(str(tmp_path), free_port(INTERNET),
                                extra_internet=tls_lines(
                                    (str(tmp_path / "none.pem"),
                                     str(tmp_path / "none.key")))))
    (tmp_path / "directory").write_text("postmaster@winery-co.co local\n")
    r = subprocess.run([posternd_bin, "-f", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "none.pem: cannot read the certificate: No such file" in r.stderr


def test_garbage_instead_of_a_handshake(make_gateway, pki, gwcert):  # noqa: F811
    gw = make_gateway(extra_internet=tls_lines(gwcert))
    c = gw.raw()
    c.reply()
    c.cmd("EHLO x")
    assert c.cmd("STARTTLS")[0] == 220
    c.send(b"MAIL FROM:<a@example.org>\r\n" * 10)
    assert c.closed()
    assert wait_for(lambda: "TLS handshake failed" in gw.log())
    t = starttls(gw, client_context(pki))
    assert t.cmd("EHLO x")[0] == 250
    assert gw.messages() == []


def test_unconfigured_server_does_not_offer_tls(make_gateway):
    gw = make_gateway()
    c = gw.raw()
    c.reply()
    code, text = c.cmd("EHLO x")
    assert "STARTTLS" not in text
    assert c.cmd("STARTTLS")[0] == 502
    assert os.path.exists(gw.conf)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_root_only_key_read_before_dropping_privileges(posternd_bin, pki,  # noqa: F811
                                                       gwcert):
    tmp = tempfile.mkdtemp(prefix="postern-tls-priv-")
    os.chmod(tmp, 0o755)
    try:
        key = os.path.join(tmp, "key.pem")
        shutil.copy(gwcert[1], key)
        os.chmod(key, 0o600)                   # root's only
        port = free_port(INTERNET)
        gw = Gateway(posternd_bin, tmp, base_config(
            tmp, port, extra_top="user nobody",
            extra_internet=tls_lines((gwcert[0], key))))
        gw.port = port
        os.chmod(os.path.join(tmp, "directory"), 0o644)
        gw.start()
        try:
            t = starttls(gw, client_context(pki))
            assert t.cmd("EHLO x")[0] == 250
            # A reload cannot read the key any more: the one read as root
            # stays, and the reload goes through.
            gw.proc.send_signal(signal.SIGHUP)
            assert wait_for(lambda: "configuration reloaded" in gw.log())
            assert "keeps the certificate read before" in gw.log()
            t = starttls(gw, client_context(pki))
            assert t.cmd("EHLO x")[0] == 250
            t.cmd("QUIT")
        finally:
            assert gw.stop() == 0, gw.log()
    finally:
        shutil.rmtree(tmp)
