"""SMTP AUTH on the receiving side (postern.conf(5) `auth`, `max-auth-failures`,
`relay authenticated`, `anonymous`; docs/smtp.md; RFC 4954): PLAIN and LOGIN
over STARTTLS with smtplib and raw sessions, never in clear text, with a
failure limit per client address and relay by authentication.  Password
hashes are SHA-512 crypt made with `openssl passwd -6`."""
import base64
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import (CLIENT_INTERNET, INTERNET, RawClient, base_config,
                      free_port, readable_by_run_user)
from netfix import wait_for
from tlsfix import passwd_hash, pki  # noqa: F401 (pytest fixture)

HOST = "gateway.winery-co.co"
PASSWORD = "s3cret-Pa55"


@pytest.fixture(scope="module")
def gwcert(pki):  # noqa: F811
    return pki.cert(HOST, dns=[HOST], ips=[INTERNET])


@pytest.fixture(scope="module")
def hashes():
    return {"ericm": passwd_hash(PASSWORD), "kimy": passwd_hash("other")}


def auth_gateway(make_gateway, tmp_path, gwcert, hashes, extra="",
                 relay="deny"):
    auth = tmp_path / "auth"
    auth.write_text("# user:hash\n" + "".join(
        "%s:%s\n" % kv for kv in hashes.items()))
    auth.chmod(0o600)
    lines = ("    tls certificate %s key %s\n    auth %s\n%s" %
             (gwcert[0], gwcert[1], auth, extra))
    return make_gateway(config=lambda tmp, port: base_config(
        tmp, port, extra_internet=lines).replace(
        "    relay deny\n", "    relay %s\n" % relay))


def ctx(pki):  # noqa: F811
    return ssl.create_default_context(cafile=pki.ca)


def tls_session(gw, pki, source=CLIENT_INTERNET):  # noqa: F811
    s = socket.create_connection((INTERNET, gw.port), timeout=30,
                                 source_address=(source, 0))
    c = RawClient(s)
    assert c.reply()[0] == 220
    c.cmd("EHLO x")
    assert c.cmd("STARTTLS")[0] == 220
    t = RawClient(ctx(pki).wrap_socket(s, server_hostname=HOST))
    code, text = t.cmd("EHLO client.example")
    assert code == 250 and "AUTH PLAIN LOGIN" in text
    return t


def b64(s):
    return base64.b64encode(s.encode()).decode()


def plain(user, password, authzid=""):
    return b64("%s\0%s\0%s" % (authzid, user, password))


def test_auth_never_offered_or_taken_in_clear_text(make_gateway, tmp_path,
                                                   gwcert, hashes):
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes)
    c = gw.raw()
    c.reply()
    code, text = c.cmd("EHLO x")
    assert "AUTH" not in text and "STARTTLS" in text
    code, text = c.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))
    assert (code, text[4:10]) == (538, "5.7.11"), text
    assert c.cmd("AUTH LOGIN")[0] == 538
    assert PASSWORD not in gw.log()


@pytest.mark.parametrize("mech,initial", [("PLAIN", True), ("PLAIN", False),
                                          ("LOGIN", True), ("LOGIN", False)])
def test_smtplib_login(make_gateway, tmp_path, gwcert, hashes, pki, mech,  # noqa: F811
                       initial):
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes)
    c = gw.smtp()
    c.starttls(context=ctx(pki))
    c.ehlo()
    c.user, c.password = "ericm", PASSWORD
    obj = c.auth_plain if mech == "PLAIN" else c.auth_login
    code, text = c.auth(mech, obj, initial_response_ok=initial)
    assert (code, text[:5]) == (235, b"2.7.0"), text
    assert c.docmd("AUTH", "PLAIN " + plain("ericm", PASSWORD))[0] == 503
    c.quit()
    assert "authenticated mechanism=%s user=ericm" % mech in gw.log()


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_wrong_password_refused_after_a_delay(make_gateway, tmp_path, gwcert,
                                              hashes, pki, mech):  # noqa: F811
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes)
    t = tls_session(gw, pki)
    start = time.time()
    if mech == "PLAIN":
        code, text = t.cmd("AUTH PLAIN " + plain("ericm", "Gu3ss-xyzzy"))
    else:
        assert t.cmd("AUTH LOGIN")[0] == 334
        assert t.cmd(b64("ericm"))[0] == 334
        code, text = t.cmd(b64("Gu3ss-xyzzy"))
    assert (code, text[4:9]) == (535, "5.7.8"), text
    assert time.time() - start >= 0.9
    # The right password of another user is not this user's.
    assert t.cmd("AUTH PLAIN " + plain("ericm", "other"))[0] == 535
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 235
    log = gw.log()
    assert ("client=%s AUTH failed mechanism=%s user=\"ericm\" failures=1/5"
            % (CLIENT_INTERNET, mech)) in log
    assert "Gu3ss-xyzzy" not in log and PASSWORD not in log


def test_a_failure_does_not_hold_up_other_clients(make_gateway, tmp_path,
                                                  gwcert, hashes, pki):  # noqa: F811
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes)
    t = tls_session(gw, pki)
    done = []
    th = threading.Thread(target=lambda: done.append(
        t.cmd("AUTH PLAIN " + plain("ericm", "wrong"))[0]))
    th.start()
    time.sleep(0.2)
    start = time.time()
    c = gw.raw(source="127.0.0.11")
    c.reply()
    assert c.cmd("EHLO other")[0] == 250
    assert time.time() - start < 0.5
    th.join(10)
    assert done == [535]


def test_failure_limit_per_client_address(make_gateway, tmp_path, gwcert,
                                          hashes, pki):  # noqa: F811
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes,
                      "    max-auth-failures 2\n")
    t = tls_session(gw, pki)
    assert t.cmd("AUTH PLAIN " + plain("ericm", "guess1"))[0] == 535
    assert t.cmd("AUTH PLAIN " + plain("kimy", "guess2"))[0] == 535
    code, text = t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))
    assert (code, text[4:9]) == (421, "4.7.0"), text
    assert t.closed()
    # Another connection from the same address: still refused, even with
    # the right password, before it is checked.
    t = tls_session(gw, pki)
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 421
    # Another address is not affected.
    t = tls_session(gw, pki, source="127.0.0.11")
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 235
    assert "rule=max-auth-failures" in gw.log()


def test_auth_failures_do_not_count_as_errors(make_gateway, tmp_path, gwcert,
                                              hashes, pki):  # noqa: F811
    # max-errors is 3 on this server; four AUTH failures keep it open.
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes)
    t = tls_session(gw, pki)
    for i in range(4):
        assert t.cmd("AUTH PLAIN " + plain("ericm", "no%d" % i))[0] == 535
    assert t.cmd("NOOP")[0] == 250
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 235


def test_exchange_details(make_gateway, tmp_path, gwcert, hashes, pki):  # noqa: F811
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes)
    t = tls_session(gw, pki)
    assert t.cmd("AUTH LOGIN") == (334, "334 VXNlcm5hbWU6")
    assert t.cmd("*")[:1] == (501,)
    assert t.cmd("AUTH PLAIN") == (334, "334 ")
    code, text = t.cmd("not base64!")
    assert (code, text[4:9]) == (501, "5.5.2"), text
    assert t.cmd("AUTH CRAM-MD5")[0] == 504
    assert t.cmd("AUTH PLAIN =")[0] == 535           # the empty response
    # Acting for another user (authzid) is not offered.
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD, "kimy"))[0] == 535
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD, "ericm"))[0] == 235
    t.cmd("MAIL FROM:<ericm@winery-co.co>")
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 503


def test_relay_by_authentication(make_gateway, tmp_path, gwcert, hashes, pki):  # noqa: F811
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes,
                      relay="authenticated")
    # Not authenticated (with TLS or without): relay denied.
    c = gw.raw()
    c.reply()
    c.cmd("EHLO x")
    c.cmd("MAIL FROM:<ericm@winery-co.co>")
    code, text = c.cmd("RCPT TO:<someone@example.org>")
    assert (code, text[4:9]) == (550, "5.7.1"), text
    t = tls_session(gw, pki)
    t.cmd("MAIL FROM:<ericm@winery-co.co>")
    assert t.cmd("RCPT TO:<someone@example.org>")[0] == 550
    t.cmd("RSET")
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 235
    assert t.cmd("MAIL FROM:<ericm@winery-co.co>")[0] == 250
    assert t.cmd("RCPT TO:<someone@example.org>")[0] == 250
    assert t.cmd("DATA")[0] == 354
    t.send("Subject: relayed\r\n\r\nhello\r\n.\r\n")
    assert t.reply()[0] == 250
    t.cmd("QUIT")
    [m] = gw.messages()
    assert m["auth"] == "ericm"
    assert m["rcpts"] == ["someone@example.org"]
    assert b"with ESMTPSA id" in m["body"]
    assert b"ericm" not in m["body"].split(b"\r\n\r\n")[0]
    assert PASSWORD.encode() not in open(gw.spool + "/queue/" + m["id"],
                                         "rb").read()
    assert ", user=ericm (queued)" in gw.log()
    assert PASSWORD not in gw.log()


def test_anonymous_no_requires_auth(make_gateway, tmp_path, gwcert, hashes,
                                    pki):  # noqa: F811
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes,
                      "    anonymous no\n")
    t = tls_session(gw, pki)
    code, text = t.cmd("MAIL FROM:<a@example.org>")
    assert (code, text[4:9]) == (530, "5.7.0"), text
    assert t.cmd("AUTH PLAIN " + plain("kimy", "other"))[0] == 235
    assert t.cmd("MAIL FROM:<a@example.org>")[0] == 250


def test_auth_file_is_read_again_on_reload(make_gateway, tmp_path, gwcert,
                                           hashes, pki):  # noqa: F811
    gw = auth_gateway(make_gateway, tmp_path, gwcert, hashes)
    (tmp_path / "auth").write_text("ericm:%s\n" % passwd_hash("renewed"))
    readable_by_run_user(tmp_path / "auth")     # reloads run as the user
    gw.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "configuration reloaded" in gw.log())
    t = tls_session(gw, pki)
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 535
    assert t.cmd("AUTH PLAIN " + plain("ericm", "renewed"))[0] == 235
    assert t.cmd("AUTH PLAIN " + plain("kimy", "other"))[0] == 503


def test_plain_text_passwords_are_refused(posternd_bin, tmp_path, gwcert):
    auth = tmp_path / "auth"
    auth.write_text("ericm:$6$salt$hash\nkimy:plaintext\n")
    conf = tmp_path / "postern.conf"
    conf.write_text(base_config(
        str(tmp_path), free_port(INTERNET), extra_internet=(
            "    tls certificate %s key %s\n    auth %s\n" %
            (gwcert[0], gwcert[1], auth))))
    (tmp_path / "directory").write_text("postmaster@winery-co.co local\n")
    r = subprocess.run([posternd_bin, "-f", str(conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "%s:2: user \"kimy\": not a yescrypt ($y$) or SHA-512 crypt " \
        "($6$) hash" % auth in r.stderr
    assert "plaintext" not in r.stderr


def test_unconfigured_server_answers_502(make_gateway, gwcert, pki):  # noqa: F811
    gw = make_gateway(extra_internet="    tls certificate %s key %s\n" %
                      gwcert)
    s = smtplib.SMTP(INTERNET, gw.port, source_address=(CLIENT_INTERNET, 0))
    s.starttls(context=ctx(pki))
    code, text = s.ehlo()
    assert b"AUTH" not in text
    assert s.docmd("AUTH", "PLAIN " + plain("ericm", PASSWORD))[0] == 502
    s.quit()
