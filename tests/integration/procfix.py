"""A program a test starts and stops: posternd (conftest.py's Gateway) and
slapd (ldapfix.py's Slapd) both run this way.

The program's stdout and stderr are appended to self.logpath; start waits
until the program says it is ready (a line in its log, a port that
answers) and fails with the log if it exits first or takes too long; stop
sends a signal to the PID it was started with, never by name, and kills
it if it does not exit in time.
"""
import signal
import subprocess
import time


class Daemon:
    what = "program"        # for the messages of a failed start

    logpath = None
    proc = None
    logf = None

    def spawn(self, argv, ready, env=None, timeout=20):
        """Start argv; ready(log text since this start) says when it is up."""
        self.logf = open(self.logpath, "ab")
        mark = self.logf.tell()
        self.proc = subprocess.Popen(argv, stdout=self.logf, stderr=self.logf,
                                     env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited: %s" % (self.what, self.log()))
            if ready(self.log()[mark:]):
                return self
            time.sleep(0.05)
        raise RuntimeError("%s did not start: %s" % (self.what, self.log()))

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """The exit status (None if it was never started)."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.logf.close()
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.logf.close()
