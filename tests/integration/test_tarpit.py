"""One tarpit next hop must not stop other mail (issue #14 point 2, docs/architecture.md, isolation:
"a failed or slow next hop delays only its own mail").

The MX of tarpit.example accepts TCP and never greets.  600 messages from
the intranet go there first; then one message to a local user (its
mailbox server, an aiosmtpd sink, is up) and one to another Internet
domain whose MX is up.  Both must arrive within a few seconds, while the
tarpit holds at most its `per-destination` window of connections.

Everything listens on 127.0.0.0/8; the tarpit is stopped by the test.
"""
import os
import smtplib
import socket
import threading
import time

from conftest import (CLIENT_INTRANET, INTERNET, INTRANET, free_port,
                      gateway_config)
from netfix import DNS, Sink, wait_for

EXT_DNS = "127.0.0.54"
TARPIT_IP = "127.0.0.91"
GOOD_MX_IP = "127.0.0.92"
MBX_IP = "127.0.0.93"
WINDOW = 10                     # per-destination
BACKLOG = 600
DEADLINE = 5                    # seconds for the two other messages


def config(tmp, port, sport, dport):
    # command-timeout: long enough that no tarpit connection times out
    # while the test runs, short enough that a stop does not wait long.
    return gateway_config(
        tmp, port, external_dns="%s:%d" % (EXT_DNS, dport),
        relay=CLIENT_INTRANET + "/32",
        connector="    port %d\n    tls none" % sport,
        queue="""    retry 1h
    concurrency 200
    per-destination %d
    connect-timeout 5s
    command-timeout 20s""" % WINDOW)


class Tarpit:
    """Accepts every connection and never says a word."""

    def __init__(self, addr, port):
        self.stopping = threading.Event()
        self.conns = []
        self.lock = threading.Lock()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((addr, port))
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def start(self):
        self.lsock.listen(1024)
        self.lsock.settimeout(0.1)
        self.thread.start()
        return self

    def _accept(self):
        while not self.stopping.is_set():
            try:
                conn, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)

    def open_now(self):
        """Connections the gateway still holds open."""
        n = 0
        with self.lock:
            for c in self.conns:
                try:
                    if c.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) \
                            == b"":
                        continue        # closed by the gateway
                except BlockingIOError:
                    pass
                except OSError:
                    continue
                n += 1
        return n

    def stop(self):
        self.stopping.set()
        self.thread.join(5)
        with self.lock:
            for c in self.conns:
                c.close()
        self.lsock.close()


def submit_many(gw, n, rcpt, sessions=4):
    """n messages through the intranet server, over a few sessions."""
    errors = []

    def one_session(count):
        try:
            c = smtplib.SMTP(INTRANET, gw.port,
                             source_address=(CLIENT_INTRANET, 0), timeout=60)
            c.ehlo("client.winery.local")
            for _ in range(count):
                c.sendmail("ericm@winery-co.co", [rcpt],
                           b"Subject: to the tarpit\r\n\r\nhello\r\n")
            c.quit()
        except Exception as e:          # reported below
            errors.append(e)

    per = [n // sessions + (1 if i < n % sessions else 0)
           for i in range(sessions)]
    threads = [threading.Thread(target=one_session, args=(k,))
               for k in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, errors


def run_tarpit(make_gateway, tmp_path, backlog, check=None):
    """The scenario; check(gw) runs while the tarpit still holds."""
    tmp = str(tmp_path)
    sport = free_port(TARPIT_IP)
    dport = free_port(EXT_DNS)
    dns = DNS(tmp, "external", EXT_DNS, dport, [
        "--local=/tarpit.example/", "--local=/good.example/",
        "--mx-host=tarpit.example,mx.tarpit.example,10",
        "--host-record=mx.tarpit.example,%s" % TARPIT_IP,
        "--mx-host=good.example,mx.good.example,10",
        "--host-record=mx.good.example,%s" % GOOD_MX_IP,
    ]).start()
    tarpit = Tarpit(TARPIT_IP, sport).start()
    good = Sink(GOOD_MX_IP, sport).start()
    mbx = Sink(MBX_IP, sport).start()
    try:
        gw = make_gateway(
            config=lambda t, port: config(t, port, sport, dport),
            directory=f"kimy@winery-co.co [{MBX_IP}]:{sport}\n")
        submit_many(gw, backlog, "someone@tarpit.example")
        # The tarpit has its window full of silent connections.
        assert wait_for(lambda: tarpit.open_now() >= WINDOW, timeout=10), \
            gw.log()[-3000:]

        start = time.monotonic()
        c = gw.smtp("intranet")
        c.ehlo("client.winery.local")
        c.sendmail("ericm@winery-co.co", ["kimy@winery-co.co"],
                   b"Subject: local\r\n\r\nhello\r\n")
        c.sendmail("ericm@winery-co.co", ["friend@good.example"],
                   b"Subject: internet\r\n\r\nhello\r\n")
        c.quit()
        ok = wait_for(lambda: mbx.rcpts() == ["kimy@winery-co.co"] and
                      good.rcpts() == ["friend@good.example"],
                      timeout=DEADLINE, interval=0.05)
        took = time.monotonic() - start
        assert ok, ("not delivered within %d s: mailbox %r, MX %r\n%s" % (
            DEADLINE, mbx.rcpts(), good.rcpts(), gw.log()[-3000:]))
        # A destination whose connections hang holds at most its window.
        assert tarpit.open_now() <= WINDOW
        print("delivered %.2f s after submission" % took)
        if check:
            check(gw)
    finally:
        mbx.stop()
        good.stop()
        tarpit.stop()
        dns.stop()


def test_tarpit_destination_holds_only_its_window(make_gateway, tmp_path):
    run_tarpit(make_gateway, tmp_path, BACKLOG)


def test_backlog_past_its_limit_waits_untried(make_gateway, tmp_path):
    """Past DEST_BACKLOG_MAX (1000, src/deliver/delivery_priv.h) jobs waiting at
    one destination, a message waits outside ("parked"): not tried, not
    deferred, no state record; other mail still flows."""
    def check(gw):
        log = gw.log()
        assert "status=deferred" not in log, log[-3000:]
        assert not os.listdir(os.path.join(gw.spool, "state"))

    run_tarpit(make_gateway, tmp_path, 1100, check)
