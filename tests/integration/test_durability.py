"""The durability promise: a 250 means the message is on stable storage,
and a crash at any moment leaves only complete messages in queue/."""
import os
import signal
import socket
import subprocess
import threading
import time

import spool


def sender(gw, stop, acked, errors, n):
    while not stop.is_set():
        try:
            c = gw.raw("internet", source="127.0.0.%d" % (40 + n))
            c.sock.settimeout(10)
            c.reply()
            c.cmd("EHLO load%d" % n)
            while not stop.is_set():
                assert c.cmd("MAIL FROM:<load@example.org>")[0] == 250
                assert c.cmd("RCPT TO:<ericm@winery-co.co>")[0] == 250
                assert c.cmd("DATA")[0] == 354
                c.send(b"Subject: load\r\n\r\n" + (b"z" * 98 + b"\r\n") * 20 + b".\r\n")
                code, text = c.reply()
                if code == 250:
                    acked.append(text.split()[-1])
        except (OSError, EOFError, AssertionError) as e:
            errors.append(repr(e))
            time.sleep(0.01)


def test_sigkill_under_load_loses_no_acknowledged_message(make_gateway):
    gw = make_gateway()
    stop = threading.Event()
    acked, errors = [], []
    threads = [threading.Thread(target=sender, args=(gw, stop, acked, errors, i))
               for i in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + 20
    while len(acked) < 100 and time.time() < deadline:
        time.sleep(0.05)
    gw.proc.send_signal(signal.SIGKILL)
    gw.proc.wait()
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) >= 20, "load did not get going: %r" % errors[:3]

    # Every file in queue/ is complete (the strict reader raises otherwise),
    # and every acknowledged id is there.
    ids = {m["id"] for m in gw.messages()}
    missing = set(acked) - ids
    assert not missing, "acknowledged but lost: %r" % sorted(missing)[:5]

    # Restart: incoming/ is purged, nothing is quarantined, all is reloaded.
    gw.start()
    assert os.listdir(os.path.join(gw.spool, "incoming")) == []
    assert os.listdir(os.path.join(gw.spool, "corrupt")) == []
    assert "%d message(s) in the queue" % len(ids) in gw.log()


def test_truncated_queue_file_is_quarantined_at_start(make_gateway):
    gw = make_gateway()
    c = gw.smtp("internet")
    c.sendmail("a@example.org", ["ericm@winery-co.co"], "Subject: x\r\n\r\nbody\r\n")
    c.quit()
    gw.stop()
    [name] = os.listdir(os.path.join(gw.spool, "queue"))
    path = os.path.join(gw.spool, "queue", name)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[:-10])
    open(os.path.join(gw.spool, "incoming", "leftover"), "w").write("partial")
    gw.start()
    assert os.listdir(os.path.join(gw.spool, "queue")) == []
    assert os.listdir(os.path.join(gw.spool, "corrupt")) == [name]
    assert os.listdir(os.path.join(gw.spool, "incoming")) == []
    assert "0 message(s) in the queue" in gw.log()


def test_delivered_files_are_reused_and_purged_at_start(make_gateway):
    # docs/spool.md "Reusing files": a delivered message's file goes to
    # free/ and the next message is written into that inode, truncated
    from netfix import Sink, wait_for
    from conftest import free_port
    port = free_port("127.0.0.33")
    sink = Sink("127.0.0.33", port,
                rcpt_reply={"kimy@winery-co.co": "451 4.2.0 later"}).start()
    try:
        gw = make_gateway(
            directory="ericm@winery-co.co [127.0.0.33]:%d\n"
                      "kimy@winery-co.co [127.0.0.33]:%d\n" % (port, port),
            extra_top="queue {\n    retry 1h\n}\n")
        c = gw.smtp("internet")
        c.sendmail("a@example.org", ["ericm@winery-co.co"],
                   "Subject: first\r\n\r\n" + "long old text\r\n" * 200)
        assert wait_for(lambda: sink.rcpts() == ["ericm@winery-co.co"])
        free = os.path.join(gw.spool, "free")
        assert wait_for(lambda: len(os.listdir(free)) == 1)
        [old] = os.listdir(free)
        ino = os.stat(os.path.join(free, old)).st_ino
        # the next message stays queued (451): it took that file
        c.sendmail("b@example.org", ["kimy@winery-co.co"],
                   "Subject: second\r\n\r\nshort\r\n")
        c.quit()
        assert os.listdir(free) == []
        [msg] = gw.messages()
        assert os.stat(os.path.join(gw.spool, "queue", msg["id"])).st_ino \
            == ino
        assert msg["sender"] == "b@example.org"
        assert b"long old text" not in open(
            os.path.join(gw.spool, "queue", msg["id"]), "rb").read()
        # a restart empties free/ and keeps the queued message
        gw.stop()
        open(os.path.join(free, "leftover"), "w").write("old")
        gw.start()
        assert os.listdir(free) == []
        assert [m["id"] for m in gw.messages()] == [msg["id"]]
    finally:
        sink.stop()
