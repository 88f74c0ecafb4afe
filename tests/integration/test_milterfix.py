"""The milter test peers on their own, without posternd: the real scanners
of milterfix.py (a private rspamd, clamd with clamav-milter) driven by
milterfix's MilterClient as an MTA would drive them, and the scriptable
filter of fakemilter.py driven the same way.

What the gateway's milter tests rely on is shown here first: GTUBE is
refused by rspamd (554 5.7.1 through SMFIR_REPLYCODE), an EICAR
attachment by clamav-milter (550 5.7.1, its own text), a clean message
passes both and gets their headers; a stopped scanner refuses
connections and leaves no process behind; each behaviour of the fake
filter reaches the MTA side byte for byte.
"""
import os
import socket
import struct
import time

import pytest

import fakemilter as F
import milterfix as M
from fakemilter import fake  # noqa: F401
from milterfix import clamav, rspamd  # noqa: F401

needs_rspamd = pytest.mark.skipif(
    bool(M.RSPAMD_MISSING), reason="rspamd is not installed (Debian package "
    "rspamd): missing %s" % " ".join(M.RSPAMD_MISSING))
needs_clamav = pytest.mark.skipif(
    bool(M.CLAMAV_MISSING), reason="clamd or clamav-milter is not installed "
    "(Debian packages clamav-daemon, clamav-milter): missing %s"
    % " ".join(M.CLAMAV_MISSING))


def _pids_with(text):
    """PIDs whose command line holds text."""
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    if text.encode() in f.read():
                        out.append(int(d))
            except OSError:
                pass
    return out


def run(milter, msg, **kw):
    c = M.MilterClient(milter, timeout=30)
    try:
        return c.transaction(msg, **kw)
    finally:
        c.quit()


# ---------------------------------------------------------------- rspamd

@needs_rspamd
def test_rspamd_rejects_gtube_passes_clean_with_headers(rspamd):
    res = run(rspamd.milter, M.gtube_message())
    assert res.stage == "eom", res
    assert res.replycode().startswith("554 5.7.1 "), res
    assert "Gtube" in res.replycode() or "GTUBE" in res.replycode()

    res = run(rspamd.milter, M.message())
    assert res.stage == "eom" and res.code == "a", res
    names = res.header_names()
    for h in ("x-spamd-result", "x-rspamd-queue-id", "x-rspamd-action"):
        assert h in names, res
    hdrs = dict(res.added_headers())
    assert hdrs["X-Rspamd-Action"] == "no action"
    # the queue id is the MTA's `i` macro, as the gateway passes it
    assert hdrs["X-Rspamd-Queue-Id"].startswith("QID")
    # the folded X-Spamd-Result comes with bare LF line ends: the MTA
    # side must turn them into CRLF before queueing
    assert "\n\t" in hdrs["X-Spamd-Result"]

    log = rspamd.log()
    assert "Gtube pattern" in log or "GTUBE" in log
    # nothing asked of maps.rspamd.com or any other URL map
    assert "maps.rspamd.com" not in log, log[-3000:]


@needs_rspamd
def test_rspamd_connection_reused_across_transactions(rspamd):
    """One connection, three transactions: clean, GTUBE, clean again (as
    the gateway reuses its connection for a session's transactions)."""
    c = M.MilterClient(rspamd.milter)
    try:
        first = c.transaction(M.message(subject="one"))
        assert first.code == "a", first
        c.abort()
        second = c.transaction(M.gtube_message(), connect=False)
        assert second.replycode().startswith("554 5.7.1"), second
        c.abort()
        third = c.transaction(M.message(subject="three"), connect=False)
        assert third.code == "a", third
    finally:
        c.quit()


@needs_rspamd
def test_rspamd_stopped_leaves_nothing(tmp_path):
    """Stopped at once after its start (workers just forked), then after
    a message: no process of it is left, its port is closed."""
    for scan in (False, True):
        rs = M.Rspamd(tmp_path / ("scan" if scan else "idle"))
        try:
            rs.start()
            tag = "%s:%d" % rs.milter
            assert _pids_with(tag), "the proxy worker names its address"
            assert len(rs.session_pids()) >= 4  # main, proxy, normal, controller
            if scan:
                assert run(rs.milter, M.message()).code == "a"
        finally:
            rs.stop()
        assert not rs.session_pids(), "a process of the stopped rspamd is left"
        assert not _pids_with(tag)
        with pytest.raises(OSError):
            socket.create_connection(rs.milter, 1)


# ---------------------------------------------------------------- ClamAV

@needs_clamav
def test_clamd_database_is_the_test_eicar_only(tmp_path):
    cd = M.Clamd(tmp_path)
    try:
        cd.start()
        assert os.listdir(cd.dbdir) == ["eicar.hdb"]
        assert cd.ping() == "PONG"
        assert cd.scan_bytes(M.EICAR) == \
            "stream: %s.UNOFFICIAL FOUND" % M.EICAR_NAME
        assert cd.scan_bytes(b"hello\n") == "stream: OK"
    finally:
        cd.stop()


@needs_clamav
def test_clamav_milter_rejects_eicar_passes_clean_with_headers(clamav):
    res = run(clamav.milter, M.eicar_message())
    assert res.stage == "eom", res
    text = res.replycode()
    assert text.startswith("550 5.7.1 "), res
    assert M.EICAR_NAME in text

    res = run(clamav.milter, M.message())
    assert res.code == "a", res
    hdrs = dict(res.added_headers())
    assert hdrs.get("X-Virus-Status") == "Clean", res
    assert hdrs.get("X-Virus-Scanned", "").startswith("clamav-milter"), res
    # the plain GTUBE message is no virus
    assert run(clamav.milter, M.gtube_message()).code == "a"


@needs_clamav
def test_clamav_milter_connection_reused(clamav):
    c = M.MilterClient(clamav.milter)
    try:
        assert c.transaction(M.message()).code == "a"
        c.abort()
        res = c.transaction(M.eicar_message(), connect=False)
        assert res.replycode().startswith("550 5.7.1"), res
    finally:
        c.quit()


@needs_clamav
def test_clamd_down_clamav_milter_defers(tmp_path):
    """clamd stopped under a running clamav-milter: OnFail Defer, the
    milter answers tempfail."""
    cd = M.Clamd(tmp_path)
    cm = M.ClamavMilter(tmp_path, cd)
    try:
        cd.start()
        cm.start()
        cd.stop()
        res = run(cm.milter, M.message())
        assert res.code == "t", res
    finally:
        cm.stop()
        cd.stop()


# ---------------------------------------------------------------- both

@needs_rspamd
@needs_clamav
def test_both_in_order(rspamd, clamav):
    """rspamd then clamav-milter, as `milters rspamd clamav` runs them:
    a clean message passes both with both sets of headers; GTUBE stops
    at rspamd; the EICAR attachment passes rspamd and stops at ClamAV."""
    a = run(rspamd.milter, M.message())
    b = run(clamav.milter, M.message())
    assert a.code == "a" and b.code == "a"
    names = a.header_names() + b.header_names()
    assert "x-spamd-result" in names and "x-virus-status" in names

    assert run(rspamd.milter, M.gtube_message()).replycode().startswith("554")

    a = run(rspamd.milter, M.eicar_message())
    assert a.code == "a", a
    b = run(clamav.milter, M.eicar_message())
    assert b.replycode().startswith("550 5.7.1"), b


# ---------------------------------------------------------------- the fake filter

STAGE_ORDER = ["connect", "helo", "mail", "rcpt", "data", "header", "eoh",
               "body", "eom"]


@pytest.mark.parametrize("stage", STAGE_ORDER)
@pytest.mark.parametrize("verdict,code", [
    (F.reject, "r"), (F.tempfail, "t"), (F.discard, "d"),
    (lambda: F.replycode("553 5.7.0 not you"), "y"), (F.accept, "a")])
def test_fake_verdict_at_each_stage(fake, stage, verdict, code):
    fm = fake(on={stage: verdict()})
    res = run(fm.milter, M.message())
    assert res.stage == stage, res
    assert res.code == code
    if code == "y":
        assert res.replycode() == "553 5.7.0 not you"
    # it stopped answering nothing: the MTA side went no further
    later = STAGE_ORDER[STAGE_ORDER.index(stage) + 1:]
    assert not any(s in [n for n, _ in res.replies] for s in later)


def test_fake_records_what_it_received(fake):
    fm = fake()
    c = M.MilterClient(fm.milter)
    body = b"line one\r\n" + b"x" * 70000 + b"\r\n"
    msg = M.message(subject="records", body=body.decode())
    res = c.transaction(msg, sender="alice@example.org",
                        rcpts=("bob@winery-co.co", "kim@winery-co.co"),
                        queue_id="Q1")
    assert res.code == "a"
    c.abort()
    c.transaction(M.message(subject="second"), connect=False, queue_id="Q2",
                  rcpts=("eve@winery-co.co",))
    c.quit()
    assert fm.wait(lambda f: f.conns and f.conns[0].closed)
    conn = fm.conns[0]
    assert conn.optneg == (6, M.SMFIF_ALL, M.SMFIP_MTA_ALL)
    assert conn.connect == ("client.example", "4", 42424, "127.0.0.10")
    assert conn.helo == "client.example"
    assert conn.macros["C"]["{daemon_name}"] == "postern"
    assert conn.macros["C"]["j"] == "gateway.test"
    assert len(conn.txns) == 2
    t1, t2 = conn.txns
    assert t1.mail == ["<alice@example.org>"]
    assert t1.rcpt_addrs() == ["<bob@winery-co.co>", "<kim@winery-co.co>"]
    assert t1.header("Subject") == ["records"]
    assert t1.body == body                  # two BODY chunks, joined
    assert t1.macros["M"]["i"] == "Q1"
    assert t1.end == "eom" and t2.end == "eom"
    assert t2.rcpt_addrs() == ["<eve@winery-co.co>"]
    assert conn.commands().startswith("ODCHDMRRDTL")
    assert conn.commands().count("B") == 3
    assert "A" in conn.commands()


def test_fake_each_modification(fake):
    mods = [F.addheader("X-Added", "yes"),
            F.insheader(0, "X-First", "top"),
            F.chgheader(1, "Subject", "changed"),
            F.delheader(1, "Date"),
            F.replbody(b"new body\r\n"),
            F.addrcpt("<new@winery-co.co>"),
            F.addrcpt_par("<par@winery-co.co>", "NOTIFY=NEVER"),
            F.delrcpt("<bob@winery-co.co>"),
            F.chgfrom("<other@example.org>"),
            ] + F.quarantine("look at it")[:1]
    fm = fake(mods=mods)
    res = run(fm.milter, M.message())
    assert res.code == "a"
    got = [(m.cmd, m.data) for m in res.mods]
    want = [(a.data[4:5], a.data[5:]) for a in mods]
    assert got == want
    assert res.mods[2].index_strings() == (1, "Subject", "changed")
    assert res.mods[3].index_strings() == (1, "Date", "")
    assert ("X-First", "top") in res.added_headers()


def test_fake_progress_then_answer(fake):
    fm = fake(on={"eom": F.progress(3, 0.2, F.tempfail())})
    t0 = time.time()
    res = run(fm.milter, M.message())
    assert time.time() - t0 >= 0.6
    assert res.code == "t"
    eom = dict(res.replies)["eom"]
    assert [r.cmd for r in eom] == [b"p", b"p", b"p", b"t"]


def test_fake_progress_then_default(fake):
    fm = fake(on={"rcpt": F.progress(1, 0.1)})
    res = run(fm.milter, M.message())
    assert res.code == "a" and res.stage == "eom"


def test_fake_negotiates_skipped_and_unanswered_steps(fake):
    fm = fake(protocol=M.SMFIP_NOHELO | M.SMFIP_NR_HDR | M.SMFIP_NOBODY,
              actions=M.SMFIF_ADDHDRS)
    c = M.MilterClient(fm.milter)
    res = c.transaction(M.message())
    c.quit()
    assert (c.f_actions, c.f_protocol) == (
        M.SMFIF_ADDHDRS, M.SMFIP_NOHELO | M.SMFIP_NR_HDR | M.SMFIP_NOBODY)
    assert res.code == "a"
    sent = "".join(cmd.decode() for d, cmd, _ in c.transcript if d == ">")
    assert "H" not in sent and "B" not in sent and "L" in sent
    names = [n for n, r in res.replies if r]
    assert "header" not in names


def raw_after(milter, stage, timeout=2.0):
    """Drive a client up to `stage` and return the raw bytes the filter
    sends for it (until it closes or `timeout` passes), and whether it
    closed."""
    c = M.MilterClient(milter, timeout=timeout)
    c.optneg()
    steps = {"connect": lambda: c.send(M.SMFIC_CONNECT, M.z("h") + b"4" +
                                       struct.pack("!H", 1) + M.z("127.0.0.1")),
             "helo": lambda: c.send(M.SMFIC_HELO, M.z("h")),
             "mail": lambda: c.send(M.SMFIC_MAIL, M.z("<a@b>")),
             "eom": lambda: c.send(M.SMFIC_BODYEOB)}
    order = ["connect", "helo", "mail", "eom"]
    for s in order[:order.index(stage)]:
        steps[s]()
        assert c.read().cmd == M.SMFIR_CONTINUE
    steps[stage]()
    data, closed = b"", False
    c.sock.settimeout(timeout)
    try:
        while True:
            chunk = c.sock.recv(65536)
            if not chunk:
                closed = True
                break
            data += chunk
    except socket.timeout:
        pass
    c.close()
    return data, closed


def test_fake_garbage(fake):
    fm = fake(on={"mail": F.garbage(b"\x00\x00\x00\x05Zjunk")})
    data, closed = raw_after(fm.milter, "mail", 0.5)
    assert data == b"\x00\x00\x00\x05Zjunk" and not closed
    fm = fake(on={"helo": F.garbage(b"not a milter reply\r\n")})
    assert raw_after(fm.milter, "helo", 0.5) == (b"not a milter reply\r\n",
                                                 False)


def test_fake_oversized(fake):
    fm = fake(on={"eom": F.oversized(0x40000000)})
    data, closed = raw_after(fm.milter, "eom", 0.5)
    assert data[:4] == struct.pack("!I", 0x40000000) and not closed
    c = M.MilterClient(fm.milter, timeout=2)
    with pytest.raises(M.MilterError, match="bad packet length"):
        c.transaction(M.message())
    c.close()
    fm = fake(on={"connect": F.short_packet(0)})
    assert raw_after(fm.milter, "connect", 0.5) == (b"\0\0\0\0", False)


def test_fake_close_mid_reply(fake):
    fm = fake(on={"rcpt": F.close_mid()})
    c = M.MilterClient(fm.milter, timeout=5)
    with pytest.raises(M.MilterError, match="closed"):
        c.transaction(M.message())
    c.close()
    fm = fake(on={"helo": F.close_mid()})
    assert raw_after(fm.milter, "helo") == (b"\x00\x00", True)


def test_fake_never_answers(fake):
    fm = fake(on={"eom": F.silent()})
    c = M.MilterClient(fm.milter, timeout=1)
    t0 = time.time()
    with pytest.raises(socket.timeout):
        c.transaction(M.message())
    assert time.time() - t0 < 5
    c.close()
    assert fm.last.end in ("eom", "closed")


def test_fake_garbage_optneg_and_unix_socket(fake, tmp_path):
    fm = fake(path=str(tmp_path / "fake.sock"), optneg=F.garbage(b"\xff" * 8))
    c = M.MilterClient(fm.socket, timeout=1)
    with pytest.raises(M.MilterError, match="bad packet length"):
        c.optneg()
    c.close()


def test_fake_answer_by_function(fake):
    """The second recipient only is refused (a function of what came)."""
    def rcpt(conn, txn, data):
        return F.replycode("550 5.1.1 no such user") \
            if "kim@" in data.decode() else None
    fm = fake(on={"rcpt": rcpt})
    c = M.MilterClient(fm.milter)
    c.optneg()
    c.connect()
    c.helo()
    c.mail("alice@example.org")
    assert c.rcpt("bob@winery-co.co")[-1].cmd == M.SMFIR_CONTINUE
    last = c.rcpt("kim@winery-co.co")[-1]
    assert last.cmd == M.SMFIR_REPLYCODE
    c.quit()
