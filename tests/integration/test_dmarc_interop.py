"""DMARC interoperability: postern's evaluator (src/msgauth/dmarc.c, run
through build/tests/tools/dmarc_tool on a table zone) against Mail::DMARC
(libmail-dmarc-perl's Mail::DMARC::PurePerl, the independent
implementation), on one matrix of cases: aligned and unaligned SPF and
DKIM, relaxed and strict alignment, no record, p=none/quarantine/reject,
a subdomain From under its organizational domain's record (sp or p), a
record found only at the organizational domain, pct=0 and pct=100, a
multi-label public suffix (co.uk).

Mail::DMARC asks DNS through Net::DNS: a dnsmasq this test starts on a
loopback port serves the same records (--txt-record), authoritative for
the test TLDs (--local) so that a missing name is NXDOMAIN, with an A
record for every organizational domain (Mail::DMARC first checks that the
From domain exists, RFC 7489 has no such step).  Both sides read the same
Public Suffix List, Debian's /usr/share/publicsuffix/public_suffix_list.dat
(Debian's mail-dmarc.ini points Mail::DMARC there; the tool is given it).

Where the two differ on purpose (docs/authentication-dmarc.md), a test
asserts the difference, so that it stays known: several records, an
invalid record, a lowercase "v=dmarc1", a Public Suffix List exception
rule (Mail::DMARC does not apply them) and a DNS failure (Mail::DMARC has
no temperror).
"""
import json
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, TOOLS, free_port
from netfix import DNS

TOOL = os.path.join(TOOLS, "dmarc_tool")
PSL = "/usr/share/publicsuffix/public_suffix_list.dat"

pytestmark = [
    pytest.mark.skipif(not os.path.exists(TOOL), reason="make all first"),
    pytest.mark.skipif(subprocess.call(
        ["perl", "-MMail::DMARC::PurePerl", "-MNet::DNS", "-e", "1"],
        stderr=subprocess.DEVNULL) != 0,
        reason="needs libmail-dmarc-perl"),
    pytest.mark.skipif(not os.path.exists("/usr/sbin/dnsmasq"),
                       reason="needs dnsmasq"),
]

# The zone: every record of every case (names are per case).
RECORDS = {
    "_dmarc.relaxed-dm.com": ["v=DMARC1; p=reject"],
    "_dmarc.strict-dm.com": ["v=DMARC1; p=quarantine; adkim=s; aspf=s"],
    "_dmarc.none-dm.com": ["v=DMARC1; p=none"],
    "_dmarc.quar-dm.com": ["v=DMARC1; p=quarantine"],
    "_dmarc.sp-dm.com": ["v=DMARC1; p=none; sp=reject"],
    "_dmarc.orgonly-dm.com": ["v=DMARC1; p=quarantine"],
    "_dmarc.pct0-dm.com": ["v=DMARC1; p=reject; pct=0"],
    "_dmarc.pct0q-dm.com": ["v=DMARC1; p=quarantine; pct=0"],
    "_dmarc.pct100-dm.com": ["v=DMARC1; p=reject; pct=100"],
    "_dmarc.example-dm.co.uk": ["v=DMARC1; p=reject"],
    "_dmarc.sub.txt-dm.com": ["v=spf1 -all"],
    "_dmarc.txt-dm.com": ["v=DMARC1; p=reject"],
    "_dmarc.rua-dm.com": ["v=DMARC1; p=bogus; rua=mailto:agg@rua-dm.com"],
    # the known differences
    "_dmarc.two-dm.com": ["v=DMARC1; p=reject", "v=DMARC1; p=none"],
    "_dmarc.bad-dm.com": ["v=DMARC1; p=bogus"],
    "_dmarc.lower-dm.com": ["v=dmarc1; p=reject"],
    "_dmarc.own.spown-dm.com": ["v=DMARC1; p=none; sp=reject"],
}
ORGS = ["relaxed-dm.com", "strict-dm.com", "none-dm.com", "quar-dm.com",
        "sp-dm.com", "orgonly-dm.com", "pct0-dm.com", "pct0q-dm.com",
        "pct100-dm.com", "example-dm.co.uk", "txt-dm.com", "rua-dm.com",
        "two-dm.com", "bad-dm.com", "lower-dm.com", "spown-dm.com",
        "norecord-dm.com", "other-dm.net"]

# (name, From domain, SPF domain, SPF passed, DKIM d= that passed,
#  expected result, policy, disposition)
MATRIX = [
    ("no_record", "norecord-dm.com", "norecord-dm.com", True, [],
     "none", "none", "none"),
    ("spf_relaxed_aligned", "relaxed-dm.com", "bounce.relaxed-dm.com",
     True, [], "pass", "reject", "none"),
    ("spf_unaligned", "relaxed-dm.com", "other-dm.net", True, [],
     "fail", "reject", "reject"),
    ("spf_aligned_not_passed", "relaxed-dm.com", "relaxed-dm.com", False,
     [], "fail", "reject", "reject"),
    ("dkim_relaxed_aligned", "relaxed-dm.com", "other-dm.net", True,
     ["news.relaxed-dm.com"], "pass", "reject", "none"),
    ("dkim_unaligned", "relaxed-dm.com", "other-dm.net", False,
     ["other-dm.net"], "fail", "reject", "reject"),
    ("spf_strict_sub", "strict-dm.com", "bounce.strict-dm.com", True, [],
     "fail", "quarantine", "quarantine"),
    ("spf_strict_exact", "strict-dm.com", "strict-dm.com", True, [],
     "pass", "quarantine", "none"),
    ("dkim_strict_sub", "strict-dm.com", "other-dm.net", False,
     ["mail.strict-dm.com"], "fail", "quarantine", "quarantine"),
    ("dkim_strict_exact", "strict-dm.com", "other-dm.net", False,
     ["strict-dm.com"], "pass", "quarantine", "none"),
    ("p_none", "none-dm.com", "other-dm.net", True, [],
     "fail", "none", "none"),
    ("p_quarantine", "quar-dm.com", "other-dm.net", True, [],
     "fail", "quarantine", "quarantine"),
    ("subdomain_sp", "a.sp-dm.com", "other-dm.net", True, [],
     "fail", "reject", "reject"),
    ("org_domain_itself_p", "sp-dm.com", "other-dm.net", True, [],
     "fail", "none", "none"),
    ("record_only_at_org", "mail.orgonly-dm.com", "other-dm.net", True, [],
     "fail", "quarantine", "quarantine"),
    ("record_only_at_org_aligned", "mail.orgonly-dm.com", "orgonly-dm.com",
     True, [], "pass", "quarantine", "none"),
    ("pct0_reject", "pct0-dm.com", "other-dm.net", True, [],
     "fail", "reject", "quarantine"),
    ("pct0_quarantine", "pct0q-dm.com", "other-dm.net", True, [],
     "fail", "quarantine", "none"),
    ("pct100", "pct100-dm.com", "other-dm.net", True, [],
     "fail", "reject", "reject"),
    ("co_uk_relaxed", "mail.example-dm.co.uk", "bounce.example-dm.co.uk",
     True, [], "pass", "reject", "none"),
    ("co_uk_suffix_not_aligned", "example-dm.co.uk", "co.uk", True,
     ["other-dm.co.uk"], "fail", "reject", "reject"),
    ("non_dmarc_txt_then_org", "sub.txt-dm.com", "other-dm.net", True, [],
     "fail", "reject", "reject"),
    ("invalid_p_valid_rua", "rua-dm.com", "other-dm.net", True, [],
     "fail", "none", "none"),
    # RFC 7489 6.3: sp is for subdomains of the domain queried, not for a
    # subdomain's own record
    ("sp_on_own_record", "own.spown-dm.com", "other-dm.net", True, [],
     "fail", "none", "none"),
]


@pytest.fixture(scope="module")
def dns(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("dmarc-dns"))
    port = free_port("127.0.0.1")
    args = ["--local=/com/", "--local=/net/", "--local=/uk/"]
    for name, texts in RECORDS.items():
        for t in texts:
            args.append("--txt-record=%s,%s" % (name, t))
    for org in ORGS:
        args.append("--host-record=%s,127.0.0.1" % org)
    d = DNS(tmp, "dmarc", "127.0.0.1", port, args).start()
    yield d
    d.stop()


PERL = r'''
use strict; use warnings;
use JSON::PP; use Net::DNS::Resolver; use Mail::DMARC::PurePerl;
my ($port) = @ARGV;
my $cases = decode_json(do { local $/; <STDIN> });
my @out;
for my $c (@$cases) {
    my $d = Mail::DMARC::PurePerl->new;
    my $res = Net::DNS::Resolver->new(nameservers => ['127.0.0.1'],
        port => $port, recurse => 1, dnsrch => 0, defnames => 0,
        udp_timeout => 3, tcp_timeout => 3, retry => 1);
    $d->set_resolver($res);
    $d->header_from($c->{from});
    $d->spf(domain => $c->{spf_domain}, scope => 'mfrom',
            result => $c->{spf_pass} ? 'pass' : 'fail');
    $d->dkim([ map { { domain => $_, selector => 's', result => 'pass' } }
               @{ $c->{dkim} } ]);
    my $r = $d->validate;
    my ($p, $sp) = ('', '');
    my $pub = eval { $r->published };
    if ($pub) { $p = $pub->p // ''; $sp = $pub->sp // ''; }
    my $eff = ($d->is_subdomain && $sp ne '') ? $sp : $p;
    push @out, { result => $r->result, disposition => $r->disposition,
                 policy => lc($eff || 'none') };
}
print encode_json(\@out);
'''


def mail_dmarc(tmp, port, cases):
    script = os.path.join(str(tmp), "dmarc.pl")
    with open(script, "w") as f:
        f.write(PERL)
    inp = [{"from": c[1], "spf_domain": c[2], "spf_pass": c[3],
            "dkim": c[4]} for c in cases]
    env = dict(os.environ,
               MAIL_DMARC_CONFIG_FILE="/usr/share/perl5/auto/share/dist/"
               "Mail-DMARC/mail-dmarc.ini")
    r = subprocess.run(["perl", script, str(port)], input=json.dumps(inp),
                       capture_output=True, text=True, timeout=300,
                       cwd=str(tmp), env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def postern(from_domain, spf_domain, spf_pass, dkim, zone=None, rnd=None):
    zone = zone if zone is not None else [
        [n, "TXT", t] for n, texts in RECORDS.items() for t in texts]
    inp = {"zone": zone, "from": from_domain, "spf_domain": spf_domain,
           "spf_pass": spf_pass, "dkim": dkim, "psl": PSL}
    if rnd is not None:
        inp["rnd"] = rnd
    r = subprocess.run([TOOL, "eval"], input=json.dumps(inp),
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def theirs(dns, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dmarc-perl")
    out = mail_dmarc(tmp, dns.port, MATRIX + DIFFERENCES)
    return {c[0]: o for c, o in zip(MATRIX + DIFFERENCES, out)}


@pytest.mark.parametrize("case", MATRIX, ids=[c[0] for c in MATRIX])
def test_matrix(case, theirs):
    name, frm, spf, spf_pass, dkim, result, policy, disposition = case
    ours = postern(frm, spf, spf_pass, dkim)
    assert (ours["result"], ours["policy"], ours["disposition"]) == \
        (result, policy, disposition), ours
    t = theirs[name]
    assert t["result"] == ours["result"], (t, ours)
    assert t["disposition"] == ours["disposition"], (t, ours)
    if ours["result"] != "none":
        assert t["policy"] == ours["policy"], (t, ours)


# Deliberate differences (docs/authentication-dmarc.md): same layout,
# then what each side says.
DIFFERENCES = [
    ("several_records", "two-dm.com", "other-dm.net", True, [],
     "none", "none", "none"),
    ("invalid_record", "bad-dm.com", "other-dm.net", True, [],
     "permerror", "none", "none"),
    ("lowercase_version", "lower-dm.com", "other-dm.net", True, [],
     "none", "none", "none"),
]
THEIRS = {
    # RFC 7489 6.6.3: several records or an invalid one = no policy
    # applied; Mail::DMARC keeps its initial "fail" (disposition none).
    "several_records": ("fail", "none"),
    "invalid_record": ("fail", "none"),
    # RFC 7489 6.3: "DMARC1" must match precisely; Mail::DMARC lowercases.
    "lowercase_version": ("fail", "reject"),
}


@pytest.mark.parametrize("case", DIFFERENCES, ids=[c[0] for c in DIFFERENCES])
def test_known_difference(case, theirs):
    name, frm, spf, spf_pass, dkim, result, policy, disposition = case
    ours = postern(frm, spf, spf_pass, dkim)
    assert (ours["result"], ours["policy"], ours["disposition"]) == \
        (result, policy, disposition), ours
    t = theirs[name]
    assert (t["result"], t["disposition"]) == THEIRS[name], t


def test_temperror():
    """A DNS failure is temperror, at the From domain (the org domain is
    not asked) and at the org domain.  Mail::DMARC has no temperror: it
    takes a failed query for no record, so there is nothing to compare."""
    zone = [["_dmarc.fail-dm.com", "TEMPFAIL"]]
    o = postern("fail-dm.com", "fail-dm.com", True, [], zone=zone)
    assert (o["result"], o["disposition"], o["asked"]) == \
        ("temperror", "none", 1)
    o = postern("mail.fail-dm.com", "fail-dm.com", True, [], zone=zone)
    assert (o["result"], o["asked"]) == ("temperror", 2)


def test_pct_sampling():
    """pct between 0 and 100 is a draw (RFC 7489 6.6.4); the tool fixes
    it: a number below pct is sampled in."""
    zone = [["_dmarc.half-dm.com", "TXT", "v=DMARC1; p=reject; pct=50"]]
    o = postern("half-dm.com", "x-dm.net", True, [], zone=zone, rnd=149)
    assert (o["disposition"], o["sampled_out"]) == ("reject", False)
    o = postern("half-dm.com", "x-dm.net", True, [], zone=zone, rnd=50)
    assert (o["disposition"], o["sampled_out"]) == ("quarantine", True)


def test_same_public_suffix_list():
    """Both sides find the same organizational domains (a wildcard rule,
    a private-section suffix, a suffix itself) on the same list, but for
    an exception rule: "!city.kawasaki.jp" makes city.kawasaki.jp
    registrable (the PSL's algorithm, libpsl); Mail::DMARC's
    is_public_suffix matches "*.kawasaki.jp" and ignores the exception;
    and for an unknown TLD, where the list's implicit "*" rule makes the
    TLD the suffix (libpsl) and Mail::DMARC takes the TLD alone."""
    names = ["a.b.example.co.uk", "x.y.kawasaki.jp", "x.y.blogspot.com",
             "mail.example.com", "com", "a.city.kawasaki.jp",
             "a.b.example.invalidtld"]
    script = ("use Mail::DMARC::PurePerl; my $d = Mail::DMARC::PurePerl->new;"
              " print join(\"\\n\", map { $d->get_organizational_domain($_) }"
              " @ARGV), \"\\n\";")
    env = dict(os.environ,
               MAIL_DMARC_CONFIG_FILE="/usr/share/perl5/auto/share/dist/"
               "Mail-DMARC/mail-dmarc.ini")
    r = subprocess.run(["perl", "-e", script] + names, capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    theirs = r.stdout.split()
    ours = [postern(n, None, False, [], zone=[])["org_domain"] for n in names]
    assert ours[:-2] == theirs[:-2]
    assert list(zip(ours[-2:], theirs[-2:])) == [
        ("city.kawasaki.jp", "a.city.kawasaki.jp"),
        ("example.invalidtld", "invalidtld")]
