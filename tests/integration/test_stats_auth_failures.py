"""AUTH failures counted in `posternctl stats` (text and --json) and in
the metrics (issue 20; docs/operations.md)."""
import urllib.request

from conftest import base_config, free_port
from test_ctl import ctl, ctl_json, parse_prometheus
from test_tls_auth import (PASSWORD, gwcert, hashes, plain,  # noqa: F401
                           tls_session)
from tlsfix import pki  # noqa: F401 (pytest fixture)

NAME = "postern_smtp_auth_failures_total"


def test_auth_failures_in_stats_and_metrics(make_gateway, tmp_path, gwcert,
                                            hashes, pki):  # noqa: F811
    mport = free_port("127.0.0.1")
    auth = tmp_path / "auth"
    auth.write_text("".join("%s:%s\n" % kv for kv in hashes.items()))
    auth.chmod(0o600)
    lines = "    tls certificate %s key %s\n    auth %s\n" % (
        gwcert[0], gwcert[1], auth)
    gw = make_gateway(config=lambda tmp, port: base_config(
        tmp, port, extra_internet=lines,
        extra_top="metrics 127.0.0.1:%d" % mport))
    assert ctl_json(gw, "stats")[NAME] == 0
    t = tls_session(gw, pki)
    assert t.cmd("AUTH PLAIN " + plain("ericm", "Gu3ss-xyzzy"))[0] == 535
    assert t.cmd("AUTH PLAIN " + plain("nobody", "x"))[0] == 535
    assert t.cmd("AUTH PLAIN " + plain("ericm", PASSWORD))[0] == 235
    assert ctl_json(gw, "stats")[NAME] == 2
    assert "%s 2" % NAME in ctl(gw, "stats").stdout
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport,
                                  timeout=10).read().decode()
    samples, types = parse_prometheus(body)
    assert samples[(NAME, "")] == 2 and types[NAME] == "counter"
