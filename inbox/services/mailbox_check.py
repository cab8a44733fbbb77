"""Connection check of one mailbox (IMAP log-in and folders, SMTP hand-shake, local path), as a structured result.

Used by ``inbox mailbox check`` and the admin page's "test connection" button. Reads the
mailbox row and its sealed secrets; writes nothing and sends no mail. Every problem is a
sentence in plain words, never containing a password. Other mailbox kinds (Rakuten,
Yahoo) add their checker to ``CHECKERS`` with ``register_checker``; mall checkers send their
requests through ``env`` (``inbox.services.mall_rate.env_for(runtime)``, the same per-account
request limit as polling).
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from inbox.crypto import SecretBox
from inbox.models import Mailbox, MailboxKind
from inbox.services.mailboxes import SmtpConnection, imap_settings, smtp_connection
from inbox.sources.imap import ImapConnection, ImapError, ImapSettings
from inbox.sources.local import LocalSourceError, count_local, detect_kind
from inbox.sources.mall_http import MallEnv

CHECK_TIMEOUT = 15.0


@dataclass(frozen=True)
class Problem:
    """One thing that is wrong. ``kind``: dns, refused, timeout, tls, login, folder,
    protocol, config or path (the ``ImapError`` kinds plus ``path``)."""

    service: str  # "imap" | "smtp" | "local" | another kind's name
    kind: str
    message: str


@dataclass(frozen=True)
class FolderReport:
    name: str
    role: str  # "watched" | "sent" | "move_to"
    messages: int | None = None
    uidvalidity: int | None = None
    uidnext: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass
class CheckResult:
    mailbox: str
    kind: str
    target: str = ""  # "IMAP 127.0.0.1:143 (plain) as support@example.test", a path, ...
    logged_in: bool = False
    folders: list[FolderReport] = field(default_factory=list)
    smtp_target: str | None = None  # None: the mailbox has no SMTP settings
    smtp_steps: list[str] = field(default_factory=list)  # what succeeded, in order
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def problem(self, service: str, kind: str, message: str) -> None:
        self.problems.append(Problem(service, kind, message))


def check_mailbox(
    mailbox: Mailbox, box: SecretBox, *, timeout: float = CHECK_TIMEOUT, env: MallEnv | None = None
) -> CheckResult:
    """Connect as the mailbox would and report what works and what does not (never raises
    for connection problems; they are in ``result.problems``). ``env``: how mall requests
    leave (pass ``mall_rate.env_for(runtime)``; None only where no mall is checked)."""
    result = CheckResult(mailbox=mailbox.name, kind=mailbox.kind.value)
    checker = CHECKERS.get(mailbox.kind)
    if checker is None:
        result.problem("config", "config", f"Mailboxes of kind {mailbox.kind.value} cannot be checked.")
        return result
    checker(mailbox, box, result, timeout, env)
    return result


def register_checker(
    kind: MailboxKind,
    checker: Callable[[Mailbox, SecretBox, CheckResult, float, MallEnv | None], None],
) -> None:
    CHECKERS[kind] = checker


# --- IMAP ----------------------------------------------------------------------------------


def _check_imap(
    mailbox: Mailbox, box: SecretBox, result: CheckResult, timeout: float, env: MallEnv | None
) -> None:
    try:
        settings = imap_settings(mailbox, box, timeout=timeout)
    except ImapError as exc:
        result.problem("imap", exc.kind, str(exc))
        return
    result.target = f"IMAP {settings.address} ({settings.security}) as {settings.username}"
    check_imap(settings, result)
    smtp = smtp_connection(mailbox, box)
    if smtp is not None:
        check_smtp(smtp, result, timeout=timeout)


def _folders_to_check(settings: ImapSettings) -> list[tuple[str, str]]:
    wanted = [(name, "watched") for name in settings.folders]
    if settings.sent_folder:
        wanted.append((settings.sent_folder, "sent"))
    if settings.after_fetch == "move" and settings.move_to:
        wanted.append((settings.move_to, "move_to"))
    seen: set[str] = set()
    return [(n, r) for n, r in wanted if not (n in seen or seen.add(n))]


def check_imap(settings: ImapSettings, result: CheckResult) -> None:
    """Log in, then read MESSAGES/UIDVALIDITY/UIDNEXT of every folder the mailbox uses."""
    try:
        conn = ImapConnection(settings)
        conn.open()
    except ImapError as exc:
        result.problem("imap", exc.kind, str(exc))
        return
    result.logged_in = True
    try:
        existing: list[str] | None = None
        for name, role in _folders_to_check(settings):
            try:
                st = conn.folder_status(name)
            except ImapError as exc:
                message = str(exc)
                if exc.kind == "folder":
                    if existing is None:
                        existing = _safe_list(conn)
                    if existing:
                        message += " Folders on the server: " + ", ".join(existing) + "."
                result.folders.append(FolderReport(name, role, problem=message))
                result.problem("imap", exc.kind, message)
                continue
            result.folders.append(
                FolderReport(name, role, st["messages"], st["uidvalidity"], st["uidnext"])
            )
    finally:
        conn.close()


def _safe_list(conn: ImapConnection) -> list[str]:
    try:
        return sorted(conn.list_folders())
    except ImapError:
        return []


# --- SMTP ----------------------------------------------------------------------------------


def check_smtp(conn: SmtpConnection, result: CheckResult, *, timeout: float = CHECK_TIMEOUT) -> None:
    """Connect, EHLO, STARTTLS or SSL, AUTH when a user name is set; then QUIT. Sends nothing."""
    where = f"{conn.host}:{conn.port}"
    result.smtp_target = f"SMTP {where} ({conn.security})" + (
        f" as {conn.username}" if conn.username else ""
    )
    steps = result.smtp_steps
    context = ssl.create_default_context()
    client: smtplib.SMTP | None = None
    stage = "connect"
    try:
        if conn.security == "ssl":
            client = smtplib.SMTP_SSL(conn.host, conn.port, timeout=timeout, context=context)
            steps.append("TLS")
        else:
            client = smtplib.SMTP(conn.host, conn.port, timeout=timeout)
        steps.append("connected")
        stage = "EHLO"
        client.ehlo()
        steps.append("EHLO")
        if conn.security == "starttls":
            stage = "STARTTLS"
            if not client.has_extn("starttls"):
                result.problem(
                    "smtp",
                    "tls",
                    f"{where} does not offer STARTTLS, so the password and the mail would travel"
                    " unencrypted; use ssl (usually port 465) or enable TLS on the server.",
                )
                return
            client.starttls(context=context)
            client.ehlo()
            steps.append("STARTTLS")
        if conn.username:
            stage = "AUTH"
            if not client.has_extn("auth"):
                result.problem(
                    "smtp", "login", f"{where} does not offer AUTH, so it cannot log in as {conn.username}."
                )
                return
            client.login(conn.username, conn.password or "")
            steps.append("AUTH")
    except Exception as exc:  # noqa: BLE001 - every failure becomes a plain-words problem
        kind, message = _smtp_words(exc, conn, where, stage, timeout)
        result.problem("smtp", kind, message)
    finally:
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()


def _smtp_words(
    exc: Exception, conn: SmtpConnection, where: str, stage: str, timeout: float
) -> tuple[str, str]:
    said = _scrub(str(exc), conn.password)
    if isinstance(exc, socket.gaierror):
        return "dns", f"SMTP host name {conn.host} could not be resolved."
    if isinstance(exc, ConnectionRefusedError):
        return "refused", f"Connection refused by {where}: is the SMTP server running and is the port right?"
    if isinstance(exc, TimeoutError):
        return "timeout", f"{where} did not answer within {timeout:g} s during {stage}."
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "verify_message", None) or exc.reason or said
        if reason == "WRONG_VERSION_NUMBER":
            reason = "the server did not answer with TLS (is this a plain or STARTTLS port?)"
        return "tls", f"TLS handshake with {where} failed: {reason}."
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return (
            "login",
            f"SMTP login failed for {conn.username}: the server rejected the user name or"
            f" password (server said: {exc.smtp_code} {_scrub(text, conn.password)}).",
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | EOFError):
        return "protocol", f"The connection to {where} was lost during {stage} ({said or type(exc).__name__})."
    if isinstance(exc, OSError):
        return "refused", f"Could not connect to {where}: {exc.strerror or said}."
    return "protocol", f"The SMTP server {where} refused {stage}: {said or type(exc).__name__}"


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


# --- local files ---------------------------------------------------------------------------


def _check_local(
    mailbox: Mailbox, box: SecretBox, result: CheckResult, timeout: float, env: MallEnv | None
) -> None:
    path = str((mailbox.settings or {}).get("path") or "")
    result.target = path or "(no path)"
    if not path:
        result.problem("local", "config", "This local mailbox has no path set.")
        return
    try:
        kind = detect_kind(Path(path))
        count = count_local(Path(path))
    except (LocalSourceError, OSError) as exc:
        result.problem("local", "path", str(exc))
        return
    label = {
        "maildir": "Maildir",
        "mbox": "mbox file",
        "eml-dir": "folder of .eml files",
        "eml-file": ".eml file",
    }
    result.notes.append(f"{label.get(kind, kind)} with {count} messages.")


CHECKERS: dict[
    MailboxKind, Callable[[Mailbox, SecretBox, CheckResult, float, MallEnv | None], None]
] = {
    MailboxKind.IMAP: _check_imap,
    MailboxKind.LOCAL: _check_local,
}
