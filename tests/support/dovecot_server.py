"""Throwaway Dovecot IMAP server for tests (Dovecot 2.3): start/stop by PID, seed and deliver mail.

Owns only processes and files it creates in its own temp dir; never reads /etc/dovecot.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType

from imapclient import IMAPClient

DEFAULT_USERS: Mapping[str, str] = {"support@example.test": "secret"}

CONF = """\
# Standalone config: nothing from /etc/dovecot is included.
instance_name = dovecot-test-{port}
base_dir = {d}/run
state_dir = {d}/state
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
last_valid_uid = 0
first_valid_gid = {mail_gid}
mail_uid = {mail_uid}
mail_gid = {mail_gid}
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 50

passdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""

_APPENDUID = re.compile(rb"APPENDUID (\d+) ([0-9:,]+)")


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (small race: the socket is closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def find_dovecot() -> str | None:
    """Path of the dovecot binary (Debian puts it in /usr/sbin, often not on a user's PATH)."""
    found = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    return found if found and shutil.which("doveadm") else None


def _uid_set(spec: bytes) -> list[int]:
    """Expand an IMAP uid-set like b'4:6,9' into [4, 5, 6, 9]."""
    out: list[int] = []
    for part in spec.split(b","):
        lo, _, hi = part.partition(b":")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out


class DovecotServer:
    """One Dovecot master process on 127.0.0.1 with state in a temp dir.

    ``imaps=True`` makes a self-signed cert (CN/SAN localhost + 127.0.0.1), opens an IMAPS
    port and offers STARTTLS on the plain port; ``ssl_context()`` trusts that cert.
    """

    def __init__(self, users: Mapping[str, str] | None = None, imaps: bool = False) -> None:
        self.users = dict(users or DEFAULT_USERS)
        self.imaps = imaps
        self.dir = ""
        self.conf = ""
        self.port = 0
        self.imaps_port = 0
        self.cert_path: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10, attempts: int = 3) -> DovecotServer:
        binary = find_dovecot()
        if binary is None:
            raise RuntimeError("dovecot/doveadm not found; run .ci/install-system-packages")
        self.dir = d = tempfile.mkdtemp(prefix="dovecot-test-")
        os.chmod(d, 0o755)  # unprivileged dovecot processes must traverse it
        if os.geteuid() == 0:  # login/internal processes refuse to run as root
            internal_user, internal_group, login_user = "dovecot", "dovecot", "dovenull"
            mail_uid, mail_gid = pwd.getpwnam("nobody").pw_uid, grp.getgrnam("nogroup").gr_gid
        else:  # everything runs as the invoking user
            internal_user = login_user = pwd.getpwuid(os.getuid()).pw_name
            internal_group = grp.getgrgid(os.getgid()).gr_name
            mail_uid, mail_gid = os.getuid(), os.getgid()
        self.mail_uid, self.mail_gid = mail_uid, mail_gid
        os.makedirs(f"{d}/mail")
        os.chown(f"{d}/mail", mail_uid, mail_gid)
        with open(f"{d}/passwd", "w") as f:  # user:{SCHEME}pass:uid:gid::home::
            for u, p in self.users.items():
                f.write(f"{u}:{{PLAIN}}{p}:{mail_uid}:{mail_gid}::{d}/mail/{u}::\n")
        ssl_files = ""
        if self.imaps:
            self.cert_path = f"{d}/cert.pem"
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",  # P-256: instant, where RSA-2048 key generation takes ~0.5 s
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=localhost",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout",
                    f"{d}/key.pem",
                    "-out",
                    self.cert_path,
                ],
                check=True,
                capture_output=True,
            )
            ssl_files = f"ssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem"
        self.conf = f"{d}/dovecot.conf"
        for attempt in range(attempts):  # free_port() races with other processes: retry
            self.port = free_port()
            self.imaps_port = free_port() if self.imaps else 0
            with open(self.conf, "w") as f:
                f.write(
                    CONF.format(
                        d=d,
                        port=self.port,
                        imaps_port=self.imaps_port,
                        ssl="yes" if self.imaps else "no",
                        ssl_files=ssl_files,
                        internal_user=internal_user,
                        internal_group=internal_group,
                        login_user=login_user,
                        mail_uid=mail_uid,
                        mail_gid=mail_gid,
                    )
                )
            with open(f"{d}/stdout.log", "wb") as out:
                self.proc = subprocess.Popen(
                    [binary, "-F", "-c", self.conf],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group: stop() signals only ours
                )
            if self._wait_ready(timeout):
                return self
            self._terminate()
            if attempt == attempts - 1:
                details = self._read("stdout.log") + self.log()
                shutil.rmtree(d, ignore_errors=True)
                raise RuntimeError("dovecot failed to start: " + details)
        return self

    def _wait_ready(self, timeout: float) -> bool:
        """Wait until the plain port answers with a greeting; False if dovecot died."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return True
            except OSError:
                pass
            if self.proc.poll() is not None:
                return False
            time.sleep(0.05)
        return False

    def _terminate(self) -> None:
        """Kill the master and all its children at once (SIGKILL to the process group).

        A graceful SIGTERM to the master takes ~1 s (it drains its log process), and
        SIGTERM to the whole group races with the master respawning the log process (6 s).
        Nothing here needs a clean shutdown: the temp dir is deleted next.
        """
        proc, self.proc = self.proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):  # the group start() created
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)

    def stop(self) -> None:
        self._terminate()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- inspection --------------------------------------------------------------------------

    def _read(self, name: str) -> str:
        p = os.path.join(self.dir, name)
        if not os.path.exists(p):
            return ""
        with open(p, errors="replace") as f:
            return f.read()

    def log(self) -> str:
        return self._read("dovecot.log")

    def maildir(self, user: str) -> str:
        return f"{self.dir}/mail/{user}/Maildir"

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed cert (imaps=True only)."""
        if not self.cert_path:
            raise RuntimeError("server was started without imaps=True")
        return ssl.create_default_context(cafile=self.cert_path)

    def doveadm(self, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["doveadm", "-c", self.conf, *args], check=True, capture_output=True, input=input
        )

    def status(self, user: str, folder: str = "INBOX") -> dict[str, int]:
        """messages/uidnext/uidvalidity/unseen of a folder, read by doveadm (no IMAP session)."""
        out = self.doveadm(
            "-f",
            "flow",
            "mailbox",
            "status",
            "-u",
            user,
            "messages uidnext uidvalidity unseen",
            folder,
        ).stdout.decode()
        return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out)}

    # -- changing mail -----------------------------------------------------------------------

    def client(self, user: str) -> IMAPClient:
        """A logged-in plain IMAPClient for ``user`` (caller logs out)."""
        c = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        c.login(user, self.users[user])
        return c

    def deliver_many(
        self, user: str, raws: Sequence[bytes], folder: str = "INBOX", chunk: int = 500
    ) -> list[int]:
        """MULTIAPPEND ``raws`` to ``folder`` (created if missing); returns the new UIDs."""
        uids: list[int] = []
        c = self.client(user)
        try:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            for i in range(0, len(raws), chunk):
                resp = c.multiappend(folder, list(raws[i : i + chunk]))
                m = _APPENDUID.search(resp if isinstance(resp, bytes) else str(resp).encode())
                if m:
                    uids.extend(_uid_set(m.group(2)))
        finally:
            c.logout()
        return uids

    def deliver(self, user: str, raw: bytes, folder: str = "INBOX") -> int:
        """APPEND one message over IMAP; returns its UID."""
        return self.deliver_many(user, [raw], folder)[0]

    def set_uidvalidity(self, user: str, folder: str, value: int) -> None:
        """Simulate a server-side UIDVALIDITY reset (e.g. a restored or rebuilt mailbox)."""
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(value), folder)

    def expunge(self, user: str, folder: str, uids: Iterable[int]) -> None:
        for uid in uids:
            self.doveadm("expunge", "-u", user, "mailbox", folder, "uid", str(uid))

    def kick(self, user: str) -> None:
        """Disconnect every IMAP session of ``user`` (server side, like a crash or restart).

        `doveadm kick` returns once the signal is sent; wait until the sessions are gone so
        that the caller's next command surely meets a closed connection.
        """
        self.doveadm("kick", user)
        deadline = time.monotonic() + 10
        while user in self.doveadm("who", "-1").stdout.decode(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"dovecot did not end the sessions of {user}")
            time.sleep(0.05)


def seed_maildir(
    srv: DovecotServer,
    user: str,
    raw_messages: Sequence[bytes],
    folder: str | None = None,
    seen: bool = False,
) -> None:
    """Fastest seeding: write files straight into the user's Maildir; Dovecot assigns
    UIDs (in file-name order) the next time the mailbox is opened."""
    home = f"{srv.dir}/mail/{user}"
    md = f"{home}/Maildir" + (f"/.{folder.replace('/', '.')}" if folder else "")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(f"{md}/{sub}", exist_ok=True)
    host = socket.gethostname()
    for i, raw in enumerate(raw_messages):
        name = f"{1700000000 + i}.M{i}P{os.getpid()}.{host},S={len(raw)}:2,{'S' if seen else ''}"
        with open(f"{md}/cur/{name}", "wb") as f:
            f.write(raw)
    if os.geteuid() == 0:  # files must belong to the mail user
        for root, _dirs, files in os.walk(home):
            for p in [root] + [os.path.join(root, x) for x in files]:
                os.chown(p, srv.mail_uid, srv.mail_gid)


def make_message(
    subject: str = "Hello",
    body: str = "Hi there.\n",
    *,
    sender: str = "customer@example.com",
    to: str = "support@example.test",
    message_id: str | None = None,
) -> bytes:
    """A small CRLF RFC 5322 message (UTF-8 subject/body allowed)."""
    from email.message import EmailMessage
    from email.utils import make_msgid

    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    m["Subject"] = subject
    m["Message-ID"] = message_id or make_msgid(domain="example.com")
    m.set_content(body)
    return m.as_bytes(policy=m.policy.clone(linesep="\r\n"))
