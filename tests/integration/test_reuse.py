"""Outbound connection reuse (issue #4, docs/delivery.md): a burst to one
next hop shares SMTP sessions (RSET between transactions), a peer that
takes only some recipients gets the rest in a second transaction on the
same connection (docs/delivery.md: "up to the peer's limit"), and a kept connection
that died meanwhile costs nothing: the message goes out on a new one,
exactly once.  The next hop is a scripted SMTP server in this file, so
every connection and command it saw can be counted."""
import socket
import threading
import time

from conftest import base_config, free_port
from netfix import wait_for

MBX = "127.0.0.31"


class Peer:
    """A mailbox server that records each connection's commands.

    max_rcpts: RCPTs accepted per transaction, then 452 4.5.3.
    close_after_dot: hang up right after the 250 to the final dot.
    rset_reply: what to say to RSET (a 421 also hangs up)."""

    def __init__(self, max_rcpts=100, close_after_dot=False,
                 rset_reply="250 2.0.0 Ok"):
        self.max_rcpts = max_rcpts
        self.close_after_dot = close_after_dot
        self.rset_reply = rset_reply
        self.sessions = []          # one list of command lines per connection
        self.messages = []          # (sender, [rcpts], body)
        self.times = {}             # "QUIT" / "DATA" -> when first seen
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((MBX, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(64)
        self.stopping = False
        self.thread = threading.Thread(target=self.accept_loop, daemon=True)
        self.thread.start()

    def stop(self):
        self.stopping = True
        self.sock.close()

    def accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(conn,),
                             daemon=True).start()

    def serve(self, conn):
        cmds = []
        with self.lock:
            self.sessions.append(cmds)
        f = conn.makefile("rb")

        def say(line):
            conn.sendall(line.encode() + b"\r\n")

        try:
            say("220 peer.test ESMTP")
            sender, rcpts = None, []
            while True:
                raw = f.readline()
                if not raw:
                    return
                line = raw.decode("latin-1").rstrip("\r\n")
                verb = line[:4].upper()
                cmds.append(line)
                if verb == "EHLO":
                    say("250-peer.test\r\n250-PIPELINING\r\n250 8BITMIME")
                elif verb == "MAIL":
                    sender, rcpts = line[10:].split()[0], []
                    say("250 2.1.0 Ok")
                elif verb == "RCPT":
                    if len(rcpts) >= self.max_rcpts:
                        say("452 4.5.3 Too many recipients")
                    else:
                        rcpts.append(line[8:].strip())
                        say("250 2.1.5 Ok")
                elif verb == "DATA":
                    if not rcpts:
                        say("554 5.5.1 No valid recipients")
                        continue
                    say("354 go ahead")
                    body = b""
                    while True:
                        chunk = f.readline()
                        if not chunk or chunk == b".\r\n":
                            break
                        body += chunk
                    with self.lock:
                        self.messages.append((sender, rcpts, body))
                        self.times.setdefault("DATA", time.time())
                    say("250 2.0.0 Ok: queued")
                    sender, rcpts = None, []
                    if self.close_after_dot:
                        return
                elif verb == "RSET":
                    sender, rcpts = None, []
                    say(self.rset_reply)
                    if self.rset_reply.startswith("421"):
                        return
                elif verb == "QUIT":
                    with self.lock:
                        self.times.setdefault("QUIT", time.time())
                    say("221 2.0.0 Bye")
                    return
                else:
                    say("502 5.5.2 Unknown")
        except OSError:
            pass
        finally:
            conn.close()

    def count(self, verb):
        with self.lock:
            return sum(1 for s in self.sessions for c in s
                       if c[:4].upper() == verb)


def directory(port, n=10):
    return "".join(f"user{i}@winery-co.co [{MBX}]:{port}\n" for i in range(n))


def start(make_gateway, peer, n=10, per_destination=20, concurrency=200,
          directory_text=None):
    return make_gateway(directory=directory_text or directory(peer.port, n),
                        extra_top="queue {\n    retry 1s\n    per-destination "
                        f"{per_destination}\n    concurrency {concurrency}\n"
                        "}\n")


def send(gw, rcpts, count=1):
    with gw.smtp() as s:
        for k in range(count):
            s.sendmail("a@example.org", rcpts,
                       f"Subject: m{k}\r\n\r\nbody {k}\r\n")


def test_burst_shares_connections(make_gateway):
    peer = Peer()
    try:
        # at most two connections at a time: the other 18 messages must
        # wait for one, and find it kept
        gw = start(make_gateway, peer, per_destination=2)
        send(gw, ["user1@winery-co.co"], count=20)
        assert wait_for(lambda: len(peer.messages) >= 20)
        time.sleep(0.5)
        assert len(peer.messages) == 20
        # one EHLO per connection; reuse starts with RSET
        conns = len(peer.sessions)
        assert conns <= 2, peer.sessions
        assert peer.count("RSET") == 20 - conns
        assert peer.count("EHLO") == conns
        assert "conn_use=2" in gw.log()
    finally:
        peer.stop()


def test_peer_limit_means_more_transactions(make_gateway):
    peer = Peer(max_rcpts=2)
    try:
        gw = start(make_gateway, peer)
        rcpts = [f"user{i}@winery-co.co" for i in range(5)]
        send(gw, rcpts)
        assert wait_for(lambda: sum(len(r) for _, r, _ in peer.messages) >= 5)
        got = sorted(r for _, rs, _ in peer.messages for r in rs)
        assert got == sorted(f"<{r}>" for r in rcpts)
        # three transactions of 2, 2, 1 on one connection, at once
        assert len(peer.sessions) == 1, peer.sessions
        assert len(peer.messages) == 3
        assert wait_for(lambda: not gw.messages())
    finally:
        peer.stop()


def test_peer_closing_kept_connection(make_gateway):
    peer = Peer(close_after_dot=True)
    try:
        gw = start(make_gateway, peer, per_destination=1)
        send(gw, ["user1@winery-co.co"], count=5)
        assert wait_for(lambda: len(peer.messages) >= 5)
        assert wait_for(lambda: not gw.messages())
        time.sleep(0.5)
        # each message exactly once, none deferred or bounced
        assert len(peer.messages) == 5
        assert len(peer.sessions) == 5
        assert "status=deferred" not in gw.log()
        assert "bounced" not in gw.log().replace("bounced=0", "")
    finally:
        peer.stop()


def test_rset_refused_means_new_connection(make_gateway):
    peer = Peer(rset_reply="421 4.4.2 Idle too long")
    try:
        gw = start(make_gateway, peer, per_destination=1)
        send(gw, ["user1@winery-co.co"], count=4)
        assert wait_for(lambda: len(peer.messages) >= 4)
        assert wait_for(lambda: not gw.messages())
        time.sleep(0.5)
        assert len(peer.messages) == 4
        assert peer.count("RSET") >= 1      # a kept connection was tried
        assert "status=deferred" not in gw.log()
    finally:
        peer.stop()


def test_idle_connection_ends_with_quit(make_gateway):
    peer = Peer()
    try:
        gw = start(make_gateway, peer)
        send(gw, ["user1@winery-co.co"])
        assert wait_for(lambda: len(peer.messages) == 1)
        # kept for a few seconds at most, then closed politely
        assert wait_for(lambda: peer.count("QUIT") == 1, timeout=15)
        assert len(peer.sessions) == 1
    finally:
        peer.stop()


def test_idle_connections_count_towards_concurrency(make_gateway):
    # concurrency 1: the connection kept after delivering to A is an
    # outbound connection too, so a delivery to B closes it first
    a, b = Peer(), Peer()
    try:
        text = (f"usera@winery-co.co [{MBX}]:{a.port}\n"
                f"userb@winery-co.co [{MBX}]:{b.port}\n")
        gw = start(make_gateway, a, per_destination=1, concurrency=1,
                   directory_text=text)
        send(gw, ["usera@winery-co.co"])
        assert wait_for(lambda: len(a.messages) == 1)
        send(gw, ["userb@winery-co.co"])
        assert wait_for(lambda: len(b.messages) == 1)
        # A's QUIT came before B got its message: evicted, not timed out
        assert "QUIT" in a.times, a.sessions
        assert a.times["QUIT"] <= b.times["DATA"]
    finally:
        a.stop()
        b.stop()
