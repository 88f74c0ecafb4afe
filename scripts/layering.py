#!/usr/bin/python3
"""layering: the folders of src/ may include only from the folders below
them, and no two modules may need each other.

Folders (docs/architecture.md), each allowed to include from itself, from
the shared vocabulary at src/ (postern_limits.h, dsn.h) and from the
folders listed:

    lib        (nothing: general-purpose pieces, no mail header)
    conf       lib
    proto      lib
    tls        conf lib
    dns        conf lib
    directory  conf proto lib
    queue      lib
    msgauth    dns lib
    milter     lib
    cluster    lib
    smtpd      conf proto tls dns directory queue msgauth milter cluster
               lib
    deliver    conf proto tls dns directory queue lib
    ctl        smtpd deliver conf proto tls dns directory queue msgauth milter
               cluster lib
    (src/)     everything: the programs and what only they use


A module is a .c file and the header of the same name (queue/queue.c and
queue/queue.h are the module "queue"; a header without a .c, like
postern_limits.h, is a module of its own).  Module A depends on module B
when A's .c or .h includes B's header.  A cycle in that graph means two
modules each need the other: the code was split by size, not along a
seam.  Private headers (NAME_priv.h) belong to the module NAME.

Prints every include that breaks a folder rule and every cycle (strongly
connected component of more than one module), and exits 1 if there is
any; `--graph` prints the module edges.  Run by `make layering`.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


ALLOWED = {
    "lib": set(),
    "conf": {"lib"},
    "proto": {"lib"},
    "tls": {"conf", "lib"},
    "dns": {"conf", "lib"},
    "directory": {"conf", "proto", "lib"},
    "queue": {"lib"},
    "msgauth": {"dns", "lib"},
    "milter": {"lib"},
    "cluster": {"lib"},
    "smtpd": {"conf", "proto", "tls", "dns", "directory", "queue", "msgauth",
              "milter", "cluster", "lib"},
    "deliver": {"conf", "proto", "tls", "dns", "directory", "queue", "lib"},
    "ctl": {"smtpd", "deliver", "conf", "proto", "tls", "dns", "directory",
            "queue", "msgauth", "milter", "cluster", "lib"},
}
ROOT = ""       # src/ itself: the programs and the shared vocabulary
SHARED = {"postern_limits.h", "dsn.h"}


def source_files():
    """Every .c and .h below src/, as paths."""
    out = []
    for root, _, names in os.walk(SRC):
        out += [os.path.join(root, n) for n in names
                if n.endswith((".c", ".h"))]
    return out


def folder_of(path):
    rel = os.path.relpath(path, SRC)
    return os.path.dirname(rel)


def folder_errors():
    """Includes that break the folder rules, as strings."""
    files = source_files()
    where = {}
    for p in files:
        where.setdefault(os.path.basename(p), []).append(folder_of(p))
    errors = []
    for n, dirs in where.items():
        if n.endswith(".h") and len(dirs) > 1:
            errors.append("%s is in more than one folder: %s" %
                          (n, " ".join(sorted(dirs))))
    for d in {folder_of(p) for p in files}:
        if d != ROOT and d not in ALLOWED:
            errors.append("src/%s: a folder without a rule in "
                          "scripts/layering.py" % d)
    for p in sorted(files):
        a = folder_of(p)
        with open(p, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for inc in INC.findall(text):
            if "/" in inc:
                errors.append("%s: #include \"%s\": by name only" %
                              (os.path.relpath(p, SRC), inc))
                continue
            if inc not in where:
                continue
            b = where[inc][0]
            if a == ROOT or b == a or (b == ROOT and inc in SHARED):
                continue
            if b not in ALLOWED.get(a, set()):
                errors.append("%s: #include \"%s\" (%s may not include "
                              "from %s)" % (os.path.relpath(p, SRC), inc,
                                            a or "src/", b or "src/"))
    return errors


def module_of(path):
    base = os.path.basename(path)
    name = os.path.splitext(base)[0]
    if name.endswith("_priv"):
        name = name[:-5]
    return name


def graph():
    files = source_files()
    headers = {os.path.basename(p): p for p in files if p.endswith(".h")}
    edges = {}
    for p in files:
        a = module_of(p)
        edges.setdefault(a, set())
        with open(p, encoding="utf-8", errors="replace") as f:
            for inc in INC.findall(f.read()):
                h = os.path.basename(inc)
                if h not in headers:
                    continue
                b = module_of(h)
                if b != a:
                    edges[a].add(b)
    return edges


def cycles(edges):
    """Tarjan's strongly connected components, those of size > 1."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    edges = graph()
    if "--graph" in sys.argv:
        for a in sorted(edges):
            for b in sorted(edges[a]):
                print("%s -> %s" % (a, b))
        return 0
    bad = folder_errors()
    for e in bad:
        print("layering: " + e)
    found = cycles(edges)
    for comp in found:
        inner = ["%s -> %s" % (a, b) for a in comp for b in sorted(edges[a])
                 if b in comp]
        print("layering: include cycle: %s (%s)" % (" ".join(comp),
                                                    "; ".join(inner)))
    return 1 if found or bad else 0


if __name__ == "__main__":
    sys.exit(main())
