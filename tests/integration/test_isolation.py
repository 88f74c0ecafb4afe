"""Isolation under hostile clients (docs/spool.md, "Messages as they
arrive"): a session's memory does not grow with the message it receives,
and a client that dribbles its message is cut off by max-data-time.
"""
import os
import socket
import time

import pytest

from netfix import wait_for

BIG_CLIENTS = 100
IN_FLIGHT = 850 * 1024      # bytes each client pushes without the final dot


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def start_transaction(gw, server="intranet"):
    c = gw.raw(server)
    assert c.reply()[0] == 220
    c.send("EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n"
           "RCPT TO:<ericm@winery-co.co>\r\nDATA\r\n")
    codes = [c.reply()[0] for _ in range(4)]
    assert codes[1:] == [250, 250, 354], codes
    return c


def spool_files(gw, sub):
    d = os.path.join(gw.spool, sub)
    return os.listdir(d) if os.path.isdir(d) else []


def test_hundred_clients_mid_data_memory_bounded(make_gateway, posternd_bin):
    """100 clients each push 850 KB without the final dot: the message
    bytes are in incoming/, not in the daemon's memory (before streaming:
    +96 MB of RSS for 83 MB in flight)."""
    gw = make_gateway(extra_intranet="max-connections-per-ip 200\n")
    line = b"x" * 98 + b"\r\n"
    chunk = b"Subject: big\r\n\r\n" + line * (IN_FLIGHT // 100)
    clients = [start_transaction(gw) for _ in range(BIG_CLIENTS)]
    time.sleep(0.5)
    before = rss_kib(gw.proc.pid)
    for c in clients:
        c.sock.sendall(chunk)
    # Everything sent has been read and written to incoming/.
    want = BIG_CLIENTS * len(chunk) * 0.95

    def spooled():
        total = 0
        for name in spool_files(gw, "incoming"):
            try:
                total += os.path.getsize(os.path.join(gw.spool, "incoming",
                                                      name))
            except FileNotFoundError:
                pass
        return total

    deadline = time.time() + 30
    while spooled() < want and time.time() < deadline:
        time.sleep(0.1)
    assert spooled() >= want, (spooled(), want)
    after = rss_kib(gw.proc.pid)
    grown = after - before
    print("RSS before %d KiB, after %d KiB: %d KiB for %d MB in flight "
          "(%.1f KiB per session)" % (before, after, grown,
                                      BIG_CLIENTS * len(chunk) >> 20,
                                      grown / BIG_CLIENTS))
    if "asan" not in posternd_bin:
        # 64 KiB per session is the target (bench/data_memory measures
        # it); this only proves the message is not held in RAM.
        assert grown < BIG_CLIENTS * 64, grown
    assert len(spool_files(gw, "incoming")) == BIG_CLIENTS
    # The clients go away without the final dot: nothing is kept.
    for c in clients:
        c.close()
    assert wait_for(lambda: not spool_files(gw, "incoming"), 10)
    assert spool_files(gw, "queue") == []
    # And the gateway still takes mail.
    s = gw.smtp("intranet")
    s.sendmail("a@example.org", ["ericm@winery-co.co"],
               "Subject: after\r\n\r\n" + ("y" * 100 + "\r\n") * 1000)
    s.quit()
    msgs = gw.messages()
    assert len(msgs) == 1 and msgs[0]["body"].endswith(b"y" * 100 + b"\r\n")


def test_large_message_streamed_whole(gateway):
    """A 3 MB message goes through the spool file and arrives intact."""
    body = "".join("line %06d %s\r\n" % (i, "z" * 80) for i in range(30000))
    s = gateway.smtp("intranet")
    s.sendmail("a@example.org", ["ericm@winery-co.co"],
               "Subject: big\r\n\r\n." + body)
    s.quit()
    msgs = gateway.messages()
    assert len(msgs) == 1
    got = msgs[0]["body"]
    # Received: first, then the message exactly as sent (the leading dot
    # was stuffed by smtplib and unstuffed by postern).
    assert got.endswith(b"Subject: big\r\n\r\n." + body.encode())
    assert int(msgs[0]["size"]) == len(got)
    assert spool_files(gateway, "incoming") == []


def test_dribbling_client_cut_off_by_max_data_time(make_gateway):
    """A client sending a byte every 0.3 s (well within the idle timeout)
    is cut off when max-data-time has passed since the 354."""
    gw = make_gateway(extra_intranet="max-data-time 2s\n")
    c = start_transaction(gw)
    start = time.time()
    got = None
    c.sock.settimeout(0.3)
    while time.time() - start < 15:
        try:
            c.sock.sendall(b"a")
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            data = c.sock.recv(4096)
        except socket.timeout:
            continue
        if not data:
            break
        c.buf += data
        if b"\r\n" in c.buf:
            got = c.buf.decode()
            break
    elapsed = time.time() - start
    assert got is not None and got.startswith("421 4.4.2"), (got, c.buf)
    assert 1.5 < elapsed < 10, elapsed
    assert c.closed()
    assert "refused DATA rule=max-data-time" in gw.log()
    assert wait_for(lambda: not spool_files(gw, "incoming"), 5)
    assert spool_files(gw, "queue") == []


def test_max_data_time_spares_a_steady_message(make_gateway):
    """A message that ends in time is accepted, and the limit runs per
    message: a second one in the same session has its own."""
    gw = make_gateway(extra_intranet="max-data-time 3s\n")
    c = start_transaction(gw)
    for _ in range(4):
        c.send("x" * 50 + "\r\n")
        time.sleep(0.4)
    c.send(".\r\n")
    assert c.reply()[0] == 250
    c.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<ericm@winery-co.co>\r\n"
           "DATA\r\n")
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
    for _ in range(4):
        c.send("y" * 50 + "\r\n")
        time.sleep(0.4)
    c.send(".\r\n")
    assert c.reply()[0] == 250
    assert c.cmd("QUIT")[0] == 221
    assert len(gw.messages()) == 2
