"""Message authentication end to end on the Winery gateway
(docs/authentication.md): the Internet-facing server checks SPF, DKIM,
DMARC and ARC with the external DNS list (a real dnsmasq serving the
senders' records), the intranet server signs what it sends out.

- a forged From: of a p=reject domain is refused at the end of DATA;
- a good message is delivered with an Authentication-Results header that
  python3-authres parses, and a forged one carrying our authserv-id is
  removed on the way;
- intranet mail to the Internet reaches the MX sink signed, and
  python3-dkim verifies the signature with the key the test published;
- spf enforce refuses a fail at RCPT (550 5.7.23); p=quarantine with
  `quarantine hold` is held until released; a DNS failure with
  on-dns-failure tempfail is 451 4.7.5; posternctl show and stats say
  what happened.
"""
import os
import re
import subprocess

import pytest

import authres
import dkim

from conftest import (Gateway, free_port, gateway_config, INTERNET,
                      CLIENT_INTERNET, readable_by_run_user)
import test_delivery as delivery
from netfix import wait_for
from test_ctl import ctl, ctl_json
from test_delivery import EXTERNAL_DNS, INTERNAL_DNS
AUTHSERV = "gateway.winery-co.co"


def keypair(tmp, name, kind="rsa"):
    """A private key file and the p= of its DKIM key record."""
    path = os.path.join(tmp, name + ".pem")
    if kind == "rsa":
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                        "rsa_keygen_bits:2048", "-out", path], check=True,
                       capture_output=True)
        pub = subprocess.run(["openssl", "pkey", "-in", path, "-pubout",
                              "-outform", "DER"], check=True,
                             capture_output=True).stdout
        import base64
        return path, base64.b64encode(pub).decode()
    subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out",
                    path], check=True, capture_output=True)
    der = subprocess.run(["openssl", "pkey", "-in", path, "-pubout",
                          "-outform", "DER"], check=True,
                         capture_output=True).stdout
    import base64
    return path, base64.b64encode(der[-32:]).decode()


def txt(name, text):
    """A dnsmasq TXT record, split in strings of at most 255 octets (no
    commas in text: dnsmasq splits there)."""
    parts = [text[i:i + 255] for i in range(0, len(text), 255)]
    return "--txt-record=%s,%s" % (name, ",".join(parts))


class World(delivery.World):
    def __init__(self, tmp, binary):
        # The sender example.org signs with its own key; winery signs
        # with the gateway's.
        self.ex_key, ex_p = keypair(tmp, "example")
        self.win_key, win_p = keypair(tmp, "winery")
        self.list_key, list_p = keypair(tmp, "lists")
        readable_by_run_user(self.win_key)
        self.win_p = win_p
        client = CLIENT_INTERNET
        external = [
            "--local=/example.org/", "--local=/paypal.example/",
            "--local=/quarantine.example/", "--local=/winery-co.co/",
            "--local=/enforce.example/",
            "--mx-host=example.org,mx1.example.org,10",
            "--host-record=mx1.example.org,127.0.0.61",
            txt("example.org", "v=spf1 ip4:%s -all" % client),
            txt("_dmarc.example.org", "v=DMARC1; p=reject"),
            txt("s1._domainkey.example.org", "v=DKIM1; k=rsa; p=" + ex_p),
            # a forger: its envelope domain passes SPF, its From is a
            # p=reject domain it cannot sign for
            txt("paypal.example", "v=spf1 -all"),
            txt("_dmarc.paypal.example", "v=DMARC1; p=reject"),
            txt("quarantine.example", "v=spf1 ip4:%s -all" % client),
            txt("_dmarc.quarantine.example", "v=DMARC1; p=quarantine; aspf=s"),
            txt("enforce.example", "v=spf1 ip4:192.0.2.1 -all"),
            txt("s2026._domainkey.winery-co.co",
                "v=DKIM1; k=rsa; p=" + win_p),
            # a mailing list that forwards example.org's mail and seals it
            "--local=/lists.example/",
            txt("lists.example", "v=spf1 ip4:%s -all" % client),
            txt("arc._domainkey.lists.example", "v=DKIM1; k=rsa; p=" + list_p),
            # SERVFAIL for the SPF record of broken.example
            "--server=/broken.example/127.0.0.1#9",
        ]
        super().__init__(tmp, binary, external=external)

    def gateway(self, internet_auth="    dmarc enforce\n", extra_top=""):
        port = free_port(INTERNET)
        top = """log-level debug
mailbox-port %d
dkim-key winery {
    domain winery-co.co
    selector s2026
    key %s
}
%s""" % (self.sport, self.win_key, extra_top)
        conf = gateway_config(
            self.tmp, port, top=top,
            dns="%s:%d" % (INTERNAL_DNS, self.dport),
            external_dns="%s:%d" % (EXTERNAL_DNS, self.dport),
            internet="    authentication {\n        dns external\n%s    }\n"
            % internet_auth,
            intranet="    dkim-sign winery\n",
            connector="    port %d" % self.sport,
            queue="    retry 1s\n    expire 1h")
        self.gw = Gateway(self.binary, self.tmp, conf,
                          "ericm@winery-co.co mbx1.winery.local\n")
        self.gw.port = port
        return self.gw.start()


@pytest.fixture
def world(tmp_path, posternd_bin):
    yield from delivery.running(World(str(tmp_path), posternd_bin))


def message(frm, to="ericm@winery-co.co", subject="hello", extra=b""):
    return (b"From: " + frm.encode() + b"\r\nTo: " + to.encode() +
            b"\r\nSubject: " + subject.encode() +
            b"\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            b"Message-ID: <1@example.org>\r\n" + extra +
            b"\r\nHello Eric,\r\n\r\nthe wine is ready.\r\n")


def signed(world, frm="Alice <alice@example.org>", extra=b""):
    msg = message(frm, extra=extra)
    sig = dkim.sign(msg, b"s1", b"example.org", open(world.ex_key, "rb").read(),
                    canonicalize=(b"relaxed", b"relaxed"),
                    include_headers=[b"from", b"to", b"subject", b"date"])
    return sig + msg


def results(raw):
    """The Authentication-Results fields of a delivered message, parsed."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    fields, cur = [], None
    for line in head.split("\r\n"):
        if line[:1] in (" ", "\t") and cur is not None:
            cur += line
        else:
            if cur is not None:
                fields.append(cur)
            cur = line
    fields.append(cur)
    return [authres.AuthenticationResultsHeader.parse(f) for f in fields
            if f.lower().startswith("authentication-results:")]


def method(header, name):
    return [r for r in header.results if r.method == name]


def test_forged_from_of_a_reject_domain_is_refused(world):
    world.sink("127.0.0.31")
    world.gateway()
    c = world.gw.smtp("internet")
    c.ehlo("mx.example.org")
    c.mail("billing@example.org")      # SPF passes, but not aligned
    c.rcpt("ericm@winery-co.co")
    code, text = c.data(message("PayPal <service@paypal.example>"))
    c.quit()
    assert code == 550 and b"5.7.1" in text, (code, text)
    assert not world.gw.messages()
    assert "dmarc=fail" in world.gw.log()


def test_good_message_gets_authentication_results(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    forged = b"Authentication-Results: " + AUTHSERV.encode() + \
        b"; dkim=pass header.d=example.org; dmarc=pass\r\n"
    world.send("internet", "alice@example.org", ["ericm@winery-co.co"],
               signed(world, extra=forged))
    assert wait_for(lambda: mbx1.messages)
    raw = mbx1.messages[0][2]
    ars = results(raw)
    assert len(ars) == 1, raw      # ours; the forged one is gone
    ar = ars[0]
    assert ar.authserv_id == AUTHSERV
    assert method(ar, "spf")[0].result == "pass"
    assert method(ar, "dkim")[0].result == "pass"
    assert method(ar, "dmarc")[0].result == "pass"
    assert b"the wine is ready" in raw
    stats = ctl_json(world.gw, "stats")
    assert stats["postern_auth_results_total"]["spf"]["pass"] == 1
    assert stats["postern_auth_results_total"]["dmarc"]["pass"] == 1


def test_unsigned_good_spf_passes_dmarc_by_spf(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway()
    world.send("internet", "alice@example.org", ["ericm@winery-co.co"],
               message("alice@example.org"))
    assert wait_for(lambda: mbx1.messages)
    ar = results(mbx1.messages[0][2])[0]
    assert method(ar, "dkim")[0].result == "none"
    assert method(ar, "dmarc")[0].result == "pass"


def test_intranet_mail_leaves_signed(world):
    mx = world.sink("127.0.0.61")
    world.gateway()
    world.send("intranet", "ericm@winery-co.co", ["someone@example.org"],
               message("Eric M <ericm@winery-co.co>", to="someone@example.org"))
    assert wait_for(lambda: mx.messages)
    raw = mx.messages[0][2]
    assert raw.startswith(b"DKIM-Signature:"), raw[:200]

    def dnsfunc(name, timeout=5):
        return b"v=DKIM1; k=rsa; p=" + world.win_p.encode()
    assert dkim.verify(raw, dnsfunc=dnsfunc)
    assert ctl_json(world.gw, "stats")["postern_dkim_signatures_total"] == 1


def test_spf_enforce_refuses_a_fail_at_rcpt(world):
    world.sink("127.0.0.31")
    world.gateway(internet_auth="    spf enforce\n")
    c = world.gw.smtp("internet")
    c.ehlo("mx.enforce.example")
    c.mail("bob@enforce.example")
    code, text = c.rcpt("ericm@winery-co.co")
    c.quit()
    assert code == 550 and b"5.7.23" in text, (code, text)
    assert not world.gw.messages()


def test_quarantine_hold_waits_for_release(world):
    mbx1 = world.sink("127.0.0.31")
    world.gateway(internet_auth="    dmarc enforce\n    quarantine hold\n")
    # SPF passes for the envelope domain, the From is a subdomain of it,
    # aspf=s and no signature: the DMARC check (the org domain's record)
    # fails, and its policy says quarantine.
    world.send("internet", "x@quarantine.example", ["ericm@winery-co.co"],
               message("Q <q@news.quarantine.example>"))
    assert wait_for(lambda: world.gw.messages())
    ids = sorted(os.listdir(os.path.join(world.gw.spool, "queue")))
    assert len(ids) == 1
    shown = ctl(world.gw, "show", ids[0]).stdout
    assert "held:" in shown and "DMARC quarantine" in shown, shown
    assert "Authentication-Results: " + AUTHSERV in shown, shown
    assert not mbx1.messages
    ctl(world.gw, "release", ids[0])
    assert wait_for(lambda: mbx1.messages)
    ar = results(mbx1.messages[0][2])[0]
    assert method(ar, "dmarc")[0].result == "fail"


def test_dns_failure_tempfails_when_told(world):
    world.sink("127.0.0.31")
    world.gateway(internet_auth="    on-dns-failure tempfail\n")
    c = world.gw.smtp("internet")
    c.ehlo("mx.broken.example")
    c.mail("x@broken.example")
    c.rcpt("ericm@winery-co.co")
    code, text = c.data(message("x@broken.example"))
    c.quit()
    assert code == 451 and b"4.7.5" in text, (code, text)


def forwarded(world):
    """example.org's message as the list lists.example sends it on: the
    list checked it (dmarc=pass, in its Authentication-Results), changed
    the subject, and sealed the chain with python3-dkim's ARC signer."""
    msg = message("Alice <alice@example.org>", subject="[list] hello")
    msg = (b"Authentication-Results: lists.example; spf=pass "
           b"smtp.mailfrom=alice@example.org; dmarc=pass "
           b"header.from=example.org\r\n" + msg)
    seal = dkim.arc_sign(msg, b"arc", b"lists.example",
                         open(world.list_key, "rb").read(), b"lists.example")
    assert len(seal) == 3
    return b"".join(seal) + msg


@pytest.mark.parametrize("trusted", [True, False])
def test_arc_trusted_sealer_overrides_dmarc_fail(world, trusted):
    mbx1 = world.sink("127.0.0.31")
    world.gateway(internet_auth="    dmarc enforce\n" +
                  ("    arc-trusted lists.example\n" if trusted else ""))
    c = world.gw.smtp("internet")
    c.ehlo("mail.lists.example")
    c.mail("bounces@lists.example")       # SPF passes, not aligned
    c.rcpt("ericm@winery-co.co")
    code, text = c.data(forwarded(world))
    c.quit()
    if not trusted:
        assert code == 550 and b"5.7.1" in text, (code, text)
        return
    assert code == 250, (code, text)
    assert wait_for(lambda: mbx1.messages)
    ours = [a for a in results(mbx1.messages[0][2])
            if a.authserv_id == AUTHSERV]
    assert len(ours) == 1
    ar = ours[0]
    assert method(ar, "arc")[0].result == "pass"
    assert method(ar, "dmarc")[0].result == "fail"
    head = mbx1.messages[0][2].split(b"\r\n\r\n")[0]
    unfolded = b" ".join(re.sub(rb"\r\n[ \t]+", b" ", head).split())
    assert b"overridden by the ARC chain of trusted sealer lists.example" \
        in unfolded, head


def test_trace_says_what_spf_answers(world):
    world.gateway(internet_auth="    spf enforce\n")
    out = ctl_json(world.gw, "trace", "--server", "internet", "--client",
                   CLIENT_INTERNET, "--sender", "bob@enforce.example",
                   "ericm@winery-co.co")
    assert out[0]["accepted"] is False, out
    assert out[0]["reply"].startswith("550 5.7.23"), out
    assert "SPF fail for enforce.example" in out[0]["note"], out
    out = ctl_json(world.gw, "trace", "--server", "internet", "--client",
                   CLIENT_INTERNET, "--sender", "alice@example.org",
                   "ericm@winery-co.co")
    assert out[0]["accepted"] is True, out
    assert "SPF pass for example.org" in out[0]["note"], out


def test_weak_or_missing_key_is_a_configuration_error(world, tmp_path):
    world.gateway()
    world.gw.stop()
    weak = os.path.join(str(tmp_path), "weak.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt",
                    "rsa_keygen_bits:1024", "-out", weak], check=True,
                   capture_output=True)
    text = open(world.gw.conf).read()
    for bad, why in ((weak, "2048"), ("/nonexistent/key.pem", "key")):
        open(world.gw.conf, "w").write(text.replace(world.win_key, bad))
        r = subprocess.run([world.binary, "-n", "-f", world.gw.conf],
                           capture_output=True, text=True)
        assert r.returncode == 1 and why in r.stderr, r.stderr
    # A reload to a weak key is refused; the running key still signs.
    open(world.gw.conf, "w").write(text)
    world.gw.start()
    readable_by_run_user(weak)
    open(world.gw.conf, "w").write(text.replace(world.win_key, weak))
    r = ctl(world.gw, "reload", check=False)
    assert r.returncode != 0 and "2048" in r.stdout + r.stderr, r
    mx = world.sink("127.0.0.61")
    world.send("intranet", "ericm@winery-co.co", ["someone@example.org"],
               message("ericm@winery-co.co", to="someone@example.org"))
    assert wait_for(lambda: mx.messages)
    assert mx.messages[0][2].startswith(b"DKIM-Signature:")


@pytest.mark.parametrize("how", ["many", "deep"])
def test_forgeries_that_cannot_all_be_removed_are_refused(world, how):
    """A forged Authentication-Results that could reach the mailbox
    server: more of them than the gateway removes, or one behind a header
    section longer than it reads (the DATA reader takes up to 1 MiB)."""
    world.sink("127.0.0.31")
    world.gateway()
    forged = b"Authentication-Results: " + AUTHSERV.encode() + \
        b"; dmarc=pass header.from=example.org\r\n"
    if how == "many":
        extra = forged * 70
    else:
        extra = (b"X-Pad: " + b"x" * 990 + b"\r\n") * 300 + forged
    c = world.gw.smtp("internet")
    c.ehlo("mx.example.org")
    c.mail("alice@example.org")
    c.rcpt("ericm@winery-co.co")
    code, text = c.data(message("alice@example.org", extra=extra))
    c.quit()
    assert code == 554 and b"forged Authentication-Results" in text, \
        (code, text)
    assert not world.gw.messages()
