"""A milter filter that does what the test says: the filter side of the
milter protocol (version 6), raw packets over a loopback TCP port (or a
Unix socket), served by threads of the test process and stopped by the
test.

    fm = FakeMilter(on={"rcpt": reject()}).start()   # fm.socket: inet:...
    ...                                              # posternd uses it
    fm.stop()
    fm.last.rcpts, fm.last.headers, fm.last.body, fm.conns[0].macros

`on` maps a stage to what the filter answers there; stages are connect,
helo, mail, rcpt, data, header, eoh, body, eom, unknown (abort and quit
are never answered, as in the protocol).  A stage not named is answered
`continue` (`accept` at eom).  A value is an Action (below), a list of
them (sent in order, e.g. progress() then accept()), or a function
(conn, txn, data) -> Action for answers that depend on what came, e.g.
the second recipient only.  `mods` is the list of modifications sent at
end of message before the eom answer.

What the filter received is kept: self.conns, one Conn per connection
(optneg, connect, helo, macros by command, every packet in order) and
its transactions (mail, rcpts, headers, body, how it ended).
"""
import os
import socket
import struct
import threading
import time

import pytest

from milterfix import (SMFIC_ABORT, SMFIC_BODY, SMFIC_BODYEOB, SMFIC_CONNECT,
                       SMFIC_DATA, SMFIC_EOH, SMFIC_HEADER, SMFIC_HELO,
                       SMFIC_MACRO, SMFIC_MAIL, SMFIC_OPTNEG, SMFIC_QUIT,
                       SMFIC_QUIT_NC, SMFIC_RCPT, SMFIC_UNKNOWN, SMFIF_ALL,
                       SMFIR_ACCEPT, SMFIR_ADDHEADER, SMFIR_ADDRCPT,
                       SMFIR_ADDRCPT_PAR, SMFIR_CHGFROM, SMFIR_CHGHEADER,
                       SMFIR_CONTINUE, SMFIR_DELRCPT, SMFIR_DISCARD,
                       SMFIR_INSHEADER, SMFIR_PROGRESS, SMFIR_QUARANTINE,
                       SMFIR_REJECT, SMFIR_REPLBODY, SMFIR_REPLYCODE,
                       SMFIR_TEMPFAIL, packet, z)

STAGES = {SMFIC_CONNECT: "connect", SMFIC_HELO: "helo", SMFIC_MAIL: "mail",
          SMFIC_RCPT: "rcpt", SMFIC_DATA: "data", SMFIC_HEADER: "header",
          SMFIC_EOH: "eoh", SMFIC_BODY: "body", SMFIC_BODYEOB: "eom",
          SMFIC_UNKNOWN: "unknown"}

MAX_READ = 16 << 20     # a packet longer than this from the MTA is an error


# ---------------------------------------------------------------- actions

class Action:
    """What the filter does at a stage: send these bytes, then maybe
    wait, close or go silent."""

    def __init__(self, data=b"", delay=0.0, then=None, name=""):
        self.data, self.delay, self.then, self.name = data, delay, then, name

    def __repr__(self):
        return "Action(%s)" % (self.name or repr(self.data[:40]))

    def run(self, conn):
        """Do it on conn; returns False when the filter stops answering
        this connection (close, silent)."""
        if self.delay:
            time.sleep(self.delay)
        if self.data:
            conn.sock.sendall(self.data)
        if self.then == "close":
            conn.close()
            return False
        if self.then == "silent":
            conn.silent = True
        return True


def reply(cmd, data=b""):
    return Action(packet(cmd, data), name=cmd.decode())


def cont():
    return reply(SMFIR_CONTINUE)


def accept():
    return reply(SMFIR_ACCEPT)


def reject():
    return reply(SMFIR_REJECT)


def tempfail():
    return reply(SMFIR_TEMPFAIL)


def discard():
    return reply(SMFIR_DISCARD)


def replycode(text="550 5.7.1 Rejected by the fake filter"):
    """SMFIR_REPLYCODE: 'CODE X.Y.Z text' (the MTA's reply to the client)."""
    return reply(SMFIR_REPLYCODE, z(text))


def quarantine(reason="held by the fake filter"):
    """SMFIR_QUARANTINE (a modification, legal at eom only) then accept."""
    return [reply(SMFIR_QUARANTINE, z(reason)), accept()]


def progress(count=1, interval=0.5, then=None):
    """`count` SMFIR_PROGRESS packets `interval` seconds apart, then the
    answer `then` (default: the stage's normal answer)."""
    acts = [Action(packet(SMFIR_PROGRESS), delay=interval, name="progress")
            for _ in range(count)]
    return acts + ([then] if then is not None else [None])


def delay(seconds, then=None):
    """Wait, then answer `then` (default: the stage's normal answer)."""
    return [Action(delay=seconds, name="delay %s" % seconds),
            then if then is not None else None]


def garbage(data=b"\x00\x00\x00\x05Zjunk"):
    """Bytes that are no milter reply (default: a packet with an unknown
    reply letter), then nothing more."""
    return Action(data, then="silent", name="garbage")


def oversized(length=0x7fffffff, send=b"a" * 64):
    """A length field far beyond any reply, the start of its contents,
    then nothing more (the connection stays open)."""
    return Action(struct.pack("!I", length) + send, then="silent",
                  name="oversized %d" % length)


def short_packet(length=0):
    """A length field below the minimum (0: not even the command byte)."""
    return Action(struct.pack("!I", length), then="silent",
                  name="length %d" % length)


def close_mid():
    """The first bytes of a reply (part of its length field), then the
    connection is closed."""
    return Action(packet(SMFIR_CONTINUE)[:2], then="close", name="close mid")


def close():
    """Close the connection without answering."""
    return Action(then="close", name="close")


def silent():
    """Never answer again on this connection (keep reading)."""
    return Action(then="silent", name="silent")


# ---------------------------------------------------------------- modifications

def addheader(name, value):
    return reply(SMFIR_ADDHEADER, z(name, value))


def insheader(index, name, value):
    """Insert at position index (0: before the first header)."""
    return reply(SMFIR_INSHEADER, struct.pack("!I", index) + z(name, value))


def chgheader(index, name, value):
    """Change the index-th (1-based) header called name; value "" deletes
    it."""
    return reply(SMFIR_CHGHEADER, struct.pack("!I", index) + z(name, value))


def delheader(index, name):
    return chgheader(index, name, "")


def replbody(data):
    """Replace the body (several replbody packets are concatenated)."""
    return reply(SMFIR_REPLBODY, data)


def addrcpt(rcpt):
    return reply(SMFIR_ADDRCPT, z(rcpt))


def addrcpt_par(rcpt, args=""):
    return reply(SMFIR_ADDRCPT_PAR, z(rcpt, args))


def delrcpt(rcpt):
    return reply(SMFIR_DELRCPT, z(rcpt))


def chgfrom(sender, args=""):
    return reply(SMFIR_CHGFROM, z(sender, args))


# ---------------------------------------------------------------- records

class Txn:
    """One transaction as the filter saw it."""

    def __init__(self):
        self.mail = None         # [sender, ESMTP args...]
        self.rcpts = []          # [[rcpt, args...], ...]
        self.headers = []        # [(name, value)]
        self.body = b""
        self.end = None          # "eom", "abort", "quit", "closed"
        self.macros = {}         # command letter -> {name: value}

    @property
    def sender(self):
        return self.mail[0] if self.mail else None

    def rcpt_addrs(self):
        return [r[0] for r in self.rcpts]

    def header(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]


class Conn:
    """One MTA connection to the fake filter."""

    def __init__(self, sock, peer):
        self.sock, self.peer = sock, peer
        self.packets = []        # every (cmd, data) received, in order
        self.optneg = None       # (version, actions, protocol) offered
        self.connect = None      # (hostname, family, port, address)
        self.helo = None
        self.macros = {}         # command letter -> {name: value}, latest
        self.txns = []
        self.silent = False
        self.closed = False
        self.errors = []

    @property
    def txn(self):
        if not self.txns or self.txns[-1].end:
            self.txns.append(Txn())
        return self.txns[-1]

    def commands(self):
        return "".join(c.decode() for c, _ in self.packets)

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()


def strings(data):
    return [s.decode("utf-8", "replace") for s in data.split(b"\0")[:-1]]


# ---------------------------------------------------------------- the filter

class FakeMilter:
    """A scriptable filter.  actions/protocol: what it asks for in its
    OPTNEG answer (the protocol bits are the steps it does not want,
    SMFIP_NO*, and those it will not answer, SMFIP_NR_*; both are
    and-ed with what the MTA offered).  optneg: an Action to send instead
    of the OPTNEG answer (e.g. garbage())."""

    def __init__(self, on=None, mods=(), addr="127.0.0.1", port=0,
                 path=None, actions=SMFIF_ALL, protocol=0, version=6,
                 optneg=None, name="fake"):
        self.on = dict(on or {})
        self.mods = list(mods)
        self.actions, self.protocol, self.version = actions, protocol, version
        self.optneg_action = optneg
        self.name = name
        self.path = path
        if path:
            if os.path.exists(path):
                os.unlink(path)
            self.lsock = socket.socket(socket.AF_UNIX)
            self.lsock.bind(path)
            os.chmod(path, 0o666)
            self.socket = "unix:" + path
        else:
            self.lsock = socket.socket()
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind((addr, port))
            self.addr, self.port = self.lsock.getsockname()
            self.milter = (self.addr, self.port)
            self.socket = "inet:%s:%d" % (self.addr, self.port)
        self.conns = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.errors = []

    # -- life
    def start(self):
        self.lsock.listen(64)
        self.lsock.settimeout(0.2)
        t = threading.Thread(target=self._accept, daemon=True,
                             name="fakemilter-%s" % self.name)
        self.threads.append(t)
        t.start()
        return self

    def stop(self):
        self.stopping.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        for c in list(self.conns):
            c.close()
        for t in self.threads:
            t.join(10)
        if self.path and os.path.exists(self.path):
            os.unlink(self.path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what it saw
    @property
    def last(self):
        """The last transaction of the last connection (or None)."""
        for c in reversed(self.conns):
            if c.txns:
                return c.txns[-1]
        return None

    def txns(self):
        return [t for c in self.conns for t in c.txns]

    def wait(self, cond, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if cond(self):
                return True
            time.sleep(0.02)
        return bool(cond(self))

    # -- serving
    def _accept(self):
        while not self.stopping.is_set():
            try:
                s, peer = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(None)
            conn = Conn(s, peer)
            with self.lock:
                self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,),
                                 daemon=True)
            self.threads.append(t)
            t.start()

    def _recv(self, conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def _serve(self, conn):
        try:
            while not conn.closed:
                n = struct.unpack("!I", self._recv(conn, 4))[0]
                if n == 0 or n > MAX_READ:
                    conn.errors.append("bad length %d from the MTA" % n)
                    break
                body = self._recv(conn, n)
                cmd, data = body[:1], body[1:]
                conn.packets.append((cmd, data))
                if not self._handle(conn, cmd, data):
                    break
        except (EOFError, OSError):
            pass
        except Exception as e:      # noqa: BLE001 -- shown by the test
            conn.errors.append(repr(e))
            self.errors.append(repr(e))
        finally:
            if conn.txns and not conn.txns[-1].end:
                conn.txns[-1].end = "closed"
            conn.close()

    def _handle(self, conn, cmd, data):
        """Record one command and answer it; False ends the connection."""
        if cmd == SMFIC_OPTNEG:
            conn.optneg = struct.unpack("!III", data[:12])
            if self.optneg_action is not None:
                return self._do(conn, self.optneg_action, None)
            _, mta_actions, mta_proto = conn.optneg
            self.negotiated = (self.actions & mta_actions,
                               self.protocol & mta_proto)
            conn.negotiated = self.negotiated
            conn.sock.sendall(packet(SMFIC_OPTNEG, struct.pack(
                "!III", self.version, *self.negotiated)))
            return True
        if cmd == SMFIC_MACRO:
            kv = strings(data[1:])
            d = dict(zip(kv[0::2], kv[1::2]))
            conn.macros.setdefault(data[:1].decode(), {}).update(d)
            if data[:1] in (SMFIC_MAIL, SMFIC_RCPT, SMFIC_DATA, SMFIC_EOH,
                            SMFIC_BODYEOB):
                conn.txn.macros.setdefault(data[:1].decode(), {}).update(d)
            return True
        if cmd == SMFIC_ABORT:
            if conn.txns and not conn.txns[-1].end:
                conn.txns[-1].end = "abort"
            return True
        if cmd in (SMFIC_QUIT, SMFIC_QUIT_NC):
            if conn.txns and not conn.txns[-1].end:
                conn.txns[-1].end = "quit"
            if cmd == SMFIC_QUIT:
                conn.close()
                return False
            return True
        stage = STAGES.get(cmd)
        if stage is None:
            conn.errors.append("unknown command %r" % cmd)
            return True
        txn = None
        if stage == "connect":
            host, _, rest = data.partition(b"\0")
            fam = rest[:1].decode()
            if fam in ("4", "6"):
                port = struct.unpack("!H", rest[1:3])[0]
                addr = rest[3:].rstrip(b"\0").decode()
            else:
                port, addr = None, rest[1:].rstrip(b"\0").decode()
            conn.connect = (host.decode(), fam, port, addr)
        elif stage == "helo":
            conn.helo = strings(data)[0] if data else ""
        elif stage == "mail":
            txn = conn.txn
            txn.mail = strings(data)
        elif stage in ("rcpt", "data", "header", "eoh", "body", "eom"):
            txn = conn.txn
            if stage == "rcpt":
                txn.rcpts.append(strings(data))
            elif stage == "header":
                s = strings(data)
                txn.headers.append((s[0], s[1] if len(s) > 1 else ""))
            elif stage == "body":
                txn.body += data
        if self._no_reply(conn, stage):
            if stage == "eom":
                txn.end = "eom"
            return True
        action = self.on.get(stage)
        if callable(action) and not isinstance(action, Action):
            action = action(conn, txn, data)
        default = accept() if stage == "eom" else cont()
        if stage == "eom":
            for m in self.mods:
                if not self._do(conn, m, None):
                    txn.end = "eom"
                    return False
        ok = self._do(conn, action, default)
        if stage == "eom":
            txn.end = "eom"
        return ok

    def _no_reply(self, conn, stage):
        from milterfix import (SMFIP_NR_BODY, SMFIP_NR_CONN, SMFIP_NR_DATA,
                               SMFIP_NR_EOH, SMFIP_NR_HDR, SMFIP_NR_HELO,
                               SMFIP_NR_MAIL, SMFIP_NR_RCPT, SMFIP_NR_UNKN)
        nr = {"connect": SMFIP_NR_CONN, "helo": SMFIP_NR_HELO,
              "mail": SMFIP_NR_MAIL, "rcpt": SMFIP_NR_RCPT,
              "data": SMFIP_NR_DATA, "header": SMFIP_NR_HDR,
              "eoh": SMFIP_NR_EOH, "body": SMFIP_NR_BODY,
              "unknown": SMFIP_NR_UNKN}.get(stage)
        neg = getattr(conn, "negotiated", (0, 0))[1]
        return bool(nr and neg & nr)

    def _do(self, conn, action, default):
        """Run an Action, a list of them (None in a list: the default
        answer), or the default; False when the connection is done."""
        if conn.silent:
            return True
        if action is None:
            action = default
        if action is None:
            return True
        acts = action if isinstance(action, list) else [action]
        for a in acts:
            if a is None:
                a = default
                if a is None:
                    continue
            if not a.run(conn):
                return False
            if conn.silent:
                return True
        return True


@pytest.fixture
def fake():
    """make(**FakeMilter arguments) -> a started FakeMilter; every one
    made is stopped at the end of the test, which fails if a filter
    thread raised."""
    made = []

    def make(**kw):
        fm = FakeMilter(**kw).start()
        made.append(fm)
        return fm

    yield make
    for fm in made:
        fm.stop()
    for fm in made:
        assert not fm.errors, fm.errors
