"""posternd's command line (posternd(8)) and SIGHUP reload."""
import os
import signal
import subprocess
import time

from conftest import base_config


def check(binary, path):
    return subprocess.run([binary, "-n", "-f", path], capture_output=True, text=True)


def test_check_good_and_bad_configuration(posternd_bin, tmp_path):
    good = tmp_path / "good.conf"
    good.write_text(base_config(str(tmp_path), 2525))
    (tmp_path / "directory").write_text("ericm@winery-co.co mbx1\n")
    r = check(posternd_bin, str(good))
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("hostname x\nfrobnicate yes\n")
    r = check(posternd_bin, str(bad))
    assert r.returncode == 1
    assert r.stderr.startswith("%s:2: " % bad), r.stderr


def test_example_configuration_checks(posternd_bin):
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    r = subprocess.run([posternd_bin, "-n", "-f", "etc/postern.conf.example"],
                       capture_output=True, text=True, cwd=root)
    assert r.returncode == 0, r.stderr


def test_usage_exit_status(posternd_bin):
    assert subprocess.run([posternd_bin, "-x"], capture_output=True).returncode == 2


def test_sighup_reload(make_gateway):
    gw = make_gateway()
    c = gw.smtp("internet")
    c.ehlo("x")
    c.mail("a@example.org")
    assert c.rcpt("bob@newdomain.example")[0] == 550
    # A bad configuration is refused and the old one stays.
    text = open(gw.conf).read()
    gw.write_config(text + "\nnonsense here\n")
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "reload refused" not in gw.log() and time.time() < deadline:
        time.sleep(0.05)
    assert "postern.conf:%d: " % (text.count("\n") + 2) in gw.log()
    # The session in flight is undisturbed.
    assert c.rcpt("ericm@winery-co.co")[0] == 250
    # A good one is taken: a new local domain and directory entry.
    gw.write_config(text.replace("local-domain winery.local",
                                 "local-domain winery.local\nlocal-domain newdomain.example"))
    with open(os.path.join(gw.tmp, "directory"), "a") as f:
        f.write("bob@newdomain.example mbx1.winery.local\n")
    gw.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while "configuration reloaded" not in gw.log() and time.time() < deadline:
        time.sleep(0.05)
    c2 = gw.smtp("internet")
    c2.ehlo("x")
    c2.mail("a@example.org")
    assert c2.rcpt("bob@newdomain.example")[0] == 250
    c2.quit()
    # The old session still works (under its old policy) and finishes.
    c.data("Subject: x\r\n\r\nbody\r\n")
    c.quit()
