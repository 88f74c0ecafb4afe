"""A private slapd for the LDAP directory tests.

Each Slapd is Debian's /usr/sbin/slapd run with a test-only slapd.conf
(`-f`) and an mdb database under the test's temporary directory, loaded
with slapadd, listening on one loopback address and port, in the
foreground (`-d stats`, so its log counts the searches), and stopped by
the PID it was started with.  Nothing here reads or touches a system
slapd, its configuration or its database.
"""
import os
import socket
import subprocess

from procfix import Daemon

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
SCHEMA = "/etc/ldap/schema"
MODULES = "/usr/lib/ldap"

BASE = "dc=winery,dc=local"
BIND_DN = "cn=gateway,ou=services," + BASE
PASSWORD = "gateway-s3cret"


def conf_text(dbdir, pidfile, tls=None, loglevel="stats"):
    schemas = "".join("include %s/%s.schema\n" % (SCHEMA, s) for s in
                      ("core", "cosine", "inetorgperson", "nis", "misc"))
    tlsconf = "" if tls is None else (
        "TLSCertificateFile %s\nTLSCertificateKeyFile %s\n" % tls)
    return f"""\
{schemas}
{tlsconf}
modulepath {MODULES}
moduleload back_mdb
pidfile {pidfile}
loglevel {loglevel}
sizelimit 500

database mdb
suffix "{BASE}"
rootdn "cn=admin,{BASE}"
rootpw admin-secret
directory {dbdir}
maxsize 268435456
index objectClass eq
index mail,mailLocalAddress eq
# The gateway binds; anonymous clients may only bind, never read.
access to attrs=userPassword by anonymous auth by * none
access to * by dn.exact="{BIND_DN}" read by * none
"""


def user(uid, mail, host):
    return f"""\
dn: uid={uid},ou=people,{BASE}
objectClass: inetOrgPerson
objectClass: inetLocalMailRecipient
uid: {uid}
cn: {uid}
sn: {uid}
mail: {mail}
mailHost: {host}

"""


def mlist(cn, addr, members):
    text = f"""\
dn: cn={cn},ou=lists,{BASE}
objectClass: nisMailAlias
objectClass: inetLocalMailRecipient
cn: {cn}
mailLocalAddress: {addr}
"""
    return text + "".join("rfc822MailMember: %s\n" % m for m in members) + "\n"


def group(cn, members, addr=None):
    """An Active Directory style group: member DNs (groupOfNames), with an
    address of its own (mailLocalAddress) or none (a nested group)."""
    text = f"""\
dn: cn={cn},ou=groups,{BASE}
objectClass: groupOfNames
"""
    if addr:
        text += "objectClass: inetLocalMailRecipient\nmailLocalAddress: %s\n" % addr
    text += "cn: %s\n" % cn
    return text + "".join("member: %s\n" % m for m in members) + "\n"


def person_dn(uid):
    return "uid=%s,ou=people,%s" % (uid, BASE)


def group_dn(cn):
    return "cn=%s,ou=groups,%s" % (cn, BASE)


def groups():
    """sales (ericm, kimy, a DN with no entry, a group with no address),
    outer -> inner (no address) -> eric, a loop grpa -> grpb -> grpa, and
    a chain deeper than the nesting limit."""
    text = f"""\
dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

"""
    text += group("sales", [person_dn("ericm"), person_dn("kimy"),
                            person_dn("gone"), group_dn("empty")],
                  "sales@winery-co.co")
    text += group("empty", [person_dn("gone2")])
    text += group("outer", [group_dn("inner"), person_dn("ericm")],
                  "outer@winery-co.co")
    text += group("inner", [person_dn("eric")])
    text += group("grpa", [group_dn("grpb"), person_dn("ericm")],
                  "grpa@winery-co.co")
    text += group("grpb", [group_dn("grpa"), person_dn("kimy")],
                  "grpb@winery-co.co")
    for i in range(12):
        text += group("gdeep%d" % i, [group_dn("gdeep%d" % (i + 1))] if i < 11
                      else [person_dn("ericm")],
                      "gdeep%d@winery-co.co" % i if i == 0 else None)
    return text


def catchall(cn, domain, host):
    return f"""\
dn: cn={cn},ou=lists,{BASE}
objectClass: nisMailAlias
objectClass: inetLocalMailRecipient
cn: {cn}
mailLocalAddress: @{domain}
mailHost: {host}

"""


def ldif(kimy_host, extra=""):
    """The winery: users, a list, a nested list, a looping pair, a chain
    deeper than the nesting limit, an address found twice, addresses with
    filter specials, and a catch-all for winery.local."""
    head = f"""\
dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Winery
dc: winery

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=lists,{BASE}
objectClass: organizationalUnit
ou: lists

dn: ou=services,{BASE}
objectClass: organizationalUnit
ou: services

dn: {BIND_DN}
objectClass: person
cn: gateway
sn: gateway
userPassword: {PASSWORD}

"""
    body = (user("ericm", "ericm@winery-co.co", "mbx1.winery.local") +
            user("kimy", "kimy@winery-co.co", kimy_host) +
            user("eric", "eric@winery-co.co", "local") +
            user("star", "star*user@winery-co.co", "mbx1.winery.local") +
            user("paren", '"paren)(user"@winery-co.co', "mbx1.winery.local") +
            user("dup1", "dup@winery-co.co", "mbx1.winery.local") +
            user("dup2", "dup@winery-co.co", kimy_host) +
            user("bob", "bob@winery.local", kimy_host) +
            mlist("team", "team@winery-co.co",
                  ["ericm@winery-co.co", "KimY@Winery-Co.CO",
                   "not an address"]) +
            mlist("all", "all@winery-co.co",
                  ["team@winery-co.co", "ericm@winery-co.co",
                   "eric@winery-co.co", "kimy@winery-co.co"]) +
            mlist("loopa", "loopa@winery-co.co",
                  ["loopb@winery-co.co", "ericm@winery-co.co"]) +
            mlist("loopb", "loopb@winery-co.co",
                  ["loopa@winery-co.co", "kimy@winery-co.co"]) +
            catchall("catchall", "winery.local", "mbx1.winery.local"))
    # deep0 -> deep1 -> ... -> deep11 -> ericm: past the 10 levels.
    for i in range(12):
        body += mlist("deep%d" % i, "deep%d@winery-co.co" % i,
                      ["deep%d@winery-co.co" % (i + 1)] if i < 11
                      else ["ericm@winery-co.co"])
    return head + body + groups() + extra


def free_port(addr):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def make_cert(d, addr):
    """A self-signed certificate for addr (its own CA)."""
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-keyout", key, "-out", cert, "-subj", "/CN=" + addr,
                    "-addext", "subjectAltName=IP:" + addr],
                   check=True, capture_output=True)
    return cert, key


class Slapd(Daemon):
    """tls=True adds TLS: StartTLS on the ldap:// port and an ldaps://
    port, with a self-signed certificate (self.cafile).  Started and
    stopped as posternd is (procfix.py); ready when its port answers."""

    what = "slapd"

    def __init__(self, tmp, name, addr, data, port=None, tls=False,
                 loglevel="stats"):
        self.dir = os.path.join(tmp, "slapd-" + name)
        self.addr = addr
        self.port = port or free_port(addr)
        self.uri = "ldap://%s:%d" % (addr, self.port)
        self.logpath = os.path.join(self.dir, "slapd.log")
        self.conf = os.path.join(self.dir, "slapd.conf")
        self.proc = None
        db = os.path.join(self.dir, "db")
        os.makedirs(db, exist_ok=True)
        self.listen = [self.uri + "/"]
        self.cafile = None
        tlsfiles = None
        if tls:
            tlsfiles = make_cert(self.dir, addr)
            self.cafile = tlsfiles[0]
            self.ldaps_uri = "ldaps://%s:%d" % (addr, free_port(addr))
            self.listen.append(self.ldaps_uri + "/")
        with open(self.conf, "w") as f:
            f.write(conf_text(db, os.path.join(self.dir, "slapd.pid"),
                              tlsfiles, loglevel))
        self.loglevel = loglevel
        ldifpath = os.path.join(self.dir, "data.ldif")
        with open(ldifpath, "w") as f:
            f.write(data)
        r = subprocess.run([SLAPADD, "-f", self.conf, "-l", ldifpath],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("slapadd: " + r.stderr)

    def start(self):
        return self.spawn([SLAPD, "-f", self.conf, "-h", " ".join(self.listen),
                           "-d", self.loglevel], lambda log: self.answers())

    def answers(self):
        try:
            socket.create_connection((self.addr, self.port), 0.2).close()
            return True
        except OSError:
            return False

    def stop(self):
        super().stop(timeout=10)

    def filters(self):
        """The filter of every search slapd was asked, in order."""
        out = []
        for line in self.log().splitlines():
            if " SRCH base=" in line and ' filter="' in line:
                out.append(line.split(' filter="', 1)[1].rsplit('"', 1)[0])
        return out

    def searches_for(self, text):
        return sum(1 for f in self.filters() if text in f)


# ---- a directory server that misbehaves on purpose ----
#
# Enough of LDAP (RFC 4511) in BER to take a simple bind, StartTLS and a
# search, and to answer the search with only the beginning of its reply:
# the bytes of a TLS record cut in the middle (ldaps://, StartTLS), or the
# tag and length of an LDAP message without its contents (ldap://).  TLS
# runs over memory BIOs so that the test decides which raw bytes leave.

def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, content):
    return bytes([tag]) + ber_len(len(content)) + content


def ber_int(v, tag=0x02):
    return tlv(tag, v.to_bytes(max(1, (v.bit_length() + 8) // 8), "big",
                               signed=True))


def ldap_msg(msgid, op):
    return tlv(0x30, ber_int(msgid) + op)


def ldap_result(msgid, optag, code=0, extra=b""):
    return ldap_msg(msgid, tlv(optag, ber_int(code, 0x0a) + tlv(0x04, b"") +
                               tlv(0x04, b"") + extra))


def ldap_entry(msgid, dn, attrs):
    return ldap_msg(msgid, tlv(0x64, tlv(0x04, dn.encode()) + tlv(0x30, b"".join(
        tlv(0x30, tlv(0x04, a.encode()) + tlv(0x31, b"".join(
            tlv(0x04, v.encode()) for v in vals)))
        for a, vals in attrs.items()))))


def ber_split(buf):
    """(one whole BER element, the rest), or (None, buf) if incomplete."""
    if len(buf) < 2:
        return None, buf
    n, off = buf[1], 2
    if n & 0x80:
        k = n & 0x7f
        if len(buf) < 2 + k:
            return None, buf
        n, off = int.from_bytes(buf[2:2 + k], "big"), 2 + k
    if len(buf) < off + n:
        return None, buf
    return buf[:off + n], buf[off + n:]


def ber_header_len(buf):
    """The octets of a BER element's tag and length."""
    return 2 + (buf[1] & 0x7f if buf[1] & 0x80 else 0)


def ldap_parse(msg):
    """(message id, protocol op tag) of a whole LDAPMessage."""
    idel, rest = ber_split(msg[ber_header_len(msg):])
    return int.from_bytes(idel[2:], "big", signed=True), rest[0]


STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"


class StallingLdap:
    """An LDAP server on (addr, port) for one test.  mode: "ldaps" (TLS
    from the start), "starttls" (TLS after the StartTLS operation) or
    "ldap" (never TLS).  Binds succeed; a search is answered with only the
    first part of its reply, then nothing for `pause` seconds, then the
    connection is closed.  self.stalled is set once a reply is cut."""

    def __init__(self, tmp, addr, mode, pause):
        import threading
        self.addr, self.mode, self.pause = addr, mode, pause
        self.dir = os.path.join(tmp, "stalling-ldap")
        os.makedirs(self.dir, exist_ok=True)
        self.cafile = None
        if mode != "ldap":
            self.cafile, self.keyfile = make_cert(self.dir, addr)
        self.lsock = socket.socket()
        self.lsock.bind((addr, 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.uri = "%s://%s:%d" % ("ldaps" if mode == "ldaps" else "ldap",
                                   addr, self.port)
        self.stalled = threading.Event()
        self.stop_ev = threading.Event()
        self.searches = 0
        self.errors = []
        self.conns = []
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        import threading
        self.lsock.settimeout(0.2)
        while not self.stop_ev.is_set():
            try:
                c, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(c)
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            self.threads.append(t)
            t.start()

    def _serve(self, c):
        try:
            _Conn(self, c).run()
        except (OSError, EOFError):
            pass
        except Exception as e:          # noqa: BLE001 -- shown by the test
            self.errors.append(repr(e))
        finally:
            c.close()

    def stop(self):
        self.stop_ev.set()
        self.lsock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self.threads:
            t.join(10)


class _Conn:
    """One client connection of a StallingLdap."""

    def __init__(self, srv, sock):
        self.srv, self.sock = srv, sock
        self.tls = None
        self.buf = b""
        sock.settimeout(30)

    def start_tls(self):
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.srv.cafile, self.srv.keyfile)
        self.inc, self.out = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ctx.wrap_bio(self.inc, self.out, server_side=True)
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self.flush()
                self.feed()
        self.flush()

    def flush(self):
        data = self.out.read()
        if data:
            self.sock.sendall(data)

    def feed(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.inc.write(data)

    def recv(self):
        import ssl
        if self.tls is None:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            return data
        while True:
            try:
                return self.tls.read(65536)
            except ssl.SSLWantReadError:
                self.flush()
                self.feed()

    def send(self, data, cut=False):
        """The whole reply, or (cut) only its first part."""
        if self.tls is None:
            raw = data
        else:
            self.tls.write(data)
            raw = self.out.read()
        if cut:
            # Half a TLS record, or an LDAP message's tag and length.
            raw = raw[:len(raw) // 2] if self.tls else \
                raw[:ber_header_len(raw)]
        self.sock.sendall(raw)

    def run(self):
        srv = self.srv
        if srv.mode == "ldaps":
            self.start_tls()
        while True:
            msg, self.buf = ber_split(self.buf)
            if msg is None:
                self.buf += self.recv()
                continue
            msgid, op = ldap_parse(msg)
            if op == 0x60:                      # BindRequest
                self.send(ldap_result(msgid, 0x61))
            elif op == 0x77 and srv.mode == "starttls":
                self.send(ldap_result(msgid, 0x78, extra=tlv(
                    0x8a, STARTTLS_OID)))
                self.start_tls()
            elif op == 0x63:                    # SearchRequest
                srv.searches += 1
                reply = (ldap_entry(msgid, "uid=ericm,ou=people," + BASE, {
                    "mail": ["ericm@winery-co.co"],
                    "mailHost": ["mbx1.winery.local"]}) +
                    ldap_result(msgid, 0x65))
                self.send(reply, cut=True)
                srv.stalled.set()
                srv.stop_ev.wait(srv.pause)
                return
            elif op == 0x42:                    # UnbindRequest
                return
            else:                               # not asked by posternd
                raise EOFError
