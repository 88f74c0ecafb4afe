"""Reader for postern's spool files (format in docs/spool.md)."""
import os
import re


def _dec(v):
    return re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), v)


def read_message(path):
    """Message, envelope, trailer "END <16 hex digits: envelope offset>\\n"."""
    data = open(path, "rb").read()
    trailer = data[-21:]
    assert trailer[:4] == b"END " and trailer[-1:] == b"\n", "bad trailer"
    envoff = int(trailer[4:20], 16)
    head = data[envoff:-21]
    assert head.endswith(b"\n\n"), "no envelope terminator"
    lines = head[:-2].split(b"\n")
    assert lines[0] == b"postern-queue 2", lines[0]
    env = {"rcpts": []}
    for line in lines[1:]:
        key, _, val = line.partition(b" ")
        key = key.decode()
        if key == "rcpt":
            addr, notify, orcpt = val.split(b" ")
            env["rcpts"].append(_dec(addr).decode())
        else:
            env[key] = _dec(val).decode("utf-8", "replace")
    size = int(env["size"])
    assert size == envoff, "size record %d, envelope at %d" % (size, envoff)
    env["body"] = data[:size]
    return env


def messages(spool):
    qdir = os.path.join(spool, "queue")
    out = []
    if not os.path.isdir(qdir):
        return out
    for name in sorted(os.listdir(qdir)):
        if name.startswith("."):
            continue
        out.append(read_message(os.path.join(qdir, name)))
    return out
