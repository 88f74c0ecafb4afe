"""A next hop that never answers (issue #6): the outbound SMTP client's
waits are bounded by `queue { connect-timeout command-timeout data-timeout }`
(postern.conf(5), RFC 5321 4.5.3.2).

Each stalling next hop is a small Python server on its own loopback
address, written into the directory as a mailbox server `[127.0.0.x]:PORT`:
it never greets (a), never answers the final dot (b), trickles a greeting
that never ends (c), never accepts the connection at all (d: its listen
queue is full, so the SYN is dropped and connect() hangs), or stops
reading in the middle of the body.  With timeouts of 2-3 s the recipient
must be deferred (not bounced) with the timeout as its last error, posternd
must stay up, and other mail must flow meanwhile; with two MX hosts the
second one must get the message in the same attempt (e).

Every server a test starts is stopped by the test (the `servers` fixture),
and nothing here talks to an address outside 127.0.0.0/8.  Timings are
never asserted beyond generous poll limits, except that mail for a healthy
mailbox server arrives while another hop is still stalling (3 s window).
"""
import json
import os
import smtplib
import socket
import subprocess
import threading
import time

import pytest

from conftest import (CLIENT_INTRANET, INTERNET, INTRANET, free_port,
                      gateway_config)
from netfix import DNS, Sink, wait_for

QUEUE = ("retry 1h\n    connect-timeout 2s\n    command-timeout 2s\n"
         "    data-timeout 3s")
POLL = 30                       # seconds: generous, never a speed claim

STALL_IP = "127.0.0.81"
OK_IP = "127.0.0.82"
EXT_DNS = "127.0.0.54"
MX1_IP = "127.0.0.86"           # stalls
MX2_IP = "127.0.0.87"           # healthy


def config(tmp, port, sport, dport):
    return gateway_config(tmp, port, external_dns="%s:%d" % (EXT_DNS, dport),
                          relay=CLIENT_INTRANET + "/32",
                          connector="    port %d" % sport,
                          queue="    " + QUEUE)


def directory(sport):
    return f"""\
stall@winery-co.co   [{STALL_IP}]:{sport}
ok@winery-co.co      [{OK_IP}]:{sport}
"""


class Stall:
    """A next hop that stalls in one of these ways (mode):
    silent   accepts, never greets;
    nodot    greets, 250 to EHLO/MAIL/RCPT, 354 to DATA, reads the body,
             never answers the final dot;
    noread   the same up to 354, then never reads again (the gateway's
             writes block once the socket buffers are full);
    trickle  sends "220 stall" and then one byte a second, never a CRLF;
    backlog  never accepts: its listen queue is kept full, so a new
             connection's SYN is dropped and connect() hangs."""

    def __init__(self, addr, port, mode):
        self.addr, self.port, self.mode = addr, port, mode
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads, self.conns, self.fillers = [], [], []
        self.accepted = 0
        self.dot_at = None          # when the final dot arrived (nodot)
        self.closed_at = None       # when the gateway closed on us
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((addr, port))

    def start(self):
        if self.mode == "backlog":
            self._fill_backlog()
            return self
        self.lsock.listen(16)
        self.lsock.settimeout(0.1)
        self._thread(self._accept_loop)
        return self

    def _thread(self, fn, *args):
        t = threading.Thread(target=fn, args=args, daemon=True)
        t.start()
        self.threads.append(t)

    def _fill_backlog(self):
        # listen(0) queues one connection; more SYNs are dropped (Linux,
        # tcp_abort_on_overflow 0), which is what a host that never
        # answers looks like.  Check that a probe really hangs.
        self.lsock.listen(0)
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            try:
                s.connect((self.addr, self.port))
            except BlockingIOError:
                pass
            self.fillers.append(s)
        time.sleep(0.3)
        probe = socket.socket()
        probe.settimeout(1)
        try:
            probe.connect((self.addr, self.port))
            hangs = False
        except socket.timeout:
            hangs = True
        finally:
            probe.close()
        if not hangs:
            self.stop()
            pytest.skip("a full listen queue does not make connect() hang "
                        "here")

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(0.1)
            with self.lock:
                self.accepted += 1
                self.conns.append(conn)
            self._thread(self._serve, conn)

    def _serve(self, conn):
        try:
            if self.mode == "silent":
                self._wait_close(conn)
            elif self.mode == "trickle":
                self._trickle(conn)
            else:
                self._converse(conn)
        except OSError:
            self._closed()

    def _closed(self):
        if self.closed_at is None:
            self.closed_at = time.monotonic()

    def _recv(self, conn):
        """Bytes, or b"" once the peer closed; None when stopping."""
        while not self.stopping.is_set():
            try:
                return conn.recv(65536)
            except socket.timeout:
                continue
        return None

    def _wait_close(self, conn):
        while True:
            d = self._recv(conn)
            if d is None:
                return
            if d == b"":
                self._closed()
                return

    def _trickle(self, conn):
        conn.sendall(b"220 stall")
        while not self.stopping.wait(1):
            try:
                conn.sendall(b".")
            except OSError:
                self._closed()
                return
            try:
                if conn.recv(1, socket.MSG_DONTWAIT) == b"":
                    self._closed()
                    return
            except (BlockingIOError, socket.timeout):
                pass

    def _lines(self, conn, buf):
        while b"\r\n" not in buf:
            d = self._recv(conn)
            if not d:
                if d == b"":
                    self._closed()
                return None, buf
            buf += d
        line, buf = buf.split(b"\r\n", 1)
        return line, buf

    def _converse(self, conn):
        conn.sendall(b"220 stall ESMTP\r\n")
        buf = b""
        while True:
            line, buf = self._lines(conn, buf)
            if line is None:
                return
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 stall\r\n")
            elif verb == b"MAIL":
                conn.sendall(b"250 2.1.0 ok\r\n")
            elif verb == b"RCPT":
                conn.sendall(b"250 2.1.5 ok\r\n")
            elif verb == b"DATA":
                conn.sendall(b"354 go ahead\r\n")
                break
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.2 no\r\n")
        if self.mode == "noread":
            self.stopping.wait()        # never read the body
            return
        buf = b"\r\n" + buf
        while b"\r\n.\r\n" not in buf:
            d = self._recv(conn)
            if not d:
                if d == b"":
                    self._closed()
                return
            buf = buf[-4:] + d
        self.dot_at = time.monotonic()
        self._wait_close(conn)          # and never answer

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(5)
        with self.lock:
            socks = self.conns + self.fillers
        for s in socks + [self.lsock]:
            s.close()


class Stamped(list):
    """Sink.messages that also remembers when each message arrived."""

    def __init__(self):
        super().__init__()
        self.at = []

    def append(self, item):
        self.at.append(time.monotonic())
        super().append(item)


@pytest.fixture
def servers():
    """Every server a test starts, stopped when it ends."""
    started = []

    def add(server):
        started.append(server)
        return server.start()

    yield add
    for s in reversed(started):
        s.stop()


@pytest.fixture
def net(make_gateway, tmp_path):
    """Ports for the next hops (one port on several loopback addresses,
    as the connector's `port` is one) and a gateway factory."""
    sport = free_port(STALL_IP)
    dport = free_port(EXT_DNS)

    def gateway():
        return make_gateway(
            config=lambda tmp, port: config(tmp, port, sport, dport),
            directory=directory(sport))

    return {"sport": sport, "dport": dport, "tmp": str(tmp_path),
            "gateway": gateway}


def submit(gw, sender, rcpt, body=b"Subject: stall\r\n\r\nhello\r\n"):
    """One message through the intranet server; returns its queue ID."""
    c = gw.smtp("intranet")
    try:
        c.ehlo("client.winery.local")
        assert c.mail(sender)[0] == 250
        assert c.rcpt(rcpt)[0] == 250
        code, text = c.data(body)
        assert code == 250, text
        return text.decode().rsplit(" ", 1)[-1]
    finally:
        c.quit()


def show(gw, mid):
    ctl = os.path.join(os.path.dirname(gw.binary), "posternctl")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    r = subprocess.run([ctl, "-c", gw.conf, "show", mid, "--json"],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, (r.stdout, r.stderr)
    return json.loads(r.stdout)


def queue_ids(gw):
    return sorted(os.listdir(os.path.join(gw.spool, "queue")))


def assert_deferred_by_timeout(gw, mid, error):
    """The recipient is pending with the timeout as its last error, the
    message is still queued, nothing was bounced, posternd is up."""
    def deferred():
        m = show(gw, mid)
        [r] = m["recipients"]
        return m if (m["attempts"] >= 1 and r["state"] == "pending" and
                     error in r["last_error"]) else None

    m = wait_for(deferred, timeout=POLL, interval=0.2)
    assert m, (show(gw, mid), gw.log())
    assert m["recipients"][0]["address"] == "stall@winery-co.co"
    assert any(error in h["reply"] for h in m["history"]), m
    log = gw.log()
    assert "to=<stall@winery-co.co>, relay=none, status=deferred (451 " \
        "4.4.1 " + error in log, log
    assert "status=bounced" not in log, log
    # No DSN was queued: the original message is the only one left.
    assert queue_ids(gw) == [mid]
    assert gw.proc.poll() is None, gw.log()


def test_greeting_never_comes(net, servers):
    stall = servers(Stall(STALL_IP, net["sport"], "silent"))
    gw = net["gateway"]()
    mid = submit(gw, "ericm@winery-co.co", "stall@winery-co.co")
    assert_deferred_by_timeout(gw, mid, "timeout waiting for reply to "
                               "greeting")
    assert stall.accepted == 1
    assert wait_for(lambda: stall.closed_at is not None, timeout=POLL)


def test_final_dot_never_answered_and_others_flow(net, servers):
    stall = servers(Stall(STALL_IP, net["sport"], "nodot"))
    ok = servers(Sink(OK_IP, net["sport"]))
    ok.messages = Stamped()
    gw = net["gateway"]()
    mid = submit(gw, "ericm@winery-co.co", "stall@winery-co.co")
    assert wait_for(lambda: stall.dot_at is not None, timeout=POLL), gw.log()
    # While the first hop sits on the dot, the gateway takes a new
    # message and delivers it to another mailbox server: the stalled
    # connection is still open when the second message arrives.
    other = submit(gw, "kimy@winery-co.co", "ok@winery-co.co")
    assert wait_for(lambda: ok.rcpts() == ["ok@winery-co.co"],
                    timeout=POLL), gw.log()
    assert stall.closed_at is None or ok.messages.at[0] < stall.closed_at, \
        "the healthy mailbox server only got mail after the stall ended"
    assert_deferred_by_timeout(gw, mid, "timeout waiting for reply to "
                               "end of data")
    assert other not in queue_ids(gw)


def test_trickled_greeting_does_not_stretch_the_wait(net, servers):
    stall = servers(Stall(STALL_IP, net["sport"], "trickle"))
    gw = net["gateway"]()
    mid = submit(gw, "ericm@winery-co.co", "stall@winery-co.co")
    assert_deferred_by_timeout(gw, mid, "timeout waiting for reply to "
                               "greeting")
    assert stall.accepted == 1


def test_connect_that_never_completes(net, servers):
    servers(Stall(STALL_IP, net["sport"], "backlog"))
    gw = net["gateway"]()
    mid = submit(gw, "ericm@winery-co.co", "stall@winery-co.co")
    assert_deferred_by_timeout(gw, mid, "connect to ")
    assert ": timeout" in show(gw, mid)["recipients"][0]["last_error"]


def test_peer_that_stops_reading_the_body(net, servers):
    servers(Stall(STALL_IP, net["sport"], "noread"))
    gw = net["gateway"]()
    # Bigger than what the loopback socket buffers of both ends hold
    # (tcp_wmem 4M by default, and a receive window that stays small
    # when nothing is read): the gateway's writes must block.
    line = b"x" * 76 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * (16 * 1024 * 1024 // len(line))
    mid = submit(gw, "ericm@winery-co.co", "stall@winery-co.co", body)
    assert_deferred_by_timeout(gw, mid, "timeout sending message body")


def test_second_mx_gets_it_after_the_first_times_out(net, servers):
    servers(DNS(net["tmp"], "external", EXT_DNS, net["dport"], [
        "--local=/stall.example/",
        "--mx-host=stall.example,mx1.stall.example,10",
        "--mx-host=stall.example,mx2.stall.example,20",
        "--host-record=mx1.stall.example,%s" % MX1_IP,
        "--host-record=mx2.stall.example,%s" % MX2_IP,
    ]))
    stall = servers(Stall(MX1_IP, net["sport"], "silent"))
    good = servers(Sink(MX2_IP, net["sport"]))
    gw = net["gateway"]()
    mid = submit(gw, "ericm@winery-co.co", "someone@stall.example")
    assert wait_for(lambda: good.rcpts() == ["someone@stall.example"],
                    timeout=POLL), gw.log()
    assert wait_for(lambda: mid not in queue_ids(gw), timeout=POLL)
    log = gw.log()
    assert stall.accepted == 1
    timeout = log.find("timeout waiting for reply to greeting")
    sent = log.find("to=<someone@stall.example>, relay=mx2.stall.example")
    assert 0 <= timeout < sent, log
    # one attempt: the recipient itself was never deferred nor bounced
    mine = [ln for ln in log.splitlines()
            if "to=<someone@stall.example>" in ln]
    assert len(mine) == 1 and "status=sent" in mine[0], log
    assert gw.proc.poll() is None
