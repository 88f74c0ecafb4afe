"""Authentication-Results interoperability (RFC 8601): every header
postern's builder makes (src/msgauth/authres.c, through
build/tests/tools/dmarc_tool authres-build) is read by python3-authres
(authres.AuthenticationResultsHeader.parse) to the same authserv-id,
methods, results, reasons and properties; and postern's parser
(authres_parse.c, dmarc_tool authres-parse) reads what python3-authres
builds, ARC-Authentication-Results included.

python3-authres expects an unfolded header (RFC 5322 2.2.3: CRLF
removed), which the test does first.  Two limits of python3-authres keep
some values out of the builder-to-python direction: it neither accepts a
quoted authserv-id nor undoes quoted-pairs (\\" stays \\"), so no id
needs quoting and no value holds a quote or a backslash there.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT, TOOLS

TOOL = os.path.join(TOOLS, "dmarc_tool")

sys.path.insert(0, "/usr/lib/python3/dist-packages")
authres = pytest.importorskip("authres")
import authres.arc     # noqa: E402
import authres.dkim_b  # noqa: E402
import authres.dmarc   # noqa: E402

pytestmark = pytest.mark.skipif(not os.path.exists(TOOL),
                                reason="make all first")
CTX = authres.FeatureContext(authres.dmarc, authres.arc, authres.dkim_b)


def build(spec):
    r = subprocess.run([TOOL, "authres-build"], input=json.dumps(spec).encode(),
                       capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode()


def parse(value, arc=False):
    r = subprocess.run([TOOL, "authres-parse"] + (["--arc"] if arc else []),
                       input=value.encode(), capture_output=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


LONG = "a-rather-long-label-for-folding." * 3 + "example.com"

SPECS = [
    {"id": "mx.winery-co.co", "results": []},
    {"id": "mx.winery-co.co", "results": [
        {"method": "spf", "result": "pass",
         "comment": "mx.winery-co.co: domain of bounce@example.net "
                    "designates 192.0.2.1 as permitted sender",
         "props": [["smtp", "mailfrom", "bounce@example.net"]]},
        {"method": "dkim", "result": "pass",
         "props": [["header", "d", "example.net"], ["header", "s", "s2026"],
                   ["header", "b", "Ab/Cd+Ef"]]},
        {"method": "dkim", "result": "fail", "comment": "body hash mismatch",
         "props": [["header", "d", "example.org"], ["header", "s", "sel"],
                   ["header", "b", "XyZ=1234"]]},
        {"method": "dmarc", "result": "fail",
         "comment": "p=reject sp=none dis=quarantine",
         "props": [["header", "from", "example.net"],
                   ["policy", "dmarc", "quarantine"]]},
        {"method": "arc", "result": "none"},
    ]},
    {"id": "gw.example", "results": [
        {"method": "spf", "result": "none", "reason": "no SPF record",
         "props": [["smtp", "helo", LONG]]},
        {"method": "spf", "result": "softfail",
         "props": [["smtp", "mailfrom", "SRS0=ab=cd@example.com"]]},
        {"method": "spf", "result": "pass",
         "props": [["smtp", "mailfrom", "@example.com"]]},
        {"method": "dkim", "result": "permerror",
         "comment": "a comment (with parens) and a \\ backslash " * 3,
         "props": [["header", "d", "example.com"],
                   ["header", "i", "@news.example.com"]]},
        {"method": "dmarc", "result": "temperror", "comment": "DNS",
         "props": [["header", "from", "example.com"]]},
    ]},
]


def unfold(h):
    assert h.endswith("\r\n")
    return h.replace("\r\n", "")


def python_view(parsed):
    return (parsed.authserv_id,
            [(r.method, r.result, r.reason,
              [(p.type, p.name, p.value) for p in r.properties])
             for r in parsed.results])


def spec_view(spec):
    return (spec["id"],
            [(r["method"], r["result"], r.get("reason"),
              [tuple(p) for p in r.get("props", [])])
             for r in spec["results"]])


@pytest.mark.parametrize("spec", SPECS, ids=["none", "full", "odd"])
def test_python_reads_ours(spec):
    h = build(spec)
    for line in h.split("\r\n")[:-1]:
        # 78 octets, but for one word too long to fold (RFC 5322 2.1.1)
        assert len(line) <= 78 or " " not in line.strip(), line
    parsed = CTX.parse(unfold(h))
    if not spec["results"]:
        assert parsed.authserv_id == spec["id"]
        assert [r.method for r in parsed.results] == ["none"] or \
            parsed.results == []
        return
    assert python_view(parsed) == spec_view(spec)


def test_we_read_our_own():
    for spec in SPECS[1:]:
        h = build(spec)
        p = parse(h.split(":", 1)[1][:-2])
        assert p["ok"] and p["syntax_errors"] == 0
        assert p["authserv_id"] == spec["id"]
        assert [(r["method"], r["result"], r["reason"] or None,
                 [tuple(x) for x in r["props"]]) for r in p["results"]] == \
            spec_view(spec)[1]


def python_headers():
    A = authres
    return [
        CTX.header(authserv_id="example.org"),
        CTX.header(
            authserv_id="mx.example.org", results=[
                A.SPFAuthenticationResult(
                    result="pass", result_comment="good (nested) one",
                    smtp_mailfrom="a@example.com"),
                A.DKIMAuthenticationResult(
                    result="pass", header_d="example.com", header_s="sel",
                    header_i="@example.com"),
                A.dmarc.DMARCAuthenticationResult(
                    result="fail", header_from="example.com",
                    policy="reject"),
                A.arc.ARCAuthenticationResult(
                    result="pass", header_ams_d="lists.example",
                    header_oldest_pass="1", smtp_remote_ip="192.0.2.7"),
            ]),
        CTX.header(
            authserv_id="mx.example.org", version=1, results=[
                A.SMTPAUTHAuthenticationResult(
                    result="pass", result_comment="cram-md5",
                    smtp_auth="sender@example.net"),
                A.IPRevAuthenticationResult(
                    result="fail", reason="no PTR",
                    policy_iprev="192.0.2.200"),
                A.SPFAuthenticationResult(result="neutral",
                                          smtp_helo="mail.example.net"),
            ]),
    ]


def our_view(p):
    return (p["authserv_id"],
            [(r["method"], r["result"], r["reason"] or None,
              [tuple(x) for x in r["props"]]) for r in p["results"]])


@pytest.mark.parametrize("i", range(3))
def test_we_read_python(i):
    h = python_headers()[i]
    text = str(h)
    p = parse(text.split(":", 1)[1])
    assert p["ok"] and p["syntax_errors"] == 0, p
    if not h.results:
        assert p["none"] and p["authserv_id"] == "example.org"
        return
    assert our_view(p) == python_view(CTX.parse(text))
    # and folded as a mail system would fold it
    folded = text.split(":", 1)[1].replace("; ", ";\r\n\t")
    assert our_view(parse(folded)) == our_view(p)


def test_we_read_python_arc():
    """ARC-Authentication-Results: "i=N;" then the A-R payload (RFC 8617
    4.1.1)."""
    h = python_headers()[1]
    value = " i=3; " + h.header_value()
    p = parse(value, arc=True)
    assert p["ok"] and p["arc_instance"] == 3
    assert our_view(p) == python_view(CTX.parse(str(h)))
    assert parse(" " + h.header_value(), arc=True)["ok"] is False
