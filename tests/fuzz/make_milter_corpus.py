#!/usr/bin/python3
"""make_milter_corpus: the seed corpus of fuzz_milter_reply, one file per
reply kind of the milter protocol (docs/milter.md), plus a negotiation
with macro lists, an oversized length and a packet of length 0.  Each
file is a flag byte (even: the real MILTER_PACKET_MAX) then packets.
Run from the repository's top: python3 tests/fuzz/make_milter_corpus.py
"""
import os
import struct

OUT = os.path.join("tests", "fuzz", "corpus", "milter_reply")


def pkt(letter, data=b""):
    body = letter.encode() + data
    return struct.pack(">I", len(body)) + body


def u32(v):
    return struct.pack(">I", v)


SEEDS = {
    "accept": pkt("a"),
    "continue": pkt("c"),
    "reject": pkt("r"),
    "tempfail": pkt("t"),
    "discard": pkt("d"),
    "progress": pkt("p") + pkt("p") + pkt("c"),
    "skip": pkt("s"),
    "shutdown": pkt("4"),
    "conn_fail": pkt("f"),
    "replycode": pkt("y", b"550 5.7.1 Gtube pattern\0"),
    "replycode_multi": pkt("y", b"451-4.7.1 a\r\n451 4.7.1 b\0"),
    "quarantine": pkt("q", b"virus found\0") + pkt("c"),
    "addheader": pkt("h", b"X-Spam\0Yes\0"),
    "insheader": pkt("i", u32(0) + b"X-Virus-Scanned\0ClamAV\0"),
    "chgheader": pkt("m", u32(1) + b"Subject\0 [SPAM] hi\0"),
    "delheader": pkt("m", u32(1) + b"X-Old\0\0"),
    "addrcpt": pkt("+", b"<new@example.org>\0"),
    "addrcpt_par": pkt("2", b"<new@example.org>\0NOTIFY=NEVER\0"),
    "delrcpt": pkt("-", b"<old@example.org>\0"),
    "replbody": pkt("b", b"new body\r\n") + pkt("b", b"more\r\n"),
    "chgfrom": pkt("e", b"<s@example.org>\0SIZE=10\0"),
    "setsymlist": pkt("l", u32(2) + b"{mail_addr} i\0"),
    "optneg": pkt("O", u32(6) + u32(0x31) + u32(0x1000f)),
    "optneg_lists": pkt("O", u32(6) + u32(0x1ff) + u32(0x80) +
                        u32(0) + b"j {client_addr}\0" + u32(5) + b"i\0"),
    "eom_mods": (pkt("h", b"X-Spam\0Yes\0") + pkt("p") +
                 pkt("m", u32(1) + b"Subject\0x\0") + pkt("a")),
    "bad_oversize": b"\xff\xff\xff\xff" + b"y",
    "bad_zero": u32(0) + b"a",
    "bad_unterminated": pkt("h", b"X-Spam\0Yes"),
}

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(b"\0" + data)
