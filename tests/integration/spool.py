"""Reader for postern's spool files (format in docs/spool.md)."""
import os
import re


def _dec(v):
    return re.sub(rb"%([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), v)


def read_message(path):
    data = open(path, "rb").read()
    head, sep, rest = data.partition(b"\n\n")
    assert sep, "no envelope terminator"
    lines = head.split(b"\n")
    assert lines[0] == b"postern-queue 1", lines[0]
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
    body = rest[:size]
    assert rest[size:] == b"END\n", "bad trailer"
    env["body"] = body
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
