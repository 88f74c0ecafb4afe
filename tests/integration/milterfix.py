"""Real content scanners for the milter tests: a private rspamd, and
clamd with clamav-milter, each started and stopped by PID with a test-only
configuration under the test's temporary directory; and MilterClient,
enough of the MTA side of the milter protocol (version 6) to drive any
filter without posternd (the fixtures' own tests, tests/integration/
test_milterfix.py, use it).

Nothing here starts or changes the system services (they stay stopped;
rspamd reads the package's /etc/rspamd, overridden by the test's files) and nothing reaches outside 127.0.0.0/8: rspamd's network
modules are off and its resolver points at a loopback port where nothing
listens; clamd's database is one EICAR signature written by the test (no
freshclam).  docs/milter-testing.md says why each setting is there.

  rs = Rspamd(tmp).start()       rs.milter == ("127.0.0.1", port)
  cd = Clamd(tmp).start()
  cm = ClamavMilter(tmp, cd).start()
  ...
  cm.stop(); cd.stop(); rs.stop()

(`rspamd` and `clamav` below are pytest fixtures that do this and stop
them also when the test fails.)
"""
import base64
import hashlib
import os
import pwd
import signal
import socket
import struct
import subprocess
import time

try:
    import pytest
except ImportError:         # bench/milter uses the classes only
    pytest = None

from procfix import Daemon

RSPAMD = "/usr/bin/rspamd"
RSPAMD_CONFDIR = "/etc/rspamd"
RSPAMD_SHAREDIR = "/usr/share/rspamd"
# the public suffixes the tests' messages use (see Rspamd's full_tld)
TEST_TLDS = ("com", "org", "net", "de", "co", "uk", "co.uk", "example",
             "test", "local", "invalid")
CLAMD = "/usr/sbin/clamd"
CLAMAV_MILTER = "/usr/sbin/clamav-milter"

# The standard test strings.  GTUBE: rspamd answers `reject` to a message
# that holds it (a built-in pattern, not a score).  EICAR: 68 bytes that
# every antivirus calls a virus; here only because the test's own
# signature says so (EICAR_HDB).
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!"
         b"$H+H*")
EICAR_NAME = "Eicar-Test-Signature"


def eicar_hdb():
    """The line of a ClamAV .hdb database (MD5:size:name) naming the EICAR
    file: the whole database of the tests' clamd."""
    return "%s:%d:%s\n" % (hashlib.md5(EICAR).hexdigest(), len(EICAR),
                           EICAR_NAME)


def installed(*paths):
    """The missing ones of paths (for a pytest skip reason)."""
    return [p for p in paths if not os.access(p, os.X_OK)]


def free_port(addr="127.0.0.1"):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def port_answers(addr, port):
    try:
        socket.create_connection((addr, port), 0.2).close()
        return True
    except OSError:
        return False


def unix_answers(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(0.2)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def open_dirs_to(path, user):
    """Let `user` reach path: every parent gets search permission for
    others (pytest's temporary directories are 0700) and path becomes
    user's."""
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
    os.chown(path, pw.pw_uid, pw.pw_gid)
    parent = os.path.dirname(os.path.abspath(path))
    while parent != "/":
        st = os.stat(parent)
        if not st.st_mode & 0o001:
            os.chmod(parent, st.st_mode | 0o001)
        parent = os.path.dirname(parent)


def _stat(pid):
    """(ppid, utime+stime, cutime+cstime) in clock ticks, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return (int(rest[1]), int(rest[11]) + int(rest[12]),
            int(rest[13]) + int(rest[14]))


def tree_pids(root):
    """root and its descendants (live)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st:
                kids.setdefault(st[0], []).append(int(d))
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def tree_cpu(root):
    """CPU seconds (user+system) of root and its live descendants, plus
    what root's reaped children used (the benchmark's measure)."""
    ticks = 0
    for pid in tree_pids(root):
        st = _stat(pid)
        if st:
            ticks += st[1]
            if pid == root:
                ticks += st[2]
    return ticks / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- rspamd

# Modules that ask the network (DNS lists, SPF/DKIM/DMARC/ARC records,
# fuzzy storage, URL maps from maps.rspamd.com) or need Redis (Bayes,
# reputation, greylisting, ratelimit, neural...), or that export to
# something: all off.  What stays: the regexp rules, MIME checks,
# chartable, forged recipients, force_actions, milter_headers and
# rspamd's built-in GTUBE check.
RSPAMD_OFF = (
    "antivirus", "arc", "asn", "aws_s3", "bimi", "clickhouse", "dcc",
    "dkim", "dkim_signing", "dmarc", "elastic", "emails", "external_relay",
    "external_services", "fuzzy_check", "greylist", "history_redis",
    "hfilter", "http_headers", "maillist", "metadata_exporter",
    "metric_exporter", "mid", "multimap", "mx_check", "neural",
    "once_received", "p0f", "phishing", "ratelimit", "rbl", "replies",
    "reputation", "rspamd_update", "spamassassin", "spamtrap", "spf", "mime_types",
    "surbl", "url_redirector", "whitelist", "trie", "bayes_expiry",
    "url_reputation", "url_tags", "dynamic_conf", "ip_score",
    "arc_signing",
)

# The headers rspamd adds through the milter to every message it passes
# (milter_headers; loopback clients count as "local", which the module
# skips by default).
RSPAMD_HEADERS = ("X-Spamd-Result", "X-Rspamd-Server", "X-Rspamd-Queue-Id",
                  "X-Rspamd-Action", "X-Spam")


class Rspamd(Daemon):
    """Debian's rspamd with the package's configuration (/etc/rspamd)
    and this test's local.d/override.d (LOCAL_CONFDIR under tmp), its
    database, pid and log files under tmp too.  The proxy worker speaks
    the milter protocol on self.milter and scans by itself (self_scan, no
    upstream); the normal worker and the controller listen on loopback
    ports of their own.  hyperscan=False (the tests) uses PCRE only, so
    that no hyperscan compiler process runs during the test."""

    what = "rspamd"

    def __init__(self, tmp, addr="127.0.0.1", port=None, name="rspamd",
                 hyperscan=False, user="_rspamd", count=1, full_tld=False):
        self.dir = os.path.join(str(tmp), name)
        self.addr = addr
        self.port = port or free_port(addr)
        self.milter = (addr, self.port)
        self.socket = "inet:%s:%d" % (addr, self.port)
        self.normal_port = free_port(addr)
        self.controller_port = free_port(addr)
        # a loopback UDP port where nothing answers: every DNS question
        # fails at once (ICMP port unreachable), none leaves the machine
        self.dns = "127.0.0.1:%d" % free_port("127.0.0.1")
        self.etc = os.path.join(self.dir, "etc")
        self.dbdir = os.path.join(self.dir, "db")
        self.rundir = os.path.join(self.dir, "run")
        self.logpath = os.path.join(self.dir, "rspamd.log")
        self.pidfile = os.path.join(self.rundir, "rspamd.pid")
        self.user = user
        self.count = count
        self.proc = None
        tld = os.path.join(RSPAMD_SHAREDIR, "effective_tld_names.dat")
        if not full_tld:
            # rspamd compiles every public suffix at start (10 s here):
            # the tests' messages only need a few
            tld = os.path.join(self.etc, "tld.dat")
            os.makedirs(self.etc, exist_ok=True)
            with open(tld, "w") as f:
                f.write("".join(t + "\n" for t in TEST_TLDS))
        for d in (self.dir, self.etc, self.dbdir, self.rundir,
                  os.path.join(self.etc, "local.d"),
                  os.path.join(self.etc, "override.d")):
            os.makedirs(d, exist_ok=True)
        files = {
            "override.d/options.inc": f"""\
pidfile = "{self.pidfile}";
url_tld = "{tld}";
dns {{
    nameserver = ["{self.dns}"];
    timeout = 0.2s;
    retransmits = 1;
}}
hs_cache_dir = "{self.dbdir}/";
disable_hyperscan = {"false" if hyperscan else "true"};
control_socket = "{self.rundir}/rspamd.sock mode=0600";
task_timeout = 20s;
""",
            "override.d/logging.inc": f"""\
type = "file";
filename = "{self.logpath}";
level = "info";
""",
            "override.d/worker-proxy.inc": f"""\
bind_socket = "{addr}:{self.port}";
milter = yes;
timeout = 120s;
# scan in the proxy itself: no upstream normal worker in the path
upstream "local" {{
    default = yes;
    self_scan = yes;
}}
count = {count};
discard_on_reject = false;
quarantine_on_reject = false;
spam_header = "X-Spam";
reject_message = "Spam message rejected";
""",
            "override.d/worker-normal.inc": f"""\
bind_socket = "{addr}:{self.normal_port}";
count = 1;
""",
            "override.d/worker-controller.inc": f"""\
bind_socket = "{addr}:{self.controller_port}";
count = 1;
password = "q1";
""",
            # the package's top file without statistic.conf (no Bayes
            # classifier: it would want Redis) and without the fuzzy worker
            "rspamd.conf": self.top_conf(),
            "override.d/milter_headers.conf": """\
use = ["x-spamd-result", "x-rspamd-server", "x-rspamd-queue-id",
       "x-rspamd-action", "x-spam-status"];
skip_local = false;
skip_authenticated = false;
""",
        }
        for mod in RSPAMD_OFF:
            files.setdefault("override.d/%s.conf" % mod, "enabled = false;\n")
        for rel, text in files.items():
            with open(os.path.join(self.etc, rel), "w") as f:
                f.write(text)
        if user and os.geteuid() == 0:
            open_dirs_to(self.dir, user)

    @staticmethod
    def top_conf():
        out, skip = [], 0
        with open(os.path.join(RSPAMD_CONFDIR, "rspamd.conf")) as f:
            for line in f:
                if line.startswith('worker "fuzzy"'):
                    skip = 1
                if skip:
                    skip = 0 if line.startswith("}") else 1
                    continue
                if "statistic.conf" in line:
                    continue
                out.append(line)
        return "# %s/rspamd.conf without statistic.conf and the fuzzy " \
            "worker (milterfix.py)\n" % RSPAMD_CONFDIR + "".join(out)

    def command(self):
        argv = [RSPAMD, "-f", "-c", os.path.join(self.etc, "rspamd.conf"),
                "--var=LOCAL_CONFDIR=" + self.etc,
                "--var=DBDIR=" + self.dbdir,
                "--var=RUNDIR=" + self.rundir,
                "--var=LOGDIR=" + self.dir]
        if os.geteuid() == 0:
            argv += ["-u", self.user, "-g", self.user] if self.user else ["-i"]
        return argv

    def start(self, timeout=60):
        # Ready when every worker it forks has started: the main process
        # binds the port before it forks them (a connection would be
        # accepted earlier, and wait), and a worker still being forked
        # when SIGTERM comes may miss it and be left behind.
        def ready(log):
            forked = log.count("rspamd_fork_worker: prepare to fork process")
            started = log.count("rspamd_handle_child_fork: starting ")
            return forked and started >= forked and \
                log.count("starting rspamd_proxy process") >= self.count
        self.spawn_session(self.command(), ready, timeout=timeout)
        return self

    def spawn_session(self, argv, ready, timeout):
        """procfix's Daemon.spawn, in a session of its own (its id is
        the main process's PID): stop() ends what is left of it."""
        self.logf = open(self.logpath, "ab")
        mark = self.logf.tell()
        self.proc = subprocess.Popen(argv, stdout=self.logf,
                                     stderr=self.logf,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.sweep()
                raise RuntimeError("%s exited: %s" % (self.what, self.log()))
            if ready(self.log()[mark:]):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not start: %s" % (self.what, self.log()))

    def session_pids(self):
        """Live processes of its session (main and workers, also
        workers whose main process is gone)."""
        if self.proc is None:
            return []
        sid = self.proc.pid
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    if os.getsid(int(d)) == sid:
                        out.append(int(d))
                except OSError:
                    pass
        return out

    def sweep(self):
        """SIGKILL whatever is left of its session."""
        for pid in self.session_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def wait_hyperscan(self, timeout=300):
        """With hyperscan=True: wait until the workers have loaded the
        compiled expressions (rspamd compiles them in a helper process
        after the start, with PCRE meanwhile)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "full hyperscan database of" in self.log():
                return True
            time.sleep(0.5)
        return False

    def pids(self):
        return tree_pids(self.proc.pid) if self.alive() else []

    def cpu(self):
        return tree_cpu(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM to the main process (it stops its workers), then
        SIGKILL to any process of its session still there."""
        rc = super().stop(timeout=20)
        deadline = time.time() + 5
        while self.session_pids() and time.time() < deadline:
            time.sleep(0.05)
        self.sweep()
        return rc


# ---------------------------------------------------------------- ClamAV

class Clamd(Daemon):
    """clamd in the foreground on a Unix socket under tmp, its database
    directory holding only eicar.hdb (eicar_hdb()); no freshclam, no
    bytecode, no daily/main databases."""

    what = "clamd"

    def __init__(self, tmp, name="clamd", user="clamav"):
        self.dir = os.path.join(str(tmp), name)
        self.dbdir = os.path.join(self.dir, "db")
        self.tmpdir = os.path.join(self.dir, "tmp")
        self.socket = os.path.join(self.dir, "clamd.sock")
        self.logpath = os.path.join(self.dir, "clamd.log")
        self.conf = os.path.join(self.dir, "clamd.conf")
        self.user = user if os.geteuid() == 0 else None
        self.proc = None
        for d in (self.dir, self.dbdir, self.tmpdir):
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(self.dbdir, "eicar.hdb"), "w") as f:
            f.write(eicar_hdb())
        with open(self.conf, "w") as f:
            f.write(f"""\
# clamd for postern's milter tests (written by milterfix.py)
Foreground yes
LocalSocket {self.socket}
LocalSocketMode 660
FixStaleSocket yes
DatabaseDirectory {self.dbdir}
TemporaryDirectory {self.tmpdir}
PidFile {os.path.join(self.dir, "clamd.pid")}
LogFile {os.path.join(self.dir, "clamd-file.log")}
LogTime yes
LogClean yes
LogVerbose yes
Bytecode no
SelfCheck 0
MaxThreads 4
ReadTimeout 30
StreamMaxLength 25M
ScanMail yes
ScanArchive yes
""" + ("User %s\n" % self.user if self.user else ""))
        if self.user:
            open_dirs_to(self.dir, self.user)

    def start(self, timeout=60):
        self.spawn([CLAMD, "-c", self.conf], lambda log: unix_answers(self.socket),
                   timeout=timeout)
        return self

    def cpu(self):
        return tree_cpu(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def ping(self):
        """clamd's answer to PING (PONG)."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(self.socket)
        s.sendall(b"zPING\0")
        data = s.recv(64)
        s.close()
        return data.rstrip(b"\0").decode()

    def scan_bytes(self, data):
        """clamd's verdict on data (INSTREAM): e.g. 'stream: OK'."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(10)
        s.connect(self.socket)
        s.sendall(b"zINSTREAM\0" + struct.pack("!I", len(data)) + data +
                  struct.pack("!I", 0))
        out = b""
        while not out.endswith(b"\0"):
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        s.close()
        return out.rstrip(b"\0").decode()

    def stop(self):
        return super().stop(timeout=20)


class ClamavMilter(Daemon):
    """clamav-milter in the foreground on a loopback port, asking
    `clamd`: rejects infected mail (OnInfected Reject), accepts clean
    mail and adds its X-Virus-Scanned / X-Virus-Status headers to it
    (AddHeader Replace)."""

    what = "clamav-milter"

    def __init__(self, tmp, clamd, addr="127.0.0.1", port=None,
                 name="clamav-milter", user="clamav", on_infected="Reject"):
        self.dir = os.path.join(str(tmp), name)
        self.addr = addr
        self.port = port or free_port(addr)
        self.milter = (addr, self.port)
        self.socket = "inet:%s:%d" % (addr, self.port)
        self.logpath = os.path.join(self.dir, "clamav-milter.log")
        self.conf = os.path.join(self.dir, "clamav-milter.conf")
        self.user = user if os.geteuid() == 0 else None
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(f"""\
# clamav-milter for postern's milter tests (written by milterfix.py)
MilterSocket inet:{self.port}@{addr}
ClamdSocket unix:{clamd.socket}
Foreground yes
PidFile {os.path.join(self.dir, "clamav-milter.pid")}
TemporaryDirectory {self.dir}
LogFile {os.path.join(self.dir, "clamav-milter-file.log")}
LogTime yes
LogInfected Full
LogClean Full
LogVerbose yes
OnClean Accept
OnInfected {on_infected}
OnFail Defer
RejectMsg Virus %v found: rejected by clamav-milter
AddHeader Replace
ReportHostname clamav-milter.test
MaxFileSize 25M
ReadTimeout 30
""" + ("User %s\n" % self.user if self.user else ""))
        if self.user:
            open_dirs_to(self.dir, self.user)

    def start(self, timeout=30):
        self.spawn([CLAMAV_MILTER, "-c", self.conf],
                   lambda log: port_answers(*self.milter), timeout=timeout)
        return self

    def cpu(self):
        return tree_cpu(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=1):
        """SIGTERM, then SIGKILL after `grace` seconds: libmilter notices
        the signal only when its listener's 5 s poll ends, and a test
        peer has nothing to save."""
        return super().stop(timeout=grace)


# ---------------------------------------------------------------- fixtures
#
# For a test module: `from milterfix import rspamd, clamav  # noqa: F401`
# and name them as arguments.  Each is started for the test and stopped
# by PID at its end, also when the test fails; a test that needs a
# scanner that is not installed is skipped with the reason.

RSPAMD_MISSING = installed(RSPAMD)
CLAMAV_MISSING = installed(CLAMD, CLAMAV_MILTER)


def _fixture(fn):
    return pytest.fixture(fn) if pytest else fn


@_fixture
def rspamd(tmp_path):
    """A started Rspamd (its milter at .milter / .socket)."""
    if RSPAMD_MISSING:
        pytest.skip("rspamd is not installed (Debian package rspamd): "
                    "missing " + " ".join(RSPAMD_MISSING))
    rs = Rspamd(tmp_path)
    try:
        yield rs.start()
    finally:
        rs.stop()


@_fixture
def clamav(tmp_path):
    """A started ClamavMilter (.milter / .socket) and its Clamd
    (.clamd)."""
    if CLAMAV_MISSING:
        pytest.skip("clamd or clamav-milter is not installed (Debian "
                    "packages clamav-daemon, clamav-milter): missing "
                    + " ".join(CLAMAV_MISSING))
    cd = Clamd(tmp_path)
    cm = ClamavMilter(tmp_path, cd)
    cm.clamd = cd
    try:
        cd.start()
        yield cm.start()
    finally:
        cm.stop()
        cd.stop()


def milter_block(name, socket, timeout="30s", on_failure="tempfail"):
    """A postern.conf `milter NAME {...}` block (SPEC section 8) for a
    scanner or FakeMilter: socket is its .socket ("inet:ADDR:PORT" or
    "unix:PATH")."""
    return ("milter %s {\n    socket      %s\n    timeout     %s\n"
            "    on-failure  %s\n}\n" % (name, socket, timeout, on_failure))


def dead_socket(addr="127.0.0.1"):
    """inet:ADDR:PORT where nothing listens (a scanner that is down)."""
    return "inet:%s:%d" % (addr, free_port(addr))


# ---------------------------------------------------------------- messages

def message(subject="hello", body="Just a clean note.\r\n", sender="alice@example.org",
            rcpt="bob@winery-co.co", extra_headers=(),
            content_type="text/plain; charset=us-ascii"):
    """A plain RFC 5322 message as bytes (CRLF line ends)."""
    hdrs = [("From", "Alice <%s>" % sender), ("To", "<%s>" % rcpt),
            ("Subject", subject), ("Date", "Mon, 07 Dec 2026 10:00:00 +0000"),
            ("Message-ID", "<%s.%d@example.org>" % (subject.replace(" ", "."),
                                                     int(time.time() * 1000))),
            ("MIME-Version", "1.0"),
            ("Content-Type", content_type)]
    hdrs += list(extra_headers)
    text = "".join("%s: %s\r\n" % h for h in hdrs) + "\r\n" + body
    return text.encode()


def gtube_message(**kw):
    return message(subject="test GTUBE", body="This is spam.\r\n\r\n%s\r\n"
                   % GTUBE, **kw)


def eicar_message(sender="alice@example.org", rcpt="bob@winery-co.co"):
    """A MIME message with the EICAR file as a base64 attachment."""
    b64 = base64.encodebytes(EICAR).decode().replace("\n", "\r\n")
    body = ("This is a multi-part message in MIME format.\r\n"
            "--BOUNDARY\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
            "The report is attached.\r\n\r\n"
            "--BOUNDARY\r\n"
            "Content-Type: application/octet-stream; name=\"eicar.com\"\r\n"
            "Content-Transfer-Encoding: base64\r\n"
            "Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n"
            + b64 + "\r\n--BOUNDARY--\r\n")
    return message(subject="report", body=body, sender=sender, rcpt=rcpt,
                   content_type='multipart/mixed; boundary="BOUNDARY"')


def split_message(data):
    """(list of (name, value) headers, body bytes) of a message; folded
    header lines are joined back with their CRLF, as an MTA passes them."""
    head, _, body = data.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            n, v = headers[-1]
            headers[-1] = (n, v + "\r\n" + line.decode())
        else:
            n, _, v = line.decode().partition(":")
            headers.append((n, v.lstrip(" ")))
    return headers, body


# ---------------------------------------------------------------- protocol

# Commands (MTA -> filter), mfdef.h's SMFIC_*
SMFIC_ABORT, SMFIC_BODY, SMFIC_CONNECT, SMFIC_MACRO = b"A", b"B", b"C", b"D"
SMFIC_BODYEOB, SMFIC_HELO, SMFIC_QUIT_NC, SMFIC_HEADER = b"E", b"H", b"K", b"L"
SMFIC_MAIL, SMFIC_EOH, SMFIC_OPTNEG, SMFIC_QUIT = b"M", b"N", b"O", b"Q"
SMFIC_RCPT, SMFIC_DATA, SMFIC_UNKNOWN = b"R", b"T", b"U"

# Replies (filter -> MTA), SMFIR_*
SMFIR_ADDRCPT, SMFIR_DELRCPT, SMFIR_ADDRCPT_PAR = b"+", b"-", b"2"
SMFIR_SHUTDOWN, SMFIR_ACCEPT, SMFIR_REPLBODY = b"4", b"a", b"b"
SMFIR_CONTINUE, SMFIR_DISCARD, SMFIR_CHGFROM = b"c", b"d", b"e"
SMFIR_CONN_FAIL, SMFIR_ADDHEADER, SMFIR_INSHEADER = b"f", b"h", b"i"
SMFIR_SETSYMLIST, SMFIR_CHGHEADER, SMFIR_PROGRESS = b"l", b"m", b"p"
SMFIR_QUARANTINE, SMFIR_REJECT, SMFIR_SKIP = b"q", b"r", b"s"
SMFIR_TEMPFAIL, SMFIR_REPLYCODE, SMFIR_OPTNEG = b"t", b"y", b"O"

# Actions the MTA allows (SMFIF_*)
SMFIF_ADDHDRS, SMFIF_CHGBODY, SMFIF_ADDRCPT, SMFIF_DELRCPT = 0x01, 0x02, 0x04, 0x08
SMFIF_CHGHDRS, SMFIF_QUARANTINE, SMFIF_CHGFROM = 0x10, 0x20, 0x40
SMFIF_ADDRCPT_PAR, SMFIF_SETSYMLIST = 0x80, 0x100
SMFIF_ALL = 0x1ff

# Protocol steps (SMFIP_*): the filter sets NO* to skip a step, NR_* to
# send no reply to it
SMFIP_NOCONNECT, SMFIP_NOHELO, SMFIP_NOMAIL, SMFIP_NORCPT = 0x1, 0x2, 0x4, 0x8
SMFIP_NOBODY, SMFIP_NOHDRS, SMFIP_NOEOH, SMFIP_NR_HDR = 0x10, 0x20, 0x40, 0x80
SMFIP_NOUNKNOWN, SMFIP_NODATA, SMFIP_SKIP, SMFIP_RCPT_REJ = 0x100, 0x200, 0x400, 0x800
SMFIP_NR_CONN, SMFIP_NR_HELO, SMFIP_NR_MAIL, SMFIP_NR_RCPT = 0x1000, 0x2000, 0x4000, 0x8000
SMFIP_NR_DATA, SMFIP_NR_UNKN, SMFIP_NR_EOH, SMFIP_NR_BODY = 0x10000, 0x20000, 0x40000, 0x80000
SMFIP_HDR_LEADSPC = 0x100000
SMFIP_MTA_ALL = 0x1fffff        # every step and flag above: what an MTA offers

# Macro stages (SMFIM_*) of the filter's symbol lists
SMFIM_CONNECT, SMFIM_HELO, SMFIM_ENVFROM, SMFIM_ENVRCPT = 0, 1, 2, 3
SMFIM_DATA, SMFIM_EOM, SMFIM_EOH = 4, 5, 6

# Replies that end a stage (the others are modifications or progress)
FINAL = (SMFIR_ACCEPT, SMFIR_CONTINUE, SMFIR_DISCARD, SMFIR_REJECT,
         SMFIR_TEMPFAIL, SMFIR_REPLYCODE, SMFIR_SKIP, SMFIR_CONN_FAIL,
         SMFIR_SHUTDOWN)

MAX_PACKET = 1 << 20    # what this client accepts from a filter


def packet(cmd, data=b""):
    return struct.pack("!I", len(data) + 1) + cmd + data


def z(*strings):
    """NUL-terminated strings, concatenated."""
    return b"".join((s.encode() if isinstance(s, str) else s) + b"\0"
                    for s in strings)


class MilterError(Exception):
    pass


class Reply:
    """One packet from the filter."""

    def __init__(self, cmd, data):
        self.cmd, self.data = cmd, data

    def __repr__(self):
        return "Reply(%r, %r)" % (self.cmd, self.data[:200])

    def strings(self):
        return [s.decode("utf-8", "replace")
                for s in self.data.split(b"\0")[:-1]]

    def index_strings(self):
        """(index, name, value) of INSHEADER and CHGHEADER."""
        idx = struct.unpack("!I", self.data[:4])[0]
        name, value = Reply(self.cmd, self.data[4:]).strings()[:2]
        return idx, name, value


class MilterClient:
    """The MTA side of one milter connection, blocking, for tests.

    Each stage method sends its command (preceded by the macros given)
    and returns the list of Replies up to and including the one that
    ends the stage (the last: accept, continue, reject...); at end of
    message the modifications come first.  A stage the filter asked to
    skip (SMFIP_NO*) returns [] without sending; one it asked not to
    answer (SMFIP_NR_*) returns [] after sending.  self.transcript keeps
    every (direction, cmd, data)."""

    def __init__(self, addr, timeout=30, actions=SMFIF_ALL,
                 protocol=SMFIP_MTA_ALL, version=6, quickack=True):
        if isinstance(addr, str):
            if addr.startswith("inet:"):
                host, _, port = addr[5:].rpartition(":")
                addr = (host, int(port))
            elif addr.startswith("unix:"):
                addr = addr[5:]
        if isinstance(addr, tuple):
            self.sock = socket.create_connection(addr, timeout)
            # a command right after its macros would otherwise wait for
            # the filter's delayed ACK of the macros (40 ms)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.settimeout(timeout)
            self.sock.connect(addr)
        self.buf = b""
        self.quickack = quickack and isinstance(addr, tuple)
        self.pending = b""
        self.transcript = []
        self.version, self.actions, self.protocol = version, actions, protocol
        self.symlists = {}

    # -- wire
    def send(self, cmd, data=b"", hold=False):
        """Send a packet (hold=True: with the next one, in one write)."""
        self.transcript.append((">", cmd, data))
        self.pending += packet(cmd, data)
        if not hold:
            out, self.pending = self.pending, b""
            self.sock.sendall(out)

    def _recv_exact(self, n):
        while len(self.buf) < n:
            if self.quickack:
                # ACK at once: a filter that writes its replies one
                # packet at a time (libmilter without TCP_NODELAY) sends
                # the next only when the last is acknowledged
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise MilterError("filter closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read(self):
        n = struct.unpack("!I", self._recv_exact(4))[0]
        if n == 0 or n > MAX_PACKET:
            raise MilterError("bad packet length %d" % n)
        body = self._recv_exact(n)
        r = Reply(body[:1], body[1:])
        self.transcript.append(("<", r.cmd, r.data))
        return r

    def until_final(self):
        out = []
        while True:
            r = self.read()
            out.append(r)
            if r.cmd in FINAL:
                return out

    # -- stages
    def optneg(self):
        self.send(SMFIC_OPTNEG, struct.pack("!III", self.version,
                                            self.actions, self.protocol))
        r = self.read()
        if r.cmd != SMFIC_OPTNEG or len(r.data) < 12:
            raise MilterError("bad OPTNEG reply %r" % r)
        self.f_version, self.f_actions, self.f_protocol = \
            struct.unpack("!III", r.data[:12])
        rest = r.data[12:]
        while len(rest) >= 4:
            stage = struct.unpack("!I", rest[:4])[0]
            names, _, rest = rest[4:].partition(b"\0")
            self.symlists[stage] = names.decode().split()
        return r

    def wants(self, no_flag):
        return not self.f_protocol & no_flag

    def answers(self, nr_flag):
        return not self.f_protocol & nr_flag

    def macros(self, cmd, macros):
        if macros:
            self.send(SMFIC_MACRO, cmd + z(*[x for kv in macros.items()
                                               for x in kv]), hold=True)

    def _stage(self, cmd, data, no_flag, nr_flag, macros=None):
        if no_flag and not self.wants(no_flag):
            return []
        self.macros(cmd, macros)
        self.send(cmd, data)
        if nr_flag and not self.answers(nr_flag):
            return []
        return self.until_final()

    def connect(self, hostname="client.example", addr="127.0.0.10", port=42424,
                macros=None):
        fam = b"6" if ":" in addr else b"4"
        data = z(hostname) + fam + struct.pack("!H", port) + z(addr)
        return self._stage(SMFIC_CONNECT, data, SMFIP_NOCONNECT, SMFIP_NR_CONN,
                           macros if macros is not None else
                           {"j": "gateway.test", "{daemon_name}": "postern",
                            "{client_addr}": addr, "{if_addr}": "127.0.0.2"})

    def helo(self, name="client.example", macros=None):
        return self._stage(SMFIC_HELO, z(name), SMFIP_NOHELO, SMFIP_NR_HELO,
                           macros)

    def mail(self, sender, args=(), macros=None):
        return self._stage(SMFIC_MAIL, z("<%s>" % sender, *args), SMFIP_NOMAIL,
                           SMFIP_NR_MAIL, macros if macros is not None else
                           {"i": "QID%06d" % (int(time.time()) % 1000000)})

    def rcpt(self, rcpt, args=(), macros=None):
        return self._stage(SMFIC_RCPT, z("<%s>" % rcpt, *args), SMFIP_NORCPT,
                           SMFIP_NR_RCPT, macros)

    def data(self, macros=None):
        return self._stage(SMFIC_DATA, b"", SMFIP_NODATA, SMFIP_NR_DATA, macros)

    def header(self, name, value):
        if self.f_protocol & SMFIP_HDR_LEADSPC and not value.startswith(" "):
            value = " " + value     # the filter wants the space kept
        return self._stage(SMFIC_HEADER, z(name, value), SMFIP_NOHDRS,
                           SMFIP_NR_HDR)

    def eoh(self, macros=None):
        return self._stage(SMFIC_EOH, b"", SMFIP_NOEOH, SMFIP_NR_EOH, macros)

    def body(self, chunk):
        return self._stage(SMFIC_BODY, chunk, SMFIP_NOBODY, SMFIP_NR_BODY)

    def eom(self, macros=None):
        """End of message: the modifications, then the verdict."""
        self.macros(SMFIC_BODYEOB, macros)
        self.send(SMFIC_BODYEOB)
        return self.until_final()

    def abort(self):
        self.send(SMFIC_ABORT)

    def quit(self):
        try:
            self.send(SMFIC_QUIT)
        except OSError:
            pass
        self.close()

    def close(self):
        self.sock.close()

    # -- a whole transaction
    def transaction(self, msg, sender="alice@example.org",
                    rcpts=("bob@winery-co.co",), helo="client.example",
                    client=("client.example", "127.0.0.10"), queue_id=None,
                    chunk=65535, connect=True):
        """Run one message through the filter as an MTA would: OPTNEG
        (once), CONNECT, HELO, MAIL, RCPT..., DATA, headers, EOH, body
        chunks, EOM.  Stops at the first stage whose last reply is not
        continue.  Returns a Result."""
        res = Result()
        if connect:
            self.optneg()
            stages = [("connect", lambda: self.connect(*client)),
                      ("helo", lambda: self.helo(helo))]
        else:
            stages = []
        qid = queue_id or "QID%08X" % (int(time.time() * 1000) & 0xffffffff)
        stages.append(("mail", lambda: self.mail(sender, macros={"i": qid})))
        for r in rcpts:
            stages.append(("rcpt", lambda r=r: self.rcpt(r)))
        stages.append(("data", lambda: self.data(macros={"i": qid})))
        headers, body = split_message(msg)
        for n, v in headers:
            stages.append(("header", lambda n=n, v=v: self.header(n, v)))
        stages.append(("eoh", self.eoh))
        for i in range(0, len(body), chunk):
            stages.append(("body", lambda i=i: self.body(body[i:i + chunk])))
        stages.append(("eom", lambda: self.eom(macros={"i": qid})))
        for name, fn in stages:
            replies = fn()
            res.replies.append((name, replies))
            if not replies:
                continue
            last = replies[-1]
            if name == "eom" or last.cmd != SMFIR_CONTINUE:
                res.stage, res.verdict = name, last
                res.mods = [r for r in replies[:-1]
                            if r.cmd != SMFIR_PROGRESS]
                return res
        return res


class Result:
    """What a filter answered to one transaction: the stage it ended at
    (eom when it went through), the final reply, and the modifications."""

    def __init__(self):
        self.replies = []
        self.stage = None
        self.verdict = None
        self.mods = []

    @property
    def code(self):
        """The verdict's letter: 'a', 'c', 'r', 't', 'd', 'y'..."""
        return self.verdict.cmd.decode() if self.verdict else None

    def replycode(self):
        """The text of a REPLYCODE verdict ('550 5.7.1 ...')."""
        if self.verdict and self.verdict.cmd == SMFIR_REPLYCODE:
            return self.verdict.strings()[0]
        return None

    def added_headers(self):
        """(name, value) of every ADDHEADER, INSHEADER and (non-deleting)
        CHGHEADER."""
        out = []
        for m in self.mods:
            if m.cmd == SMFIR_ADDHEADER:
                n, v = m.strings()[:2]
                out.append((n, v))
            elif m.cmd in (SMFIR_INSHEADER, SMFIR_CHGHEADER):
                _, n, v = m.index_strings()
                if v:
                    out.append((n, v))
        return out

    def header_names(self):
        return [n.lower() for n, _ in self.added_headers()]

    def __repr__(self):
        return "Result(stage=%r, verdict=%r, mods=%r)" % (
            self.stage, self.verdict, self.mods)
