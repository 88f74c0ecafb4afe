"""Two gateways sharing one Redis (SPEC section 9): each publishes its
heartbeat and queue summary, and `posternctl cluster` / `cluster queue`
(text and --json) on either lists both nodes and a message deferred on
each; the keys expire by themselves; the answers without a cluster block
and with Redis gone; the cluster counters in `stats`.

Each gateway has its own spool and loopback addresses; the deferred
messages go to a smart host on a closed port."""
import json
import os
import subprocess
import time

import pytest

from conftest import (CLIENT_INTRANET, Gateway, assert_clean_exit, free_port,
                      gateway_config)
from netfix import wait_for
from redisfix import Redis

ADDRS = {"gw1": ("127.0.0.81", "127.0.0.82"),
         "gw2": ("127.0.0.83", "127.0.0.84")}
CLOSED = "127.0.0.89"


def ctl(gw, *args, check=True):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    binary = os.path.join(os.path.dirname(gw.binary), "posternctl")
    r = subprocess.run([binary, "-c", gw.conf] + list(args),
                       capture_output=True, text=True, timeout=60, env=env)
    if check:
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return r


def ctl_json(gw, *args):
    return json.loads(ctl(gw, *args, "--json").stdout)


def make_gateway(binary, tmp, name, cluster):
    internet, intranet = ADDRS[name]
    d = os.path.join(tmp, name)
    os.makedirs(d)
    port = free_port(internet)
    closed = free_port(CLOSED)
    top = f"""
{cluster}
connector closed {{
    address-space closed.example cost 1
    home intranet
    route smarthost [{CLOSED}]:{closed}
}}
"""
    text = gateway_config(d, port, top=top, internet_addr=internet,
                          intranet_addr=intranet, queue="retry 1h")
    gw = Gateway(binary, d, text)
    gw.port = port
    gw.internet, gw.intranet = internet, intranet
    return gw.start()


def cluster_block(redis, node):
    return f"""cluster {{
    redis {redis.address}
    node {node}
    timeout 500ms
}}"""


def send_deferred(gw, rcpt):
    with gw.smtp("intranet", CLIENT_INTRANET) as s:
        s.sendmail("ericm@winery-co.co", [rcpt],
                   "Subject: cluster\r\n\r\nbody\r\n")


@pytest.fixture
def cluster(posternd_bin, tmp_path):
    r = Redis(tmp_path).start()
    gws = []
    try:
        for name in ("gw1", "gw2"):
            gws.append(make_gateway(posternd_bin, str(tmp_path), name,
                                    cluster_block(r, name)))
        yield r, gws
    finally:
        for gw in gws:
            assert_clean_exit(gw, gw.stop(), ok=(0, None, -9))
        r.stop()


def try_json(gw, *args):
    r = ctl(gw, *args, "--json", check=False)
    return json.loads(r.stdout) if r.returncode == 0 else None


def nodes_with_deferred(gw):
    nodes = try_json(gw, "cluster") or []
    return len(nodes) == 2 and all(
        n["messages"] == 1 and n["deferred"] for n in nodes)


def test_cluster_lists_both_nodes_and_their_queues(cluster):
    redis, (gw1, gw2) = cluster
    send_deferred(gw1, "one@closed.example")
    send_deferred(gw2, "two@closed.example")
    assert wait_for(lambda: nodes_with_deferred(gw1), timeout=30)

    nodes = ctl_json(gw2, "cluster")
    assert [n["node"] for n in nodes] == ["gw1", "gw2"]
    for n in nodes:
        assert n["held"] == 0 and n["deferred"] == {"closed.example": 1}
        assert n["oldest"] > 0 and n["up_since"] <= n["last_seen"]
        assert time.time() - n["last_seen"] < 15
    text = ctl(gw1, "cluster").stdout.splitlines()
    assert [line.split()[0] for line in text] == ["gw1", "gw2"]
    assert all("queue 1 (held 0)" in line and
               "deferred closed.example=1" in line for line in text), text

    msgs = ctl_json(gw1, "cluster", "queue")
    assert [(m["node"], m["recipients"][0]["address"]) for m in msgs] == \
        [("gw1", "one@closed.example"), ("gw2", "two@closed.example")]
    for m, gw in zip(msgs, (gw1, gw2)):
        assert [m["id"]] == sorted(os.listdir(os.path.join(gw.spool,
                                                           "queue")))
        assert m["sender"] == "ericm@winery-co.co" and m["size"] > 0
        assert m["total_recipients"] == 1
        assert m["recipients"][0]["state"] == "deferred"
    text = ctl(gw2, "cluster", "queue").stdout.strip().splitlines()
    assert len(text) == 2
    assert text[0].startswith("gw1 ") and msgs[0]["id"] in text[0]
    assert text[1].startswith("gw2 ") and "two@closed.example (deferred)" \
        in text[1]

    # Every key is namespaced and expires by itself.
    keys = redis.cli("KEYS", "*")
    nodes = [k for k in keys if k.startswith("postern:node")]
    assert sorted(nodes) == ["postern:node:gw1", "postern:node:gw2",
                             "postern:nodeq:gw1", "postern:nodeq:gw2",
                             "postern:nodes"]
    for k in nodes:
        assert 0 < int(redis.cli("TTL", k)[0]) <= 15
    # The rest are the shared limits' (the connection counts of the
    # clients above: docs/scale-out.md).
    for k in keys:
        assert k.startswith("postern:") and int(redis.cli("TTL", k)[0]) > 0

    stats = ctl_json(gw1, "stats")
    assert stats["postern_cluster_up"] == 1
    assert stats["postern_cluster_requests_total"] > 0
    assert stats["postern_cluster_outages_total"] == 0

    # A node that stops goes away with its keys' expiry (15 s).
    gw2.stop()
    assert wait_for(lambda: [n["node"] for n in ctl_json(gw1, "cluster")]
                    == ["gw1"], timeout=30)


def test_cluster_errors(posternd_bin, tmp_path):
    alone = make_gateway(posternd_bin, str(tmp_path), "gw1", "")
    try:
        r = ctl(alone, "cluster", check=False)
        assert r.returncode == 1 and "no cluster block" in r.stderr, r.stderr
        r = ctl(alone, "cluster", "queue", "--json", check=False)
        assert r.returncode == 1 and "no cluster block" in r.stderr
    finally:
        assert_clean_exit(alone, alone.stop())

    redis = Redis(tmp_path).start()
    gw = make_gateway(posternd_bin, str(tmp_path), "gw2",
                      cluster_block(redis, "gw2"))
    try:
        assert wait_for(lambda: len(try_json(gw, "cluster") or []) == 1)
        redis.kill()
        r = ctl(gw, "cluster", check=False)
        assert r.returncode == 1 and "unreachable" in r.stderr, r.stderr
        assert "unreachable" in gw.log() and "deciding locally" in gw.log()
        stats = ctl_json(gw, "stats")
        assert stats["postern_cluster_up"] == 0
        assert stats["postern_cluster_outages_total"] == 1
        redis.restart()
        assert wait_for(lambda: len(try_json(gw, "cluster") or []) == 1,
                        timeout=30)
        assert "reachable again" in gw.log()
    finally:
        assert_clean_exit(gw, gw.stop())
        redis.stop()


def test_reload_changes_the_cluster(posternd_bin, tmp_path):
    """AUTH with a password file only root reads: a reload that changes
    the block (a new node name) keeps the password read at start; a
    reload without the block leaves the cluster."""
    redis = Redis(tmp_path, password="pw-0f-redis").start()
    pw = tmp_path / "redis.secret"
    pw.write_text("pw-0f-redis\n")
    os.chmod(pw, 0o600)
    block = cluster_block(redis, "gw1").replace(
        "node", "password-file %s\n    node" % pw)
    gw = make_gateway(posternd_bin, str(tmp_path), "gw1", block)
    try:
        assert wait_for(lambda: [n["node"] for n in
                                 try_json(gw, "cluster") or []] == ["gw1"])
        with open(gw.conf) as f:
            text = f.read()
        gw.write_config(text.replace("node gw1", "node gw9"))
        ctl(gw, "reload")
        assert wait_for(lambda: "gw9" in [n["node"] for n in
                                          try_json(gw, "cluster") or []])
        if os.geteuid() == 0:
            assert "keeping the password read at start" in gw.log()
        gw.write_config(text.replace(block, ""))
        ctl(gw, "reload")
        r = ctl(gw, "cluster", check=False)
        assert r.returncode == 1 and "no cluster block" in r.stderr
    finally:
        assert_clean_exit(gw, gw.stop())
        redis.stop()
