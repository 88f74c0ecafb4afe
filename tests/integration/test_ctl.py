"""posternctl against a running posternd (posternctl(8)): every command, its effect
on the spool and on delivery, trace against what a real SMTP client gets,
the flow table of the example configuration, reload under load, the
Prometheus endpoint, and a control socket fed garbage."""
import json
import os
import re
import socket
import stat
import struct
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import (CLIENT_INTERNET, CLIENT_INTRANET, INTERNET, INTRANET,
                      ROOT, Gateway, base_config, free_port, user_line)
from netfix import wait_for
from test_delivery import world  # noqa: F401 (pytest fixture)


def ctl_bin(posternd_bin):
    return os.path.join(os.path.dirname(posternd_bin), "posternctl")


def ctl(gw, *args, check=True):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    r = subprocess.run([ctl_bin(gw.binary), "-c", gw.conf] + list(args),
                       capture_output=True, text=True, timeout=60, env=env)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def ctl_json(gw, *args):
    return json.loads(ctl(gw, *args, "--json").stdout)


def queue_ids(gw):
    return sorted(os.listdir(os.path.join(gw.spool, "queue")))


# ---- the queue, with delivery (world: dnsmasq and sinks) ----

def test_queue_show_hold_release_flush_remove(world):
    gw = world.gateway(queue="retry 1h\n    expire 1d")
    # Nothing listens at example.org's MX yet: deferred, with history.
    world.send("intranet", "ericm@winery-co.co", ["someone@example.org"])
    [mid] = queue_ids(gw)
    assert wait_for(lambda: ctl_json(gw, "show", mid)["attempts"] >= 1)
    shown = ctl_json(gw, "show", mid)
    assert shown["sender"] == "ericm@winery-co.co"
    assert shown["vserver"] == "intranet"
    [r] = shown["recipients"]
    assert r["address"] == "someone@example.org" and r["state"] == "pending"
    assert r["last_error"]
    hosts = {(a["host"], a["address"], a["dns"]) for a in shown["history"]}
    assert ("mx1.example.org", "127.0.0.61:%d" % world.sport, "external") in hosts
    assert ("mx2.example.org", "127.0.0.62:%d" % world.sport, "external") in hosts
    assert all(a["reply"] for a in shown["history"])
    text = ctl(gw, "show", mid).stdout
    assert "host mx1.example.org" in text and "dns external" in text
    listing = ctl(gw, "queue").stdout
    assert mid in listing and "someone@example.org (pending: " in listing
    [q] = ctl_json(gw, "queue")
    assert q["id"] == mid and q["size"] > 0 and q["recipients"][0]["state"] == "pending"

    # hold stops delivery, even a flush; release resumes it.
    assert "held" in ctl(gw, "hold", mid).stdout
    mx1 = world.sink("127.0.0.61")
    r = ctl(gw, "flush", mid, check=False)
    assert r.returncode == 1 and "held" in r.stderr
    ctl(gw, "flush")
    time.sleep(2)
    assert mx1.rcpts() == []
    assert ctl_json(gw, "queue")[0]["state"] == "held"
    ctl(gw, "release", mid)
    assert wait_for(lambda: mx1.rcpts() == ["someone@example.org"])
    assert wait_for(lambda: queue_ids(gw) == [])

    # flush retries now (the schedule says an hour).
    world.send("intranet", "ericm@winery-co.co", ["a@later.example"])
    [mid] = queue_ids(gw)
    assert wait_for(lambda: ctl_json(gw, "show", mid)["attempts"] >= 1)
    later = world.sink("127.0.0.69")
    time.sleep(1)
    assert later.rcpts() == []
    ctl(gw, "flush", mid)
    assert wait_for(lambda: later.rcpts() == ["a@later.example"])
    assert wait_for(lambda: queue_ids(gw) == [])

    # remove deletes without a bounce to the sender (whose mailbox
    # server is listening).
    mbx1 = world.sink("127.0.0.31")
    world.send("intranet", "ericm@winery-co.co", ["b@fallback.example"])
    [mid] = queue_ids(gw)
    assert wait_for(lambda: ctl_json(gw, "show", mid)["attempts"] >= 1)
    assert "removed" in ctl(gw, "remove", mid).stdout
    assert queue_ids(gw) == []
    assert not os.path.exists(os.path.join(gw.spool, "state", mid))
    r = ctl(gw, "show", mid, check=False)
    assert r.returncode == 1 and "not in the queue" in r.stderr
    time.sleep(2)
    assert mbx1.messages == []
    assert "removed by the administrator, no DSN" in gw.log()
    stats = ctl_json(gw, "stats")
    assert stats["postern_recipients_delivered_total"] == 2
    assert stats["postern_queue_messages"] == 0


# ---- trace agrees with a real SMTP client ----

TRACE_DIRECTORY = """\
ericm@winery-co.co   mbx1.winery.local
kimy@winery-co.co    [127.0.0.30]:2626
postmaster@winery-co.co local
@winery.local        mbx1.winery.local
team@winery-co.co    -> ericm@winery-co.co kimy@winery-co.co
ext@winery-co.co     -> someone@example.org
"""

TRACE_FILTER = """\
    filter {
        block-sender spam@bad.example @junk.example
        block-client 127.0.0.11/32
        block-recipient internal-all@winery-co.co
    }
"""

TRACE_EXTRA = """
connector branch {
    address-space branch.example cost 1
    home intranet
    route smarthost [127.0.0.40]:25
}
"""

BLOCKED = "127.0.0.11"

# (server, client, sender, recipient, expected reply prefix, route, next hop)
CASES = [
    ("internet", CLIENT_INTERNET, "a@example.org", "someone@example.net", "550 5.7.1", None, None),
    ("internet", CLIENT_INTERNET, "a@example.org", "ericm@winery-co.co", "250", "mailbox", "mbx1.winery.local"),
    ("internet", CLIENT_INTERNET, "a@example.org", "kimy@winery-co.co", "250", "mailbox", "[127.0.0.30]:2626"),
    ("internet", CLIENT_INTERNET, "a@example.org", "nobody@winery-co.co", "550 5.1.1", None, None),
    ("internet", CLIENT_INTERNET, "a@example.org", "anyone@winery.local", "250", "mailbox", "mbx1.winery.local"),
    ("internet", CLIENT_INTERNET, "a@example.org", "team@winery-co.co", "250", "mailbox", None),
    ("internet", CLIENT_INTERNET, "a@example.org", "postmaster@winery-co.co", "250", "mailbox", "local"),
    ("internet", CLIENT_INTERNET, "a@example.org", "x@partner.example", "250", "connector", "MX partner.example"),
    ("internet", CLIENT_INTERNET, "a@example.org", "x@branch.example", "550 5.7.1", None, None),
    ("internet", CLIENT_INTERNET, "spam@bad.example", "ericm@winery-co.co", "550 5.7.1", None, None),
    ("internet", CLIENT_INTERNET, "x@junk.example", "ericm@winery-co.co", "550 5.7.1", None, None),
    ("internet", BLOCKED, "a@example.org", "ericm@winery-co.co", "554 5.7.1", None, None),
    ("internet", CLIENT_INTERNET, "a@example.org", "internal-all@winery-co.co", "550 5.7.1", None, None),
    ("internet", CLIENT_INTERNET, "a@example.org", "ext@winery-co.co", "250", "connector", "MX example.org"),
    ("intranet", CLIENT_INTRANET, "ericm@winery-co.co", "someone@example.org", "250", "connector", "MX example.org"),
    ("intranet", CLIENT_INTRANET, "ericm@winery-co.co", "kimy@winery-co.co", "250", "mailbox", "[127.0.0.30]:2626"),
    ("intranet", CLIENT_INTRANET, "ericm@winery-co.co", "nobody@winery-co.co", "550 5.1.1", None, None),
    ("intranet", CLIENT_INTRANET, "ericm@winery-co.co", "x@branch.example", "250", "connector", "[127.0.0.40]:25"),
    ("intranet", CLIENT_INTRANET, "ericm@winery-co.co", "y@sub.branch.example", "250", "connector", "MX sub.branch.example"),
    ("intranet", CLIENT_INTERNET, "a@example.org", "someone@example.org", "550 5.7.1", None, None),
    ("intranet", CLIENT_INTRANET, "", "team@winery-co.co", "250", "mailbox", None),
    ("intranet", CLIENT_INTRANET, "spam@bad.example", "someone@example.org", "250", "connector", "MX example.org"),
    ("intranet", CLIENT_INTRANET, "ericm@winery-co.co", "anyone@winery.local", "250", "mailbox", "mbx1.winery.local"),
]


def live_reply(gw, server, client, sender, rcpt):
    """What a real client gets at the step where the transaction stops."""
    c = gw.raw(server, source=client)
    try:
        code, text = c.reply()
        if code != 220:
            return text.splitlines()[-1]
        c.cmd("EHLO client.example")
        code, text = c.cmd("MAIL FROM:<%s>" % sender)
        if code != 250:
            return text
        code, text = c.cmd("RCPT TO:<%s>" % rcpt)
        c.cmd("QUIT")
        return text
    finally:
        c.close()


def test_trace_agrees_with_smtp(make_gateway):
    gw = make_gateway(config=lambda tmp, port: base_config(
        tmp, port, extra_internet=TRACE_FILTER) + TRACE_EXTRA,
        directory=TRACE_DIRECTORY)
    assert len(CASES) >= 20
    for server, client, sender, rcpt, want, route, hop in CASES:
        args = ["trace", "--json", "--server", server, "--client", client]
        if sender:
            args += ["--sender", sender]
        [t] = json.loads(ctl(gw, *(args + [rcpt])).stdout)
        live = live_reply(gw, server, client, sender, rcpt)
        case = (server, client, sender, rcpt, t, live)
        assert t["recipient"] == rcpt
        assert t["reply"].startswith(want), case
        assert t["accepted"] == want.startswith("250"), case
        # The same code, enhanced code and text as the session.
        assert live.startswith(t["reply"][:9]), case
        if not want.startswith("250"):
            assert live == t["reply"], case
        assert t["route"] == route, case
        assert t["next_hop"] == hop, case
        if route == "connector":
            assert t["connector"] in ("internet", "branch")
            assert t["dns"] == ("internal" if hop.startswith("[") else "external"), case
        elif hop not in (None, "local"):
            assert t["dns"] == "internal"
    # Several recipients in one trace; text output too.
    r = ctl(gw, "trace", "--server", "internet", "--client", CLIENT_INTERNET,
            "ericm@winery-co.co", "someone@example.net")
    lines = r.stdout.splitlines()
    assert lines[0].startswith("ericm@winery-co.co") and "accepted" in lines[0]
    assert "REFUSED" in lines[1] and "550 5.7.1" in lines[1]
    r = ctl(gw, "trace", "--server", "nosuch", "--client", "1.2.3.4", "a@b.c", check=False)
    assert r.returncode == 1 and "nosuch" in r.stderr
    assert ctl(gw, "trace", "--server", "internet", check=False).returncode == 2


# ---- flow on the example configuration ----

def example_config(tmp):
    """etc/postern.conf.example as it is, but for its listen addresses (free
    ports on the test addresses), its relative paths (spool and
    certificates under tmp, etc/ files from the source tree) and a
    self-signed certificate made for the test."""
    text = open(os.path.join(ROOT, "etc", "postern.conf.example")).read()
    os.makedirs(os.path.join(tmp, "tls"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", "/CN=gateway.test", "-keyout",
                    os.path.join(tmp, "tls", "key.pem"), "-out",
                    os.path.join(tmp, "tls", "cert.pem")],
                   check=True, capture_output=True)
    text = re.sub(r"(?<=\s)run/", tmp + "/", text)
    text = re.sub(r"^#user\s.*$", user_line(), text, flags=re.M)
    text = re.sub(r"(?<=\s)etc/", os.path.join(ROOT, "etc") + "/", text)
    out, addr = [], None
    for line in text.splitlines():
        m = re.match(r"\s*virtual-server\s+(\S+)", line)
        if m:
            addr = INTERNET if m.group(1) == "internet" else INTRANET
        m = re.match(r"(\s*listen\s+)(\S+)(.*)", line)
        if m and addr:
            line = "%s%s:%d%s" % (m.group(1), addr, free_port(addr), m.group(3))
        out.append(line)
    return "\n".join(out) + "\n"


def test_flow_example_configuration(posternd_bin, tmp_path):
    gw = Gateway(posternd_bin, str(tmp_path), "", "")
    gw.write_config(example_config(str(tmp_path)))
    gw.start()
    try:
        out = ctl(gw, "flow", "--user", "ericm@winery-co.co").stdout
        rows = ctl_json(gw, "flow", "--user", "ericm@winery-co.co")
    finally:
        assert gw.stop() == 0
    print(out)
    table = {(r["vserver"], r["flow"]): r for r in rows}
    inet = lambda f: table[("internet", f)]
    intra = lambda f: table[("intranet", f)]
    # the canonical mail flows of README.md, row by row.
    assert inet("Internet -> Internet")["reply"].startswith("550 5.7.1")
    assert inet("Internet -> local user")["accepted"]
    assert inet("Internet -> local user")["next_hop"] == "mbx1.winery.local"
    assert inet("Internet -> unknown local user")["reply"].startswith("550 5.1.1")
    assert intra("intranet -> local user")["accepted"]
    assert intra("intranet -> local user")["route"] == "mailbox"
    r = intra("intranet -> Internet")
    assert r["accepted"] and r["connector"] == "internet"
    assert r["next_hop"].startswith("MX ") and r["dns"] == "external"
    assert inet("blocked sender")["reply"].startswith("550 5.7.1")
    assert inet("blocked client")["reply"].startswith("554 5.7.1")
    assert inet("intranet -> Internet")["reply"].startswith("550 5.7.1")
    assert "virtual server internet" in out and "virtual server intranet" in out
    assert re.search(r"Internet -> Internet +REFUSED +550 5\.7\.1", out)
    assert re.search(r"intranet -> Internet +accepted +-> connector internet, "
                     r"MX example\.org \(dns external\)", out)


# ---- reload ----

def test_reload_under_load(make_gateway):
    gw = make_gateway()
    stop = threading.Event()
    sent, errors = [], []

    def sender(n):
        try:
            c = gw.smtp("intranet")
            while not stop.is_set():
                c.sendmail("ericm@winery-co.co", ["kimy@winery-co.co"],
                           "Subject: load %d\r\n\r\nbody\r\n" % len(sent))
                sent.append(n)
            c.quit()
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    text = open(gw.conf).read()
    for i in range(5):
        time.sleep(0.3)
        assert "configuration reloaded" in ctl(gw, "reload").stdout
    # A bad configuration is refused with FILE:LINE and the old one stays.
    gw.write_config(text + "\nnonsense here\n")
    r = ctl(gw, "reload", check=False)
    assert r.returncode == 1
    assert "postern.conf:%d:" % (text.count("\n") + 2) in r.stderr
    gw.write_config(text)
    time.sleep(0.3)
    stop.set()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(sent) > 10
    assert wait_for(lambda: len(queue_ids(gw)) == len(sent)), (len(queue_ids(gw)), len(sent))
    assert gw.log().count("configuration reloaded") == 5


# ---- metrics ----

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_]+="[^"]*"(,[a-zA-Z_]+="[^"]*")*)?\})? '
                    r'(-?[0-9.e+]+|\+Inf|NaN)$')


def parse_prometheus(text):
    """A strict reader of the text exposition format: every line is a
    HELP, a TYPE or a sample of the family last typed."""
    samples, types = {}, {}
    family = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram"), line
            assert name not in types, "family typed twice: " + name
            types[name] = kind
            family = name
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample: %r" % line
        name = m.group(1)
        assert name == family or name.startswith(family + "_"), line
        samples[(name, m.group(3) or "")] = float(m.group(5))
    return samples, types


def test_metrics_scrape(make_gateway):
    mport = free_port("127.0.0.1")
    gw = make_gateway(extra_top="metrics 127.0.0.1:%d" % mport)
    for i in range(3):
        c = gw.smtp("internet")
        c.sendmail("a@example.org", ["ericm@winery-co.co"], "Subject: m\r\n\r\nx\r\n")
        c.quit()
    c = gw.smtp("internet")
    c.ehlo("x")
    c.mail("a@example.org")
    for i in range(2):
        assert c.rcpt("someone%d@example.net" % i)[0] == 550
    assert c.rcpt("nobody@winery-co.co")[0] == 550
    c.quit()
    text = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10).read().decode()
    samples, types = parse_prometheus(text)
    assert samples[("postern_messages_received_total", "")] == 3
    assert samples[("postern_refused_total", 'rule="relay"')] == 2
    assert samples[("postern_refused_total", 'rule="unknown-user"')] == 1
    assert samples[("postern_connections_total", "")] == 4
    assert samples[("postern_queue_messages", "")] == 3
    assert samples[("postern_commit_messages_total", "")] == 3
    assert samples[("postern_queue_oldest_age_seconds", "")] >= 0
    assert types["postern_delivery_latency_seconds"] == "histogram"
    buckets = [v for (n, l), v in samples.items() if n == "postern_delivery_latency_seconds_bucket"]
    assert buckets == sorted(buckets) and len(buckets) == 11
    assert ("postern_dns_lookups_total", 'profile="internal"') in samples
    assert ("postern_dns_failures_total", 'profile="external"') in samples
    # posternctl stats reads the same counters.
    stats = ctl_json(gw, "stats")
    assert stats["postern_messages_received_total"] == 3
    assert stats["postern_refused_total"]["relay"] == 2
    assert "postern_refused_total{rule=\"relay\"} 2" in ctl(gw, "stats").stdout
    try:
        urllib.request.urlopen("http://127.0.0.1:%d/other" % mport, timeout=10)
        assert False, "404 expected"
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_metrics_refused_on_internet_address(posternd_bin, tmp_path):
    port = free_port(INTERNET)
    path = tmp_path / "p.conf"
    path.write_text(base_config(str(tmp_path), port, extra_top="metrics %s:%d" % (INTERNET, port + 1)))
    (tmp_path / "directory").write_text("")
    r = subprocess.run([posternd_bin, "-n", "-f", str(path)], capture_output=True, text=True)
    assert r.returncode == 1 and "metrics" in r.stderr


# ---- the control socket ----

def frame(t, fields, version=1):
    body = bytes([version, t]) + struct.pack(">H", len(fields)) + \
        b"".join(struct.pack(">I", len(f)) + f for f in fields)
    return struct.pack(">I", len(body)) + body


def read_frames(sock):
    data = b""
    sock.settimeout(10)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    out = []
    while data:
        (n,) = struct.unpack(">I", data[:4])
        body, data = data[4:4 + n], data[4 + n:]
        out.append((body[1], body))
    return out


def talk(path, payload, shut=True):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(payload)
    if shut:
        s.shutdown(socket.SHUT_WR)
    try:
        return read_frames(s)
    finally:
        s.close()


ERROR = 33


def test_control_socket_survives_garbage(gateway):
    path = os.path.join(gateway.spool, "control.sock")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o660
    garbage = [
        b"GET / HTTP/1.0\r\n\r\n",                        # not our protocol
        struct.pack(">I", 10 * 1024 * 1024) + b"x" * 100,  # oversized
        frame(1, [], version=9),                          # unknown version
        frame(99, []),                                    # unknown type
        frame(2, [b"a", b"b"]),                           # wrong field count
        frame(2, [b"x"])[:-1] + b"",                      # bad: length too short
        frame(33, [b"i am a reply"]),                     # a reply as request
        frame(2, [b"../../etc/passwd" + b"x" * 4]),        # not a queue id
        bytes(range(256)) * 4,
    ]
    bad = frame(4, [b"abc"])
    garbage.append(bad[:3] + bytes([bad[3] + 1]) + bad[4:] + b"!")  # leftover byte
    for g in garbage:
        replies = talk(path, g)
        assert replies and replies[-1][0] == ERROR, (g[:40], replies)
    # A truncated request and a silent client do not disturb anyone.
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(frame(7, [])[:5])
    assert ctl(gateway, "stats").returncode == 0
    s.close()
    # Many connections at once.
    socks = []
    for i in range(40):
        x = socket.socket(socket.AF_UNIX)
        x.connect(path)
        socks.append(x)
    for x in socks:
        x.close()
    assert wait_for(lambda: ctl(gateway, "stats", check=False).returncode == 0)
    # Still serving mail and control.
    c = gateway.smtp("internet")
    c.sendmail("a@example.org", ["ericm@winery-co.co"], "Subject: x\r\n\r\ny\r\n")
    c.quit()
    assert len(ctl_json(gateway, "queue")) == 1
    assert "control: refused a request" in gateway.log()


def test_exit_status_and_socket_option(gateway):
    binary = ctl_bin(gateway.binary)
    assert subprocess.run([binary], capture_output=True).returncode == 2
    assert subprocess.run([binary, "frobnicate"], capture_output=True).returncode == 2
    assert subprocess.run([binary, "show"], capture_output=True).returncode == 2
    assert subprocess.run([binary, "-s", "/nonexistent.sock", "queue"],
                          capture_output=True).returncode == 1
    sock = os.path.join(gateway.spool, "control.sock")
    r = subprocess.run([binary, "-s", sock, "show", "A" * 20], capture_output=True, text=True)
    assert r.returncode == 1 and "not in the queue" in r.stderr
    r = subprocess.run([binary, "-s", sock, "queue", "--json"], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout) == []
    r = subprocess.run([binary, "-s", sock, "flush"], capture_output=True, text=True)
    assert r.returncode == 0 and "0 message(s) flushed" in r.stdout
