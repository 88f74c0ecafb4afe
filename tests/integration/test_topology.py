"""The seed deployment (the canonical mail flows of README.md) on real interfaces: three network
namespaces joined by veth pairs (nsfix.py draws the picture), posternd in
the `gateway` one with its two interfaces and IP forwarding off, dnsmasq
as the internal DNS server (intranet) and the external one (internet),
aiosmtpd as the two mailbox servers and the second MX host of example.org,
whose first MX host refuses connections.

It proves every row of the flow table across the two interfaces, and that
`posternctl flow` says the same; that nothing from the Internet reaches
the intranet but the mail posternd relays (a direct connect from the
Internet sender to a mailbox server fails, and succeeds only when the test
turns forwarding on); that the Internet-facing side's DNS questions (its
DNSBL) and the mailbox server names reach only the internal DNS server and
the connector's MX questions only the external one (the dnsmasq query
logs); and that every namespace it creates is gone afterwards, also when
the test fails.  docs/deployment.md is the same topology on a real machine.

Needs root and a working `ip netns`; skipped with the reason otherwise.
"""
import json
import os
import re
import shutil
import subprocess

import pytest

import nsfix
from conftest import ROOT, Gateway, assert_clean_exit
from netfix import wait_for
from nsfix import (CLIENT, EXTERNAL_DNS, GW_EXT, GW_INT, INTERNAL_DNS, LISTED,
                   MBX1, MBX2, MX1, MX2, SENDER, SPAMMER)

_why_not = nsfix.netns_unavailable()
needs_netns = pytest.mark.skipif(_why_not is not None,
                                 reason="topology test skipped: %s" % _why_not)
DEPLOYMENT_MD = os.path.join(ROOT, "docs", "deployment.md")

DIRECTORY = """\
ericm@winery-co.co   mbx1.winery.local
kimy@winery-co.co    mbx2.winery.local
"""

INTERNAL_RECORDS = [
    "--local=/winery.local/", "--local=/dnsbl.example.net/",
    "--host-record=mbx1.winery.local,%s" % MBX1,
    "--host-record=mbx2.winery.local,%s" % MBX2,
    # The DNSBL the Internet-facing server asks through the internal
    # resolver (which, on a real network, recurses to the list's servers).
    "--host-record=%s.dnsbl.example.net,127.0.0.2"
    % ".".join(reversed(LISTED.split("."))),
]

EXTERNAL_RECORDS = [
    "--local=/example.org/",
    "--mx-host=example.org,mx1.example.org,10",
    "--mx-host=example.org,mx2.example.org,20",
    "--host-record=mx1.example.org,%s" % MX1,
    "--host-record=mx2.example.org,%s" % MX2,
]


def config(tmp):
    return f"""\
hostname gateway.winery-co.co
spool {tmp}/spool
control {tmp}/control.sock
log stderr
log-level debug
metrics 127.0.0.1:9125
dns {INTERNAL_DNS}
dns-list external {EXTERNAL_DNS}
local-domain winery-co.co
directory file {tmp}/directory
mailbox-port 25
mailbox-store {tmp}/mailboxes

virtual-server internet {{
    listen {GW_EXT}:25
    relay deny
    anonymous yes
    filter {{
        block-sender spam@bad.example @bad.example
        block-client {SPAMMER}/32
        dnsbl dnsbl.example.net
    }}
}}

virtual-server intranet {{
    listen {GW_INT}:25
    listen {GW_INT}:587
    relay allow 10.0.0.0/24
    external-dns external
}}

connector internet {{
    address-space * cost 1
    home intranet
    route dns
    source {GW_EXT}
}}

queue {{
    retry 1s
    expire 1h
    connect-timeout 5s
}}
"""


class NsGateway(Gateway):
    """conftest's Gateway, started inside the gateway namespace."""

    def __init__(self, binary, tmp, ns):
        super().__init__(binary, tmp, config(tmp), DIRECTORY)
        self.ns = ns
        self.control = os.path.join(tmp, "control.sock")

    def command(self):
        return ["ip", "netns", "exec", self.ns] + super().command()

    def ctl(self, *args):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        r = subprocess.run(["ip", "netns", "exec", self.ns,
                            os.path.join(os.path.dirname(self.binary), "posternctl"),
                            "-s", self.control] + list(args),
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    def queue_empty(self):
        return not os.listdir(os.path.join(self.spool, "queue"))


class World:
    def __init__(self, topo, gw, internal, external, mbx1, mbx2, mx2):
        self.topo, self.gw = topo, gw
        self.internal, self.external = internal, external
        self.mbx1, self.mbx2, self.mx2 = mbx1, mbx2, mx2


@pytest.fixture(scope="module", autouse=True)
def stale_namespaces():
    """A crashed earlier run (its pytest process gone) left namespaces:
    remove those, never a live run's."""
    if _why_not is None:
        nsfix.stale_cleanup()


def doc_blocks(lang=None):
    """The fenced blocks of docs/deployment.md, as (language, text)."""
    text = open(DEPLOYMENT_MD).read()
    return [(t, b) for t, b in re.findall(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)
            if lang is None or t == lang]


@pytest.fixture
def world(posternd_bin, tmp_path):
    tmp = str(tmp_path)
    topo = nsfix.Topology(tmp)
    gw = None
    try:
        topo.build()
        internal = topo.dns("intranet", INTERNAL_DNS, INTERNAL_RECORDS, "internal")
        external = topo.dns("internet", EXTERNAL_DNS, EXTERNAL_RECORDS, "external")
        sinks = [topo.sink("intranet", MBX1), topo.sink("intranet", MBX2),
                 topo.sink("internet", MX2)]
        for s in sinks:
            s.ready()
        gw = NsGateway(posternd_bin, tmp, topo.ns["gateway"]).start()
        yield World(topo, gw, internal, external, *sinks)
    finally:
        try:
            rc = gw.stop() if gw and gw.proc else None
        finally:
            errors = topo.close()
    if gw:
        assert_clean_exit(gw, rc)
    assert errors == [], errors
    assert not set(nsfix.our_namespaces()) & set(topo.ns.values())


def from_internet(w, rcpts, sender="someone@example.org", source=SENDER,
                  body="Subject: from the Internet\r\n\r\nhello\r\n"):
    return w.topo.smtp("internet", source, GW_EXT, sender, rcpts, body)


def from_intranet(w, rcpts, sender="ericm@winery-co.co", source=CLIENT,
                  body="Subject: from the intranet\r\n\r\nhello\r\n"):
    return w.topo.smtp("intranet", source, GW_INT, sender, rcpts, body)


@needs_netns
def test_flow_table_across_real_interfaces(world):
    w = world
    observed = {}

    # Internet -> Internet: relaying denied at RCPT, nothing queued.
    r = from_internet(w, ["someone@example.net"])
    assert r["rcpt"][0].startswith("550 5.7.1"), r
    assert "data" not in r
    observed["Internet -> Internet"] = r["rcpt"][0]

    # Internet -> an unknown local user: 550 5.1.1 at RCPT.
    r = from_internet(w, ["nobody@winery-co.co"])
    assert r["rcpt"][0].startswith("550 5.1.1"), r
    observed["Internet -> unknown local user"] = r["rcpt"][0]

    # Blocked sender (550 5.7.1 at MAIL) and blocked clients (554 5.7.1
    # at connect): by CIDR, and by the DNSBL, asked of the internal DNS.
    r = from_internet(w, ["ericm@winery-co.co"], sender="spam@bad.example")
    assert r["mail"].startswith("550 5.7.1"), r
    observed["blocked sender"] = r["mail"]
    r = from_internet(w, ["ericm@winery-co.co"], source=SPAMMER)
    assert r["greeting"].startswith("554 5.7.1"), r
    observed["blocked client"] = r["greeting"]
    r = from_internet(w, ["ericm@winery-co.co"], source=LISTED)
    assert r["greeting"].startswith("554 5.7.1"), r
    assert "dnsbl.example.net" in r["greeting"]
    assert w.gw.messages() == []

    # Internet -> a local user: accepted on the external interface,
    # delivered over the internal one to the mailbox server the
    # directory names (mbx1), and to no other.
    r = from_internet(w, ["ericm@winery-co.co"])
    assert r["rcpt"][0].startswith("250"), r
    assert r["data"].startswith("250"), r

    # intranet -> a local user: kimy's mailbox server is mbx2.
    r = from_intranet(w, ["kimy@winery-co.co"])
    assert r["rcpt"][0].startswith("250") and r["data"].startswith("250"), r

    # intranet -> the Internet: MX of example.org from the external DNS;
    # mx1 refuses connections, mx2 takes it.
    r = from_intranet(w, ["someone@example.org"])
    assert r["rcpt"][0].startswith("250") and r["data"].startswith("250"), r

    assert wait_for(lambda: w.mbx1.rcpts() == ["ericm@winery-co.co"], 30), w.gw.log()
    assert wait_for(lambda: w.mbx2.rcpts() == ["kimy@winery-co.co"], 30), w.gw.log()
    assert wait_for(lambda: w.mx2.rcpts() == ["someone@example.org"], 30), w.gw.log()
    assert wait_for(w.gw.queue_empty, 30), w.gw.log()
    [m1], [m2], [mx] = w.mbx1.messages(), w.mbx2.messages(), w.mx2.messages()
    # Each crossed the gateway as a new connection from its own address
    # on the far side: internal deliveries from 10.0.0.25, the outbound
    # one from 203.0.113.25; never a forwarded packet.
    assert m1["peer"] == GW_INT and m2["peer"] == GW_INT and mx["peer"] == GW_EXT
    assert m1["sender"] == "someone@example.org"
    assert "([%s])" % SENDER in m1["data"] and "from the Internet" in m1["data"]
    assert "([%s])" % CLIENT in m2["data"]
    assert mx["sender"] == "ericm@winery-co.co" and "([%s])" % CLIENT in mx["data"]
    # mx2 got it after mx1 refused the connection, in preference order.
    log = w.gw.log()
    refused = log.find("relay=mx1.example.org[%s]:25" % MX1)
    sent = log.find("to=<someone@example.org>, relay=mx2.example.org[%s" % MX2)
    assert 0 <= refused < sent, log
    assert "Connection refused" in log[refused:sent], log

    # Split DNS, from the query logs.
    internal = w.internal.queries()
    external = w.external.queries()
    inames = {n for _, n in internal}
    enames = {n for _, n in external}
    assert "mbx1.winery.local" in inames and "mbx2.winery.local" in inames, internal
    # The Internet-facing server's own questions (its DNSBL) go to the
    # internal server only.
    rev = lambda a: ".".join(reversed(a.split(".")))  # noqa: E731
    assert rev(SENDER) + ".dnsbl.example.net" in inames, internal
    assert rev(LISTED) + ".dnsbl.example.net" in inames, internal
    assert not any("dnsbl" in n for n in enames), external
    # The connector's MX questions go to the external server only.
    assert ("MX", "example.org") in external, external
    assert "mx1.example.org" in enames and "mx2.example.org" in enames, external
    assert not any(t == "MX" for t, _ in internal), internal
    assert not any(n.endswith("example.org") for n in inames), internal
    assert not any("winery" in n for n in enames), external

    # posternctl flow, from the live configuration, agrees.
    rows = json.loads(w.gw.ctl("flow", "--user", "ericm@winery-co.co", "--json"))
    text = w.gw.ctl("flow", "--user", "ericm@winery-co.co")
    print(text)
    table = {(r["vserver"], r["flow"]): r for r in rows}
    inet = lambda f: table[("internet", f)]    # noqa: E731
    intra = lambda f: table[("intranet", f)]   # noqa: E731
    for flow, live in observed.items():
        assert inet(flow)["reply"] == live, (flow, inet(flow), live)
        assert not inet(flow)["accepted"]
    r = inet("Internet -> local user")
    assert r["accepted"] and r["route"] == "mailbox"
    assert r["next_hop"] == "mbx1.winery.local" and r["dns"] == "internal"
    r = intra("intranet -> local user")
    assert r["accepted"] and r["route"] == "mailbox" and r["dns"] == "internal"
    r = intra("intranet -> Internet")
    assert r["accepted"] and r["connector"] == "internet"
    assert r["next_hop"] == "MX example.org" and r["dns"] == "external"
    assert inet("intranet -> Internet")["reply"].startswith("550 5.7.1")


@needs_netns
def test_no_forwarding_between_the_interfaces(world):
    w, t = world, world.topo
    assert t.sysctl_get("gateway", "net.ipv4.ip_forward") == "0"
    assert t.sysctl_get("gateway", "net.ipv6.conf.all.forwarding") == "0"
    # The Internet sender has a route to the intranet through the gateway;
    # a direct connect to either mailbox server or the internal DNS server
    # still fails: the gateway drops what it would have to forward.
    for addr, port in ((MBX1, 25), (MBX2, 25), (INTERNAL_DNS, 53)):
        r = t.connect("internet", SENDER, addr, port, timeout=1)
        assert not r["ok"] and r["elapsed"] < 5, (addr, r)
    # ...and it is forwarding that stops it: on, the same connect works.
    t.sysctl("gateway", "net.ipv4.ip_forward=1")
    try:
        r = t.connect("internet", SENDER, MBX1, 25, timeout=1)
        assert r["ok"], r
    finally:
        t.sysctl("gateway", "net.ipv4.ip_forward=0")
    r = t.connect("internet", SENDER, MBX1, 25, timeout=1)
    assert not r["ok"], r
    # Nor can the intranet reach the Internet past the gateway.
    r = t.connect("intranet", CLIENT, MX2, 25, timeout=1)
    assert not r["ok"], r
    # The metrics endpoint is on the gateway's loopback only.
    assert t.connect("gateway", "127.0.0.1", "127.0.0.1", 9125)["ok"]
    assert not t.connect("internet", SENDER, GW_EXT, 9125)["ok"]
    # Linux takes a packet for any of its addresses on any interface, so
    # that Internet host can reach the intranet server's address itself
    # (docs/deployment.md's firewall drops it): even there, relaying is
    # by client address, and the Internet is denied.
    r = w.topo.smtp("internet", SENDER, GW_INT, "someone@example.org",
                    ["someone@example.net"], None)
    assert r["rcpt"][0].startswith("550 5.7.1"), r
    # Yet mail crosses, as mail: relayed by posternd, whose deliveries
    # leave from its own internal address.
    r = from_internet(w, ["kimy@winery-co.co"])
    assert r["data"].startswith("250"), r
    assert wait_for(lambda: w.mbx2.rcpts() == ["kimy@winery-co.co"], 30), w.gw.log()
    assert w.mbx2.messages()[0]["peer"] == GW_INT
    assert w.mbx1.rcpts() == []


@needs_netns
def test_namespaces_removed_on_failure(tmp_path):
    """A test that fails half way still leaves no namespace, no process."""
    topo = nsfix.Topology(str(tmp_path))
    procs = []
    with pytest.raises(RuntimeError, match="boom"):
        with topo:
            topo.build()
            s = topo.sink("intranet", MBX1).ready()
            procs.append(s.proc.proc)
            assert set(topo.ns.values()) <= set(nsfix.our_namespaces())
            raise RuntimeError("boom")
    assert not set(nsfix.our_namespaces()) & set(topo.ns.values())
    assert all(p.poll() is not None for p in procs)


@needs_netns
def test_firewall_ruleset_from_docs(world):
    """docs/deployment.md's nftables ruleset, loaded in the gateway
    namespace: mail still flows both ways, and the Internet reaches
    nothing but port 25 of the external address."""
    if shutil.which("nft") is None:
        pytest.skip("nft (Debian package nftables) not installed: the "
                    "ruleset of docs/deployment.md is not loaded")
    w, t = world, world.topo
    [(_, rules)] = doc_blocks("nft")
    path = os.path.join(w.gw.tmp, "postern.nft")
    with open(path, "w") as f:
        f.write(rules)
    subprocess.run(["ip", "netns", "exec", t.ns["gateway"], "nft", "-f", path],
                   check=True, capture_output=True, timeout=30)
    # Before, the intranet server's address answered the Internet
    # (test_no_forwarding_between_the_interfaces); now it is dropped, as
    # is every other port.
    for addr, port in ((GW_INT, 25), (GW_INT, 587), (GW_EXT, 587),
                       (GW_EXT, 9125), (GW_EXT, 22)):
        r = t.connect("internet", SENDER, addr, port, timeout=1)
        assert not r["ok"], (addr, port, r)
    assert t.connect("intranet", CLIENT, GW_INT, 587)["ok"]
    assert t.connect("gateway", "127.0.0.1", "127.0.0.1", 9125)["ok"]
    # Mail in and out, DNS on both sides, through the firewall.
    r = from_internet(w, ["ericm@winery-co.co"])
    assert r["data"].startswith("250"), r
    r = from_intranet(w, ["someone@example.org"])
    assert r["data"].startswith("250"), r
    assert wait_for(lambda: w.mbx1.rcpts() == ["ericm@winery-co.co"], 30), w.gw.log()
    assert wait_for(lambda: w.mx2.rcpts() == ["someone@example.org"], 30), w.gw.log()
    r = from_internet(w, ["someone@example.net"])
    assert r["rcpt"][0].startswith("550 5.7.1"), r


def test_deployment_configuration_checks(posternd_bin, tmp_path):
    """The postern.conf and directory of docs/deployment.md pass
    `posternd -n`, their /etc and /var paths moved under tmp."""
    tmp = str(tmp_path)
    [conf] = [b for _, b in doc_blocks("") if b.startswith("hostname")]
    [directory] = [b for _, b in doc_blocks("") if b.startswith("ericm@")]
    conf = conf.replace("/etc/postern/", tmp + "/").replace(
        "/var/spool/postern", tmp + "/spool")
    for name, text in (("postern.conf", conf), ("directory", directory),
                       ("blocked-senders", "")):
        with open(os.path.join(tmp, name), "w") as f:
            f.write(text)
    r = subprocess.run([posternd_bin, "-n", "-f", os.path.join(tmp, "postern.conf")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # It is the topology the namespaces build.
    for addr in (GW_EXT + ":25", GW_INT + ":25", GW_INT + ":587",
                 INTERNAL_DNS, EXTERNAL_DNS):
        assert addr in conf, addr
