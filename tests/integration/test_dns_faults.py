"""External DNS servers that misbehave (issue #6): the external DNS list of
the intranet server's connector is not dnsmasq but a small Python server
in this file, on 127.0.0.54 like test_delivery's, that either

(a) answers every question with garbage, chosen by the domain asked:
    random bytes, a valid header with a bogus body, a correct answer with
    the wrong ID, a truncated answer with TC set (and garbage over TCP),
    MX host names with CR LF, spaces, NUL and non-ASCII bytes, a
    compression loop, and 40 MX records (more than the resolver keeps), or
(b) never answers (the socket is bound, every query read and dropped).

Either way a message for the Internet is accepted by the intranet server
and deferred with a 4xx DNS reason in `posternctl show`, never bounced;
posternd stays up and delivers internal mail at once, without waiting for
the external DNS timeouts.  The internal DNS is test_delivery's dnsmasq.
Every server here is a thread with its own sockets, closed by the test.
"""
import json
import os
import random
import select
import socket
import struct
import subprocess
import threading
import time

import pytest

from conftest import Gateway, free_port, INTERNET
from netfix import DNS, Sink, wait_for
from test_delivery import (EXTERNAL_DNS, INTERNAL_DNS, INTERNAL_RECORDS,
                           config, directory)

T_A, T_MX, T_AAAA = 1, 15, 28
QR_AA_RD_RA = 0x8580
TC = 0x0200

# Each garbage domain, and what the server answers about it.
GARBAGE = {
    "random.example": "random bytes",
    "bogus.example": "valid header, bogus body",
    "bogusq.example": "valid header and question, bogus records",
    "wrongid.example": "correct answer, wrong ID",
    "tc.example": "truncated with TC, garbage over TCP",
    "ctrl.example": "MX names with CR LF, blanks, NUL, 8-bit bytes",
    "loop.example": "MX name in a compression loop",
}
MANY = "many.example"         # 40 MX hosts, each 127.0.0.(100+i): nobody there
MANY_HOSTS = 40


def parse_query(q):
    """(id, qname, qtype, question bytes) of a DNS query, or None."""
    if len(q) < 12:
        return None
    i, labels = 12, []
    while i < len(q) and q[i] != 0:
        n = q[i]
        labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    if i + 5 > len(q):
        return None
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    return (struct.unpack(">H", q[:2])[0], ".".join(labels).lower(), qtype,
            q[12:i + 5])


def header(ident, flags=QR_AA_RD_RA, an=0, qd=1):
    return struct.pack(">HHHHHH", ident, flags, qd, an, 0, 0)


def mx_rr(pref, wire_name):
    rdata = struct.pack(">H", pref) + wire_name
    return b"\xc0\x0c" + struct.pack(">HHIH", T_MX, 1, 60, len(rdata)) + rdata


def a_rr(addr):
    return b"\xc0\x0c" + struct.pack(">HHIH", T_A, 1, 60, 4) + \
        socket.inet_aton(addr)


def wire(*labels):
    return b"".join(bytes([len(x)]) + x for x in labels) + b"\0"


class FakeDNS:
    """A UDP and TCP DNS server on one address and port, as garbage or as a
    hole that never answers."""

    def __init__(self, addr, port, mode):
        self.addr, self.port, self.mode = addr, port, mode
        self.rnd = random.Random(6)
        self.asked = []               # (qname, qtype, transport)
        self.stopping = False
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((addr, port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((addr, port))
        self.tcp.listen(16)
        self.conns = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        self.thread.join(10)
        for s in [self.udp, self.tcp] + self.conns:
            s.close()

    def queries(self):
        return [(t, n) for n, t, _ in self.asked]

    # -- answers --

    def answer(self, q, tcp):
        p = parse_query(q)
        if p is None:
            return None
        ident, name, qtype, question = p
        self.asked.append((name, qtype, "tcp" if tcp else "udp"))
        if self.mode == "hole":
            return None
        domain = ".".join(name.split(".")[-2:])
        if domain == MANY:
            return self.many(ident, name, qtype, question, tcp)
        r = self.rnd
        if domain == "random.example":
            return bytes(r.randrange(256) for _ in range(r.randrange(1, 600)))
        if domain == "bogus.example":
            return header(ident, an=3) + \
                bytes(r.randrange(256) for _ in range(200))
        if domain == "bogusq.example":
            return header(ident, an=3) + question + \
                bytes(r.randrange(256) for _ in range(200))
        if domain == "wrongid.example":
            return header(ident ^ 0x5555, an=1) + question + \
                mx_rr(10, wire(b"mx", b"wrongid", b"example"))
        if domain == "tc.example":
            whole = header(ident, an=2) + question + \
                mx_rr(10, wire(b"mx1", b"tc", b"example")) + \
                mx_rr(20, wire(b"mx2", b"tc", b"example"))
            if tcp:
                return whole[:len(whole) - 7]     # cut in the last record
            return header(ident, QR_AA_RD_RA | TC, an=2) + \
                whole[12:len(whole) - 20]
        if domain == "ctrl.example":
            return header(ident, an=4) + question + \
                mx_rr(10, wire(b"mx\r\n250 ok", b"ctrl", b"example")) + \
                mx_rr(20, wire(b"a b", b"ctrl", b"example")) + \
                mx_rr(30, wire(b"mx\0nul", b"example")) + \
                mx_rr(40, wire("mx-\u00e9".encode(), b"example"))
        if domain == "loop.example":
            start = 12 + len(question) + 12 + 2     # the MX host name
            rdata = struct.pack(">H", 10) + struct.pack(">H", 0xC000 | start)
            return header(ident, an=1) + question + b"\xc0\x0c" + \
                struct.pack(">HHIH", T_MX, 1, 60, len(rdata)) + rdata
        # anything else: a server failure
        return struct.pack(">HHHHHH", ident, 0x8182, 1, 0, 0, 0) + question

    def many(self, ident, name, qtype, question, tcp):
        if qtype == T_MX:
            rrs = [mx_rr(i, wire(b"mx%d" % i, b"many", b"example"))
                   for i in range(MANY_HOSTS)]
            msg = header(ident, an=len(rrs)) + question + b"".join(rrs)
            if len(msg) > 512 and not tcp:
                return header(ident, QR_AA_RD_RA | TC, an=0) + question
            return msg
        if qtype == T_A and name.startswith("mx"):
            i = int(name.split(".")[0][2:])
            return header(ident, an=1) + question + a_rr("127.0.0.%d" % (100 + i))
        return header(ident, an=0) + question      # NODATA

    # -- the loop --

    def run(self):
        bufs = {}
        while not self.stopping:
            socks = [self.udp, self.tcp] + self.conns
            ready, _, _ = select.select(socks, [], [], 0.1)
            for s in ready:
                if s is self.udp:
                    q, peer = self.udp.recvfrom(4096)
                    a = self.answer(q, False)
                    if a is not None:
                        self.udp.sendto(a, peer)
                elif s is self.tcp:
                    c, _ = self.tcp.accept()
                    self.conns.append(c)
                    bufs[c] = b""
                else:
                    self.tcp_read(s, bufs)

    def tcp_read(self, c, bufs):
        try:
            data = c.recv(4096)
        except OSError:
            data = b""
        if not data:
            self.conns.remove(c)
            c.close()
            return
        bufs[c] += data
        while len(bufs[c]) >= 2:
            n = struct.unpack(">H", bufs[c][:2])[0]
            if len(bufs[c]) < 2 + n:
                break
            q, bufs[c] = bufs[c][2:2 + n], bufs[c][2 + n:]
            a = self.answer(q, True)
            if a is not None:
                c.sendall(struct.pack(">H", len(a)) + a)


class FaultWorld:
    """The internal dnsmasq of test_delivery, a FakeDNS as the external
    list, sinks for the mailbox servers, one gateway."""

    def __init__(self, tmp, binary, mode):
        self.tmp, self.binary = tmp, binary
        self.dport = free_port(INTERNAL_DNS)
        self.sport = free_port("127.0.0.31")
        self.internal = DNS(tmp, "internal", INTERNAL_DNS, self.dport,
                            INTERNAL_RECORDS)
        self.external = FakeDNS(EXTERNAL_DNS, self.dport, mode)
        self.sinks = []
        self.gw = None

    def sink(self, addr):
        s = Sink(addr, self.sport).start()
        self.sinks.append(s)
        return s

    def gateway(self):
        port = free_port(INTERNET)
        self.gw = Gateway(self.binary, self.tmp,
                          config(self.tmp, port, self.dport, self.sport),
                          directory(self.sport))
        self.gw.port = port
        return self.gw.start()

    def send(self, server, sender, rcpts):
        c = self.gw.smtp(server)
        try:
            return c.sendmail(sender, rcpts, "Subject: t\r\n\r\nhello\r\n")
        finally:
            c.quit()

    def ctl(self, *args):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        ctl = os.path.join(os.path.dirname(self.binary), "posternctl")
        r = subprocess.run([ctl, "-c", self.gw.conf] + list(args),
                           capture_output=True, text=True, timeout=60, env=env)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r.stdout

    def queue(self):
        return json.loads(self.ctl("queue", "--json"))

    def pending(self):
        """{recipient: its queue entry} of every recipient still queued."""
        out = {}
        for m in self.queue():
            for r in m["recipients"]:
                out[r["address"]] = (m["id"], r)
        return out

    def close(self):
        rc = self.gw.stop() if self.gw else None
        for s in self.sinks:
            s.stop()
        self.internal.stop()
        self.external.stop()
        return rc


@pytest.fixture
def fault_world(tmp_path, posternd_bin):
    made = []

    def make(mode):
        w = FaultWorld(str(tmp_path), posternd_bin, mode)
        w.internal.start()
        w.external.start()
        made.append(w)
        return w

    yield make
    for w in made:
        rc = w.close()
        log = w.gw.log() if w.gw else ""
        assert "ERROR: AddressSanitizer" not in log, log
        assert "runtime error:" not in log, log
        assert "LeakSanitizer" not in log, log
        assert rc in (0, None), "posternd exit status %r\n%s" % (rc, log)


def internal_mail_is_prompt(w, mbx1, kimy, n):
    """Internal and inbound mail still flows at once."""
    t0 = time.time()
    w.send("intranet", "ericm@winery-co.co", ["kimy@winery-co.co"])
    w.send("internet", "x@example.org", ["ericm@winery-co.co"])
    assert wait_for(lambda: len(kimy.rcpts()) == n and
                    len(mbx1.rcpts()) == n, timeout=5)
    assert time.time() - t0 < 3, time.time() - t0


def assert_deferred_for_dns(w, rcpt, why):
    entry = wait_for(lambda: w.pending().get(rcpt, (None, {}))[1]
                     .get("last_error"), timeout=40)
    assert entry, (rcpt, w.queue())
    mid, r = w.pending()[rcpt]
    assert r["state"] == "pending", r
    err = r["last_error"]
    assert err.startswith("451 4.4.3 "), (rcpt, err)
    assert why in err, (rcpt, err)
    assert all(0x20 <= ord(ch) < 0x7f for ch in err), err
    return mid


def test_garbage_external_dns_defers_and_never_bounces(fault_world):
    w = fault_world("garbage")
    mbx1 = w.sink("127.0.0.31")
    kimy = w.sink("127.0.0.32")
    w.gateway()
    rcpts = ["u@" + d for d in GARBAGE] + ["u@" + MANY]
    for r in rcpts:
        w.send("intranet", "ericm@winery-co.co", [r])
    internal_mail_is_prompt(w, mbx1, kimy, 1)

    # Every one deferred with a DNS reason; those the resolver could read
    # say why.
    for d, why in [("ctrl.example", "no MX record names a valid host"),
                   ("loop.example", "malformed answer"),
                   ("bogusq.example", "malformed answer")]:
        assert_deferred_for_dns(w, "u@" + d, why)
    for d in ["random.example", "bogus.example", "wrongid.example",
              "tc.example"]:
        assert_deferred_for_dns(w, "u@" + d, "MX lookup for " + d)
    asked = {(n, t) for n, t, _ in w.external.asked}
    assert all((d, T_MX) in asked for d in GARBAGE), asked
    assert ("tc.example", T_MX, "tcp") in w.external.asked

    # 40 MX hosts: at most 16 are tried.
    mid, r = wait_for(lambda: w.pending().get("u@" + MANY), timeout=20)
    shown = wait_for(lambda: json.loads(w.ctl("show", mid, "--json"))
                     if json.loads(w.ctl("show", mid, "--json"))["history"]
                     else None, timeout=20)
    hosts = {a["host"] for a in shown["history"]}
    assert 1 <= len(hosts) <= 16, hosts
    assert all(h.startswith("mx") and h.endswith(".many.example")
               for h in hosts), hosts
    assert r["last_error"][:1] == "4", r

    # Nothing was bounced, no odd byte reached the log, and the daemon
    # still works.
    time.sleep(1)
    assert not [m for m in mbx1.messages if m[0] in ("", "<>")]
    log = w.gw.log()
    assert "250 ok" not in log and "\r" not in log
    assert w.gw.proc.poll() is None
    internal_mail_is_prompt(w, mbx1, kimy, 2)
    assert len(w.pending()) == len(rcpts)


def test_silent_external_dns_delays_only_internet_mail(fault_world):
    w = fault_world("hole")
    mbx1 = w.sink("127.0.0.31")
    kimy = w.sink("127.0.0.32")
    w.gateway()
    w.send("intranet", "ericm@winery-co.co", ["someone@example.org"])
    assert wait_for(lambda: w.external.asked, timeout=5)
    # While the external question is outstanding (c-ares waits 2 s + 4 s),
    # internal mail and mail from the Internet are delivered at once.
    internal_mail_is_prompt(w, mbx1, kimy, 1)
    assert "someone@example.org" in w.pending()
    assert_deferred_for_dns(w, "someone@example.org",
                            "MX lookup for example.org: timeout (via external)")
    assert w.gw.proc.poll() is None
    internal_mail_is_prompt(w, mbx1, kimy, 2)
    assert not [m for m in mbx1.messages if m[0] in ("", "<>")]
    # The internal servers were never asked an Internet name.
    assert not any(n.endswith("example.org") for _, n in w.internal.queries())
