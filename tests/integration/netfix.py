"""Test servers for delivery tests: dnsmasq zones and aiosmtpd sinks.

Each runs on its own loopback address and is stopped by the test (dnsmasq
by PID).  Nothing here talks to any address outside 127.0.0.0/8.
"""
import asyncio
import os
import signal
import socket
import subprocess
import threading
import time

from aiosmtpd.controller import Controller


class DNS:
    """A dnsmasq serving a few records, with a query log."""

    def __init__(self, tmp, name, addr, port, records):
        self.addr, self.port, self.name = addr, port, name
        self.logpath = os.path.join(tmp, "dnsmasq-%s.log" % name)
        self.args = ["/usr/sbin/dnsmasq", "-k", "--conf-file=/dev/null",
                     "--no-resolv", "--no-hosts", "--bind-interfaces",
                     "--listen-address=%s" % addr, "--port=%d" % port,
                     "--pid-file=", "--user=root", "--log-queries",
                     "--log-facility=%s" % self.logpath] + records
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dnsmasq exited: %r" % self.args)
            try:
                with open(self.logpath) as f:
                    if "started" in f.read():
                        return self
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)

    def queries(self):
        """Names asked of this server, as (qtype, name) pairs."""
        out = []
        try:
            text = open(self.logpath).read()
        except FileNotFoundError:
            return out
        for line in text.splitlines():
            # "... query[MX] example.org from 127.0.0.1"
            if " query[" in line:
                rest = line.split(" query[", 1)[1]
                qtype, _, tail = rest.partition("] ")
                out.append((qtype, tail.split(" ")[0]))
        return out


class Sink:
    """An SMTP server that keeps what it receives, or refuses as told."""

    def __init__(self, addr, port, rcpt_reply=None, data_reply=None,
                 refuse=None):
        self.addr, self.port = addr, port
        self.messages = []
        self.rcpt_reply = rcpt_reply or {}
        self.data_reply = data_reply
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                reply = sink.rcpt_reply.get(address)
                if reply:
                    return reply
                envelope.rcpt_tos.append(address)
                return "250 2.1.5 OK"

            async def handle_DATA(self, server, session, envelope):
                if sink.data_reply:
                    return sink.data_reply
                sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                                      envelope.original_content))
                return "250 2.0.0 OK sink"

        self.controller = Controller(Handler(), hostname=addr, port=port,
                                     ready_timeout=10)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        try:
            self.controller.stop()
        except Exception:
            pass

    def rcpts(self):
        return sorted(r for _, rs, _ in self.messages for r in rs)


def wait_for(cond, timeout=20, interval=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(interval)
    return cond()
