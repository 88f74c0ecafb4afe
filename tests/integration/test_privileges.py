"""posternd binds as root and then serves as the configured `user`."""
import os
import shutil
import tempfile

import pytest

from conftest import Gateway, base_config, free_port, INTERNET


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
