"""ARC interop: chains sealed by python3-dkim's ARC signer (dkim.arc_sign)
over one and two hops verify as pass with postern's ARC verifier (through
tests/tools/dkim_tool arc), streamed in chunks of every kind; tampered
chains (the body, a signed field, a sealed ARC-Authentication-Results, a
set removed, the key) fail, and python3-dkim's own verifier agrees on
each.  Nothing here leaves 127.0.0.0/8.
"""
import os
import subprocess

import pytest

import dkim

from test_dkim_interop import DOMAIN, TOOL, Keys

MESSAGE = (b"From: Kim <kim@example.org>\r\n"
           b"To: list@lists.example\r\n"
           b"Subject: an ARC test\r\n"
           b"Date: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
           b"Message-ID: <arc@example.org>\r\n"
           b"Authentication-Results: hop1.example; spf=pass"
           b" smtp.mailfrom=example.org;\r\n dkim=pass header.d=example.org;"
           b" dmarc=pass header.from=example.org\r\n"
           b"\r\n"
           b"Hello  there \r\n"
           b"\r\n"
           b"more  text\t\r\n")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return Keys(str(tmp_path_factory.mktemp("arckeys")))


def hop1(keys):
    return b"".join(dkim.arc_sign(MESSAGE, b"rsa", DOMAIN.encode(),
                                  keys.rsa_private, b"hop1.example")) + MESSAGE


def hop2(keys):
    m = (b"Authentication-Results: hop2.example; arc=pass;"
         b" dmarc=pass header.from=example.org\r\n" + hop1(keys))
    sealed = dkim.arc_sign(m, b"rsa", DOMAIN.encode(), keys.rsa_private,
                           b"hop2.example")
    assert len(sealed) == 3
    return b"".join(sealed) + m


def tool_arc(tmp_path, message, records, chunk=4096):
    zone = os.path.join(str(tmp_path), "zone")
    with open(zone, "w") as f:
        for name, text in records.items():
            f.write("%s %s\n" % (name, text))
    env = dict(os.environ, DKIM_TOOL_CHUNK=str(chunk))
    out = subprocess.run([TOOL, "arc", zone], input=message, env=env,
                         capture_output=True, check=True).stdout.decode()
    return out.strip()


def dkimpy_arc(message, records):
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        text = records.get(name.rstrip("."))
        return text.encode() if text else None
    return dkim.arc_verify(message, dnsfunc=dnsfunc)[0]


def test_no_chain(tmp_path, keys):
    assert tool_arc(tmp_path, MESSAGE, keys.records).startswith(
        "none instances=0")


@pytest.mark.parametrize("hops", [1, 2])
def test_chain_pass(tmp_path, keys, hops):
    m = hop1(keys) if hops == 1 else hop2(keys)
    assert dkimpy_arc(m, keys.records) == b"pass"
    for chunk in (1, 2, 5, 64, 4096):
        out = tool_arc(tmp_path, m, keys.records, chunk)
        assert out.startswith("pass instances=%d sealer=%s" % (hops, DOMAIN)), out
    if hops == 2:
        # unfolded: python3-dkim folds the AAR after a ';'
        assert "aar=hop2.example; arc=pass;" in out
        assert "dmarc=pass header.from=example.org" in out
    else:
        assert "aar=hop1.example; spf=pass" in out


TAMPER = [
    ("body", b"more  text", b"less  text"),
    ("signed field", b"Subject: an ARC", b"Subject: no ARC"),
    ("sealed AAR", b"i=1; hop1.example; spf=pass", b"i=1; hop1.example; spf=fail"),
]


@pytest.mark.parametrize("what,old,new", TAMPER, ids=[t[0] for t in TAMPER])
def test_chain_tampered(tmp_path, keys, what, old, new):
    m = hop2(keys)
    assert old in m
    bad = m.replace(old, new, 1)
    assert dkimpy_arc(bad, keys.records) == b"fail"
    assert tool_arc(tmp_path, bad, keys.records).startswith("fail "), what


def test_chain_set_removed(tmp_path, keys):
    m = hop2(keys)
    # drop the i=1 seal (its first line and its continuation lines)
    lines = m.split(b"\r\n")
    start = next(i for i, l in enumerate(lines) if l.startswith(b"ARC-Seal: i=1"))
    end = start + 1
    while lines[end].startswith((b" ", b"\t")):
        end += 1
    bad = b"\r\n".join(lines[:start] + lines[end:])
    assert dkimpy_arc(bad, keys.records) == b"fail"
    out = tool_arc(tmp_path, bad, keys.records)
    assert out.startswith("fail ") and "no arc-seal with i=1" in out


def test_chain_key_gone(tmp_path, keys):
    m = hop2(keys)
    out = tool_arc(tmp_path, m, {})
    assert out.startswith("fail ") and "no key record" in out
    out = tool_arc(tmp_path, m, {"rsa._domainkey." + DOMAIN: "!TEMPFAIL"})
    assert out.startswith("fail ") and "lookup failed" in out
