"""Fixtures for postern's integration tests.

Every test starts its own posternd on loopback addresses (127.0.0.2 for the
Internet-facing virtual server, 127.0.0.3 for the intranet one; clients
connect from 127.0.0.10 "on the Internet" and 127.0.0.20 "on the
intranet"), with its own spool under pytest's tmp_path, and stops it by
PID.  POSTERND_BINS names the binaries to test (the normal and the
ASan+UBSan build): every test runs against each.

Run as root, the suite runs every gateway as a deployment does: with
`user postern-test` (RUN_USER, a system user made once), so that the
daemon drops privileges in every test and a path that only works as root
cannot hide.  tmp_path and its parents are then made traversable by that
user (pytest makes them 0700); files the test writes there are
world-readable by default (umask 022), and key and password files a test
makes 0600 stay root's, as they may (they are read before the drop).
"""
import os
import pwd
import smtplib
import socket
import subprocess

import pytest

import spool
from procfix import Daemon

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The test drivers of tests/tools (POSTERN_TOOLS: another build of them;
# `make check` runs them from the ASan+UBSan build).
TOOLS = os.environ.get("POSTERN_TOOLS",
                       os.path.join(ROOT, "build", "tests", "tools"))
BINS = os.environ.get("POSTERND_BINS", os.path.join(ROOT, "build", "posternd")).split()

INTERNET = "127.0.0.2"
INTRANET = "127.0.0.3"
CLIENT_INTERNET = "127.0.0.10"
CLIENT_INTRANET = "127.0.0.20"


def free_port(addr="127.0.0.1"):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def _run_user(name="postern-test"):
    """The user every gateway runs as: made once (as root), or None when
    the suite does not run as root (posternd then keeps its own uid)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(name)
    except KeyError:
        # 9: made meanwhile by another run of the suite
        rc = subprocess.call(["useradd", "--system", "--no-create-home",
                              "--home-dir", "/nonexistent",
                              "--shell", "/usr/sbin/nologin", name])
        assert rc in (0, 9), "useradd %s failed: %d" % (name, rc)
    return name


RUN_USER = _run_user()
RUN_UID = pwd.getpwnam(RUN_USER).pw_uid if RUN_USER else os.geteuid()
RUN_GID = pwd.getpwnam(RUN_USER).pw_gid if RUN_USER else os.getegid()


def user_line(extra=""):
    """The `user` statement of a test configuration ("" when not root, or
    when extra already names a user)."""
    if RUN_USER is None or "user " in extra:
        return ""
    return "user " + RUN_USER


def open_to_run_user(path):
    """Let RUN_USER reach path: it and every parent get search permission
    for others (pytest's temporary directories are 0700), and path itself
    read permission, so that the daemon finds its spool and the files the
    test wrote after the drop."""
    if RUN_USER is None:
        return
    path = os.path.abspath(str(path))
    st = os.stat(path)
    os.chmod(path, st.st_mode | 0o055)
    parent = os.path.dirname(path)
    while parent != "/":
        st = os.stat(parent)
        if not st.st_mode & 0o001:
            os.chmod(parent, st.st_mode | 0o001)
        parent = os.path.dirname(parent)


def readable_by_run_user(path):
    """Make a root file readable by RUN_USER's group (0640), as a
    deployment does with a key or a password file that a reload, run
    after the drop, must read again."""
    if RUN_USER is None:
        return
    os.chown(str(path), 0, RUN_GID)
    os.chmod(str(path), 0o640)


@pytest.fixture(autouse=True)
def _tmp_path_open_to_run_user(request):
    if "tmp_path" in request.fixturenames:
        open_to_run_user(request.getfixturevalue("tmp_path"))


DIRECTORY = """\
ericm@winery-co.co   mbx1.winery.local
kimy@winery-co.co    [127.0.0.30]:2626
postmaster@winery-co.co local
@winery.local        mbx1.winery.local
team@winery-co.co    -> ericm@winery-co.co kimy@winery-co.co
"""


def gateway_config(tmp, port, *, top="", directory=None,
                   dns="127.0.0.1:5353", external_dns="127.0.0.1:5354",
                   local_domains=("winery-co.co",), internet="", intranet="",
                   relay="127.0.0.20/32", connector="", queue="",
                   internet_addr=INTERNET, intranet_addr=INTRANET):
    """The postern.conf of an integration test: the Winery gateway on
    loopback (an Internet-facing and an intranet virtual server, the `*`
    connector by MX through the external list), run as RUN_USER, with the
    pieces a test changes: statements at the top, the directory (default:
    the file tmp/directory), the DNS lists, lines inside each virtual
    server, the connector and the queue block."""
    if directory is None:
        directory = "directory file %s/directory" % tmp
    domains = "".join("local-domain %s\n" % d for d in local_domains)
    queue_block = "queue {\n%s\n}\n" % queue if queue else ""
    return f"""\
hostname gateway.winery-co.co
{user_line(top)}
spool {tmp}/spool
log stderr
dns {dns}
dns-list external {external_dns}
{domains}{directory}
{top}
virtual-server internet {{
    listen {internet_addr}:{port}
{internet}
}}

virtual-server intranet {{
    listen {intranet_addr}:{port}
    relay allow {relay}
    external-dns external
{intranet}
}}

connector internet {{
    address-space * cost 1
    home intranet
    route dns
{connector}
}}
{queue_block}"""


def base_config(tmp, port, extra_internet="", extra_intranet="", extra_top=""):
    return gateway_config(
        tmp, port, top=extra_top,
        local_domains=("winery-co.co", "winery.local"),
        internet="""    relay deny
    max-recipients 5
    max-errors 3
    max-unknown-recipients 3
    max-message-size 100K
    max-connections-per-ip 4
    timeout 30s
""" + extra_internet,
        intranet=extra_intranet,
        relay="127.0.0.20/32 127.0.0.3/32",
        connector="    address-space partner.example cost 1 relay")


def assert_clean_exit(daemon, rc, ok=(0, None)):
    """No sanitizer report in a stopped posternd's log, and an exit status
    the test expects."""
    log = daemon.log()
    # Sanitizer reports fail the test that caused them.
    assert "ERROR: AddressSanitizer" not in log, log
    assert "runtime error:" not in log, log
    assert "LeakSanitizer" not in log, log
    assert rc in ok, "posternd exit status %r\n%s" % (rc, log)


class Gateway(Daemon):
    """A posternd with its configuration and spool under tmp, serving the
    Internet-facing virtual server on self.internet and the intranet one
    on self.intranet."""

    what = "posternd"
    internet, intranet = INTERNET, INTRANET

    def __init__(self, binary, tmp, config, directory=DIRECTORY):
        self.binary = binary
        self.tmp = tmp
        open_to_run_user(tmp)
        self.conf = os.path.join(tmp, "postern.conf")
        self.spool = os.path.join(tmp, "spool")
        self.logpath = os.path.join(tmp, "posternd.log")
        with open(os.path.join(tmp, "directory"), "w") as f:
            f.write(directory)
        self.write_config(config)
        self.proc = None

    def write_config(self, text):
        with open(self.conf, "w") as f:
            f.write(text)

    def command(self):
        """How posternd is run (a subclass may run it elsewhere)."""
        return [self.binary, "-f", self.conf]

    def start(self, port_check=True):
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        return self.spawn(self.command(),
                          lambda log: "posternd started" in log, env=env)

    def messages(self):
        return spool.messages(self.spool)

    def _peer(self, server, source):
        """(the virtual server's address, the client's source address)."""
        if server == "internet":
            return self.internet, source or CLIENT_INTERNET
        return self.intranet, source or CLIENT_INTRANET

    def smtp(self, server="internet", source=None):
        addr, source = self._peer(server, source)
        return smtplib.SMTP(addr, self.port, source_address=(source, 0), timeout=30)

    def raw(self, server="internet", source=None):
        addr, source = self._peer(server, source)
        s = socket.create_connection((addr, self.port), timeout=30,
                                     source_address=(source, 0))
        return RawClient(s)


class RawClient:
    """A byte-exact SMTP client for protocol abuse tests."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def reply(self):
        """Read one (possibly multi-line) reply; returns (code, text)."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise EOFError("connection closed; got %r" % self.buf)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line.decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        return int(lines[-1][:3]), "\n".join(lines)

    def drain(self, quiet=0.3):
        """Every reply until the server has been quiet for `quiet` seconds
        or has closed the connection."""
        replies = []
        self.sock.settimeout(quiet)
        try:
            while True:
                replies.append(self.reply())
        except (socket.timeout, EOFError, ConnectionResetError):
            pass
        finally:
            self.sock.settimeout(30)
        return replies

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def closed(self):
        try:
            self.sock.settimeout(10)
            data = self.sock.recv(1)
            return data == b""
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.sock.close()


@pytest.fixture(params=BINS, ids=lambda b: os.path.basename(os.path.dirname(b)))
def posternd_bin(request):
    if not os.path.exists(request.param):
        pytest.fail("missing binary " + request.param)
    return request.param


@pytest.fixture
def make_gateway(posternd_bin, tmp_path):
    made = []

    def make(config=None, directory=DIRECTORY, start=True, **kw):
        port = free_port(INTERNET)
        text = config(str(tmp_path), port) if callable(config) else \
            base_config(str(tmp_path), port, **kw)
        gw = Gateway(posternd_bin, str(tmp_path), text, directory)
        gw.port = port
        made.append(gw)
        if start:
            gw.start()
        return gw

    yield make
    for gw in made:
        assert_clean_exit(gw, gw.stop(), ok=(0, None, -9))


@pytest.fixture
def gateway(make_gateway):
    return make_gateway()
