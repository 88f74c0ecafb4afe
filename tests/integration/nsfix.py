"""Network namespaces for test_topology.py: the seed deployment
(docs/deployment.md) built with `ip netns` and veth pairs.

Three namespaces per topology, named `pt-<pid>-<n>-internet`, `-gateway`
and `-intranet` (pid of the pytest process, n a counter), so that parallel
runs never collide and a crashed run's leftovers can be told apart from a
live one's.  Every address below exists only inside these namespaces:

    internet  eth0 203.0.113.1/24 (+ .10 sender, .61 mx1, .62 mx2,
              .66 and .67 spammers), lo 198.51.100.53 (external DNS);
              route 10.0.0.0/24 via 203.0.113.25 (the worst case: a
              host on the gateway's own segment that routes at it)
    gateway   ext0 203.0.113.25/24, int0 10.0.0.25/24, default via
              203.0.113.1; net.ipv4.ip_forward=0
    intranet  eth0 10.0.0.31 (mbx1), .32 (mbx2), .53 (internal DNS),
              .100 (client); default via 10.0.0.25

Every process runs in its namespace through `ip netns exec`, which execs
the command in place, so the PID that subprocess returns is the server's
own and each is stopped by that PID.  Topology.close() stops them all and
deletes the namespaces (which deletes their veth ends), whatever happened
before; stale_cleanup() removes the namespaces of a run whose pytest
process is gone.

Run as a script, this file is the small programs the namespaces run:
`sink ADDR PORT FILE` (an aiosmtpd server writing one JSON line per
message, with the peer address), `smtp` (one SMTP dialogue from a source
address, JSON in and out) and `connect` (a bare TCP connect probe).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

PREFIX = "pt-"
HERE = os.path.abspath(__file__)
PY = sys.executable

# internet
INET_ROUTER = "203.0.113.1"
SENDER = "203.0.113.10"
MX1 = "203.0.113.61"            # nothing listens: connections refused
MX2 = "203.0.113.62"
SPAMMER = "203.0.113.66"        # block-client
LISTED = "203.0.113.67"         # listed in the DNSBL zone
EXTERNAL_DNS = "198.51.100.53"
# gateway
GW_EXT = "203.0.113.25"
GW_INT = "10.0.0.25"
# intranet
MBX1 = "10.0.0.31"
MBX2 = "10.0.0.32"
INTERNAL_DNS = "10.0.0.53"
CLIENT = "10.0.0.100"

_counter = [0]


def ip(*args, check=True):
    r = subprocess.run(["ip"] + list(args), capture_output=True, text=True,
                       timeout=30)
    if check and r.returncode != 0:
        raise RuntimeError("ip %s: %s" % (" ".join(args), r.stderr.strip()))
    return r


def netns_unavailable():
    """None when this process may build namespaces, else why not."""
    if os.geteuid() != 0:
        return "needs root to build network namespaces (ip netns)"
    if shutil.which("ip") is None:
        return "needs iproute2's ip"
    name = "%s%d-probe" % (PREFIX, os.getpid())
    r = ip("netns", "add", name, check=False)
    if r.returncode != 0:
        return "ip netns add failed: " + r.stderr.strip()
    try:
        r = subprocess.run(["ip", "netns", "exec", name, "true"],
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return "ip netns exec failed: " + r.stderr.strip()
    finally:
        ip("netns", "del", name, check=False)
    return None


def our_namespaces():
    r = ip("netns", "list", check=False)
    return [ln.split()[0] for ln in r.stdout.splitlines()
            if ln.startswith(PREFIX)]


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_inside(name):
    """Stop what still runs in one of our namespaces, PID by PID."""
    r = ip("netns", "pids", name, check=False)
    pids = [int(p) for p in r.stdout.split() if p.isdigit()]
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def stale_cleanup():
    """Delete the namespaces `pt-<pid>-...` whose pytest process is gone."""
    for name in our_namespaces():
        m = re.match(r"pt-(\d+)-", name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            _kill_inside(name)
            ip("netns", "del", name, check=False)


class Proc:
    """A process in a namespace, stopped by its PID."""

    def __init__(self, ns, argv, logpath, env=None):
        self.argv = ["ip", "netns", "exec", ns] + list(argv)
        self.logpath = logpath
        self.logf = open(logpath, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self.logf,
                                     stderr=self.logf, env=env)

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, text, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%r exited: %s" % (self.argv, self.log()))
            if text in self.log():
                return self
            time.sleep(0.05)
        raise RuntimeError("%r not ready: %s" % (self.argv, self.log()))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode


class Topology:
    """The three namespaces, their links, and what runs in them."""

    def __init__(self, tmp):
        self.tmp = tmp
        _counter[0] += 1
        base = "%s%d-%d-" % (PREFIX, os.getpid(), _counter[0])
        self.ns = {k: base + k for k in ("internet", "gateway", "intranet")}
        self.procs = []
        self.created = []

    # ---- building ----

    def build(self):
        inet, gw, intra = (self.ns[k] for k in ("internet", "gateway", "intranet"))
        for name in (inet, gw, intra):
            ip("netns", "add", name)
            self.created.append(name)
            ip("-n", name, "link", "set", "lo", "up")
        # Both veth pairs are made inside the gateway namespace, their
        # peers moved at once: no interface ever exists outside our
        # namespaces, so no name can collide with the host's or another run's.
        ip("-n", gw, "link", "add", "ext0", "type", "veth", "peer", "name",
           "eth0", "netns", inet)
        ip("-n", gw, "link", "add", "int0", "type", "veth", "peer", "name",
           "eth0", "netns", intra)
        self.sysctl("gateway", "net.ipv4.ip_forward=0")
        self.sysctl("gateway", "net.ipv6.conf.all.forwarding=0")
        ip("-n", gw, "addr", "add", GW_EXT + "/24", "dev", "ext0")
        ip("-n", gw, "addr", "add", GW_INT + "/24", "dev", "int0")
        ip("-n", gw, "link", "set", "ext0", "up")
        ip("-n", gw, "link", "set", "int0", "up")
        for a in (INET_ROUTER, SENDER, MX1, MX2, SPAMMER, LISTED):
            ip("-n", inet, "addr", "add", a + "/24", "dev", "eth0")
        ip("-n", inet, "addr", "add", EXTERNAL_DNS + "/32", "dev", "lo")
        ip("-n", inet, "link", "set", "eth0", "up")
        for a in (MBX1, MBX2, INTERNAL_DNS, CLIENT):
            ip("-n", intra, "addr", "add", a + "/24", "dev", "eth0")
        ip("-n", intra, "link", "set", "eth0", "up")
        # The gateway reaches the external DNS server through the
        # Internet side; the intranet's way out is the gateway (so that,
        # were forwarding on, replies would find their way back); and a
        # host of the Internet points a route for the intranet at the
        # gateway: only ip_forward=0 stands between it and a mailbox server.
        ip("-n", gw, "route", "add", "default", "via", INET_ROUTER)
        ip("-n", intra, "route", "add", "default", "via", GW_INT)
        ip("-n", inet, "route", "add", "10.0.0.0/24", "via", GW_EXT)
        return self

    def sysctl(self, where, setting):
        subprocess.run(["ip", "netns", "exec", self.ns[where], "sysctl",
                        "-q", "-w", setting], check=True, capture_output=True)

    def sysctl_get(self, where, key):
        return subprocess.run(["ip", "netns", "exec", self.ns[where], "sysctl",
                               "-n", key], check=True, capture_output=True,
                              text=True).stdout.strip()

    # ---- processes ----

    def spawn(self, where, argv, name, env=None):
        p = Proc(self.ns[where], argv, os.path.join(self.tmp, name + ".log"), env)
        self.procs.append(p)
        return p

    def dns(self, where, addr, records, name):
        """A dnsmasq on addr:53 in a namespace, with its query log."""
        import netfix
        d = netfix.DNS(self.tmp, name, addr, 53, records)
        d.args = ["ip", "netns", "exec", self.ns[where]] + d.args
        d.start()
        self.procs.append(d)
        return d

    def sink(self, where, addr, port=25):
        return Sink(self, where, addr, port)

    def run(self, where, *args, timeout=60):
        """`nsfix.py ARGS` in a namespace; its JSON answer."""
        r = subprocess.run(["ip", "netns", "exec", self.ns[where], PY, HERE]
                           + [str(a) for a in args], capture_output=True,
                           text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError("nsfix %r in %s: %s" % (args, where, r.stderr))
        return json.loads(r.stdout)

    def smtp(self, where, source, server, sender, rcpts, body=None, port=25,
             ehlo="client.example"):
        """One SMTP transaction from source (in namespace `where`) to
        server:port: greeting, EHLO, MAIL, each RCPT, and DATA when a
        recipient was accepted and body is given.  Replies as "CODE text"."""
        return self.run(where, "smtp", json.dumps({
            "source": source, "server": server, "port": port, "ehlo": ehlo,
            "sender": sender, "rcpts": rcpts, "body": body}))

    def connect(self, where, source, addr, port, timeout=2):
        return self.run(where, "connect", source, addr, port, timeout)

    # ---- taking down ----

    def close(self):
        """Stop every process, delete every namespace; never raises, and
        returns what went wrong (empty when all went well)."""
        errors = []
        for p in reversed(self.procs):
            try:
                p.stop()
            except Exception as e:  # noqa: BLE001 (collected, reported)
                errors.append("stop %r: %r" % (getattr(p, "args", p), e))
        for name in self.created:
            _kill_inside(name)
            r = ip("netns", "del", name, check=False)
            if r.returncode != 0:
                errors.append("ip netns del %s: %s" % (name, r.stderr.strip()))
        left = set(our_namespaces()) & set(self.created)
        if left:
            errors.append("namespaces left: %s" % sorted(left))
        return errors

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Sink:
    """An aiosmtpd server in a namespace; what it received, from whom."""

    def __init__(self, topo, where, addr, port):
        self.addr = addr
        self.path = os.path.join(topo.tmp, "sink-%s.jsonl" % addr)
        open(self.path, "w").close()
        self.proc = topo.spawn(where, [PY, HERE, "sink", addr, str(port), self.path],
                               "sink-%s" % addr)

    def ready(self):
        self.proc.wait_log("sink ready")
        return self

    def stop(self):
        return self.proc.stop()

    def messages(self):
        with open(self.path) as f:
            return [json.loads(ln) for ln in f if ln.strip()]

    def rcpts(self):
        return sorted(r for m in self.messages() for r in m["rcpts"])


# ---- the programs run inside the namespaces ----

def _main_sink(addr, port, path):
    from aiosmtpd.controller import Controller

    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM, signal.SIGINT])

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with open(path, "a") as f:
                f.write(json.dumps({
                    "peer": session.peer[0], "helo": session.host_name,
                    "sender": envelope.mail_from, "rcpts": envelope.rcpt_tos,
                    "data": envelope.original_content.decode("utf-8", "replace"),
                }) + "\n")
                f.flush()
                os.fsync(f.fileno())
            return "250 2.0.0 OK sink"

    c = Controller(Handler(), hostname=addr, port=int(port), ready_timeout=10)
    c.start()
    print("sink ready", flush=True)
    signal.sigwait([signal.SIGTERM, signal.SIGINT])
    c.stop()


def _main_smtp(spec):
    import smtplib
    s = json.loads(spec)
    out = {}

    def fmt(code, msg):
        if isinstance(msg, bytes):
            msg = msg.decode("utf-8", "replace")
        return "%d %s" % (code, msg)

    try:
        c = smtplib.SMTP(s["server"], s["port"], source_address=(s["source"], 0),
                         timeout=30)
    except smtplib.SMTPConnectError as e:
        out["greeting"] = fmt(e.smtp_code, e.smtp_error)
        print(json.dumps(out))
        return
    out["greeting"] = "220"
    try:
        out["ehlo"] = fmt(*c.ehlo(s["ehlo"]))
        out["mail"] = fmt(*c.mail(s["sender"]))
        out["rcpt"] = [fmt(*c.rcpt(r)) for r in s["rcpts"]] \
            if out["mail"].startswith("250") else []
        if s["body"] is not None and any(r.startswith("250") for r in out["rcpt"]):
            out["data"] = fmt(*c.data(s["body"].encode()))
        c.quit()
    except smtplib.SMTPException as e:
        out["error"] = repr(e)
    print(json.dumps(out))


def _main_connect(source, addr, port, timeout):
    t0 = time.time()
    s = socket.socket()
    s.settimeout(float(timeout))
    try:
        s.bind((source, 0))
        s.connect((addr, int(port)))
        out = {"ok": True, "error": None}
    except OSError as e:
        out = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
    finally:
        s.close()
    out["elapsed"] = time.time() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"sink": _main_sink, "smtp": _main_smtp, "connect": _main_connect}[cmd](*args)
