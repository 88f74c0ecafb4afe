"""The metrics endpoint's limits (issue 20; docs/operations.md): at most 16
connections at once (past it a new one is closed at once), a request head
of at most 8 KiB (431), a timeout; a scrape works again once the idle
connections are gone."""
import socket
import time
import urllib.request

from conftest import free_port
from test_ctl import parse_prometheus

ADDR = "127.0.0.1"
CAP = 16


def scrape(port):
    return urllib.request.urlopen("http://%s:%d/metrics" % (ADDR, port),
                                  timeout=10).read().decode()


def closed_at_once(s, wait=2.0):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def request(port, data, timeout=10):
    s = socket.create_connection((ADDR, port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def test_metrics_connection_cap_and_timeout(make_gateway):
    port = free_port(ADDR)
    make_gateway(extra_top="metrics %s:%d" % (ADDR, port))
    samples, _ = parse_prometheus(scrape(port))
    assert ("postern_connections_total", "") in samples
    idle = [socket.create_connection((ADDR, port), timeout=10)
            for _ in range(CAP)]
    t0 = time.time()
    try:
        time.sleep(0.3)
        # Past the cap: closed as soon as accepted, a scrape too.
        extra = [socket.create_connection((ADDR, port), timeout=10)
                 for _ in range(8)]
        assert all(closed_at_once(s) for s in extra)
        for s in extra:
            s.close()
        assert request(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") \
            == b""
        # The idle ones are held, then closed after the timeout (10 s).
        assert not any(closed_at_once(s, 0.1) for s in idle)
        assert all(closed_at_once(s, 20) for s in idle)
        assert 8 < time.time() - t0 < 25
    finally:
        for s in idle:
            s.close()
    samples, _ = parse_prometheus(scrape(port))
    assert ("postern_connections_total", "") in samples
    # Closed by the client instead: the slots come back at once.
    idle = [socket.create_connection((ADDR, port)) for _ in range(CAP)]
    time.sleep(0.3)
    for s in idle:
        s.close()
    time.sleep(0.3)
    assert "postern_connections_total" in scrape(port)


def test_metrics_request_limits(make_gateway):
    port = free_port(ADDR)
    make_gateway(extra_top="metrics %s:%d" % (ADDR, port))
    # A 1 MiB request line: 431, and the connection closed.
    out = request(port, b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431 "), out[:100]
    assert b"Connection: close" in out
    # 9 KiB of headers: the same.
    out = request(port, b"GET /metrics HTTP/1.1\r\n" +
                  b"X: " + b"b" * 9000 + b"\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 431 "), out[:100]
    assert request(port, b"POST /metrics HTTP/1.1\r\n\r\n").startswith(
        b"HTTP/1.1 405 ")
    assert request(port, b"garbage\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert request(port, b"GET /other HTTP/1.0\r\n\r\n").startswith(
        b"HTTP/1.1 404 ")
    out = request(port, b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
    head, body = out.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 200 OK")
    assert b"Content-Length: %d" % len(body) in head
    parse_prometheus(body.decode())
    # Still serving.
    assert "postern_connections_total" in scrape(port)


def test_metrics_reply_after_the_client_half_closes(make_gateway):
    port = free_port(ADDR)
    make_gateway(extra_top="metrics %s:%d" % (ADDR, port))
    s = socket.create_connection((ADDR, port), timeout=10)
    try:
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    assert out.startswith(b"HTTP/1.1 200 OK"), out[:100]
    assert b"postern_connections_total" in out
