"""Shared pieces of the postern benchmarks (bench/relay, bench/connections).

Everything here runs on loopback only (127.0.0.0/8) and starts its own
processes under a private temporary directory: a posternd, a private Postfix
instance (`postfix -c DIR`, its own main.cf, master.cf and queue) and
smtp-sink.  Nothing touches a system-wide Postfix.  Each object remembers
the process ids it started and stops exactly those.

Method notes (docs/performance.md says more):
  CPU time of a gateway: utime+stime from /proc/PID/stat of every live
  process of the gateway, plus cutime+cstime of its root process (the CPU of
  children that have exited and been reaped: Postfix's master reaps its
  smtpd, cleanup, smtp... processes).  Postfix's processes are found by
  session id: master calls setsid(), so all its children share its sid.
  Memory: Pss and USS (Private_Clean + Private_Dirty) from
  /proc/PID/smaps_rollup, summed over the same processes.
"""

import hashlib
import os
import pty
import pwd
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "bench", "results")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Loopback plan: each server on its own address.
POSTERN_ADDR = "127.0.0.201"
POSTFIX_ADDR = "127.0.0.202"
POSTERN_SINK = "127.0.0.211"
POSTFIX_SINK = "127.0.0.212"
GW_PORT = 10025
SINK_PORT = 10026

SENDER = "bench@source.example"
RCPT_DOMAIN = "sink.example"
RCPT = "rcpt@" + RCPT_DOMAIN

FD_LIMIT = 65536


def log(msg):
    sys.stderr.write("[%s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def die(msg):
    sys.stderr.write("bench: %s\n" % msg)
    sys.exit(1)


def require_root():
    if os.geteuid() != 0:
        die("run me as root: I install postfix when it is missing, start a "
            "private Postfix instance (it needs root to start) and raise "
            "the file-descriptor limit")


def _interrupted(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def catch_signals():
    """Turn SIGINT, SIGTERM and SIGHUP into KeyboardInterrupt so that the
    `finally` blocks stop what was started, even when the shell started us
    with SIGINT ignored (a background job)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)


def raise_fd_limit(n=FD_LIMIT):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(n, soft)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _master_pids():
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/comm" % d) as f:
                    if f.read().strip() == "master":
                        out.append(int(d))
            except OSError:
                pass
    return out


def ensure_postfix():
    """Install the Debian package postfix (smtp-source, smtp-sink) when
    missing.  If installing it started the system-wide instance, stop that
    instance again: the benchmark never uses it."""
    if all(shutil.which(p) or os.path.exists("/usr/sbin/" + p)
           for p in ("postfix", "smtp-source", "smtp-sink")):
        return
    if not shutil.which("apt-get"):
        die("postfix (smtp-source, smtp-sink) is missing and there is no "
            "apt-get to install it")
    log("installing the Debian package postfix")
    before = set(_master_pids())
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "-q",
                    "--no-install-recommends", "postfix"], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    if set(_master_pids()) - before:
        # The package's postinst started the system instance: we installed
        # it, we stop it; the benchmark uses private instances only.
        log("stopping the system-wide postfix the installation started")
        subprocess.run(["postfix", "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)


def postfix_version():
    r = subprocess.run(["postconf", "-d", "-h", "mail_version"],
                       capture_output=True, text=True)
    return r.stdout.strip()


def run_tty(argv, timeout=60):
    """Run a Postfix command with a pty as stderr: the postfix(1) command
    prints its errors only to a terminal (else to syslog)."""
    master, slave = pty.openpty()
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave,
                             stderr=slave, close_fds=True)
        os.close(slave)
        slave = -1
        out = b""
        deadline = time.time() + timeout
        while True:
            r, _, _ = select.select([master], [], [], 0.2)
            if r:
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    chunk = b""
                if not chunk and p.poll() is not None:
                    break
                out += chunk
            elif p.poll() is not None:
                break
            if time.time() > deadline:
                p.kill()
                break
        p.wait()
        return p.returncode, out.decode(errors="replace")
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def port_free(addr, port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def wait_banner(addr, port, timeout=20):
    """Wait until an SMTP server answers with a 220 greeting."""
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            with socket.create_connection((addr, port), timeout=2) as s:
                data = s.recv(512)
                if data.startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
                last = data
        except OSError as e:
            last = e
        time.sleep(0.1)
    raise RuntimeError("no 220 greeting from %s:%d (%s)" % (addr, port, last))


# ---------------------------------------------------------------- /proc

def _stat(pid):
    """(utime+stime, cutime+cstime, sid) in clock ticks, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime is field 14 -> rest[11]
    return (int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]),
            int(rest[3]))


def session_pids(sid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        st = _stat(int(d))
        if st and st[2] == sid:
            out.append(int(d))
    return out


def cpu_seconds(root, pids):
    """CPU seconds (user+system) of the processes `pids` (live), plus the
    reaped children of `root`."""
    ticks = 0
    for pid in pids:
        st = _stat(pid)
        if st:
            ticks += st[0]
    st = _stat(root)
    if st:
        ticks += st[1]
    return ticks / CLK_TCK


def memory_kb(pids):
    """Sum of Rss, Pss, USS (Private_Clean+Private_Dirty) and Anonymous
    (the heap and stacks: what no other process or file shares, and what
    does not move when other programs map or unmap the same libraries),
    in kB."""
    tot = {"rss": 0, "pss": 0, "uss": 0, "anon": 0, "nproc": 0}
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                txt = f.read()
        except OSError:
            continue
        vals = dict(re.findall(r"^(\w+):\s+(\d+) kB", txt, re.M))
        if not vals:
            continue
        tot["nproc"] += 1
        tot["rss"] += int(vals.get("Rss", 0))
        tot["pss"] += int(vals.get("Pss", 0))
        tot["uss"] += int(vals.get("Private_Clean", 0)) + \
            int(vals.get("Private_Dirty", 0))
        tot["anon"] += int(vals.get("Anonymous", 0))
    return tot


def count_files(*dirs):
    n = 0
    for d in dirs:
        for _, _, files in os.walk(d):
            n += len(files)
    return n


def _kill_pid(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


# ---------------------------------------------------------------- gateways

class Postern:
    """posternd as deployed: started as root, it binds and then runs as
    `user` (USER, a system user made here when missing), as the Postfix
    instance runs as postfix, so that what only works as root (issue #15:
    queue-file reuse) cannot flatter the numbers.  Not with a profiler
    wrapper, whose output the dropped process could not write."""
    name = "postern"
    USER = "postern-bench"

    @staticmethod
    def ensure_user(name):
        try:
            pwd.getpwnam(name)
        except KeyError:
            rc = subprocess.call(["useradd", "--system", "--no-create-home",
                                  "--home-dir", "/nonexistent",
                                  "--shell", "/usr/sbin/nologin", name])
            if rc not in (0, 9):        # 9: made meanwhile
                die("useradd %s failed (%d)" % (name, rc))

    def __init__(self, tmp, posternd, addr=POSTERN_ADDR, port=GW_PORT,
                 sink=(POSTERN_SINK, SINK_PORT), log_file=None,
                 wrapper=(), extra_vs="", user=USER, extra_top=""):
        if wrapper or os.geteuid() != 0:
            user = None
        if user:
            self.ensure_user(user)
        self.user = user
        self.dir = os.path.join(tmp, "postern")
        self.spool = os.path.join(self.dir, "spool")
        self.conf = os.path.join(self.dir, "postern.conf")
        self.log_file = log_file or os.path.join(self.dir, "postern.log")
        self.posternd = posternd
        self.wrapper = list(wrapper)    # e.g. valgrind --tool=callgrind
        self.addr, self.port = addr, port
        self.sink = sink
        self.proc = None
        os.makedirs(self.spool, exist_ok=True)
        # the spool is posternd's to chown; its parents must let it in
        for d in (tmp, self.dir):
            os.chmod(d, os.stat(d).st_mode | 0o011)
        with open(self.conf, "w") as f:
            f.write("""# postern as a pure relay gateway (written by bench/benchlib.py)
hostname        postern-bench.example
{user}
spool           {spool}
log             stderr
log-level       info
{extra_top}
virtual-server relay {{
	listen                  {addr}:{port}
	relay                   allow 127.0.0.0/8
	max-connections         100000
	max-connections-per-ip  100000
	max-errors              10000
	{extra_vs}
}}
connector sink {{
	address-space   * cost 1
	home            relay
	route           smarthost [{saddr}]:{sport}
	tls             none
}}
queue {{
	concurrency     200
	per-destination 200
}}
""".format(user="user            " + user if user else "",
           spool=self.spool, addr=addr, port=port, saddr=sink[0],
           sport=sink[1], extra_vs=extra_vs, extra_top=extra_top))

    def check(self):
        r = subprocess.run([self.posternd, "-n", "-f", self.conf],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("posternd -n: " + r.stdout + r.stderr)

    def start(self):
        self.check()
        if not port_free(self.addr, self.port):
            raise RuntimeError("%s:%d is in use" % (self.addr, self.port))
        raise_fd_limit()
        logf = open(self.log_file, "ab")
        self.proc = subprocess.Popen(self.wrapper +
                                     [self.posternd, "-f", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=logf, start_new_session=True,
                                     cwd=self.dir)
        logf.close()
        try:
            wait_banner(self.addr, self.port, 120 if self.wrapper else 20)
        except RuntimeError:
            self.stop()
            raise

    @property
    def root(self):
        return self.proc.pid

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None \
            else []

    def cpu(self):
        return cpu_seconds(self.proc.pid, self.pids())

    def memory(self):
        return memory_kb(self.pids())

    def queued(self):
        return count_files(os.path.join(self.spool, "queue"),
                           os.path.join(self.spool, "incoming"))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.proc:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(120 if self.wrapper else 40)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


POSTFIX_MASTER_CF = """\
# private Postfix instance for the benchmark (written by bench/benchlib.py)
# service type  private unpriv  chroot  wakeup  maxproc command
{addr}:{port} inet n - n - {smtpd_maxproc} smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

POSTFIX_MAIN_CF = """\
# private Postfix instance: a pure relay gateway (written by bench/benchlib.py)
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix-bench.example
mydomain = bench.example
myorigin = $myhostname
# the smtpd listener's address is in master.cf; this only keeps Postfix
# from looking for 127.0.0.x among the interface addresses
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relay_domains = {domain}
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
transport_maps = inline:{{{domain}=relay:[{saddr}]:{sport}}}
# no PTR lookups of 127.0.0.x (postern makes none either)
smtpd_peername_lookup = no
biff = no
# log to a file through postlogd, as postern logs to a file
maillog_file = {maillog}
maillog_file_prefixes = {tmp}
# same outbound limits as postern's queue {{ concurrency 200
# per-destination 200 }}, and enough processes for 200 clients
default_process_limit = {procs}
default_destination_concurrency_limit = 200
relay_destination_concurrency_limit = 200
"""


class Postfix:
    name = "postfix"

    def __init__(self, tmp, addr=POSTFIX_ADDR, port=GW_PORT,
                 sink=(POSTFIX_SINK, SINK_PORT), smtpd_maxproc=250,
                 process_limit=250, extra_main=""):
        self.tmp = tmp
        self.dir = os.path.join(tmp, "postfix")
        self.confdir = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.maillog = os.path.join(self.dir, "maillog")
        self.addr, self.port = addr, port
        self.master = None
        for d in (self.dir, self.confdir, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        shutil.chown(self.data, "postfix")
        with open(os.path.join(self.confdir, "main.cf"), "w") as f:
            f.write(POSTFIX_MAIN_CF.format(
                queue=self.queue, data=self.data, domain=RCPT_DOMAIN,
                saddr=sink[0], sport=sink[1], maillog=self.maillog,
                tmp=tmp, procs=process_limit) + extra_main + "\n")
        with open(os.path.join(self.confdir, "master.cf"), "w") as f:
            f.write(POSTFIX_MASTER_CF.format(addr=addr, port=port,
                                             smtpd_maxproc=smtpd_maxproc))

    def _postfix(self, *args):
        return run_tty(["postfix", "-c", self.confdir] + list(args))

    def start(self):
        if not port_free(self.addr, self.port):
            raise RuntimeError("%s:%d is in use" % (self.addr, self.port))
        rc, out = self._postfix("check")
        if rc != 0:
            raise RuntimeError("postfix check: " + out)
        # the master inherits our limits: raise them first (anvil and
        # postlogd talk to every smtpd)
        raise_fd_limit()
        rc, out = self._postfix("start")
        if rc != 0:
            raise RuntimeError("postfix start: " + out)
        pidfile = os.path.join(self.queue, "pid", "master.pid")
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                with open(pidfile) as f:
                    self.master = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.1)
        if not self.master:
            raise RuntimeError("postfix master did not write " + pidfile)
        wait_banner(self.addr, self.port)

    @property
    def root(self):
        return self.master

    def pids(self):
        return session_pids(self.master) if self.master else []

    def cpu(self):
        return cpu_seconds(self.master, self.pids())

    def memory(self):
        return memory_kb(self.pids())

    def queued(self):
        return count_files(*[os.path.join(self.queue, d) for d in
                             ("maildrop", "incoming", "active", "deferred",
                              "hold")])

    def alive(self):
        return self.master is not None and _stat(self.master) is not None

    def stop(self):
        if not self.master:
            return
        self._postfix("stop")
        deadline = time.time() + 30
        while time.time() < deadline and self.pids():
            time.sleep(0.2)
        for pid in self.pids():       # whatever did not go: our own session
            _kill_pid(pid, signal.SIGKILL)
        self.master = None


# ---------------------------------------------------------------- sink

class Sink:
    """smtp-sink with -c; a thread reads its running counter (mesg=N)."""

    def __init__(self, addr, port=SINK_PORT, maxconn=1024):
        self.addr, self.port = addr, port
        self.count = 0
        self.sessions = 0               # SMTP sessions the sink has seen
        self.stamp = time.monotonic()   # when count last changed
        self.cond = threading.Condition()
        if not port_free(addr, port):
            raise RuntimeError("%s:%d is in use" % (addr, port))
        self.proc = subprocess.Popen(
            ["smtp-sink", "-c", "-u", "nobody", "-m", str(maxconn),
             "%s:%d" % (addr, port), "1024"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, start_new_session=True)
        threading.Thread(target=self._reader, daemon=True).start()
        wait_banner(addr, port)

    def _reader(self):
        buf = b""
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            parts = re.split(rb"[\r\n]", buf)
            buf = parts[-1]
            for line in reversed(parts[:-1]):
                m = re.search(rb"mesg=(\d+)", line)
                if m:
                    sm = re.search(rb"sess=(\d+)", line)
                    with self.cond:
                        if sm:
                            self.sessions = int(sm.group(1))
                        self.count = int(m.group(1))
                        self.stamp = time.monotonic()
                        self.cond.notify_all()
                    break

    def wait_count(self, target, timeout):
        deadline = time.time() + timeout
        with self.cond:
            while self.count < target:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.5))
        return True

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- load

def parse_size(s):
    s = s.strip().upper()
    mult = 1
    if s.endswith("K"):
        mult, s = 1024, s[:-1]
    elif s.endswith("M"):
        mult, s = 1024 * 1024, s[:-1]
    return int(s) * mult


def size_name(n):
    if n % (1024 * 1024) == 0:
        return "%dM" % (n // (1024 * 1024))
    if n % 1024 == 0:
        return "%dK" % (n // 1024)
    return str(n)


def wait_empty(gw, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if gw.queued() == 0:
            return True
        time.sleep(0.05)
    return False


def smtp_source(gw, size, conc, n, timeout):
    """Run smtp-source (one message per session); return (start, end,
    messages accepted, stderr text)."""
    argv = ["smtp-source", "-c", "-s", str(conc), "-m", str(n),
            "-l", str(size), "-M", "client.bench.example",
            "-f", SENDER, "-t", RCPT, "%s:%d" % (gw.addr, gw.port)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        err += b"\n(bench: smtp-source killed after %ds)" % timeout
    except BaseException:
        p.kill()            # interrupted: do not leave it behind
        p.wait()
        raise
    t1 = time.monotonic()
    nums = [int(x) for x in out.replace(b"\n", b"\r").split(b"\r")
            if x.strip().isdigit()]
    accepted = nums[-1] if nums else 0
    if p.returncode not in (0, None) and not err:
        err = b"smtp-source exit status %d" % p.returncode
    return t0, t1, accepted, err.decode(errors="replace").strip()


def run_point(gw, sink, size, conc, n, timeout):
    """One measured run: smtp-source against gw, the sink counting.  The
    gateway's CPU is read when its queue is empty again, so it includes
    the delivery and the removal of every message."""
    if not wait_empty(gw, 120):
        log("%s: queue not empty before the run (%d files)"
            % (gw.name, gw.queued()))
    time.sleep(0.3)
    base = sink.count
    sess0 = sink.sessions
    cpu0 = gw.cpu()
    t0, t1, accepted, err = smtp_source(gw, size, conc, n, timeout)
    ok = sink.wait_count(base + accepted, timeout)
    t2 = sink.stamp if ok else time.monotonic()
    delivered = sink.count - base
    wait_empty(gw, 60)
    cpu1 = gw.cpu()
    r = {"system": gw.name, "size": size, "concurrency": conc,
         "messages": n, "accepted": accepted, "delivered": delivered,
         "accept_s": t1 - t0, "e2e_s": t2 - t0 if delivered else None,
         "accept_rate": accepted / (t1 - t0) if accepted else 0.0,
         "e2e_rate": delivered / (t2 - t0) if delivered else None,
         "cpu_s": cpu1 - cpu0,
         "cpu_ms_per_msg": 1000.0 * (cpu1 - cpu0) / accepted
         if accepted else None,
         "complete": ok and accepted == n, "error": err[:500],
         "load1": os.getloadavg()[0],
         "outbound_sessions": sink.sessions - sess0}
    log("%-7s %5s c=%-3d accepted %d/%d in %.2fs (%.0f/s), delivered "
        "%d in %.2fs (%.0f/s), CPU %.3f ms/msg, load %.1f%s"
        % (gw.name, size_name(size), conc, accepted, n, r["accept_s"],
           r["accept_rate"], delivered, r["e2e_s"] or 0,
           r["e2e_rate"] or 0, r["cpu_ms_per_msg"] or 0, r["load1"],
           "" if r["complete"] else "  INCOMPLETE " + err[:200]))
    return r


# ---------------------------------------------------------------- misc

def make_tmp():
    tmp = tempfile.mkdtemp(prefix="postern-bench-")
    os.chmod(tmp, 0o755)   # Postfix's processes run as postfix
    return tmp


def environment(posternd=None):
    env = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
           "cpus": os.cpu_count(),
           "kernel": os.uname().release,
           "postfix": postfix_version()}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"^model name\s*:\s*(.*)$", f.read(), re.M)
            env["cpu"] = m.group(1) if m else "?"
        with open("/proc/meminfo") as f:
            m = re.search(r"^MemTotal:\s*(\d+)", f.read(), re.M)
            env["memory_mb"] = int(m.group(1)) // 1024 if m else 0
    except OSError:
        pass
    r = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    rev = r.stdout.strip() or "?"
    r = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "src"],
                       capture_output=True, text=True)
    env["postern"] = rev + ("+dirty" if r.stdout.strip() else "")
    if posternd and os.path.exists(posternd):
        # others may rebuild the tree: name the exact binary measured
        with open(posternd, "rb") as f:
            env["posternd_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
        env["posternd_mtime"] = time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(posternd)))
    return env


def results_path(kind, ext):
    os.makedirs(RESULTS, exist_ok=True)
    return os.path.join(RESULTS, "%s-%s.%s" % (
        kind, time.strftime("%Y-%m-%d-%H%M%S"), ext))


def fmt_ratio(a, b):
    if a is None or b is None or b == 0:
        return "-"
    r = a / b
    return "%.2f" % r if r >= 0.1 else "%.2g" % r
