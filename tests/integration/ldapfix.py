"""A private slapd for the LDAP directory tests.

Each Slapd is Debian's /usr/sbin/slapd run with a test-only slapd.conf
(`-f`) and an mdb database under the test's temporary directory, loaded
with slapadd, listening on one loopback address and port, in the
foreground (`-d stats`, so its log counts the searches), and stopped by
the PID it was started with.  Nothing here reads or touches a system
slapd, its configuration or its database.
"""
import os
import signal
import socket
import subprocess
import time

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
    return head + body + extra


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


class Slapd:
    """tls=True adds TLS: StartTLS on the ldap:// port and an ldaps://
    port, with a self-signed certificate (self.cafile)."""

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
        logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen(
            [SLAPD, "-f", self.conf, "-h", " ".join(self.listen), "-d",
             self.loglevel],
            stdout=logf, stderr=logf)
        logf.close()
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("slapd exited: " + self.log())
            try:
                socket.create_connection((self.addr, self.port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not start: " + self.log())

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log(self):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def filters(self):
        """The filter of every search slapd was asked, in order."""
        out = []
        for line in self.log().splitlines():
            if " SRCH base=" in line and ' filter="' in line:
                out.append(line.split(' filter="', 1)[1].rsplit('"', 1)[0])
        return out

    def searches_for(self, text):
        return sum(1 for f in self.filters() if text in f)
