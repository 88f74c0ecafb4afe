"""posternd binds as root and then serves as the configured `user`; what
it does as root in the spool, which that user owns, never follows a link
the user planted (docs/security.md, "Start-up as root").  Every other
test runs its gateway as RUN_USER too (conftest.py)."""
import os
import shutil
import stat
import tempfile

import pytest

from conftest import (Gateway, base_config, free_port, INTERNET, RUN_GID,
                      RUN_UID, RUN_USER)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_drops_root_after_binding(posternd_bin):
    tmp = tempfile.mkdtemp(prefix="postern-priv-")
    os.chmod(tmp, 0o755)
    try:
        port = free_port(INTERNET)
        gw = Gateway(posternd_bin, tmp, base_config(tmp, port, extra_top="user nobody"))
        gw.port = port
        os.chmod(os.path.join(tmp, "directory"), 0o644)
        gw.start()
        try:
            status = open("/proc/%d/status" % gw.proc.pid).read()
            fields = dict(line.split(":", 1) for line in status.splitlines())
            nobody = 65534
            assert fields["Uid"].split() == [str(nobody)] * 4
            assert int(fields["CapEff"], 16) == 0
            assert int(fields["CapPrm"], 16) == 0
            assert fields["NoNewPrivs"].strip() == "1"
            # It still writes its spool.
            c = gw.smtp("internet")
            c.sendmail("a@example.org", ["ericm@winery-co.co"], "Subject: x\r\n\r\nhi\r\n")
            c.quit()
            [m] = gw.messages()
            st = os.stat(os.path.join(gw.spool, "queue", m["id"]))
            assert st.st_uid == nobody
        finally:
            assert gw.stop() == 0, gw.log()
    finally:
        shutil.rmtree(tmp)


# ---- start-up as root never follows a link the run user planted ----
#
# The spool belongs to the run user; posternd starts as root.  A
# compromised run user who swaps a spool directory for a symbolic link to
# a root directory and kills the daemon must not get that directory
# emptied or chowned on the restart (issue #15): posternd refuses to start,
# naming the link, and the target is untouched.

needs_root = pytest.mark.skipif(os.geteuid() != 0 or RUN_USER is None,
                                reason="needs root to drop privileges")


def root_dir_with_a_file(tmp):
    """A root-owned 0700 directory holding a root-owned 0600 file: what
    the link points at."""
    target = os.path.join(tmp, "root-only")
    os.mkdir(target, 0o700)
    victim = os.path.join(target, "precious")
    with open(victim, "w") as f:
        f.write("root's\n")
    os.chmod(victim, 0o600)
    return target, victim


def assert_untouched(target, victim):
    st = os.stat(target)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o700)
    st = os.stat(victim)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (0, 0, 0o600)
    assert open(victim).read() == "root's\n"


def swap_for_link(path, target):
    """What the run user can do in its spool: replace an entry by a
    symbolic link (made as that user, as it would be)."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    os.symlink(target, path)
    os.lchown(path, RUN_UID, RUN_GID)


def refused_start(gw):
    with pytest.raises(RuntimeError) as e:
        gw.start()
    gw.logf.close()
    gw.proc = None          # exited, as it should: nothing to stop
    return str(e.value)


@needs_root
@pytest.mark.parametrize("sub", ["incoming", "free", "queue", "state",
                                 "corrupt", "mailboxes"])
def test_symlinked_spool_directory_is_not_followed(make_gateway, tmp_path,
                                                   sub):
    gw = make_gateway()
    assert gw.stop() == 0, gw.log()
    assert os.stat(gw.spool).st_uid == RUN_UID
    target, victim = root_dir_with_a_file(str(tmp_path))
    link = os.path.join(gw.spool, sub)
    swap_for_link(link, target)
    log = refused_start(gw)
    if sub == "mailboxes":
        assert "mailbox store %s: is a symbolic link" % link in log, log
    else:
        assert "%s: is a symbolic link" % link in log, log
    assert_untouched(target, victim)
    assert os.path.islink(link)


@needs_root
def test_symlink_where_the_control_socket_goes(make_gateway, tmp_path):
    gw = make_gateway()
    sock = os.path.join(gw.spool, "control.sock")
    # made without a path chmod: born 0660 (fchmod before bind), the user's
    st = os.lstat(sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == \
        (0o660, RUN_UID, RUN_GID)
    assert gw.stop() == 0, gw.log()
    target, victim = root_dir_with_a_file(str(tmp_path))
    swap_for_link(sock, victim)
    log = refused_start(gw)
    assert "%s exists and is not a socket" % sock in log, log
    assert_untouched(target, victim)
    assert os.path.islink(sock)


@needs_root
def test_spool_left_by_a_root_run_is_handed_over(make_gateway, tmp_path):
    """A spool a run without `user` left (root's files in queue/ and
    state/, root's mailbox store) works once `user` is set, and a hard
    link to a file outside the spool is not given away."""
    gw = make_gateway(start=False)
    with_user = open(gw.conf).read()
    gw.write_config(with_user.replace("\nuser %s\n" % RUN_USER, "\n"))
    gw.start()
    c = gw.smtp("internet")
    c.sendmail("a@example.org", ["ericm@winery-co.co"],
               "Subject: x\r\n\r\nhi\r\n")
    c.quit()
    [m] = gw.messages()
    qfile = os.path.join(gw.spool, "queue", m["id"])
    assert os.stat(qfile).st_uid == 0
    assert gw.stop() == 0, gw.log()
    target, victim = root_dir_with_a_file(str(tmp_path))
    os.link(victim, os.path.join(gw.spool, "corrupt", "hardlink"))
    os.makedirs(os.path.join(gw.spool, "mailboxes", "x@y", "new"))
    gw.write_config(with_user)
    gw.start()
    assert os.stat(qfile).st_uid == RUN_UID
    assert os.stat(os.path.join(gw.spool, "mailboxes")).st_uid == RUN_UID
    assert os.stat(os.path.join(gw.spool, "mailboxes", "x@y",
                                "new")).st_uid == RUN_UID
    assert_untouched(target, victim)
    assert [x["id"] for x in gw.messages()] == [m["id"]]
