"""DKIM interop: postern's verifier and signer (through tests/tools/dkim_tool)
against two independent implementations.

- Messages signed by python3-dkim (RSA-2048 and Ed25519 keys made here with
  openssl; simple and relaxed canonicalization both ways; with and without
  l=) verify as pass with postern, streamed in chunks of every kind; the
  same messages tampered with (a signed header, the body, the key record
  changed or removed or revoked) do not.
- Messages postern signs verify with python3-dkim (dkim.verify with a
  dnsfunc) and with Mail::DKIM (Mail::DKIM::Verifier, the keys published as
  TXT records by a dnsmasq started here on a loopback port, read through a
  Net::DNS resolver pointed at it).  Mail::DKIM needs CryptX for Ed25519;
  without it only the RSA signature is checked there.

Nothing here leaves 127.0.0.0/8.
"""
import base64
import os
import signal
import subprocess
import time

import pytest

import dkim

from conftest import TOOLS, free_port

TOOL = os.path.join(TOOLS, "dkim_tool")
DOMAIN = "example.org"

MESSAGE = (b"Received: from relay.example.net by mx.example.org;"
           b" Mon, 7 Dec 2026 10:00:00 +0000\r\n"
           b"From: Kim <kim@example.org>\r\n"
           b"To: Eric <ericm@winery-co.co>\r\n"
           b"Subject:  the   interop\r\n\ttest \r\n"
           b"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
           b"Message-ID: <1@example.org>\r\n"
           b"\r\n"
           b"Hello  there, \t\r\n"
           b"\r\n"
           b" a line with leading blanks\r\n"
           b"trailing blanks   \r\n"
           + b"x" * 3000 + b"\r\n"
           b"\r\n\r\n")

SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


def openssl_der(*args):
    return subprocess.run(["openssl", "pkey"] + list(args) + ["-outform", "DER"],
                          check=True, capture_output=True).stdout


class Keys:
    """An RSA-2048 and an Ed25519 key, their PEM files and records."""

    def __init__(self, tmp):
        self.rsa_pem = os.path.join(tmp, "rsa.pem")
        self.ed_pem = os.path.join(tmp, "ed.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA",
                        "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                        self.rsa_pem], check=True, capture_output=True)
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519",
                        "-out", self.ed_pem], check=True, capture_output=True)
        self.rsa_private = open(self.rsa_pem, "rb").read()
        # python3-dkim takes the 32-byte Ed25519 seed, base64
        self.ed_private = base64.b64encode(openssl_der("-in", self.ed_pem)[-32:])
        rsa_pub = base64.b64encode(openssl_der("-in", self.rsa_pem, "-pubout"))
        ed_pub = base64.b64encode(openssl_der("-in", self.ed_pem, "-pubout")[-32:])
        self.records = {
            "rsa._domainkey." + DOMAIN: "v=DKIM1; k=rsa; p=" + rsa_pub.decode(),
            "ed._domainkey." + DOMAIN: "v=DKIM1; k=ed25519; p=" + ed_pub.decode(),
        }


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp("dkimkeys")))


def dkimpy_sign(keys, kind, canon=(b"relaxed", b"relaxed"), length=False,
                message=MESSAGE):
    if kind == "rsa":
        sig = dkim.sign(message, b"rsa", DOMAIN.encode(), keys.rsa_private,
                        canonicalize=canon, include_headers=SIGNED,
                        length=length)
    else:
        sig = dkim.sign(message, b"ed", DOMAIN.encode(), keys.ed_private,
                        canonicalize=canon, include_headers=SIGNED,
                        length=length, signature_algorithm=b"ed25519-sha256")
    return sig + message


def tool_verify(tmp_path, message, records, chunk=4096):
    zone = os.path.join(str(tmp_path), "zone")
    with open(zone, "w") as f:
        for name, text in records.items():
            f.write("%s %s\n" % (name, text))
    env = dict(os.environ, DKIM_TOOL_CHUNK=str(chunk))
    out = subprocess.run([TOOL, "verify", zone], input=message, env=env,
                         capture_output=True, check=True).stdout.decode()
    return [line.split(" ", 1) for line in out.splitlines()]


def results(tmp_path, message, records, chunk=4096):
    return [r[0] for r in tool_verify(tmp_path, message, records, chunk)]


CANONS = [(b"simple", b"simple"), (b"simple", b"relaxed"),
          (b"relaxed", b"simple"), (b"relaxed", b"relaxed")]


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
@pytest.mark.parametrize("canon", CANONS, ids=lambda c: b"/".join(c).decode())
@pytest.mark.parametrize("length", [False, True], ids=["all", "l="])
def test_dkimpy_signed_pass(tmp_path, keys, kind, canon, length):
    msg = dkimpy_sign(keys, kind, canon, length)
    for chunk in (1, 2, 3, 7, 64, 4096):
        assert results(tmp_path, msg, keys.records, chunk) == ["pass"], chunk
    line = tool_verify(tmp_path, msg, keys.records)[0][1]
    assert ("l=-1" in line) != length


def test_dkimpy_length_allows_appended_text(tmp_path, keys):
    msg = dkimpy_sign(keys, "rsa", length=True) + b"appended\r\n"
    assert results(tmp_path, msg, keys.records) == ["pass"]
    msg = dkimpy_sign(keys, "rsa", length=False) + b"appended\r\n"
    assert results(tmp_path, msg, keys.records) == ["fail"]


@pytest.mark.parametrize("kind", ["rsa", "ed25519"])
@pytest.mark.parametrize("canon", CANONS, ids=lambda c: b"/".join(c).decode())
def test_dkimpy_signed_tampered(tmp_path, keys, kind, canon):
    msg = dkimpy_sign(keys, kind, canon)
    # a signed header changed
    bad = msg.replace(b"the   interop", b"the   intercept")
    assert results(tmp_path, bad, keys.records) == ["fail"]
    # the body changed
    bad = msg.replace(b"Hello  there", b"Hello  where")
    assert results(tmp_path, bad, keys.records) == ["fail"]
    # an unsigned field added: still pass
    ok = msg.replace(b"Date:", b"X-Spam: no\r\nDate:")
    assert results(tmp_path, ok, keys.records) == ["pass"]
    # the key record replaced by another key of the same type
    other = dict(keys.records)
    sel = "rsa" if kind == "rsa" else "ed"
    swap = "ed" if kind == "rsa" else "rsa"
    other[sel + "._domainkey." + DOMAIN] = keys.records[
        swap + "._domainkey." + DOMAIN]
    assert results(tmp_path, msg, other) == ["permerror"]  # wrong type
    # removed, revoked, garbled
    other = dict(keys.records)
    del other[sel + "._domainkey." + DOMAIN]
    out = tool_verify(tmp_path, msg, other)
    assert out[0][0] == "permerror" and "no key record" in out[0][1]
    other[sel + "._domainkey." + DOMAIN] = "v=DKIM1; p="
    assert results(tmp_path, msg, other) == ["permerror"]
    other[sel + "._domainkey." + DOMAIN] = "!TEMPFAIL"
    assert results(tmp_path, msg, other) == ["temperror"]


def test_dkimpy_other_rsa_key_fails(tmp_path, keys):
    msg = dkimpy_sign(keys, "rsa")
    other_pem = os.path.join(str(tmp_path), "other.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:2048", "-out", other_pem],
                   check=True, capture_output=True)
    pub = base64.b64encode(openssl_der("-in", other_pem, "-pubout")).decode()
    other = dict(keys.records)
    other["rsa._domainkey." + DOMAIN] = "v=DKIM1; k=rsa; p=" + pub
    assert results(tmp_path, msg, other) == ["fail"]


def postern_sign(keys, message=MESSAGE):
    hdrs = ["from", "to", "subject", "date", "message-id", "cc"]
    args = [TOOL, "sign", keys.rsa_pem, DOMAIN, "rsa"] + hdrs + \
        ["+", keys.ed_pem, DOMAIN, "ed"] + hdrs
    return subprocess.run(args, input=message, capture_output=True,
                          check=True).stdout


def test_postern_signed_dkimpy(keys):
    signed = postern_sign(keys)
    assert signed.count(b"DKIM-Signature:") == 2
    assert signed.endswith(MESSAGE)
    for line in signed[:-len(MESSAGE)].split(b"\r\n"):
        assert len(line) <= 78

    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return keys.records.get(name.rstrip(".")).encode()

    d = dkim.DKIM(signed)
    assert d.verify(idx=0, dnsfunc=dnsfunc)
    assert d.verify(idx=1, dnsfunc=dnsfunc)
    # and tampered, not
    bad = signed.replace(b"Subject:  the", b"Subject:  The")
    d = dkim.DKIM(bad)
    assert not d.verify(idx=0, dnsfunc=dnsfunc)
    assert not d.verify(idx=1, dnsfunc=dnsfunc)


class Dnsmasq:
    """A dnsmasq on 127.0.0.1 serving the key records as TXT."""

    def __init__(self, tmp, records):
        self.port = free_port()
        self.log = os.path.join(tmp, "dnsmasq-dkim.log")
        args = ["/usr/sbin/dnsmasq", "-k", "--conf-file=/dev/null",
                "--no-resolv", "--no-hosts", "--bind-interfaces",
                "--listen-address=127.0.0.1", "--port=%d" % self.port,
                "--pid-file=", "--user=root", "--log-queries",
                "--log-facility=%s" % self.log]
        for name, text in records.items():
            # one character-string holds at most 255 octets
            parts = [text[i:i + 255] for i in range(0, len(text), 255)]
            args.append("--txt-record=%s,%s" % (name, ",".join(parts)))
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            assert self.proc.poll() is None, "dnsmasq exited"
            if os.path.exists(self.log) and "started" in open(self.log).read():
                return
            time.sleep(0.05)
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)


MAIL_DKIM = r'''
use strict;
use Mail::DKIM::Verifier;
use Net::DNS::Resolver;
my $res = Net::DNS::Resolver->new(nameservers => ["127.0.0.1"],
    port => $ARGV[0], recurse => 1, udp_timeout => 5, retry => 1);
Mail::DKIM::DNS::resolver($res);
my $dkim = Mail::DKIM::Verifier->new();
binmode STDIN;
local $/;
my $msg = <STDIN>;
$dkim->PRINT($msg);
$dkim->CLOSE;
foreach my $sig ($dkim->signatures) {
    printf "%s %s %s\n", $sig->selector, $sig->result, $sig->result_detail;
}
'''


def have_perl_ed25519():
    return subprocess.run(["perl", "-MCrypt::PK::Ed25519", "-e", "1"],
                          capture_output=True).returncode == 0


def mail_dkim(port, message):
    out = subprocess.run(["perl", "-e", MAIL_DKIM, str(port)], input=message,
                         capture_output=True, check=True).stdout.decode()
    return dict((line.split(" ", 1)[0], line.split(" ", 2)[1])
                for line in out.splitlines())


def test_postern_signed_mail_dkim(tmp_path, keys):
    dns = Dnsmasq(str(tmp_path), keys.records)
    try:
        signed = postern_sign(keys)
        got = mail_dkim(dns.port, signed)
        assert got["rsa"] == "pass", got
        if have_perl_ed25519():
            assert got["ed"] == "pass", got
        bad = signed.replace(b"Hello  there", b"Hello  where")
        got = mail_dkim(dns.port, bad)
        assert got["rsa"] == "fail", got
    finally:
        dns.stop()
