"""Edge cases of the delivering side (issue 20, points 3, 4, 5, 7 and 9;
docs/delivery.md, docs/spool.md), each against a next hop scripted in this
file or an aiosmtpd sink, so that what postern put on the wire can be
looked at byte for byte:

- a 4 KiB EHLO reply with STARTTLS as its last keyword: STARTTLS is still
  used, under `mailbox-tls may` and `encrypt` (point 3);
- a peer that takes at most N recipients per transaction (452 past it):
  the rest go in further transactions on the same connection, and a peer
  that 452s every recipient gets them deferred, not an endless loop
  (point 4);
- no line on the wire is longer than 998 octets, stuffing dot included,
  for a message and for a DSN returning it (point 5);
- kept connections get QUIT at shutdown, and take the timeouts of a
  reloaded configuration (point 7);
- the DSN's read of the original message is not done by the loop thread
  (point 9, with strace).

Mailbox servers are [127.0.0.3x]:port in the gateway's directory file.
Everything started here is stopped by PID or by its own stop()."""
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from netfix import wait_for
from tlsfix import pki, server_context  # noqa: F401 (pytest fixture)

MBX = "127.0.0.33"
SENDER = "a@example.org"


class Peer:
    """A scripted next hop on a thread.  Per connection it records the
    command lines it read (`sessions`; after STARTTLS prefixed "TLS ") and
    per message the raw lines of DATA as they came, stuffing and all
    (`raw`: lists of lines without CRLF).

    ehlo_pad: octets of made-up keywords before the last ones of EHLO;
    tls: a server SSLContext: STARTTLS is offered, as the last keyword;
    max_rcpts: RCPTs taken per transaction, then 452 4.5.3;
    refuse_rcpt: addresses answered 550 5.1.1 at RCPT;
    dot_delay: seconds before the reply to the final dot;
    stall_rset_after: on the connection's transaction number N (1-based)
    or later, an RSET gets no reply at all (the peer stalls)."""

    def __init__(self, addr=MBX, ehlo_pad=0, tls=None, max_rcpts=1000,
                 refuse_rcpt=(), dot_delay=0.0, stall_rset_after=None,
                 pipelining=True):
        self.ehlo_pad, self.tls = ehlo_pad, tls
        self.max_rcpts, self.refuse_rcpt = max_rcpts, set(refuse_rcpt)
        self.dot_delay = dot_delay
        self.stall_rset_after = stall_rset_after
        self.pipelining = pipelining
        self.sessions, self.messages, self.raw = [], [], []
        self.quits = []             # time.time() of each QUIT read
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 0))
        self.port = self.sock.getsockname()[1]
        self.sock.listen(32)
        self.stopping = False
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self.stopping = True
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def ehlo(self, tls_on):
        lines = ["peer.test"]
        n, k = 0, 0
        while n < self.ehlo_pad:
            kw = "X-PADDING-%04d some-parameter-text-for-length" % k
            lines.append(kw)
            n += len(kw) + 6
            k += 1
        if self.pipelining:
            lines.append("PIPELINING")
        lines.append("8BITMIME")
        if self.tls is not None and not tls_on:
            lines.append("STARTTLS")
        return "".join("250%s%s\r\n" % ("-" if i < len(lines) - 1 else " ",
                                        line)
                       for i, line in enumerate(lines)).encode()

    def _serve(self, conn):
        cmds = []
        with self.lock:
            self.sessions.append(cmds)
        sock = conn
        f = sock.makefile("rb")
        prefix = ""
        tx = 0
        try:
            sock.sendall(b"220 peer.test ESMTP\r\n")
            rcpts = []
            while True:
                raw = f.readline(4096)
                if not raw:
                    return
                line = raw.decode("latin-1").rstrip("\r\n")
                verb = line[:4].upper()
                cmds.append(prefix + line)
                if verb == "EHLO":
                    sock.sendall(self.ehlo(bool(prefix)))
                elif verb == "STAR" and self.tls is not None and not prefix:
                    sock.sendall(b"220 2.0.0 Ready to start TLS\r\n")
                    f.close()
                    sock = self.tls.wrap_socket(conn, server_side=True)
                    f = sock.makefile("rb")
                    prefix = "TLS "
                elif verb == "MAIL":
                    tx += 1
                    rcpts = []
                    sock.sendall(b"250 2.1.0 Ok\r\n")
                elif verb == "RCPT":
                    addr = line[8:].strip().split(" ")[0].strip("<>")
                    if addr in self.refuse_rcpt:
                        sock.sendall(b"550 5.1.1 No such user\r\n")
                    elif len(rcpts) >= self.max_rcpts:
                        sock.sendall(b"452 4.5.3 Too many recipients\r\n")
                    else:
                        rcpts.append(addr)
                        sock.sendall(b"250 2.1.5 Ok\r\n")
                elif verb == "DATA":
                    if not rcpts:
                        sock.sendall(b"554 5.5.1 No valid recipients\r\n")
                        continue
                    sock.sendall(b"354 go ahead\r\n")
                    lines = []
                    while True:
                        chunk = f.readline(1 << 20)
                        if not chunk:
                            return
                        if chunk == b".\r\n":
                            break
                        lines.append(chunk[:-2] if chunk.endswith(b"\r\n")
                                     else chunk)
                    if self.dot_delay:
                        time.sleep(self.dot_delay)
                    with self.lock:
                        self.raw.append(lines)
                        self.messages.append(list(rcpts))
                    sock.sendall(b"250 2.0.0 Ok: queued\r\n")
                    rcpts = []
                elif verb == "RSET":
                    if self.stall_rset_after is not None and \
                            tx + 1 >= self.stall_rset_after:
                        # no reply, to this or anything after it
                        while f.readline(4096):
                            pass
                        return
                    rcpts = []
                    sock.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == "QUIT":
                    with self.lock:
                        self.quits.append(time.time())
                    sock.sendall(b"221 2.0.0 Bye\r\n")
                    return
                else:
                    sock.sendall(b"502 5.5.2 Unknown\r\n")
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def delivered(self):
        with self.lock:
            return sorted(r for m in self.messages for r in m)


def directory(users):
    """users: {address: (addr, port)}"""
    return "".join("%s [%s]:%d\n" % (u, a, p) for u, (a, p) in users.items())


def start(make_gateway, users, queue="", top="", retry="1s"):
    return make_gateway(directory=directory(users),
                        extra_top=top + "queue {\n    retry %s\n" % retry +
                        queue + "}\n")


def send(gw, rcpts, body="Subject: t\r\n\r\nhello\r\n", server="internet",
         sender=SENDER):
    """One message; returns its queue id (from "250 ... queued as ID")."""
    with gw.smtp(server) as s:
        s.ehlo("client.example.org")
        assert s.mail(sender)[0] == 250
        for r in rcpts:
            assert s.rcpt(r)[0] == 250, r
        code, text = s.data(body.encode() if isinstance(body, str)
                            else body)
        assert code == 250, text
        return text.decode().split()[-1]


# ---------------------------------------------------------------------------
# 3. EHLO keywords past 1 KiB
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["may", "encrypt"])
def test_starttls_last_in_a_4k_ehlo_reply_is_used(make_gateway, pki,  # noqa: F811
                                                  policy):
    cert = pki.cert("mbx.test", dns=["mbx.test"], ips=[MBX])
    peer = Peer(ehlo_pad=4096, tls=server_context(*cert))
    try:
        gw = start(make_gateway, {"kim@winery-co.co": (MBX, peer.port)},
                   top="mailbox-tls %s\n" % policy)
        send(gw, ["kim@winery-co.co"])
        assert wait_for(lambda: peer.delivered() == ["kim@winery-co.co"],
                        timeout=30), gw.log()
        # the EHLO reply really was over 4 KiB, STARTTLS its last keyword
        assert len(peer.ehlo(False)) > 4096
        assert peer.ehlo(False).endswith(b"250 STARTTLS\r\n")
        cmds = peer.sessions[0]
        assert "STARTTLS" in cmds, cmds
        assert any(c.startswith("TLS MAIL FROM:") for c in cmds), cmds
        assert not any(c.startswith("MAIL FROM:") for c in cmds), cmds
        assert wait_for(lambda: "tls=TLSv1." in gw.log(), timeout=10)
    finally:
        peer.stop()


# ---------------------------------------------------------------------------
# 5. No emitted line over 998 octets, the stuffing dot included
# ---------------------------------------------------------------------------

def long_dot_body():
    """Lines that make a 999-octet wire line if stuffing is not counted:
    998 octets starting with ".", and a fold piece starting with "."."""
    return ("Subject: dots\r\n\r\n" + "." + "a" * 997 + "\r\n" +
            "b" * 998 + "\r\n" + "." * 998 + "\r\n" + "end\r\n")


def assert_wire_lines(lines):
    for ln in lines:
        assert len(ln) <= 998, (len(ln), ln[:20])
        assert b"\r" not in ln and b"\n" not in ln


def unstuffed(lines):
    return b"".join((ln[1:] if ln.startswith(b".") else ln)
                    for ln in lines)


def test_dot_stuffed_lines_stay_within_998_octets(make_gateway):
    peer = Peer()
    try:
        gw = start(make_gateway, {"kim@winery-co.co": (MBX, peer.port)})
        body = long_dot_body()
        send(gw, ["kim@winery-co.co"], body=body)
        assert wait_for(lambda: peer.raw, timeout=30), gw.log()
        lines = peer.raw[0]
        assert_wire_lines(lines)
        # nothing lost or added but line breaks
        assert unstuffed(lines).endswith(
            ("." + "a" * 997 + "b" * 998 + "." * 998 + "end").encode())
    finally:
        peer.stop()


def test_dsn_returning_the_message_stays_within_998_octets(make_gateway):
    # kim's mailbox server refuses him: the DSN, with the message in it,
    # goes to the sender ericm, whose mailbox server is the same peer.
    peer = Peer(refuse_rcpt={"kim@winery-co.co"})
    try:
        gw = start(make_gateway, {"kim@winery-co.co": (MBX, peer.port),
                                  "ericm@winery-co.co": (MBX, peer.port)})
        send(gw, ["kim@winery-co.co"], body=long_dot_body(),
             sender="ericm@winery-co.co")
        assert wait_for(lambda: peer.raw, timeout=30), gw.log()
        lines = peer.raw[0]
        assert any(b"Undelivered Mail Returned" in ln for ln in lines)
        assert_wire_lines(lines)
        assert ("." + "a" * 996).encode() in unstuffed(lines)
    finally:
        peer.stop()


# ---------------------------------------------------------------------------
# 9. The DSN reads the original message off the loop
# ---------------------------------------------------------------------------

def strace_or_skip():
    if not shutil.which("strace"):
        pytest.skip("needs strace")
    r = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null",
                        "-e", "trace=pread64", "true"],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip("strace cannot trace here: " + r.stderr.strip()[-300:])


def test_dsn_reads_the_original_off_the_loop(make_gateway, tmp_path):
    """strace -f on every thread of posternd, with file names (-y): the
    reads (pread64) of the original message's queue file made for its
    DSN (the recipient was refused at RCPT, so nothing else reads the
    body) come from a worker thread, never from the loop thread, whose
    thread id is the process id."""
    strace_or_skip()
    peer = Peer(refuse_rcpt={"kim@winery-co.co"})
    st = None
    try:
        gw = start(make_gateway, {"kim@winery-co.co": (MBX, peer.port),
                                  "ericm@winery-co.co": (MBX, peer.port)})
        pid = gw.proc.pid
        trace, errpath = tmp_path / "dsn.trace", tmp_path / "dsn.err"
        with open(errpath, "wb") as err:
            st = subprocess.Popen(["strace", "-f", "-y", "-s", "0", "-o",
                                   str(trace), "-e", "trace=pread64,read",
                                   "-p", str(pid)],
                                  stdout=subprocess.DEVNULL, stderr=err)

        def attached():
            text = errpath.read_text(errors="replace")
            return st.poll() is not None or " attached" in text
        assert wait_for(attached, timeout=15), errpath.read_text()
        if st.poll() is not None:
            pytest.skip("strace cannot attach: " +
                        errpath.read_text(errors="replace")[-300:])
        # several MiB: a read the loop must not do
        body = "Subject: big\r\n\r\n" + ("x" * 998 + "\r\n") * 3000
        mid = send(gw, ["kim@winery-co.co"], body=body, server="intranet",
                   sender="ericm@winery-co.co")
        assert wait_for(lambda: "sender notification" in gw.log() and
                        peer.raw, timeout=60), gw.log()
        st.send_signal(signal.SIGINT)
        st.wait(10)
        reads = [ln for ln in trace.read_text(errors="replace").splitlines()
                 if re.search(r"(pread64|read)\(\d+</[^>]*/queue/%s>" % mid,
                              ln)]
        assert reads, "no read of %s traced" % mid
        on_loop = [ln for ln in reads if int(ln.split()[0]) == pid]
        assert not on_loop, on_loop[:3]
    finally:
        if st is not None and st.poll() is None:
            st.kill()
            st.wait()
        peer.stop()


# ---------------------------------------------------------------------------
# 4. 452 too many recipients: further transactions, same connection
# ---------------------------------------------------------------------------

class LimitSink:
    """An aiosmtpd next hop that takes at most max_rcpts recipients per
    transaction and answers 452 4.5.3 past it (0: every one), counting
    connections and transactions (MAIL commands)."""

    def __init__(self, addr, max_rcpts, busy=()):
        self.connections, self.transactions = 0, 0
        self.messages = []
        self.offered = {}           # recipient -> RCPTs seen
        sink = self

        class Handler:
            async def handle_EHLO(self, server, session, envelope,
                                  hostname, responses):
                sink.connections += 1
                session.host_name = hostname
                return responses

            async def handle_MAIL(self, server, session, envelope, address,
                                  mail_options):
                sink.transactions += 1
                envelope.mail_from = address
                return "250 2.1.0 Ok"

            async def handle_RCPT(self, server, session, envelope, address,
                                  rcpt_options):
                sink.offered[address] = sink.offered.get(address, 0) + 1
                if address in busy:
                    return "450 4.2.1 Mailbox busy, try later"
                if len(envelope.rcpt_tos) >= max_rcpts:
                    return "452 4.5.3 Too many recipients"
                envelope.rcpt_tos.append(address)
                return "250 2.1.5 Ok"

            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(list(envelope.rcpt_tos))
                return "250 2.0.0 Ok: queued"

        with socket.socket() as s:
            s.bind((addr, 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname=addr,
                                     port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self):
        try:
            self.controller.stop()
        except Exception:
            pass

    def delivered(self):
        return sorted(r for m in self.messages for r in m)


RCPTS5 = ["u%d@winery-co.co" % i for i in range(5)]


def test_452_means_more_transactions_on_the_same_connection(make_gateway):
    sink = LimitSink(MBX, 2)
    try:
        gw = start(make_gateway, {r: (MBX, sink.port) for r in RCPTS5})
        send(gw, RCPTS5)
        assert wait_for(lambda: sink.delivered() == sorted(RCPTS5),
                        timeout=30), gw.log()
        # 2 + 2 + 1 on one connection, in the first attempt
        assert sink.connections == 1, gw.log()
        assert sink.transactions == 3
        assert [len(m) for m in sink.messages] == [2, 2, 1]
        assert "status=deferred" not in gw.log()
    finally:
        sink.stop()


def test_only_452_recipients_go_again_on_the_connection(make_gateway):
    # u1 is busy (450): a per-recipient answer, not the peer's limit; it is
    # not offered again on the same connection (it waits for the next
    # address or the retry), while u3 and u4 (452) go in a second
    # transaction at once.
    sink = LimitSink(MBX, 2, busy={"u1@winery-co.co"})
    try:
        gw = start(make_gateway, {r: (MBX, sink.port) for r in RCPTS5},
                   retry="1h")
        send(gw, RCPTS5)
        want = sorted(r for r in RCPTS5 if r != "u1@winery-co.co")
        assert wait_for(lambda: sink.delivered() == want, timeout=30), \
            gw.log()
        assert wait_for(lambda: "u1@winery-co.co>, relay=none, "
                        "status=deferred" in gw.log() or
                        "status=deferred (450 4.2.1" in gw.log(),
                        timeout=10), gw.log()
        time.sleep(0.5)
        assert sink.connections == 1
        assert sink.offered["u1@winery-co.co"] == 1, sink.offered
        assert sink.transactions == 2, sink.transactions
    finally:
        sink.stop()


def test_a_peer_that_452s_every_recipient_gets_them_deferred(make_gateway):
    sink = LimitSink(MBX, 0)
    try:
        gw = start(make_gateway, {r: (MBX, sink.port) for r in RCPTS5},
                   retry="1h")
        send(gw, RCPTS5)
        assert wait_for(lambda: gw.log().count("status=deferred") >= 5,
                        timeout=30), gw.log()
        time.sleep(1)
        # one transaction, no loop; every recipient deferred with the 452
        assert sink.connections == 1
        assert sink.transactions == 1
        assert all(n == 1 for n in sink.offered.values()), sink.offered
        assert gw.log().count("452 4.5.3 Too many recipients") >= 5
        assert gw.messages()
    finally:
        sink.stop()


# ---------------------------------------------------------------------------
# 7. Kept connections at shutdown and after a reload
# ---------------------------------------------------------------------------

def test_kept_connection_gets_quit_at_shutdown(make_gateway):
    peer = Peer()
    try:
        gw = start(make_gateway, {"kim@winery-co.co": (MBX, peer.port)})
        send(gw, ["kim@winery-co.co"])
        # stop while the connection is kept (it idles 2 s, then QUITs
        # by itself: SIGTERM well before that)
        assert wait_for(lambda: "status=sent" in gw.log(), timeout=30)
        t0 = time.time()
        gw.stop()
        took = time.time() - t0
        assert wait_for(lambda: peer.quits, timeout=5), peer.sessions
        assert peer.quits[0] - t0 < 1.5, "QUIT came from the idle timer"
        assert took < 10, took       # generous: QUIT waits 2 s at most
        assert len(peer.sessions) == 1
    finally:
        peer.stop()


def test_reload_gives_kept_connections_the_new_timeouts(make_gateway):
    # Message 1 is answered after 4 s; meanwhile command-timeout drops
    # from 5 min to 1 s by a reload and message 2 is queued.  It waits for
    # the one slot (per-destination 1), takes the kept connection, and the
    # peer never answers its RSET: under the new timeout the connection
    # is given up within seconds and message 2 goes out on a new one.
    peer = Peer(dot_delay=4, stall_rset_after=2)
    try:
        gw = start(make_gateway, {"kim@winery-co.co": (MBX, peer.port)},
                   queue="    per-destination 1\n    command-timeout 5m\n")
        send(gw, ["kim@winery-co.co"], body="Subject: one\r\n\r\none\r\n")
        assert wait_for(lambda: len(peer.sessions) == 1 and
                        any(c == "DATA" for c in peer.sessions[0]),
                        timeout=30)
        with open(gw.conf) as f:
            text = f.read()
        gw.write_config(text.replace("command-timeout 5m",
                                     "command-timeout 1s"))
        os.kill(gw.proc.pid, signal.SIGHUP)
        assert wait_for(lambda: "configuration reloaded" in gw.log(),
                        timeout=10)
        send(gw, ["kim@winery-co.co"], body="Subject: two\r\n\r\ntwo\r\n")
        t0 = time.time()
        assert wait_for(lambda: len(peer.raw) >= 1, timeout=30)
        # the first connection got an RSET (reuse), then a second one
        assert wait_for(lambda: len(peer.raw) >= 2, timeout=60), gw.log()
        took = time.time() - t0
        assert took < 30, took
        assert "RSET" in peer.sessions[0], peer.sessions
        assert len(peer.sessions) == 2
        assert any(b"two" in ln for ln in peer.raw[1]), peer.raw
    finally:
        peer.stop()
