"""Fault injection (issue 6): a full disk, a spool that cannot be written,
next hops that misbehave.  In every case: no 250 for a message that is
not durable, nothing half-written survives, the daemon keeps serving."""
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from conftest import Gateway, base_config, free_port, INTERNET


def send(gw, size=1000):
    c = gw.raw("internet")
    assert c.reply()[0] == 220
    c.cmd("EHLO x")
    assert c.cmd("MAIL FROM:<a@example.org>")[0] == 250
    assert c.cmd("RCPT TO:<ericm@winery-co.co>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    line = b"y" * 98 + b"\r\n"
    c.send(b"Subject: x\r\n\r\n" + line * (size // 100) + b".\r\n")
    code, text = c.reply()
    c.close()
    return code, text


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to mount a tmpfs")
def test_disk_full_during_data(posternd_bin, tmp_path):
    spool = tmp_path / "spool"
    spool.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(spool)], check=True)
    try:
        port = free_port(INTERNET)
        gw = Gateway(posternd_bin, str(tmp_path), base_config(str(tmp_path), port))
        gw.port = port
        gw.start()
        try:
            codes = []
            for _ in range(12):
                code, text = send(gw, 60000)
                codes.append(code)
                if code != 250:
                    assert code == 452 and "4.3.1" in text, text
            assert 452 in codes and codes[0] == 250
            # Nothing half-written is left, what was acknowledged is whole.
            assert os.listdir(spool / "incoming") == []
            assert len(gw.messages()) == codes.count(250)
            # Still serving: a NOOP, and a message once there is room.
            c = gw.raw("internet")
            assert c.reply()[0] == 220
            assert c.cmd("NOOP")[0] == 250
            c.close()
            for name in os.listdir(spool / "queue")[:3]:
                os.unlink(spool / "queue" / name)
            assert send(gw, 1000)[0] == 250
        finally:
            assert gw.stop() == 0, gw.log()
    finally:
        subprocess.run(["umount", str(spool)], check=True)


def test_spool_not_writable(make_gateway):
    gw = make_gateway()
    qdir = os.path.join(gw.spool, "queue")
    shutil.rmtree(qdir)
    open(qdir, "w").close()          # queue/ is now a file
    code, text = send(gw)
    assert code == 451 and "4.3.0" in text, text
    assert os.listdir(os.path.join(gw.spool, "incoming")) == []
    os.unlink(qdir)
    os.mkdir(qdir, 0o700)
    c = gw.raw("internet")
    assert c.reply()[0] == 220
    assert c.cmd("NOOP")[0] == 250
    c.close()


class DroppingServer:
    """Accepts a connection, speaks SMTP up to DATA, takes part of the
    message, then drops the connection."""

    def __init__(self, addr, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(5)
        self.sessions = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.sessions += 1
            f = conn.makefile("rb")
            conn.sendall(b"220 drop ESMTP\r\n")
            try:
                while True:
                    line = f.readline()
                    if not line:
                        break
                    if line.upper().startswith(b"DATA"):
                        conn.sendall(b"354 go\r\n")
                        f.read(10)
                        break
                    conn.sendall(b"250 ok\r\n")
            finally:
                f.close()
                conn.close()

    def close(self):
        self.stop = True
        self.t.join()
        self.sock.close()


def test_next_hop_drops_connection_mid_data(make_gateway, tmp_path):
    sport = free_port("127.0.0.80")
    drop = DroppingServer("127.0.0.80", sport)
    try:
        gw = make_gateway(extra_top=f"""
connector dropper {{
    address-space drop.example cost 1
    home intranet
    route smarthost [127.0.0.80]:{sport}
}}
queue {{
    retry 1s
}}""")
        c = gw.smtp("intranet")
        c.sendmail("ericm@winery-co.co", ["a@drop.example"], "Subject: x\r\n\r\nbody\r\n")
        c.quit()
        deadline = time.time() + 20
        while drop.sessions < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert drop.sessions >= 2, gw.log()
        assert "status=deferred" in gw.log()
        # Still queued, never bounced.
        assert len(gw.messages()) == 1
        assert "status=bounced" not in gw.log()
    finally:
        drop.close()


def test_slowloris_from_one_address_does_not_starve_others(make_gateway):
    """10 000 idle connections from one address: the per-address limit
    keeps all but a few out with 421, and other clients are served."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 10500
    if hard < need:
        pytest.skip("file descriptor limit too low")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
    gw = make_gateway()
    socks, refused = [], 0
    try:
        for _ in range(10000):
            s = socket.socket()
            s.bind(("127.0.0.90", 0))
            s.setblocking(True)
            s.connect((INTERNET, gw.port))
            socks.append(s)
        # Every connection beyond the limit is answered 421 and closed.
        for s in socks:
            s.settimeout(10)
            data = s.recv(100)
            if data.startswith(b"421"):
                refused += 1
        assert refused == 10000 - 4      # max-connections-per-ip 4 here
        c = gw.raw("internet", source="127.0.0.91")
        assert c.reply()[0] == 220
        assert c.cmd("EHLO other")[0] == 250
        c.close()
    finally:
        for s in socks:
            s.close()


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")
def test_fsync_failure_never_acknowledged(posternd_bin, tmp_path):
    """strace makes the 3rd fsync fail with EIO: that message gets a 4xx
    and is not in the queue; the others get 250 and are."""
    port = free_port(INTERNET)
    gw = Gateway(posternd_bin, str(tmp_path), base_config(str(tmp_path), port))
    gw.port = port
    real = gw.binary
    wrapper = tmp_path / "posternd-strace"
    wrapper.write_text("#!/bin/sh\nexec strace -f -qq -o /dev/null "
                       "-e trace=fsync -e inject=fsync:error=EIO:when=3 "
                       "%s \"$@\"\n" % real)
    wrapper.chmod(0o755)
    gw.binary = str(wrapper)
    gw.start()
    try:
        results = [send(gw) for _ in range(6)]
        codes = [c for c, _ in results]
        assert 451 in codes, results
        acked = [t.split()[-1] for c, t in results if c == 250]
        ids = {m["id"] for m in gw.messages()}
        assert set(acked) <= ids
        assert len(ids) == len(acked)
        assert os.listdir(os.path.join(gw.spool, "incoming")) == []
    finally:
        # Stop posternd itself; strace ends with its tracee.
        pid = gw.proc.pid
        children = open("/proc/%d/task/%d/children" % (pid, pid)).read().split()
        for child in children:
            os.kill(int(child), signal.SIGTERM)
        gw.proc.wait(30)
        gw.logf.close()
