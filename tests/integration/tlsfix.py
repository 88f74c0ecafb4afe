"""TLS fixtures for the TLS and AUTH tests: a test CA and certificates
made with the openssl command, SMTP peers with TLS (aiosmtpd, a scripted
peer that injects bytes after its 220 to STARTTLS, and one whose TLS side
is `openssl s_server`), and password hashes made with `openssl passwd`.

Everything is made under the test's tmp directory and listens on
127.0.0.0/8 only.
"""
import os
import socket
import ssl
import subprocess
import threading
import time

import pytest
from aiosmtpd.controller import Controller

from conftest import open_to_run_user
from netfix import Sink

OPENSSL = "openssl"


def run(*args):
    subprocess.run([OPENSSL] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def passwd_hash(password):
    """A SHA-512 crypt hash, as `openssl passwd -6` makes it."""
    return subprocess.run([OPENSSL, "passwd", "-6", password], check=True,
                          capture_output=True, text=True).stdout.strip()


class PKI:
    """A test CA, certificates it signs, and self-signed ones."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(d, exist_ok=True)
        open_to_run_user(d)     # certificates are read again on reload
        self.ca = os.path.join(d, "ca.pem")
        self.ca_key = os.path.join(d, "ca.key")
        run("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", self.ca_key,
            "-out", self.ca, "-days", "3", "-subj", "/CN=postern test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self.n = 0

    def cert(self, cn, dns=(), ips=(), self_signed=False):
        """(certificate, key) paths for cn with these subjectAltNames."""
        self.n += 1
        base = os.path.join(self.dir, "%s-%d" % (cn.replace("*", "star"),
                                                 self.n))
        key, crt = base + ".key", base + ".pem"
        san = ",".join(["DNS:" + n for n in dns] + ["IP:" + i for i in ips])
        if self_signed:
            args = ["req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "3", "-subj", "/CN=" + cn]
            if san:
                args += ["-addext", "subjectAltName=" + san]
            run(*args)
            return crt, key
        csr = base + ".csr"
        run("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
            "-out", csr, "-subj", "/CN=" + cn)
        ext = base + ".ext"
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            f.write("extendedKeyUsage=serverAuth\n")
            if san:
                f.write("subjectAltName=%s\n" % san)
        run("x509", "-req", "-in", csr, "-CA", self.ca, "-CAkey", self.ca_key,
            "-CAcreateserial", "-out", crt, "-days", "3", "-extfile", ext)
        return crt, key


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return PKI(str(tmp_path_factory.mktemp("pki")))


def server_context(cert, key, minimum=None, maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if minimum:
        ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


class TLSSink(Sink):
    """An aiosmtpd sink that offers STARTTLS with the given certificate
    and records, per message, the TLS version it came over (or None)."""
    __test__ = False

    def __init__(self, addr, port, cert, key, **kw):
        super().__init__(addr, port, **kw)
        inner = self.controller.handler
        self.tls = []
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address,
                                  rcpt_options):
                return await inner.handle_RCPT(server, session, envelope,
                                               address, rcpt_options)

            async def handle_DATA(self, server, session, envelope):
                obj = session.ssl.get("ssl_object") if session.ssl else None
                sink.tls.append(obj.version() if obj else None)
                return await inner.handle_DATA(server, session, envelope)

        self.controller = Controller(Handler(), hostname=addr, port=port,
                                     ready_timeout=10,
                                     tls_context=server_context(cert, key))


class LinePeer:
    """A scripted SMTP peer on a thread.  It offers STARTTLS; on STARTTLS
    it answers `starttls_reply` (by default 220 followed by `inject`, in
    one write) and then runs the TLS side with `tls_side(conn)`, which
    returns a (readline, write, close) triple; without TLS it speaks SMTP
    in clear.  `sessions` lists, per connection, the commands it read
    (those after the handshake prefixed with "TLS ")."""

    def __init__(self, addr, port, inject=b"", offer_starttls=True):
        self.addr, self.port = addr, port
        self.inject = inject
        self.offer_starttls = offer_starttls
        self.sessions = []
        self.messages = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(8)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping = True
        try:
            socket.create_connection((self.addr, self.port), timeout=1).close()
        except OSError:
            pass
        self.thread.join(10)
        self.sock.close()

    def tls_side(self, conn):
        raise NotImplementedError

    def _serve(self):
        while not self.stopping:
            conn, _ = self.sock.accept()
            if self.stopping:
                conn.close()
                break
            threading.Thread(target=self._session, args=(conn,),
                             daemon=True).start()

    def _session(self, conn):
        cmds = []
        self.sessions.append(cmds)
        f = conn.makefile("rb")
        readline = f.readline

        def write(b):
            conn.sendall(b)

        close = conn.close
        tls = ""
        try:
            write(b"220 peer ESMTP\r\n")
            while True:
                line = readline()
                if not line:
                    break
                cmd = line.decode("ascii", "replace").rstrip("\r\n")
                cmds.append(tls + cmd)
                verb = cmd.split(" ")[0].upper()
                if verb == "EHLO":
                    write(b"250-peer\r\n" + (b"250-STARTTLS\r\n" if
                          self.offer_starttls and not tls else b"") +
                          b"250 8BITMIME\r\n")
                elif verb == "STARTTLS" and not tls:
                    write(b"220 2.0.0 Ready to start TLS\r\n" + self.inject)
                    f.close()
                    readline, write, close = self.tls_side(conn)
                    tls = "TLS "
                elif verb == "DATA":
                    write(b"354 go ahead\r\n")
                    data = b""
                    while not data.endswith(b"\r\n.\r\n"):
                        chunk = readline()
                        if not chunk:
                            return
                        data += chunk
                    self.messages.append((tls, data))
                    write(b"250 2.0.0 queued\r\n")
                elif verb == "QUIT":
                    write(b"221 2.0.0 bye\r\n")
                    break
                else:
                    write(b"250 2.0.0 ok\r\n")
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            try:
                close()
            except OSError:
                pass


class InjectingPeer(LinePeer):
    """TLS by Python's ssl, with bytes injected after the 220."""

    def __init__(self, addr, port, cert, key, **kw):
        super().__init__(addr, port, **kw)
        self.context = server_context(cert, key)

    def tls_side(self, conn):
        t = self.context.wrap_socket(conn, server_side=True)
        f = t.makefile("rb")
        return f.readline, t.sendall, t.close


class SServerPeer(LinePeer):
    """The TLS side is `openssl s_server`: after the 220 the connection is
    spliced to an s_server started for it, and the rest of the session is
    spoken through that s_server's stdin and stdout."""

    def __init__(self, addr, port, cert, key, args=(), **kw):
        super().__init__(addr, port, **kw)
        self.cert, self.key, self.args = cert, key, list(args)
        self.procs = []

    def tls_side(self, conn):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen(
            [OPENSSL, "s_server", "-quiet", "-naccept", "1", "-accept",
             "127.0.0.1:%d" % port, "-cert", self.cert, "-key", self.key]
            + self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        deadline = time.time() + 10
        while True:
            try:
                up = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

        def pipe(a, b):
            try:
                while True:
                    d = a.recv(65536)
                    if not d:
                        break
                    b.sendall(d)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        threading.Thread(target=pipe, args=(conn, up), daemon=True).start()
        threading.Thread(target=pipe, args=(up, conn), daemon=True).start()

        def write(b):
            proc.stdin.write(b)
            proc.stdin.flush()

        def close():
            for s in (conn, up):
                s.close()
            proc.kill()
            proc.wait()

        return proc.stdout.readline, write, close

    def stop(self):
        super().stop()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
