#!/usr/bin/python3
"""make_dns_corpus — writes the seed corpus of fuzz_dns (tests/fuzz/corpus/dns/).

Each file is one raw DNS answer, as c-ares hands it to the ares_query
callback: header, question, answer records.  fuzz_dns feeds every file to
the MX, the A and the AAAA parser.  The seeds cover the well-formed answers
a resolver sees every day and the odd ones a broken or hostile server can
send (compression loops, truncation, over-long and binary names, floods of
records), so that libFuzzer starts from both.

Usage: make_dns_corpus.py [DIR]   (default: tests/fuzz/corpus/dns next to
this script).  Deterministic: running it again gives the same bytes.
"""
import os
import struct
import sys

T_A, T_NS, T_CNAME, T_MX, T_TXT, T_AAAA = 1, 2, 5, 15, 16, 28
C_IN = 1
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080
NOERROR, SERVFAIL, NXDOMAIN, REFUSED = 0, 2, 3, 5
QNAME_OFF = 12          # where the question name starts: pointer target


def name(text):
    """A domain name in wire format, without compression."""
    out = b""
    for label in (text.split(b".") if text not in (b"", b".") else []):
        if label:
            out += bytes([len(label)]) + label
    return out + b"\0"


def labels(*raw):
    """A name from raw labels (any bytes inside), root-terminated."""
    return b"".join(bytes([len(x)]) + x for x in raw) + b"\0"


def rel(*raw):
    """Raw labels, then a pointer to the question name (compression)."""
    return labels(*raw)[:-1] + ptr(QNAME_OFF)


def ptr(off):
    return struct.pack(">H", 0xC000 | off)


def header(ident=0x1234, flags=QR | RD | RA, rcode=NOERROR, qd=1, an=0,
           ns=0, ar=0):
    return struct.pack(">HHHHHH", ident, flags | rcode, qd, an, ns, ar)


def question(qname, qtype):
    return name(qname) + struct.pack(">HH", qtype, C_IN)


def rr(owner, rtype, rdata, ttl=300):
    return owner + struct.pack(">HHIH", rtype, C_IN, ttl, len(rdata)) + rdata


def mx_rdata(pref, host):
    return struct.pack(">H", pref) + host


def answer(qname, qtype, records, **kw):
    return (header(an=len(records), **kw) + question(qname, qtype) +
            b"".join(records))


def ipv4(text):
    return bytes(int(x) for x in text.split("."))


def ipv6(text):
    import ipaddress
    return ipaddress.IPv6Address(text).packed


def seeds():
    d = b"example.org"
    q = ptr(QNAME_OFF)
    s = {}
    s["mx_three"] = answer(d, T_MX, [
        rr(q, T_MX, mx_rdata(10, name(b"mx1.example.org"))),
        rr(q, T_MX, mx_rdata(20, rel(b"mx2"))),
        rr(q, T_MX, mx_rdata(20, labels(b"MX3", b"Example", b"NET"))),
    ])
    s["mx_null"] = answer(d, T_MX, [rr(q, T_MX, mx_rdata(0, b"\0"))])
    s["mx_null_and_host"] = answer(d, T_MX, [
        rr(q, T_MX, mx_rdata(0, b"\0")),
        rr(q, T_MX, mx_rdata(10, rel(b"mx"))),
    ])
    s["a_several"] = answer(b"mx1.example.org", T_A, [
        rr(q, T_A, ipv4(a)) for a in
        ("192.0.2.1", "192.0.2.2", "198.51.100.7", "203.0.113.9",
         "127.0.0.1")])
    s["a_unusable"] = answer(b"mx1.example.org", T_A, [
        rr(q, T_A, ipv4(a)) for a in
        ("0.0.0.0", "224.0.0.1", "255.255.255.255", "192.0.2.1")])
    s["aaaa_two"] = answer(b"mx1.example.org", T_AAAA, [
        rr(q, T_AAAA, ipv6("2001:db8::25")),
        rr(q, T_AAAA, ipv6("::ffff:192.0.2.1")),
        rr(q, T_AAAA, ipv6("::")),
    ])
    # www -> a.cname -> b.cname -> A; each target points back into the
    # previous record's data.
    p = header(an=3) + question(b"www.example.org", T_A)
    c1 = len(p) + 2 + 10
    p += rr(q, T_CNAME, labels(b"a", b"cname")[:-1] + ptr(QNAME_OFF + 4))
    c2 = len(p) + 2 + 10
    p += rr(ptr(c1), T_CNAME, labels(b"b")[:-1] + ptr(c1 + 2))
    p += rr(ptr(c2), T_A, ipv4("192.0.2.80"))
    s["cname_chain"] = p
    # the second host ends with a pointer into the first host's name
    p = header(an=2) + question(d, T_MX)
    smtp = len(p) + 2 + 10 + 2 + 4       # after "\3in1" in the rdata
    p += rr(q, T_MX, mx_rdata(5, labels(b"in1", b"smtp")[:-1] + q))
    p += rr(q, T_MX, mx_rdata(5, labels(b"in2")[:-1] + ptr(smtp)))
    s["mx_compression"] = p
    # a host name that is a pointer to itself, and two pointing at each
    # other
    p = header(an=1) + question(d, T_MX)
    here = len(p) + 2 + 10 + 2
    s["pointer_loop"] = p + rr(q, T_MX, mx_rdata(10, ptr(here)))
    p = header(an=1) + question(d, T_MX)
    here = len(p) + 2 + 10 + 2
    s["pointer_loop2"] = p + rr(q, T_MX, mx_rdata(
        10, labels(b"x")[:-1] + ptr(here + 4) + ptr(here)))
    s["truncated_header"] = header(an=1)[:7]
    whole = s["mx_three"]
    s["tc_truncated"] = (header(flags=QR | TC | RD | RA, an=3) +
                         whole[12:len(whole) - 9])
    s["long_name_255"] = answer(d, T_MX, [rr(q, T_MX, mx_rdata(
        10, labels(b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 61)))])
    s["long_name_over"] = answer(d, T_MX, [rr(q, T_MX, mx_rdata(
        10, labels(b"a" * 63, b"b" * 63, b"c" * 63, b"d" * 63,
                   b"e" * 20)))])
    s["label_ctrl"] = answer(d, T_MX, [
        rr(q, T_MX, mx_rdata(10, labels(b"mx\0evil", b"example", b"org"))),
        rr(q, T_MX, mx_rdata(20, labels(b"mx\r\nRCPT TO", b"org"))),
        rr(q, T_MX, mx_rdata(30, labels(b"a.b", b"org"))),
    ])
    s["label_nonascii"] = answer(d, T_MX, [
        rr(q, T_MX, mx_rdata(10, labels("mx-é".encode(), b"org"))),
        rr(q, T_MX, mx_rdata(10, labels(b"mx\xff\xfe", b"org"))),
    ])
    s["mx_100"] = answer(d, T_MX, [
        rr(q, T_MX, mx_rdata(i % 7, rel(b"mx%d" % i)))
        for i in range(100)])
    s["nxdomain"] = header(rcode=NXDOMAIN) + question(d, T_MX)
    s["servfail"] = header(rcode=SERVFAIL) + question(d, T_MX)
    s["nodata"] = header() + question(d, T_MX)
    s["wrong_type"] = answer(d, T_MX, [
        rr(q, T_TXT, b"\x0bhello world"),
        rr(q, T_NS, rel(b"ns")),
    ])
    s["query_not_answer"] = header(flags=RD, an=0) + question(d, T_MX)
    s["bad_rdlength"] = (header(an=1) + question(d, T_MX) + q +
                         struct.pack(">HHIH", T_MX, C_IN, 300, 4000) +
                         b"\0\x0a\x02mx\0")
    return s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "corpus", "dns")
    os.makedirs(out, exist_ok=True)
    for n, data in sorted(seeds().items()):
        with open(os.path.join(out, n), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds()), out))


if __name__ == "__main__":
    main()
