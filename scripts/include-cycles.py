#!/usr/bin/python3
"""include-cycles: the modules of src/ and the include graph between them.

A module is a .c file and the header of the same name (src/queue.c and
src/queue.h are the module "queue"; a header without a .c, like
postern_limits.h, is a module of its own).  Module A depends on module B
when A's .c or .h includes B's header.  A cycle in that graph means two
modules each need the other: the code was split by size, not along a
seam.  Private headers (NAME_priv.h) belong to the module NAME.

Prints every cycle (strongly connected component of more than one module)
and exits 1 if there is any; `--graph` prints the edges.  Run by
`make layering`.
"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
INC = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path):
    base = os.path.basename(path)
    name = os.path.splitext(base)[0]
    if name.endswith("_priv"):
        name = name[:-5]
    return name


def graph():
    headers = {}
    files = []
    for root, _, names in os.walk(SRC):
        for n in names:
            if n.endswith((".c", ".h")):
                p = os.path.join(root, n)
                files.append(p)
                if n.endswith(".h"):
                    headers[n] = p
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
    found = cycles(edges)
    for comp in found:
        inner = ["%s -> %s" % (a, b) for a in comp for b in sorted(edges[a])
                 if b in comp]
        print("include cycle: %s (%s)" % (" ".join(comp), "; ".join(inner)))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
