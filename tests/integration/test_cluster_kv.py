"""kv.h on a real redis-server (src/cluster/kv_redis.c), through the
kv_probe driver (tests/tools/kv_probe.c): each operation's answers, the
"postern:" prefix and an expiry on every key, AUTH, the timeout when Redis
hangs (SIGSTOP), KV_DOWN when it is gone, reconnection without restarting
the client, and a value over KV_VALUE_MAX refused.
"""
import os
import select
import socket
import subprocess
import time

import pytest

from conftest import TOOLS, free_port
from redisfix import Redis

PROBE = os.path.join(TOOLS, "kv_probe")
KV_VALUE_MAX = 64 * 1024


class Probe:
    # A timeout far above what a loaded machine takes to answer, so that
    # only the tests of the timeout itself (which pass their own) see one.
    def __init__(self, address, timeout_ms=3000, password_file=None):
        argv = [PROBE, "-t", str(timeout_ms)]
        if password_file:
            argv += ["-P", password_file]
        self.proc = subprocess.Popen(argv + [address], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def ask(self, line, timeout=15):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        assert r, "kv_probe did not answer %r" % line
        out = self.proc.stdout.readline().decode().strip()
        assert out, "kv_probe exited: %s" % self.proc.stderr.read().decode()
        return out

    def answer(self, line):
        """(status, value words, ms)"""
        w = self.ask(line).split()
        assert w[-1].startswith("ms="), w
        return w[0], w[1:-1], int(w[-1][3:])

    def stats(self):
        w = self.ask("stats").split()[1:]
        return {k: int(v) for k, v in (x.split("=") for x in w)}

    def close(self):
        self.proc.stdin.close()
        rc = self.proc.wait(10)
        err = self.proc.stderr.read().decode()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, err


@pytest.fixture
def redis(tmp_path):
    r = Redis(tmp_path).start()
    yield r
    r.stop()


def up(p):
    assert p.ask("wait-up 5000").startswith("up 1"), "never connected"


def test_operations_prefix_and_expiry(redis):
    p = Probe(redis.address)
    up(p)
    assert p.answer("incr c 2 60")[:2] == ("ok", ["2"])
    assert p.answer("incr c 3 60")[:2] == ("ok", ["5"])
    assert p.answer("get c")[:2] == ("ok", ["1", "5"])
    assert p.answer("get none")[:2] == ("ok", ["nil"])
    assert p.answer("setnx n v1 60")[:2] == ("ok", ["1"])
    assert p.answer("setnx n v2 60")[:2] == ("ok", ["0"])
    assert p.answer("get n")[:2] == ("ok", ["2", "v1"])
    assert p.answer("set s hello 60")[:2] == ("ok", ["1"])
    assert p.answer("get s")[:2] == ("ok", ["5", "hello"])
    # a sliding window of 2: the third is refused (limit + 1)
    assert [p.answer("window w 2 60")[1] for _ in range(3)] == \
        [["1"], ["2"], ["3"]]
    assert p.answer("first g 60")[:2] == ("ok", ["0"])
    assert p.answer("first g 60")[:2] == ("ok", ["0"])
    # the count of one member; a member without heartbeat is not counted
    assert p.answer("count k gw1 1 60")[1] == ["1"]
    assert p.answer("count k gw1 1 60")[1] == ["2"]
    assert p.answer("count k gw2 1 60")[1] == ["1"]     # gw1 has no heartbeat
    assert p.answer("set node:gw1 alive 60")[0] == "ok"
    assert p.answer("count k gw2 1 60")[1] == ["4"]     # 2 (gw1) + 2
    assert p.answer("count k gw2 -5 60")[1] == ["2"]    # clamped at 0
    assert p.answer("sadd nodes gw1 60")[1] == ["1"]
    assert p.answer("sadd nodes gw2 60")[1] == ["1"]
    # gw2 has no node key: left out, and removed from the set
    assert p.answer("values nodes node:")[:2] == ("ok", ["1", "alive"])
    assert redis.cli("SMEMBERS", "postern:nodes") == ["gw1"]
    # scripts go as EVALSHA; one Redis has forgotten is sent again as EVAL
    redis.cli("SCRIPT", "FLUSH")
    assert p.answer("incr c 1 60")[:2] == ("ok", ["6"])
    assert p.answer("incr c 1 60")[:2] == ("ok", ["7"])
    calls = {l.split(":")[0]: l for l in redis.cli("INFO", "commandstats")}
    assert "calls=" in calls.get("cmdstat_evalsha", ""), calls
    assert "calls=" in calls.get("cmdstat_eval", ""), calls
    assert p.stats()["failures"] == 0
    p.close()
    keys = redis.cli("KEYS", "*")
    assert keys and all(k.startswith("postern:") for k in keys), keys
    for k in keys:
        ttl = int(redis.cli("TTL", k)[0])
        assert 0 < ttl <= 60, (k, ttl)


def test_first_seen_ages_on_the_store_clock(redis):
    p = Probe(redis.address)
    up(p)
    assert p.answer("first g 60")[1] == ["0"]
    time.sleep(2.1)
    age = int(p.answer("first g 60")[1][0])
    assert 2 <= age <= 3
    ttl = int(redis.cli("TTL", "postern:g")[0])
    assert 55 <= ttl <= 60          # not renewed
    p.close()


def test_oversized_and_wrong_type_are_errors(redis):
    p = Probe(redis.address)
    up(p)
    assert p.answer("setbig b %d 60" % (KV_VALUE_MAX + 1))[0] == "error"
    assert p.answer("setbig b %d 60" % KV_VALUE_MAX)[0] == "ok"
    assert p.answer("get b")[1][0] == str(KV_VALUE_MAX)
    # written by someone else: too long to read
    subprocess.run(["redis-cli", "-s", redis.sock, "-x", "SET", "postern:big"],
                   input=b"y" * (KV_VALUE_MAX + 10), check=True,
                   capture_output=True)
    assert p.answer("get big")[0] == "error"
    redis.cli("RPUSH", "postern:list", "a")
    assert p.answer("get list")[0] == "error"       # WRONGTYPE
    assert p.answer("incr list 1 60")[0] == "error"
    assert p.answer("get %s" % ("k" * 513))[0] == "error"   # KV_KEY_MAX
    assert p.answer("get ok")[:2] == ("ok", ["nil"])  # still usable
    p.close()


def test_auth(tmp_path):
    r = Redis(tmp_path, password="s3cret-pw").start()
    try:
        pw = tmp_path / "pw"
        pw.write_text("s3cret-pw\n")
        p = Probe(r.address, password_file=str(pw))
        up(p)
        assert p.answer("set a 1 60")[0] == "ok"
        assert r.cli("GET", "postern:a") == ["1"]
        p.close()
        bad = tmp_path / "bad"
        bad.write_text("wrong\n")
        p = Probe(r.address, password_file=str(bad))
        assert p.ask("wait-up 1500").startswith("up 0")
        assert p.answer("get a")[0] == "down"
        rc, err = p.close()
        assert "unreachable" in err and "AUTH" in err, err
        p = Probe(r.address)            # no password at all
        assert p.ask("wait-up 1500").startswith("up 0")
        p.close()
    finally:
        r.stop()


def test_hang_kill_restart(redis):
    p = Probe(redis.address, timeout_ms=250)
    up(p)
    assert p.answer("incr c 1 60")[:2] == ("ok", ["1"])

    # Redis hangs: the request times out within timeout (+ margin)
    redis.pause()
    st, _, ms = p.answer("incr c 1 60")
    # (the margin is for a loaded machine: what matters is that the
    # request ends near its timeout, not when Redis comes back)
    assert st == "timeout" and 240 <= ms <= 2000, (st, ms)
    # the connection was dropped as hung: the next ones fail at once
    st, _, ms = p.answer("get c")
    assert st in ("down", "timeout") and ms <= 2000, (st, ms)
    redis.resume()
    assert p.ask("wait-up 15000").startswith("up 1")
    assert p.answer("get c")[0] == "ok"

    # Redis killed: KV_DOWN, quickly
    redis.kill()
    time.sleep(0.3)
    st, _, ms = p.answer("incr c 1 60")
    assert st == "down" and ms <= 100, (st, ms)
    s = p.stats()
    assert s["up"] == 0 and s["outages"] == 2 and s["timeouts"] >= 1

    # restarted on the same socket: used again, the client not restarted
    redis.restart()
    assert p.ask("wait-up 15000").startswith("up 1")
    assert p.answer("incr c 5 60")[:2] == ("ok", ["5"])   # a new Redis
    rc, err = p.close()
    assert rc == 0
    # one line when each outage starts, one when it ends
    assert err.count("unreachable") == 2, err
    assert err.count("reachable again") == 2, err


def burst(p, n, key="b"):
    w = p.ask("burst %d %s" % (n, key)).split()
    d = {k: int(v) for k, v in (x.split("=") for x in w[1:])}
    return d


def test_pipelined_bursts_and_tombstones(redis):
    p = Probe(redis.address, timeout_ms=1000)
    up(p)
    d = burst(p, 500)
    assert d["ok"] == 500 and d["max"] == 500, d
    # cancelled while hiredis holds it: its reply is dropped, later
    # answers are not shifted
    assert p.ask("cancel-get b") == "cancelled"
    assert p.answer("get b")[:2] == ("ok", ["3", "500"])
    # Redis hangs with 200 in flight: every one times out, within the
    # timeout; the hung connection is dropped; then Redis answers again
    redis.pause()
    d = burst(p, 200)
    assert d["timeout"] + d["down"] == 200 and d["timeout"] >= 1, d
    assert d["ms"] <= 3000, d
    redis.resume()
    assert p.ask("wait-up 15000").startswith("up 1")
    d = burst(p, 100)
    assert d["ok"] == 100, d
    # killed with requests in flight: each answered once, none lost
    p.proc.stdin.write(b"burst 300 c\n")
    p.proc.stdin.flush()
    redis.kill()
    r, _, _ = select.select([p.proc.stdout], [], [], 15)
    assert r
    w = p.proc.stdout.readline().decode().split()
    d = {k: int(v) for k, v in (x.split("=") for x in w[1:])}
    assert sum(d[k] for k in ("ok", "timeout", "down", "error")) == 300, d
    rc, err = p.close()
    assert rc == 0


def test_down_from_the_start(tmp_path):
    p = Probe("unix:" + str(tmp_path / "none.sock"))
    st, _, ms = p.answer("get a")
    assert st == "down" and ms <= 100
    assert p.ask("cancel-get a") == "cancelled"
    # the cancelled request is never answered: the next answer is stats
    assert p.ask("stats").startswith("stats ")
    rc, err = p.close()
    assert rc == 0 and err.count("unreachable") == 1, err


def test_tcp_ipv4_and_ipv6(tmp_path):
    port = free_port("127.0.0.1")
    addrs = ["127.0.0.1"] + (["::1"] if socket.has_ipv6 and ipv6_ok() else [])
    r = Redis(tmp_path, tcp=(port, addrs)).start()
    try:
        for a in addrs:
            p = Probe(("[%s]:%d" if ":" in a else "%s:%d") % (a, port))
            up(p)
            assert p.answer("incr t 1 60")[0] == "ok"
            p.close()
        assert r.cli("GET", "postern:t") == [str(len(addrs))]
    finally:
        r.stop()


def ipv6_ok():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_bad_address():
    out = subprocess.run([PROBE, "localhost:6379"], input=b"",
                         capture_output=True)
    assert out.returncode == 1 and b"no names" in out.stdout
