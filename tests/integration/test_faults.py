"""Fault injection (issue 6): a full disk, a spool that cannot be written,
next hops that misbehave.  In every case: no 250 for a message that is
not durable, nothing half-written survives, the daemon keeps serving."""
import os
import shutil
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
