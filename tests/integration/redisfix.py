"""A private redis-server for the cluster tests (SPEC section 9).

Each Redis is Debian's /usr/bin/redis-server run in the foreground with
everything on its command line: no TCP port (`--port 0`), a Unix socket
in the test's temporary directory (mode 0777, so that a gateway that has
dropped privileges reaches it), no persistence (`--save ''`,
`--appendonly no`), optionally a password (`--requirepass`).  It is
stopped by the PID it was started with; it never reads or touches the
system's Redis, its configuration or its data.

    r = Redis(tmp_path).start()
    r.address            # "unix:/tmp/.../redis.sock", for kv_params / conf
    r.cli("KEYS", "*")   # redis-cli on the socket, its output lines
    r.pause(); r.resume()        # SIGSTOP / SIGCONT: Redis hangs
    r.kill(); r.restart()        # SIGKILL, then the same socket again
    r.stop()

The tests of tests/integration/test_cluster*.py and of the shared limits
(greylisting, rate-limit, max-connections-per-ip) use it.
"""
import os
import signal
import subprocess

from procfix import Daemon

REDIS = "/usr/bin/redis-server"
CLI = "/usr/bin/redis-cli"


class Redis(Daemon):
    what = "redis-server"

    def __init__(self, tmp_path, password=None, name="redis", tcp=None):
        """tcp: (port, [addresses]) to listen on TCP as well (loopback
        only), for the IP:PORT and [IPv6]:PORT forms."""
        self.tcp = tcp
        self.dir = str(tmp_path)
        self.sock = os.path.join(self.dir, name + ".sock")
        self.logpath = os.path.join(self.dir, name + ".log")
        self.password = password
        self.paused = False

    @property
    def address(self):
        return "unix:" + self.sock

    def argv(self):
        port = str(self.tcp[0]) if self.tcp else "0"
        a = [REDIS, "--port", port, "--unixsocket", self.sock,
             "--unixsocketperm", "777", "--save", "", "--appendonly", "no",
             "--dir", self.dir, "--daemonize", "no", "--loglevel", "notice"]
        if self.tcp:
            a += ["--bind"] + list(self.tcp[1])
        if self.password is not None:
            a += ["--requirepass", self.password]
        return a

    def start(self):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        try:
            self.spawn(self.argv(), lambda log: "ready to accept" in
                       log.lower() and os.path.exists(self.sock))
        except RuntimeError:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()        # never left running
                self.proc.wait()
            raise
        return self

    def cli(self, *args):
        """redis-cli's answer, as a list of lines."""
        a = [CLI, "-s", self.sock, "--no-auth-warning"]
        if self.password is not None:
            a += ["-a", self.password]
        out = subprocess.run(a + [str(x) for x in args], capture_output=True,
                             timeout=10, check=True)
        return out.stdout.decode().splitlines()

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def kill(self):
        if self.paused:
            self.resume()
        super().kill()

    def restart(self):
        """Start again on the same socket (after kill or stop)."""
        return self.start()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.paused:
            self.resume()
        return super().stop(sig, timeout)
