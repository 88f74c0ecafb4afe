"""CHUNKING (RFC 3030) end to end: BDAT pipelined behind MAIL and RCPT,
chunks of any size, BDAT 0 LAST, a large message in many chunks, the same
stored message as by DATA, and max-data-time over a BDAT transaction
(docs/smtp.md, "BDAT")."""
import time

from netfix import wait_for

HEAD = (b"EHLO c.example\r\nMAIL FROM:<a@example.org>\r\n"
        b"RCPT TO:<ericm@winery-co.co>\r\n")


def hello(gw):
    c = gw.raw("intranet")
    assert c.reply()[0] == 220
    return c


def stored_message(gw, n=1):
    msgs = wait_for(lambda: gw.messages() if len(gw.messages()) == n
                    else None, 5)
    assert msgs and len(msgs) == n, msgs
    # Without the Received: header (three lines) that holds the time.
    return [m["body"].split(b"\r\n", 3)[3] for m in msgs]


def test_ehlo_offers_chunking(gateway):
    c = hello(gateway)
    code, text = c.cmd("EHLO c.example")
    assert code == 250 and "\n250-CHUNKING" in text, text


def test_bdat_pipelined_same_as_data(gateway):
    msg = b"Subject: chunks\r\n\r\n.leading dot\r\nline two\r\n"
    c = hello(gateway)
    # Everything in one write: commands and chunks, split mid-line.
    c.send(HEAD + b"BDAT 20\r\n" + msg[:20] + b"BDAT %d LAST\r\n"
           % (len(msg) - 20) + msg[20:] + b"QUIT\r\n")
    codes = [c.reply()[0] for _ in range(6)]
    assert codes == [250, 250, 250, 250, 250, 221], codes
    c2 = hello(gateway)
    c2.send(HEAD + b"DATA\r\n")
    assert [c2.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c2.send(b"Subject: chunks\r\n\r\n..leading dot\r\nline two\r\n.\r\n")
    assert c2.reply()[0] == 250
    bdat, data = stored_message(gateway, 2)
    assert bdat == data == msg


def test_bdat_large_message_many_chunks(gateway):
    line = b"y" * 78 + b"\r\n"
    body = b"Subject: big\r\n\r\n" + line * 40000       # 3.2 MB
    c = hello(gateway)
    c.send(HEAD)
    assert [c.reply()[0] for _ in range(3)] == [250, 250, 250]
    off, sizes = 0, [1, 65536, 7, 300000, 12345]
    i = 0
    while off < len(body):
        n = min(sizes[i % len(sizes)], len(body) - off)
        c.send(b"BDAT %d\r\n" % n + body[off:off + n])
        off += n
        i += 1
    c.send(b"BDAT 0 LAST\r\n")
    replies = [c.reply() for _ in range(i + 1)]
    assert all(r[0] == 250 for r in replies), replies[-3:]
    assert "queued as" in replies[-1][1]
    assert stored_message(gateway)[0] == body


def test_bdat_refused_chunk_keeps_the_session_in_step(gateway):
    c = hello(gateway)
    c.send(b"EHLO c.example\r\nBDAT 15 LAST\r\nQUIT\r\nNOOP\r\nx\r\n"
           b"NOOP\r\n")
    replies = [c.reply()[0] for _ in range(3)]
    # The chunk (QUIT among its bytes) was read and dropped.
    assert replies == [250, 503, 250], replies
    assert c.cmd("QUIT")[0] == 221


def test_max_data_time_covers_bdat(make_gateway):
    gw = make_gateway(extra_intranet="max-data-time 2s\n")
    c = hello(gw)
    c.send(HEAD)
    assert [c.reply()[0] for _ in range(3)] == [250] * 3
    start = time.time()
    got = None
    while time.time() - start < 15:
        try:
            c.send(b"BDAT 4\r\nab\r\n")
            code = c.reply()[0]
        except (EOFError, BrokenPipeError, ConnectionResetError):
            break
        if code != 250:
            got = code
            break
        time.sleep(0.3)
    assert got == 421, got
    assert 1.5 < time.time() - start < 10
    assert "refused BDAT rule=max-data-time" in gw.log()
    assert gw.messages() == []
